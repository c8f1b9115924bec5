// Optimizers over one flat parameter array: Adam (Kingma & Ba, with bias correction: the trainer's
// AdamW update with no weight decay, src/engine/train/adamw.ts) and SGD with optional momentum.
// The state is plain typed arrays, so it snapshots as data.
import { adamwUpdate } from '../train/adamw.js';
import type { Vec } from './model.js';

export type OptimizerKind = 'adam' | 'sgd';

export interface OptimizerOptions {
  kind: OptimizerKind;
  lr: number;
  /** Adam's β1 (also SGD's momentum when kind = 'sgd'; 0: plain SGD). */
  beta1: number;
  beta2: number;
  eps: number;
}

export const DEFAULT_OPTIMIZER: OptimizerOptions = { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export interface OptimizerState {
  /** Steps taken (Adam's bias correction uses it). */
  t: number;
  /** First moment (Adam) or velocity (SGD momentum). */
  m: Float64Array;
  /** Second moment (Adam; unused by SGD). */
  v: Float64Array;
}

/** Fresh state for `size` parameters (both moments, so the kind can change between steps). */
export function createOptimizerState(size: number): OptimizerState {
  return { t: 0, m: new Float64Array(size), v: new Float64Array(size) };
}

/** One update of `params` from `grads`, in place. */
export function optimizerStep(opts: OptimizerOptions, state: OptimizerState, params: Vec, grads: Vec): void {
  const { lr, beta1, beta2, eps } = opts;
  const n = params.length, m = state.m;
  state.t++;
  if (opts.kind === 'sgd') {
    for (let i = 0; i < n; i++) {
      m[i] = beta1 * m[i] + grads[i];
      params[i] -= lr * m[i];
    }
    return;
  }
  // The trainer's update counts its own steps: hand it this state's count and read it back.
  const adam = { step: state.t - 1, m, v: state.v };
  adamwUpdate(params, grads, adam, { lr, betas: [beta1, beta2], eps, weight_decay: 0 }, []);
  state.t = adam.step;
}
