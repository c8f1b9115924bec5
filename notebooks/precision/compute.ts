// Engine work of the precision lesson: the model in each number format, the outlier experiment and
// the FP16 training run, memoised by what each depends on; the gradient figures and the outlier
// sweep in an engine worker (jobs.ts). Views only draw what these return.
import type { Backend } from '$kernels/backend';
import type { DeepSeekConfig } from '$engine/config';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { toAscii } from '$engine/train/corpus';
import {
  type LogitsComparison, type OutlierResult, type Scheme, compareLogits,
  modelInScheme, modelTensors, schemeBytes, schemeWeights,
} from '$engine/numerics/index';
import { EngineWorker } from '../_kit/engine-worker';
import { Ahead, stepsAround } from '../_kit/prefetch';
import { lessonModel, prefetchShippedWeights, shippedWeightsSha256 } from '../_kit/shipped';
import { type ShippedRunsRecord, knownAnswer, knownRun, shippedRuns } from '../_kit/shipped-runs';
import { JobClient, type Progress, objectId } from '../_kit/train-job';
import { type GradientFigures, type OutlierMatrix, type OutlierMatrixData, type SweepPoint, jobs, outlierAt, outlierMatrixOf, sweepFactor } from './jobs';
import { type LossScaleReport, type LossScaleRequest, MAX_STEPS, PASSAGES, lossScaleRequest, lossScaleRunner } from './train';
import shippedRunUrl from './shipped-run.json?url';

export { PASSAGES, type OutlierMatrix };

/** Characters as tokens: ASCII codes (the tiny model's vocabulary is 128). */
export function idsOf(text: string): number[] {
  return Array.from(toAscii(text), (c) => Math.min(c.charCodeAt(0), 127));
}

export interface Weights {
  config: DeepSeekConfig; tensors: Map<string, Tensor>; name: string; trained: boolean;
  /** The model itself (the engine worker gets it by its weights). */
  model: Model;
  /** The runs at the lesson's defaults, computed ahead from these weights (only for the shipped model). */
  shippedRuns: ShippedRunsRecord<LossScaleReport, null> | null;
}

// The shipped weights start arriving as the lesson loads (the first cell needs them).
prefetchShippedWeights();

// The default runs on the shipped model, computed ahead by scripts/shipped-runs.ts (the worker's runner and kernels).
const shippedRecord = shippedRuns<LossScaleReport, null>(shippedRunUrl, 'notebooks/precision/shipped-run.json');

// Keyed by the bound weights, which every backend's copy of a model shares: a backend switch
// reuses the tensors and their stored forms.
const tensorMemo = new WeakMap<object, Weights>();
const storedMemo = new WeakMap<Weights, Map<Scheme, ReturnType<typeof schemeWeights>>>();

/**
 * The lesson's FP32 reference from the kit: the shipped trained model (or the reader's own, when
 * chosen), or the same shape with seeded random weights; its tensors by checkpoint name.
 */
export async function weightsOf(weights: 'trained' | 'random', seed: number): Promise<Weights> {
  const record = weights === 'trained' ? shippedRecord(shippedWeightsSha256()) : null;
  engine.warm(); // the gradient's worker loads while the weights arrive
  const lm = await lessonModel(weights, undefined, seed);
  let w = tensorMemo.get(lm.model.weights);
  if (!w) {
    const shipped = lm.shipped && record ? await record : null;
    tensorMemo.set(lm.model.weights, (w = { config: lm.model.config, tensors: modelTensors(lm.model), model: lm.model, name: lm.name, trained: lm.trained, shippedRuns: shipped }));
  }
  // The gradient figures' cell is computed after the figures on screen; their gradient need not wait for it.
  if (typeof Worker !== 'undefined') engine.run('meanGradient', { model: w.model, seed }).catch(() => {});
  return w;
}

export interface SchemeRow extends LogitsComparison { scheme: Scheme; bytes: number }

