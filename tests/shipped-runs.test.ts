// The lessons' default training runs computed ahead (notebooks/_kit/shipped-runs.ts, written by
// scripts/shipped-runs.ts into notebooks/<lesson>/shipped-run.json): typed arrays survive the JSON
// exactly; a record is used only for the weights it names; JobClient.follow() answers a complete
// run from it without the worker and shows a partial one's reports while the worker computes; and
// each lesson's record is of the shipped model, at the lesson's defaults, and starts with what the
// lesson's runner computes now (two steps, here), and its jobs' recorded answers are what the jobs
// compute now: a changed runner, job or model fails until the script is run again.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fastestBackend } from '../kernels/fastest.js';
import { type ShippedRunsRecord, knownAnswer, knownRun, recordFromJson, recordToJson, shippedRuns } from '../notebooks/_kit/shipped-runs.js';
import { JobClient, type Progress, type Runner } from '../notebooks/_kit/train-job.js';
import { lessonModel, shippedWeightsSha256 } from '../notebooks/_kit/shipped.js';
import type { InputSpec } from '../notebooks/_kit/types.js';
import { modelTensors } from '../src/engine/numerics/index.js';
import * as loraTrain from '../notebooks/lora/train.js';
import * as precisionTrain from '../notebooks/precision/train.js';
import * as precisionJobs from '../notebooks/precision/jobs.js';
import { notebook as loraNotebook } from '../notebooks/lora/index.js';
import { notebook as precisionNotebook } from '../notebooks/precision/index.js';

const WEIGHTS = 'static/models/nanoseek-stories/model.safetensors';
const sha = createHash('sha256').update(readFileSync(WEIGHTS)).digest('hex');
const defaults = (inputs: InputSpec[]) => Object.fromEntries(inputs.map((i) => [i.name, i.value]));
const read = <R, F>(lesson: string) => recordFromJson<ShippedRunsRecord<R, F>>(readFileSync(`notebooks/${lesson}/shipped-run.json`, 'utf8'));

describe('the record\'s JSON', () => {
  it('keeps Float32Array and Float64Array values bit for bit, beside plain numbers and strings', () => {
    const f32 = new Float32Array([1.5, -0, Math.fround(0.1), 3.4e38, 1e-45, NaN, -Infinity]);
    const f64 = new Float64Array([0.1, -(2 ** -1074), Math.PI, 1e308]);
    const back = recordFromJson<{ a: Float32Array; b: { c: Float64Array; n: number; s: string }; odd: Float32Array }>(
      recordToJson({ a: f32, b: { c: f64, n: 0.30000000000000004, s: 'x' }, odd: new Float32Array([7]) }));
    expect(back.a).toBeInstanceOf(Float32Array);
    expect(new Uint8Array(back.a.buffer)).toEqual(new Uint8Array(f32.buffer));
    expect(back.b.c).toBeInstanceOf(Float64Array);
    expect(new Uint8Array(back.b.c.buffer)).toEqual(new Uint8Array(f64.buffer));
    expect(back.b.n).toBe(0.30000000000000004);
    expect(back.b.s).toBe('x');
    expect(Array.from(back.odd)).toEqual([7]);
  });
});

