// Engine work of the precision lesson: the model in each number format, the outlier experiment and
// the FP16 training run, memoised by what each depends on. Views only draw what these return.
import type { Backend } from '$kernels/backend';
import type { DeepSeekConfig } from '$engine/config';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { toAscii } from '$engine/train/corpus';
import {
  type LogitsComparison, type OutlierResult, type Scheme, compareLogits,
  exponentHistogram, firstLayerInput, modelInScheme, modelTensors, outlierComparison, schemeBytes, schemeWeights, stackedExpertWeights,
} from '$engine/numerics/index';
import { rowsGradient } from '$engine/train/objective';
import { paramsFromTensors } from '$engine/train/params';
import { lessonModel, shippedWeightsSha256 } from '../_kit/shipped';
import { type ShippedRunsRecord, knownRun, shippedRuns } from '../_kit/shipped-runs';
import { JobClient, type Progress, objectId } from '../_kit/train-job';
import { type LossScaleReport, type LossScaleRequest, MAX_STEPS, PASSAGES, TRAIN_HP, batchesOf, lossScaleRequest, lossScaleRunner } from './train';
import shippedRunUrl from './shipped-run.json?url';

export { PASSAGES };

/** Characters as tokens: ASCII codes (the tiny model's vocabulary is 128). */
export function idsOf(text: string): number[] {
  return Array.from(toAscii(text), (c) => Math.min(c.charCodeAt(0), 127));
}

export interface Weights {
  config: DeepSeekConfig; tensors: Map<string, Tensor>; name: string; trained: boolean;
  /** The runs at the lesson's defaults, computed ahead from these weights (only for the shipped model). */
  shippedRuns: ShippedRunsRecord<LossScaleReport, null> | null;
}

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
  const lm = await lessonModel(weights, undefined, seed);
  let w = tensorMemo.get(lm.model.weights);
  if (!w) {
    const shipped = lm.shipped && record ? await record : null;
    tensorMemo.set(lm.model.weights, (w = { config: lm.model.config, tensors: modelTensors(lm.model), name: lm.name, trained: lm.trained, shippedRuns: shipped }));
  }
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

export type OutlierMatrix = 'weights' | 'activations';

/** The matrix the outlier goes into: a layer's stacked expert weights, or layer 0's input. */
export function outlierMatrix(w: Weights, which: OutlierMatrix, ids: number[]): { data: Float32Array; rows: number; cols: number; group: number; fine: 'block' | 'tile' } {
  return memo(w, `outlier|${which}|${which === 'weights' ? '' : ids.join(',')}`, () => computeOutlierMatrix(w, which, ids));
}

function computeOutlierMatrix(w: Weights, which: OutlierMatrix, ids: number[]): { data: Float32Array; rows: number; cols: number; group: number; fine: 'block' | 'tile' } {
  const model = Model.fromTensors(w.config, w.tensors);
  if (which === 'weights') {
    const s = stackedExpertWeights(model, w.config.first_k_dense_replace);
    return { data: s.data, rows: s.rows, cols: s.cols, group: s.rowsPerExpert, fine: 'block' };
  }
  return { data: firstLayerInput(model, ids), rows: ids.length, cols: w.config.hidden_size, group: 1, fine: 'tile' };
}

/** The outlier experiment at one factor, and the relative error over a sweep of factors 10^0..10^6. */
export function outlierRun(m: ReturnType<typeof outlierMatrix>, log10Factor: number): { at: OutlierResult; sweep: { factor: number; tensor: number; fine: number }[] } {
  const row = Math.min(5, m.rows - 1), col = Math.min(3, m.cols - 1);
  const at = outlierComparison(m.data, m.rows, m.cols, m.fine, { row, col, factor: log10Factor === 0 ? 0 : 10 ** log10Factor });
  const sweep = memo(m, 'sweep', () => Array.from({ length: 13 }, (_, i) => {
    const factor = 10 ** (i / 2);
    const r = outlierComparison(m.data, m.rows, m.cols, m.fine, { row, col, factor });
    return { factor, tensor: r.tensor.outside, fine: r.fine.outside };
  }));
  return { at, sweep };
}

/** The first batch's mean gradient, times the loss multiplier (what FP16 would have to hold). */
const gradMemo = new WeakMap<Weights, Map<number, Float32Array>>();
/** (The trainer's products run on its own tuned loop backend, as in the training lesson's workers.) */
export function firstGradient(w: Weights, seed: number, lossMultiplier: number): Float32Array {
  let bySeed = gradMemo.get(w);
  if (!bySeed) gradMemo.set(w, (bySeed = new Map()));
  let mean = bySeed.get(seed);
  if (!mean) {
    const rows = batchesOf(seed)[0]!;
    const g = rowsGradient(paramsFromTensors(w.config, w.tensors), rows, TRAIN_HP);
    mean = g.grads.map((v) => v / rows.length);
    if (bySeed.size > 4) bySeed.delete(bySeed.keys().next().value!);
    bySeed.set(seed, mean);
  }
  return mean.map((v) => v * lossMultiplier);
}

export { exponentHistogram };

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