// Results by what they depend on (an owner object, then a key): moving one control recomputes only
// what it changes, and going back to a setting costs nothing. A few keys per owner are kept.
const memos = new WeakMap<object, Map<string, unknown>>();
function memo<T>(owner: object, key: string, f: () => T): T {
  let m = memos.get(owner);
  if (!m) memos.set(owner, (m = new Map()));
  if (m.has(key)) return m.get(key) as T;
  const v = f();
  if (m.size >= 16) m.delete(m.keys().next().value!);
  m.set(key, v);
  return v;
}

/** The FP32 model's logits on the passage (the reference every scheme is compared with). */
export function referenceLogits(w: Weights, ids: number[], backend: Backend): Float32Array {
  return memo(w, `ref|${backend.name}|${ids.join(',')}`, () => Model.fromTensors(w.config, w.tensors, { backend }).forward(ids).logits);
}

/** One scheme's model on the passage, compared with FP32: bits per character, agreement, logits. */
export function schemeRow(w: Weights, ids: number[], ref: Float32Array, scheme: Scheme, activations: boolean, backend: Backend): SchemeRow {
  return memo(ref, `${scheme}|${activations}`, () => computeSchemeRow(w, ids, ref, scheme, activations, backend));
}

function computeSchemeRow(w: Weights, ids: number[], ref: Float32Array, scheme: Scheme, activations: boolean, backend: Backend): SchemeRow {
  let byScheme = storedMemo.get(w);
  if (!byScheme) storedMemo.set(w, (byScheme = new Map()));
  let stored = byScheme.get(scheme);
  if (!stored) byScheme.set(scheme, (stored = schemeWeights(w.tensors, scheme)));
  const logits = scheme === 'fp32' ? ref : modelInScheme(w.config, w.tensors, scheme, backend, activations, stored).forward(ids).logits;
  return { scheme, bytes: schemeBytes(w.tensors, scheme), ...compareLogits(ref, logits, ids, w.config.vocab_size) };
}

/** The matrix the outlier goes into: a layer's stacked expert weights, or layer 0's input. */
export function outlierMatrix(w: Weights, which: OutlierMatrix, ids: number[]): OutlierMatrixData {
  return memo(w, `outlier|${which}|${which === 'weights' ? '' : ids.join(',')}`, () => outlierMatrixOf(w.config, w.tensors, which, ids));
}

/** The outlier experiment at the slider's factor. */
export function outlierRun(m: OutlierMatrixData, log10Factor: number): { at: OutlierResult } {
  return { at: outlierAt(m, log10Factor === 0 ? 0 : 10 ** log10Factor) };
}

/**
 * The relative error over the sweep of factors 10^0..10^6 (13 outlier comparisons, a few hundred ms
 * on a first visit): in the engine worker, beside the page's own figures.
 */
export function outlierSweepOf(w: Weights, which: OutlierMatrix, ids: number[]): Promise<SweepPoint[]> {
  const of = which === 'weights' ? [] : ids;
  // The expert weights' sweep on the shipped model is in its record (scripts/shipped-runs.ts): the
  // same job, run ahead in Node. Its factors are this page's own 10^(i/2) (an engine may differ in
  // a power's last bit; the errors it records are what the test computes again).
  const known = which === 'weights' ? knownAnswer<SweepPoint[]>(w.shippedRuns, 'outlierSweep', { which }) : undefined;
  return memo(w, `sweep|${which}|${of.join(',')}`, () => (known
    ? Promise.resolve(known.map((p, i) => ({ ...p, factor: sweepFactor(i) })))
    : engine.run('outlierSweep', { model: w.model, which, ids: of })));
}

