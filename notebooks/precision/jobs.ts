// The precision lesson's gradient figures and outlier sweep as jobs of the kit's engine worker (_kit/engine-worker.ts,
// gradient-worker.ts): the first batch's mean gradient (rowsGradient, kept per seed), times the loss
// multiplier, and what FP16 does to it with and without the loss scale (exponentHistogram,
// fp16Gradients). On the page's main thread these took 20-50 ms per move of the loss multiplier or
// the loss scale (four passes over every gradient) and a seed move a rowsGradient; in the worker,
// with the neighbouring settings computed ahead (compute.ts), a drag finds them ready. The same
// code runs in-process where there is no Worker (Node).
import type { DeepSeekConfig } from '$engine/config';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { type OutlierResult, exponentHistogram, firstLayerInput, fp16Gradients, modelTensors, outlierComparison, stackedExpertWeights } from '$engine/numerics/index';
import { rowsGradient } from '$engine/train/objective';
import { paramsFromTensors } from '$engine/train/params';
import { Lru } from '../_kit/memo';
import { TRAIN_HP, batchesOf } from './train';

/** The histogram's range of powers of two: 2^16 and up is past FP16's 65504 (the top bar counts overflows). */
export const GRAD_LO = -40, GRAD_HI = 16;

export interface GradientRequest { model: Model; seed: number; lossLog2: number; scaleLog2: number }
type Histogram = { exponent: number; count: number }[];
type Counts = { underflow: number; subnormal: number; overflow: number; nonzero: number };
/** The gradient x loss multiplier: its histogram and FP16's losses, unscaled and with the loss scale. */
export interface GradientFigures { hist: Histogram; scaledHist: Histogram; plain: Counts; scaled: Counts }

// Per model weights: the mean gradient per seed, and each part of the figures by what it depends on.
// (A gradient is 2 MB: only a few are kept; the figures are a few numbers each.)
const kept = new WeakMap<object, { mean: Lru<Float32Array>; g: Lru<Float32Array>; parts: Lru<unknown> }>();

const counts = (g: Float32Array, scale: number): Counts => {
  const { underflow, subnormal, overflow, nonzero } = fp16Gradients(g, scale);
  return { underflow, subnormal, overflow, nonzero };
};

function keptFor(model: Model) {
  let k = kept.get(model.weights);
  if (!k) kept.set(model.weights, (k = { mean: new Lru(4), g: new Lru(3), parts: new Lru(128) }));
  return k;
}

/** The first batch's mean gradient (kept per seed). Its products run on the engine's default backend (the loop), as they did on the page. */
function meanOf(model: Model, seed: number): Float32Array {
  return keptFor(model).mean.get(String(seed), () => {
    const rows = batchesOf(seed)[0]!;
    const grad = rowsGradient(paramsFromTensors(model.config, modelTensors(model)), rows, TRAIN_HP);
    return grad.grads.map((v) => v / rows.length);
  });
}

/** Compute the seed's gradient ahead (the most expensive part, a few hundred ms), while the page computes its other figures. */
export function meanGradient(q: { model: Model; seed: number }): null {
  meanOf(q.model, q.seed);
  return null;
}

export function gradientFigures(q: GradientRequest): GradientFigures {
  const k = keptFor(q.model);
  const mean = () => meanOf(q.model, q.seed);
  const scale = 2 ** q.scaleLog2;
  let g: Float32Array | null = null;
  const part = <T>(key: string, f: (g: Float32Array) => T): T => k.parts.get(`${q.seed}|${key}`, () => f(g ??= k.g.get(`${q.seed}|${q.lossLog2}`, () => mean().map((v) => v * 2 ** q.lossLog2)))) as T;
  return {
    hist: part(`hist|${q.lossLog2}`, (g) => exponentHistogram(g, 1, GRAD_LO, GRAD_HI)),
    scaledHist: part(`hist|${q.lossLog2}|${q.scaleLog2}`, (g) => exponentHistogram(g, scale, GRAD_LO, GRAD_HI)),
    plain: part(`fp16|${q.lossLog2}`, (g) => counts(g, 1)),
    scaled: part(`fp16|${q.lossLog2}|${q.scaleLog2}`, (g) => counts(g, scale)),
  };
}

export type OutlierMatrix = 'weights' | 'activations';
export interface OutlierMatrixData { data: Float32Array; rows: number; cols: number; group: number; fine: 'block' | 'tile' }
export interface SweepPoint { factor: number; tensor: number; fine: number }

/** The matrix the outlier goes into: a layer's stacked expert weights, or layer 0's input (on the engine's default backend, page and worker alike). */
export function outlierMatrixOf(config: DeepSeekConfig, tensors: Map<string, Tensor>, which: OutlierMatrix, ids: number[]): OutlierMatrixData {
  const model = Model.fromTensors(config, tensors);
  if (which === 'weights') {
    const s = stackedExpertWeights(model, config.first_k_dense_replace);
    return { data: s.data, rows: s.rows, cols: s.cols, group: s.rowsPerExpert, fine: 'block' };
  }
  return { data: firstLayerInput(model, ids), rows: ids.length, cols: config.hidden_size, group: 1, fine: 'tile' };
}

/** The outlier experiment: one value (row 5, column 3) set to `factor` x the largest. */
export function outlierAt(m: OutlierMatrixData, factor: number): OutlierResult {
  const row = Math.min(5, m.rows - 1), col = Math.min(3, m.cols - 1);
  return outlierComparison(m.data, m.rows, m.cols, m.fine, { row, col, factor });
}

/**
 * The sweep's i-th outlier factor, 10^(i/2). (JavaScript engines may differ in the last bit of a
 * power: a sweep computed ahead in Node takes its factors from here on the page.)
 */
export const sweepFactor = (i: number): number => 10 ** (i / 2);

const sweeps = new WeakMap<object, Lru<SweepPoint[]>>();
/** The relative error of the values outside the outlier's block or tile, for factors 10^0, 10^0.5, ..., 10^6. */
export function outlierSweep(q: { model: Model; which: OutlierMatrix; ids: number[] }): SweepPoint[] {
  let kept = sweeps.get(q.model.weights);
  if (!kept) sweeps.set(q.model.weights, (kept = new Lru(8)));
  return kept.get(`${q.which}|${q.ids.join(',')}`, () => {
    const m = outlierMatrixOf(q.model.config, modelTensors(q.model), q.which, q.ids);
    return Array.from({ length: 13 }, (_, i) => {
      const factor = sweepFactor(i);
      const r = outlierAt(m, factor);
      return { factor, tensor: r.tensor.outside, fine: r.fine.outside };
    });
  });
}

export const jobs = { gradientFigures, meanGradient, outlierSweep };
