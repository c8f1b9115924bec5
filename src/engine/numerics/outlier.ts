// Why DeepSeek-V3 scales FP8 per 1 x 128 tile and per 128 x 128 block rather than per tensor
// (§3.3.2): one large value sets the scale of everything that shares it. Put an outlier into a real
// matrix of the model, quantise it both ways, and measure the error on every other value.
import type { Model } from '../model.js';
import { E4M3 } from './formats.js';
import { type Granularity, blockShape, fakeQuantize } from './quantize.js';

export interface OutlierSide {
  /** Relative error ||Q(x) - x|| / ||x|| of each row, the outlier itself left out. */
  rowError: number[];
  /** Relative error over the whole matrix, the outlier left out. */
  relError: number;
  /** Fraction of the other nonzero values that became exactly zero. */
  flushed: number;
  /** Relative error of the values outside the outlier's fine-grained block or tile. */
  outside: number;
}

export interface OutlierResult {
  rows: number;
  cols: number;
  outlier: { row: number; col: number; value: number };
  tensor: OutlierSide;
  fine: OutlierSide;
}

function side(x: Float32Array, rows: number, cols: number, g: Granularity | readonly [number, number], skip: number, fine: readonly [number, number], at: { row: number; col: number }): OutlierSide {
  const q = fakeQuantize(x, rows, cols, g, E4M3);
  const rowError: number[] = [];
  let se = 0, sx = 0, flushed = 0, nonzero = 0, oe = 0, ox = 0;
  const blockOf = (r: number, c: number) => `${Math.floor(r / fine[0])},${Math.floor(c / fine[1])}`;
  const home = blockOf(at.row, at.col);
  for (let r = 0; r < rows; r++) {
    let re = 0, rx = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (i === skip) continue;
      const d = q[i]! - x[i]!;
      re += d * d;
      rx += x[i]! * x[i]!;
      if (blockOf(r, c) !== home) { oe += d * d; ox += x[i]! * x[i]!; }
      if (x[i] !== 0) { nonzero++; if (q[i] === 0) flushed++; }
    }
    rowError.push(rx > 0 ? Math.sqrt(re / rx) : 0);
    se += re;
    sx += rx;
  }
  return { rowError, relError: sx > 0 ? Math.sqrt(se / sx) : 0, flushed: nonzero > 0 ? flushed / nonzero : 0, outside: ox > 0 ? Math.sqrt(oe / ox) : 0 };
}

/**
 * Quantise x [rows, cols] to E4M3 per tensor and at a finer granularity, after setting element
 * (row, col) to `factor` times the largest magnitude already there (factor 0: no outlier).
 */
export function outlierComparison(x: Float32Array, rows: number, cols: number, fine: Granularity | readonly [number, number], at: { row: number; col: number; factor: number }): OutlierResult {
  const y = x.slice();
  let amax = 0;
  for (const v of y) amax = Math.max(amax, Math.abs(v));
  const skip = at.factor > 0 ? at.row * cols + at.col : -1;
  if (skip >= 0) y[skip] = at.factor * amax;
  const fb = typeof fine === 'string' ? blockShape(fine, rows, cols) : fine;
  return {
    rows, cols,
    outlier: { row: at.row, col: at.col, value: y[at.row * cols + at.col]! },
    tensor: side(y, rows, cols, 'tensor', skip, fb, at),
    fine: side(y, rows, cols, fine, skip, fb, at),
  };
}

/**
 * A layer's routed experts' gate_proj weights stacked [E x moe_intermediate_size, d] (as a grouped
 * GEMM holds them), for the 128 x 128 block case.
 */
export function stackedExpertWeights(model: Model, layer: number): { data: Float32Array; rows: number; cols: number; rowsPerExpert: number } {
  const moe = model.weights.layers[layer]?.moe;
  if (!moe) throw new RangeError(`layer ${layer} is not a DeepSeekMoE layer`);
  const d = model.config.hidden_size, I = model.config.moe_intermediate_size;
  const data = new Float32Array(moe.experts.length * I * d);
  moe.experts.forEach((e, j) => data.set(e.gate, j * I * d));
  return { data, rows: moe.experts.length * I, cols: d, rowsPerExpert: I };
}

/** The input of layer 0's attention projections for a prompt [T, d]: RMSNorm of the embeddings. */
export function firstLayerInput(model: Model, tokens: readonly number[]): Float32Array {
  model.checkTokens(tokens);
  const d = model.config.hidden_size;
  const h = new Float32Array(tokens.length * d);
  tokens.forEach((t, i) => h.set(model.weights.embed.subarray(t * d, (t + 1) * d), i * d));
  return model.backend.rmsNorm(h, model.weights.layers[0]!.inputNorm, tokens.length, d, model.config.rms_norm_eps);
}
