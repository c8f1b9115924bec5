// One optimizer step (PyTorch semantics, tests/fixtures/golden/train/README.md):
// 1. global gradient norm; above max_grad_norm every gradient is scaled by max / (norm + 1e-6);
// 2. AdamW: decoupled decay p -= lr * wd * p on tensors of 2+ dimensions only, then
//    m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p -= lr * m_hat / (sqrt(v_hat) + eps);
// 3. DeepSeek-V3's auxiliary-loss-free balancing: b_e += gamma * sign(mean load - load_e).
import { NonFiniteError, firstNonFinite } from '../errors.js';
import type { TrainHparams } from './objective.js';
import type { TrainParams } from './params.js';

export interface OptimizerState { step: number; m: Float32Array; v: Float32Array; }

export function createOptimizer(p: Pick<TrainParams, 'data'>): OptimizerState {
  return { step: 0, m: new Float32Array(p.data.length), v: new Float32Array(p.data.length) };
}

/**
 * a[i] /= n in place (summed gradients to means). A function of its own because the callers are async
 * functions, which V8 does not optimize in the middle of a loop: written inline there, the loop ran
 * unoptimized and boxed a number per element (8 MB of garbage a step at the shipped shape).
 */
export function divideInPlace(a: Float32Array, n: number): void {
  for (let i = 0; i < a.length; i++) a[i] /= n;
}

/** Euclidean norm of all gradients (float64 accumulation). */
export function globalNorm(g: ArrayLike<number>): number {
  let ss = 0;
  for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  return Math.sqrt(ss);
}

export interface AdamWSettings { lr: number; betas: readonly [number, number]; eps: number; weight_decay: number; }

/**
 * AdamW on one flat array, in place. `decay(i)`-style masks cost a call per element, so decay is
 * given as [start, end) ranges of `params` that decay. `gradScale` multiplies every gradient
 * (clipping) without a copy. Increments state.step.
 */
export function adamwUpdate(params: Float32Array | Float64Array, grads: ArrayLike<number>, state: { step: number; m: Float32Array | Float64Array; v: Float32Array | Float64Array },
  s: AdamWSettings, decayRanges: readonly (readonly [number, number])[], gradScale = 1): void {
  const [b1, b2] = s.betas, lr = s.lr, eps = s.eps, m = state.m, v = state.v;
  state.step++;
  const c1 = 1 - Math.pow(b1, state.step), c2 = 1 - Math.pow(b2, state.step);
  const keep = 1 - lr * s.weight_decay;
  for (const [a, b] of decayRanges) for (let i = a; i < b; i++) params[i] *= keep;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i] * gradScale;
    const mi = b1 * m[i] + (1 - b1) * g, vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** DeepSeek-V3's bias update, in place: b_e += gamma * sign(mean(load) - load_e) (sign(0) = 0). */
export function updateBias(bias: Float32Array, load: ArrayLike<number>, gamma: number): void {
  let sum = 0;
  for (let i = 0; i < load.length; i++) sum += load[i];
  const mean = sum / load.length;
  for (let i = 0; i < bias.length; i++) bias[i] += gamma * Math.sign(mean - load[i]);
}

/** The tensor holding flat index i. */
function nameAt(p: Pick<TrainParams, 'names' | 'offsets'>, i: number): string {
  let best = p.names[0];
  for (const n of p.names) if (p.offsets[n] <= i && p.offsets[n] >= p.offsets[best]) best = n;
  return best;
}

/** [start, end) of every tensor with 2 or more dimensions (the ones weight decay applies to). */
export function decayRanges(p: Pick<TrainParams, 'names' | 'shapes' | 'offsets'>): [number, number][] {
  return p.names.filter((n) => p.shapes[n].length >= 2).map((n) => [p.offsets[n], p.offsets[n] + p.shapes[n].reduce((a, b) => a * b, 1)]);
}

/**
 * One update from MEAN gradients: clipping, AdamW at learning rate `lr` (hp.lr is the peak the
 * schedule scales; this step uses `lr`), then the bias update from `loads` when hp.balancing is
 * 'bias'. Returns the gradient norm before clipping. Mutates p.data, p.buffers and state.
 */
export function optimizerStep(p: TrainParams, state: OptimizerState, meanGrads: Float32Array, loads: Record<string, ArrayLike<number>>, hp: TrainHparams, lr: number): { grad_norm: number } {
  const norm = globalNorm(meanGrads);
  if (!Number.isFinite(norm)) {
    // A NaN or infinite gradient would turn every weight it touches into NaN: refuse the step.
    const i = firstNonFinite(meanGrads);
    throw new NonFiniteError(`the gradient (of ${nameAt(p, i)})`, i, meanGrads[i]);
  }
  const scale = norm > hp.max_grad_norm ? hp.max_grad_norm / (norm + 1e-6) : 1;
  adamwUpdate(p.data, meanGrads, state, { lr, betas: hp.betas, eps: hp.eps, weight_decay: hp.weight_decay }, decayRanges(p), scale);
  if (hp.balancing === 'bias') {
    for (const [prefix, load] of Object.entries(loads)) {
      const bias = p.buffers[prefix];
      if (bias) updateBias(bias, load, hp.bias_gamma);
    }
  }
  return { grad_norm: norm };
}
