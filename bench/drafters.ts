// Drafters side by side on the shipped model in Node (bench/drafters-core.ts holds the benchmark,
// shared with the Chromium run of scripts/bench-browser.mjs): the model, its Medusa heads and the
// shipped small draft model read from disk; CPU time is this process's user + system time.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../kernels/backend.js';
import { fastestBackend } from '../kernels/fastest.js';
import { loadModel, parseTokenizerJson } from '../src/engine/index.js';
import { medusaFromTensors } from '../src/engine/medusa.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import { type DrafterBench, runDrafterBench } from './drafters-core.js';

export { BENCH_PROMPTS, type DrafterBench, type DrafterBenchRow, formatDrafters } from './drafters-core.js';

/** The first shipped model folder (static/models/nanoseek-*). */
export function shippedModelDir(): string {
  return join('static/models', readdirSync('static/models').filter((n) => n.startsWith('nanoseek-')).sort()[0]!);
}

/** The shipped small draft model (static/models/drafters/nanoseek-drafter), when it is there. */
export const SHIPPED_DRAFTER_DIR = 'static/models/drafters/nanoseek-drafter';

export interface DrafterBenchOptions {
  dir?: string;
  tokens?: number;
  repeats?: number;
  /** The small draft model's folder; undefined: the shipped one if present; null: none. */
  draftDir?: string | null;
  backend?: Backend;
  onProgress?: (line: string) => void;
}

export async function benchDrafters(o: DrafterBenchOptions = {}): Promise<DrafterBench> {
  const dir = o.dir ?? shippedModelDir();
  const be = o.backend ?? (await fastestBackend());
  const load = (d: string) => loadModel(readFileSync(join(d, 'config.json'), 'utf8'), readFileSync(join(d, 'model.safetensors')), { backend: be });
  const model = load(dir);
  const tokenizer = parseTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), 'tokenizer.json', model.config.vocab_size);
  const draftDir = o.draftDir === undefined ? (existsSync(join(SHIPPED_DRAFTER_DIR, 'model.safetensors')) ? SHIPPED_DRAFTER_DIR : null) : o.draftDir;
  const heads = medusaFromTensors(readSafetensors(readFileSync(join(dir, 'medusa.safetensors')), 'medusa.safetensors').tensors, model.config.hidden_size);
  const clock = async (f: () => void) => {
    const c0 = process.cpuUsage(), t0 = performance.now();
    f();
    const wall = performance.now() - t0, c = process.cpuUsage(c0);
    return { wall, cpu: (c.user + c.system) / 1000 };
  };
  return runDrafterBench(
    { model, modelName: dir, tokenizer, heads, small: draftDir ? load(draftDir) : null, smallName: draftDir },
    { runtime: 'Node', backend: be.name, clock, tokens: o.tokens, repeats: o.repeats, onProgress: o.onProgress },
  );
}
