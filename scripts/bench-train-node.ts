// Node's side of scripts/bench-train.mjs: the training lesson's default run (golden-b shape, batch 8
// x 65, stories + arithmetic, seed 1) on one thread (the WebAssembly kernels), through the same
// engine loop the page's worker runs (src/engine/train/loop.ts trainStep). Prints one JSON line:
// characters per second over the steps after the first (warm-up) few.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fastestBackend } from '../kernels/fastest.js';
import { charTokenizer } from '../src/engine/tokenizer.js';
import { initTensors } from '../src/engine/init.js';
import { SavedRng } from '../src/engine/train/data.js';
import { createOptimizer, paramsFromTensors } from '../src/engine/train/index.js';
import { samplerOf, trainStep } from '../src/engine/train/loop.js';
import { localRunner } from '../src/engine/train/workers.js';
import { parseConfig } from '../src/engine/config.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import type { RunOptions } from '../src/engine/train/checkpoint.js';
import { LESSON_DEFAULTS, runOptions, settingsFrom } from '../notebooks/train/schedule.js';

const seconds = Number(process.argv[2] ?? 30);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The lesson's default settings and run options (notebooks/train/schedule.ts).
const settings = settingsFrom({ ...LESSON_DEFAULTS, size: 'golden-b' });
const config = parseConfig({ ...TINY_CONFIG_JSON, num_nextn_predict_layers: 1 }, { file: 'the golden-b shape' });
const options: RunOptions = runOptions(settings, 1);
const params = paramsFromTensors(config, initTensors(config, { seed: settings.seed, biasScale: 0 }));
const state = { params, opt: createOptimizer(params), step: 0, rng: Array.from(SavedRng.fromSeed(settings.seed).state), options };
const train = Uint8Array.from(charTokenizer.encode(readFileSync(path.join(root, 'static/data/stories/train.txt'), 'utf8')));
const runner = localRunner(await fastestBackend());
const perStep = settings.batch * (settings.seqLen - 1);
for (let i = 0; i < 3; i++) await trainStep(state, samplerOf(state, train), runner);
const t0 = performance.now();
let steps = 0;
while (performance.now() - t0 < seconds * 1000) { await trainStep(state, samplerOf(state, train), runner); steps++; }
const s = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ threads: 1, steps, seconds: s, chars_per_sec: (steps * perStep) / s }));
