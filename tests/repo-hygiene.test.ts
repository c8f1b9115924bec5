// A fresh clone must test itself: no test, script, benchmark or source file may read ../shared
// (it exists only beside a developer's checkout and in CI). Fixtures live in tests/fixtures/.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers/paths.js';

const ROOTS = ['tests', 'scripts', 'bench', 'src', 'kernels', 'notebooks', 'components'];
const SKIP = new Set(['node_modules', 'fixtures', '.svelte-kit', 'build']);
const CODE = /\.(ts|mjs|js|cjs|svelte|json|sh)$|^run$/;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (CODE.test(name)) yield p;
  }
}

describe('the repository carries its own test data', () => {
  it('no code outside tests/fixtures reads ../shared', () => {
    const pattern = /\.\.\/(\.\.\/)*shared\b|NANOSEEK_SHARED/;
    const offenders: string[] = [];
    for (const root of ROOTS) {
      for (const f of files(path.join(repoRoot, root))) {
        if (f === path.join(repoRoot, 'tests', 'repo-hygiene.test.ts')) continue;
        readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
          if (pattern.test(line) && !/^\s*(\/\/|#|\*)/.test(line)) offenders.push(`${path.relative(repoRoot, f)}:${i + 1}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