describe('finding a run', () => {
  const rec: ShippedRunsRecord<number, string> = {
    command: 'c', model: 'm', weightsSha256: 'abc',
    runs: [{ settings: { seed: 1, text: 'a' }, reports: [10, 11, 12, 13], finals: [{ step: 2, final: 'at 2' }] }],
  };

  it('matches every setting, and only the steps a final was kept for', () => {
    expect(knownRun(rec, { seed: 2, text: 'a' })).toBeNull();
    expect(knownRun(rec, { seed: 1, text: 'a', extra: 1 })).toBeNull();
    expect(knownRun(null, { seed: 1, text: 'a' })).toBeNull();
    const k = knownRun(rec, { text: 'a', seed: 1 })!;
    expect(k.reports).toEqual([10, 11, 12, 13]);
    expect(k.finalAt(2)).toBe('at 2');
    expect(k.finalAt(3)).toBeUndefined();
  });

  it('finds a job\'s answer only for exactly its request', () => {
    const withAnswers: ShippedRunsRecord<number, string> = { ...rec, answers: [{ job: 'sweep', request: { which: 'w', n: 2 }, value: [1, 2] }] };
    expect(knownAnswer(withAnswers, 'sweep', { n: 2, which: 'w' })).toEqual([1, 2]);
    expect(knownAnswer(withAnswers, 'sweep', { which: 'w', n: 3 })).toBeUndefined();
    expect(knownAnswer(withAnswers, 'sweep', { which: 'w' })).toBeUndefined();
    expect(knownAnswer(withAnswers, 'sweep', { which: 'w', n: 2, extra: 1 })).toBeUndefined();
    expect(knownAnswer(withAnswers, 'other', { which: 'w', n: 2 })).toBeUndefined();
    expect(knownAnswer(rec, 'sweep', { which: 'w', n: 2 })).toBeUndefined();
    expect(knownAnswer(null, 'sweep', { which: 'w', n: 2 })).toBeUndefined();
  });

  it('reads a record only for the weights it was made from', async () => {
    const load = shippedRuns<unknown, unknown>('unused in Node', 'notebooks/lora/shipped-run.json');
    expect(await load(Promise.resolve('0'.repeat(64)))).toBeNull();
    expect(await load(Promise.resolve(null))).toBeNull();
    expect((await load(Promise.resolve(sha)))?.weightsSha256).toBe(sha);
    expect(await shippedRuns('x', 'notebooks/no-such/shipped-run.json')(Promise.resolve(sha))).toBeNull();
  });

  it('the page\'s hash of the shipped weights is the file\'s SHA-256, and the shipped model says it is shipped', async () => {
    expect(await shippedWeightsSha256()).toBe(sha);
    expect((await lessonModel('trained')).shipped).toBe(true);
    expect((await lessonModel('random')).shipped).toBe(false);
  });
});

class FakeWorker {
  posted: unknown[] = [];
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: unknown = null;
  postMessage(m: unknown) { this.posted.push(m); }
}

describe('JobClient.follow() with a run computed ahead', () => {
  afterEach(() => { vi.unstubAllGlobals(); });
  const runner: Runner<null, number, string> = () => { throw new Error('the runner must not run'); };
  const known = { reports: [1, 2, 3, 4], finalAt: (s: number) => (s === 3 ? 'at 3' : undefined) };

  it('a complete run is the answer at once: one done value, no worker asked', () => {
    vi.stubGlobal('Worker', FakeWorker);
    let spawned = 0;
    const c = new JobClient<null, number, string>(() => { spawned++; return new FakeWorker() as unknown as Worker; }, runner);
    const values = [...c.follow('k', 3, null, known)];
    expect(values).toEqual([{ target: 3, reports: [1, 2, 3], final: 'at 3', done: true }]);
    expect(spawned).toBe(0);
  });

  it('without its final payload, the reports show at once and the worker computes the run', () => {
    vi.stubGlobal('Worker', FakeWorker);
    const w = new FakeWorker();
    const c = new JobClient<null, number, string>(() => w as unknown as Worker, runner);
    const g = c.follow('k', 2, null, known);
    expect(g.next().value as Progress<number, string>).toEqual({ target: 2, reports: [1, 2], final: null, done: false });
    expect(w.posted).toEqual([{ type: 'start', id: 0, key: 'k', steps: 2, request: null }]);
    g.return(undefined);
  });
});

