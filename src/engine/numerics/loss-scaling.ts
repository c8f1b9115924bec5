// FP16 gradients and loss scaling (Micikevicius et al., "Mixed Precision Training", 2018): FP16's
// smallest subnormal is 2^-24 and its smallest normal 2^-14, and many gradient values are smaller.
// Multiplying the loss by S multiplies every gradient by S (the chain rule is linear), lifting them
// into FP16's range; the optimizer divides by S again in FP32. A step whose scaled gradients
// overflow to infinity is skipped and S halved.
//
// Simulated here on the trainer's float32 gradients: each mean gradient is stored as FP16 after
// scaling, then unscaled in float32, before AdamW. (A real FP16 backward rounds every intermediate
// too; this keeps only the rounding of the gradients the optimizer reads.)
import type { Backend } from '../../../kernels/backend.js';
import type { DeepSeekConfig } from '../config.js';
import { createOptimizer, optimizerStep } from '../train/adamw.js';
import { type TrainHparams, rowsGradient } from '../train/objective.js';
import { paramsFromTensors } from '../train/params.js';
import type { Tensor } from '../weights.js';
import { FP16 } from './formats.js';
import { roundActivations } from './precision.js';

export interface Fp16Gradients {
  /** Gradients after FP16 storage, unscaled (float32). */
  grads: Float32Array;
  /** Of the nonzero gradients: how many became 0, how many were subnormal in FP16, how many overflowed. */
  underflow: number;
  subnormal: number;
  overflow: number;
  nonzero: number;
}

/** Store g x scale in FP16, read it back divided by scale. */
export function fp16Gradients(g: Float32Array, scale: number): Fp16Gradients {
  const scaled = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) scaled[i] = g[i]! * scale;
  const before = scaled.slice();
  roundActivations(FP16, scaled);
  let underflow = 0, subnormal = 0, overflow = 0, nonzero = 0;
  for (let i = 0; i < g.length; i++) {
    if (g[i] === 0) continue;
    nonzero++;
    const a = Math.abs(before[i]!);
    if (scaled[i] === 0) underflow++;
    else if (!Number.isFinite(scaled[i]!)) overflow++;
    else if (a < FP16.minNormal) subnormal++;
    scaled[i] = scaled[i]! / scale;
  }
  return { grads: scaled, underflow, subnormal, overflow, nonzero };
}

/** How many |g x scale| fall in each power of two [2^e, 2^(e+1)), for e in [lo, hi] (zeros left out). */
export function exponentHistogram(g: Float32Array, scale: number, lo = -40, hi = 20): { exponent: number; count: number }[] {
  const counts = new Array<number>(hi - lo + 1).fill(0);
  for (const v of g) {
    const a = Math.abs(v * scale);
    if (a === 0 || !Number.isFinite(a)) continue;
    const e = Math.min(hi, Math.max(lo, Math.floor(Math.log2(a))));
    counts[e - lo]!++;
  }
  return counts.map((count, i) => ({ exponent: lo + i, count }));
}

export type GradientMode = 'fp32' | 'fp16' | 'fp16-scaled';

export interface LossScaleStep {
  step: number;
  /** Mean training loss of the step's batch (before the update). */
  loss: number;
  /** Fraction of nonzero gradients that FP16 turned into 0 (0 in fp32 mode). */
  underflow: number;
  scale: number;
  skipped: boolean;
}

/**
 * A short training run from `tensors` over `batches` (each a list of equal-length token rows), one
 * AdamW step per batch, with gradients in FP32, FP16, or FP16 with loss scale `scale`. Yields each
 * step as it is done (a lesson draws them as they come).
 */
export function* lossScaleRun(
  config: DeepSeekConfig, tensors: ReadonlyMap<string, Tensor>, batches: number[][][], hp: TrainHparams,
  mode: GradientMode, opts: { scale?: number; lossMultiplier?: number; backend?: Backend } = {},
): Generator<LossScaleStep> {
  // lossMultiplier m: train on m x loss, so every gradient is m times smaller or larger. AdamW
  // divides by the gradient's own RMS, so in FP32 this hardly changes a step; in FP16 it moves
  // gradients across the underflow line (a model whose gradients are small, late in training).
  const m = opts.lossMultiplier ?? 1;
  const p = paramsFromTensors(config, tensors);
  const state = createOptimizer(p);
  let scale = mode === 'fp16-scaled' ? opts.scale ?? 2 ** 12 : 1;
  for (let s = 0; s < batches.length; s++) {
    const rows = batches[s]!;
    const g = rowsGradient(p, rows, hp, opts.backend);
    const mean = g.grads.map((v) => (v * m) / rows.length);
    let grads: Float32Array = mean, underflow = 0, skipped = false;
    if (mode !== 'fp32') {
      const f = fp16Gradients(mean, scale);
      underflow = f.nonzero > 0 ? f.underflow / f.nonzero : 0;
      grads = f.grads;
      if (f.overflow > 0) skipped = true;
    }
    const loads = Object.fromEntries(Object.entries(g.loads));
    if (!skipped) optimizerStep(p, state, grads, loads, hp, hp.lr);
    yield { step: s + 1, loss: g.loss / rows.length, underflow, scale, skipped };
    if (skipped) scale /= 2;
  }
}
