// The lessons' training runs at their default settings on the shipped model, run ahead so a first
// visit shows them at once (notebooks/_kit/shipped-runs.ts): the lesson's own Runner (the code its
// Web Worker runs) on the WebAssembly SIMD kernels (the worker's backend), every step up to the
// slider's maximum, the final payload at the default step. Writes notebooks/<lesson>/shipped-run.json
// with the weights' SHA-256: the page uses the record only for those exact weights, and
// tests/shipped-runs.test.ts fails when the model or the runner changed until this is run again.
//   nice -n 15 npx tsx scripts/shipped-runs.ts lora precision
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fastestBackend } from '../kernels/fastest.js';
import { loadModel } from '../src/engine/load.js';
import { modelTensors } from '../src/engine/numerics/index.js';
import type { Runner } from '../notebooks/_kit/train-job.js';
import { type ShippedAnswer, type ShippedRunsRecord, recordToJson } from '../notebooks/_kit/shipped-runs.js';
import * as lora from '../notebooks/lora/train.js';
import * as precision from '../notebooks/precision/train.js';
import * as precisionJobs from '../notebooks/precision/jobs.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const folder = readdirSync(path.join(root, 'static', 'models')).filter((f) => f.startsWith('nanoseek-')).sort()[0];
if (!folder) throw new Error('no static/models/nanoseek-* folder');
const dir = path.join(root, 'static', 'models', folder);
const weights = new Uint8Array(readFileSync(path.join(dir, 'model.safetensors')));
const weightsSha256 = createHash('sha256').update(weights).digest('hex');
const model = loadModel(readFileSync(path.join(dir, 'config.json'), 'utf8'), weights, { configFile: `static/models/${folder}/config.json`, weightsFile: `static/models/${folder}/model.safetensors` });
const config = model.config, tensors = modelTensors(model);
const backend = await fastestBackend();
if (backend.fallback) throw new Error(`the record must come from the worker's kernels: ${backend.fallback}`);

interface Lesson {
  runner: Runner<unknown, unknown, unknown>; request: unknown; settings: Record<string, string | number>; maxSteps: number; finalSteps: number[];
  /** Answers of the lesson's engine-worker jobs at its defaults (the page shows them without waiting for the worker). */
  answers?: () => ShippedAnswer[];
}
const lessons: Record<string, () => Lesson> = {
  lora: () => ({
    runner: lora.fineTuneRunner as Runner<unknown, unknown, unknown>, request: lora.fineTuneRequest(config, tensors, lora.SHIPPED_RUN.settings),
    settings: { ...lora.SHIPPED_RUN.settings }, maxSteps: lora.MAX_STEPS, finalSteps: [lora.SHIPPED_RUN.step],
  }),
  precision: () => ({
    runner: precision.lossScaleRunner as Runner<unknown, unknown, unknown>, request: precision.lossScaleRequest(config, tensors, precision.SHIPPED_RUN.settings),
    // The runs' final payload is null: every step count is complete with its reports.
    settings: { ...precision.SHIPPED_RUN.settings }, maxSteps: precision.MAX_STEPS, finalSteps: Array.from({ length: precision.MAX_STEPS }, (_, i) => i + 1),
    // The gradient figures at the default seed, loss multiplier and scale, and the expert weights' outlier sweep.
    answers: () => {
      const s = precision.SHIPPED_RUN.settings;
      const grad = { seed: s.seed, lossLog2: s.loss_log2, scaleLog2: s.scale_log2 };
      return [
        { job: 'gradientFigures', request: grad, value: precisionJobs.gradientFigures({ model, ...grad }) },
        { job: 'outlierSweep', request: { which: 'weights' }, value: precisionJobs.outlierSweep({ model, which: 'weights', ids: [] }) },
      ];
    },
  }),
};

const asked = process.argv.slice(2);
if (asked.length === 0 || asked.some((a) => !(a in lessons))) throw new Error(`usage: npx tsx scripts/shipped-runs.ts ${Object.keys(lessons).join(' | ')} ...`);
for (const name of asked) {
  const l = lessons[name]!();
  const started = Date.now();
  const run = l.runner(l.request, backend);
  const reports: unknown[] = [];
  const finals: { step: number; final: unknown }[] = [];
  while (reports.length < l.maxSteps) {
    reports.push(run.step());
    if (l.finalSteps.includes(reports.length)) finals.push({ step: reports.length, final: run.final() });
  }
  const record: ShippedRunsRecord<unknown, unknown> = {
    command: `nice -n 15 npx tsx scripts/shipped-runs.ts ${name}`, model: `static/models/${folder}`, weightsSha256, runs: [{ settings: l.settings, reports, finals }],
    ...(l.answers ? { answers: l.answers() } : {}),
  };
  const out = path.join(root, 'notebooks', name, 'shipped-run.json');
  writeFileSync(out, `${recordToJson(record)}\n`);
  console.log(`${name}: ${reports.length} steps at ${JSON.stringify(l.settings)}, finals at ${l.finalSteps.length > 3 ? `${l.finalSteps[0]}..${l.finalSteps.at(-1)}` : l.finalSteps.join(', ')}: ${path.relative(root, out)} (${readFileSync(out).length} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