describe('the lessons\' shipped records', async () => {
  const lm = await lessonModel('trained');
  const config = lm.model.config, tensors = modelTensors(lm.model);
  const backend = await fastestBackend();
  const noTimes = <T extends object>(r: T) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.endsWith('Ms')));

  it('LoRA: the shipped model, the lesson\'s defaults, every step to the maximum, the final at the default step; the runner starts the same', () => {
    const rec = read<loraTrain.FineTuneReport, loraTrain.FineTuneFinal>('lora');
    expect(rec.weightsSha256).toBe(sha);
    const d = defaults(loraNotebook.inputs);
    expect(loraTrain.SHIPPED_RUN.settings).toEqual({ text: d.text, targets: d.targets, r: d.rank, alpha: d.alpha, seed: d.seed });
    expect(loraTrain.SHIPPED_RUN.step).toBe(d.steps);
    const [run] = rec.runs;
    expect(run!.settings).toEqual(loraTrain.SHIPPED_RUN.settings);
    expect(run!.reports).toHaveLength(loraTrain.MAX_STEPS);
    expect(run!.finals.map((f) => f.step)).toEqual([d.steps]);
    const final = run!.finals[0]!.final;
    expect(final.adapters.data).toBeInstanceOf(Float32Array);
    expect(final.samples[1]!.model).toBe(`LoRA, merged (step ${d.steps})`);
    const now = loraTrain.fineTuneRunner(loraTrain.fineTuneRequest(config, tensors, loraTrain.SHIPPED_RUN.settings), backend);
    expect([now.step(), now.step()].map(noTimes)).toEqual(run!.reports.slice(0, 2).map(noTimes));
  });

  it('precision: the shipped model, the lesson\'s defaults, every step to the maximum; the runner starts the same', () => {
    const rec = read<precisionTrain.LossScaleReport, null>('precision');
    expect(rec.weightsSha256).toBe(sha);
    const d = defaults(precisionNotebook.inputs);
    expect(precisionTrain.SHIPPED_RUN.settings).toEqual({ seed: d.seed, loss_log2: d.loss_log2, scale_log2: d.scale_log2 });
    const [run] = rec.runs;
    expect(run!.settings).toEqual(precisionTrain.SHIPPED_RUN.settings);
    expect(run!.reports).toHaveLength(precisionTrain.MAX_STEPS);
    // The runs' final payload is null: every step is complete with its reports.
    expect(run!.finals).toEqual(run!.reports.map((_, i) => ({ step: i + 1, final: null })));
    const now = precisionTrain.lossScaleRunner(precisionTrain.lossScaleRequest(config, tensors, precisionTrain.SHIPPED_RUN.settings), backend);
    expect([now.step(), now.step()]).toEqual(run!.reports.slice(0, 2));
  });

  it('precision: the gradient figures and the expert weights\' outlier sweep at the defaults are what the worker\'s jobs compute now', () => {
    const rec = read<precisionTrain.LossScaleReport, null>('precision');
    const d = defaults(precisionNotebook.inputs);
    expect(d.outlier_matrix).toBe('weights');
    const grad = { seed: d.seed as number, lossLog2: d.loss_log2 as number, scaleLog2: d.scale_log2 as number };
    expect(rec.answers?.map((a) => a.job)).toEqual(['gradientFigures', 'outlierSweep']);
    const figures = knownAnswer<precisionJobs.GradientFigures>(rec, 'gradientFigures', grad);
    const sweep = knownAnswer<precisionJobs.SweepPoint[]>(rec, 'outlierSweep', { which: 'weights' });
    expect(figures?.hist.length).toBe(precisionJobs.GRAD_HI - precisionJobs.GRAD_LO + 1);
    expect(sweep).toHaveLength(13);
    expect(sweep!.map((p) => p.factor)).toEqual(sweep!.map((_, i) => precisionJobs.sweepFactor(i)));
    // Computed again by the jobs' own code on the shipped model: every count and every error equal.
    expect(precisionJobs.gradientFigures({ model: lm.model, ...grad })).toEqual(figures);
    expect(precisionJobs.outlierSweep({ model: lm.model, which: 'weights', ids: [] })).toEqual(sweep);
  });
});
