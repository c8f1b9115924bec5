// Engine work of the precision lesson: the model in each number format, the outlier experiment and
// the FP16 training run, memoised by what each depends on. Views only draw what these return.
import type { Backend } from '$kernels/backend';
import type { DeepSeekConfig } from '$engine/config';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { toAscii } from '$engine/train/corpus';
import type { TrainHparams } from '$engine/train/objective';
import {
  type GradientMode, type LogitsComparison, type LossScaleStep, type OutlierResult, type Scheme, compareLogits,
  exponentHistogram, firstLayerInput, lossScaleRun, modelInScheme, modelTensors, outlierComparison, schemeBytes, schemeWeights, stackedExpertWeights,
} from '$engine/numerics/index';
import { rowsGradient } from '$engine/train/objective';
import { paramsFromTensors } from '$engine/train/params';
import { lessonModel } from '../_kit/shipped';

/** Three passages of the held-out stories (static/data/stories/val.txt), the model's kind of text. */
export const PASSAGES: Record<string, string> = {
  moon: 'So the good Moon made a light and went along with him, and the little trundle-bed boat went sailing down the streets into the main street of the village.',
  bear: 'Buster Bear yawned as he lay on his comfortable bed of leaves and watched the first early morning sunbeams creeping through the Green Forest.',
  alice: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading.',
};

/** Characters as tokens: ASCII codes (the tiny model's vocabulary is 128). */
export function idsOf(text: string): number[] {
  return Array.from(toAscii(text), (c) => Math.min(c.charCodeAt(0), 127));
}

export interface Weights { config: DeepSeekConfig; tensors: Map<string, Tensor>; name: string; trained: boolean }

// Keyed by the bound weights, which every backend's copy of a model shares: a backend switch
// reuses the tensors and their stored forms.
const tensorMemo = new WeakMap<object, Weights>();
const storedMemo = new WeakMap<Weights, Map<Scheme, ReturnType<typeof schemeWeights>>>();

/**
 * The lesson's FP32 reference from the kit: the shipped trained model (or the reader's own, when
 * chosen), or the same shape with seeded random weights; its tensors by checkpoint name.
 */
export async function weightsOf(weights: 'trained' | 'random', seed: number): Promise<Weights> {
  const lm = await lessonModel(weights, undefined, seed);
  let w = tensorMemo.get(lm.model.weights);
  if (!w) tensorMemo.set(lm.model.weights, (w = { config: lm.model.config, tensors: modelTensors(lm.model), name: lm.name, trained: lm.trained }));
  return w;
}

export interface SchemeRow extends LogitsComparison { scheme: Scheme; bytes: number }

/** The FP32 model's logits on the passage (the reference every scheme is compared with). */
export function referenceLogits(w: Weights, ids: number[], backend: Backend): Float32Array {
  return Model.fromTensors(w.config, w.tensors, { backend }).forward(ids).logits;
}

/** One scheme's model on the passage, compared with FP32: bits per character, agreement, logits. */
export function schemeRow(w: Weights, ids: number[], ref: Float32Array, scheme: Scheme, activations: boolean, backend: Backend): SchemeRow {
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
  const sweep = Array.from({ length: 13 }, (_, i) => {
    const factor = 10 ** (i / 2);
    const r = outlierComparison(m.data, m.rows, m.cols, m.fine, { row, col, factor });
    return { factor, tensor: r.tensor.outside, fine: r.fine.outside };
  });
  return { at, sweep };
}

export const TRAIN_HP: TrainHparams = {
  lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias',
};
export const TRAIN_STEPS = 12;
const ROWS = 2, ROW_LEN = 16; // small: each step is a forward and backward pass on the main thread, one per frame

/** TRAIN_STEPS batches of ROWS rows of ROW_LEN characters from the passages, seeded. */
export function batchesOf(seed: number): number[][][] {
  const text = idsOf(Object.values(PASSAGES).join(' '));
  let s = seed * 2654435761 >>> 0;
  const next = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return Array.from({ length: TRAIN_STEPS }, () => Array.from({ length: ROWS }, () => {
    const at = Math.floor(next() * (text.length - ROW_LEN));
    return text.slice(at, at + ROW_LEN);
  }));
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

export interface RunState { steps: Record<GradientMode, LossScaleStep[]>; done: boolean }

/**
 * The three short runs (FP32, FP16, FP16 with loss scale 2^scaleLog2), interleaved one step at a
 * time: a generator the page pulls once per frame, so no task trains more than one step.
 */
export function* trainingRuns(w: Weights, seed: number, lossMultiplier: number, scaleLog2: number): Generator<RunState> {
  const batches = batchesOf(seed);
  const modes: GradientMode[] = ['fp32', 'fp16', 'fp16-scaled'];
  const runs = modes.map((mode) => lossScaleRun(w.config, w.tensors, batches, TRAIN_HP, mode, { lossMultiplier, scale: 2 ** scaleLog2 }));
  const state: RunState = { steps: { fp32: [], fp16: [], 'fp16-scaled': [] }, done: false };
  yield { ...state };
  for (let s = 0; s < TRAIN_STEPS; s++) {
    for (let i = 0; i < modes.length; i++) {
      const r = runs[i]!.next();
      if (!r.done) state.steps[modes[i]!] = [...state.steps[modes[i]!], r.value];
      if (i === modes.length - 1) state.done = s === TRAIN_STEPS - 1;
      yield { steps: { ...state.steps }, done: state.done };
    }
  }
}
