import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { sveltekit } from '@sveltejs/kit/vite';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// The slowest test files, slowest first (per-file durations from
// `npx vitest run --reporter=json --outputFile=times.json`). Vitest runs files on 2 workers (2 cores)
// in the order its sequencer gives; with no recorded durations (a fresh clone, CI) it orders them by
// size, which put the long lesson checks (two small files) last and made the run wait for them.
const SLOWEST = [
  'tests/notebooks.test.ts',
  'tests/notebooks-2.test.ts',
  'tests/cli-hostile.test.ts',
  'tests/golden.test.ts',
  'tests/playground.test.ts',
  'tests/train-loop.test.ts',
  'tests/cli-errors.test.ts',
  'tests/train-cli.test.ts',
  'tests/fuzz-checkpoint.test.ts',
];

/** Vitest's order (failed, then longest first, from its cache), except that with no cache the known slowest files go first. */
class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const key = (f: TestSpecification) => relative(this.ctx.config.root, f.moduleId).replaceAll('\\', '/');
    if (sorted.some((f) => this.ctx.cache.getFileTestResults(`${f.project.name}:${key(f)}`))) return sorted;
    const rank = (f: TestSpecification) => {
      const i = SLOWEST.indexOf(key(f));
      return i < 0 ? SLOWEST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  plugins: [sveltekit()],
  // Workers as ES modules (they are all created with type: 'module'): a dynamic import inside one
  // stays a separate chunk, fetched only if it runs. In the default iife format the kernel
  // measurement worker inlined gpu.js (~150 kB gzip) that it never loads.
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/browser/**'],
    environment: 'node',
    testTimeout: 60_000,
    // Separate processes (the engine's wasm memory and worker threads stay per file), one per core:
    // vitest's own default in a run is one fewer than the cores, a single process on 2 cores.
    pool: 'forks',
    maxWorkers: availableParallelism(),
    sequence: { sequencer: SlowestFirst },
  },
});