// The gradient figures (jobs.ts) in the lesson's engine worker, with the settings next to the last
// one asked computed ahead there: the loss multiplier's and the loss scale's neighbours (the way the
// dragged slider went first), and the seed's when the seed moved (a new gradient each).
const engine = new EngineWorker(() => new Worker(new URL('./gradient-worker.ts', import.meta.url), { type: 'module', name: 'nanoseek precision gradients' }), jobs);
interface GradKey { seed: number; lossLog2: number; scaleLog2: number }
const LOSS = { min: -24, max: 0, step: 1 }, SCALE = { min: 0, max: 24, step: 1 }, SEED = { min: 0, max: 99, step: 1 };
/** Settings worth computing after `at` (`from`: the one before): the slider that moved first, two ahead and one back; then one step of each other slider (seeds only after a seed move). */
export function gradientAround(at: GradKey, from: GradKey | null): GradKey[] {
  const way = (a: number, b: number | undefined): 1 | -1 => (b !== undefined && b > a ? -1 : 1);
  const loss = (ahead: number, towards: 1 | -1) => stepsAround(LOSS, at.lossLog2, towards, ahead).map((lossLog2) => ({ ...at, lossLog2 }));
  const scale = (ahead: number, towards: 1 | -1) => stepsAround(SCALE, at.scaleLog2, towards, ahead).map((scaleLog2) => ({ ...at, scaleLog2 }));
  if (from && from.seed !== at.seed) {
    // The next seed that way (a new gradient), then the other sliders' first steps at this seed (a
    // reader may turn to them next: each only a few passes over the kept gradient), then the seed back.
    const [next, back] = stepsAround(SEED, at.seed, way(at.seed, from.seed), 1).map((seed) => ({ ...at, seed }));
    return [next, ...loss(1, 1), ...scale(1, 1), back].filter((k): k is GradKey => k !== undefined);
  }
  if (from && from.scaleLog2 !== at.scaleLog2) return [...scale(2, way(at.scaleLog2, from.scaleLog2)), ...loss(1, 1)];
  return [...loss(2, way(at.lossLog2, from?.lossLog2)), ...scale(1, 1)];
}
const ahead = new WeakMap<Weights, Ahead<GradKey, GradientFigures>>();

/** The first batch's gradient x the loss multiplier against FP16, with and without the loss scale (in the worker). */
export function gradientOf(w: Weights, seed: number, lossLog2: number, scaleLog2: number): Promise<GradientFigures> {
  let a = ahead.get(w);
  if (!a) {
    // The default settings' figures on the shipped model are in its record (scripts/shipped-runs.ts):
    // the same job, run ahead. The settings around them are computed ahead in the worker as before.
    const record = w.shippedRuns;
    a = new Ahead((k: GradKey) => {
      const known = knownAnswer<GradientFigures>(record, 'gradientFigures', { ...k });
      return known ? Promise.resolve(known) : engine.run('gradientFigures', { model: w.model, ...k });
    }, {
      around: gradientAround, id: (k) => `${k.seed}|${k.lossLog2}|${k.scaleLog2}`, size: 64, enabled: () => typeof Worker !== 'undefined' && !engine.failure,
    });
    ahead.set(w, a);
  }
  return a.get({ seed, lossLog2, scaleLog2 });
}


// The three runs train in the lesson's Web Worker (train.ts, worker.ts), to the slider's step. Without
// a Worker (Node: tests, prerender) only INLINE_STEPS steps run in-process.
const INLINE_STEPS = 2;
const client = new JobClient<LossScaleRequest, LossScaleReport, null>(
  () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek precision runs' }), lossScaleRunner, { inlineSteps: INLINE_STEPS });

export type RunState = Progress<LossScaleReport, null>;

/** The FP32, FP16 and loss-scaled FP16 runs from the weights, to `steps` steps: one value per report. */
export function trainingRuns(w: Weights, seed: number, lossLog2: number, scaleLog2: number, steps: number): Generator<RunState | Promise<RunState>, void, unknown> {
  const key = [objectId(w), seed, lossLog2, scaleLog2].join('|');
  const settings = { seed, loss_log2: lossLog2, scale_log2: scaleLog2 };
  return client.follow(key, Math.min(steps, MAX_STEPS), lossScaleRequest(w.config, w.tensors, settings), knownRun(w.shippedRuns, settings));
}
