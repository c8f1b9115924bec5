// Performer's FAVOR+ (Choromanski et al. 2021, "Rethinking Attention with Performers"): positive
// orthogonal random features whose dot product is an unbiased estimate of the softmax kernel,
//   exp(x . y) = E_w[ exp(w.x - |x|^2/2) exp(w.y - |y|^2/2) ],   w ~ N(0, I_d),
// so phi(x) = exp(W x - |x|^2/2) / sqrt(m) with m rows w_1..w_m. The rows are drawn in blocks of d
// that are exactly orthogonal (Gram-Schmidt on Gaussian vectors) and then given the lengths of
// independent Gaussian vectors, so each row is still marginally N(0, I_d) but the estimate has
// lower variance. Positive features keep every weight positive (trigonometric random features do
// not), which is what makes the normalised average stable. x and y are q, k scaled by scale^(1/2)
// each, so x . y = scale q . k, the softmax logit.
import { createRng, normal, type Rng } from '../sampling.js';
import { type KernelInputs, kernelAttentionParallel, kernelAttentionRecurrent } from './kernel-attention.js';
import { type AttentionResult, type HeadQKV, checkHead, dot } from './qkv.js';

/** m x d projection rows: orthogonal within each block of d (when `orthogonal`), Gaussian lengths. */
export function randomProjection(m: number, d: number, rng: Rng, orthogonal = true): Float64Array {
  if (!(m > 0 && d > 0)) throw new RangeError('randomProjection: m and d must be positive');
  const W = new Float64Array(m * d);
  for (let i = 0; i < m * d; i++) W[i] = normal(rng);
  if (!orthogonal) return W;
  for (let start = 0; start < m; start += d) {
    const end = Math.min(m, start + d);
    // Gram-Schmidt against the earlier (unit) rows of this block, then unit length.
    for (let r = start; r < end; r++) {
      for (let p = start; p < r; p++) {
        const c = dot(W, r * d, W, p * d, d);
        for (let j = 0; j < d; j++) W[r * d + j] -= c * W[p * d + j];
      }
      const n = Math.sqrt(dot(W, r * d, W, r * d, d));
      for (let j = 0; j < d; j++) W[r * d + j] /= n;
    }
    // Then the length of an independent d-dimensional Gaussian vector (chi with d degrees of freedom).
    for (let r = start; r < end; r++) {
      let len = 0;
      for (let j = 0; j < d; j++) { const g = normal(rng); len += g * g; }
      len = Math.sqrt(len);
      for (let j = 0; j < d; j++) W[r * d + j] *= len;
    }
  }
  return W;
}

/**
 * phi(x) for rows x [T, d] (already scaled): exp(w_a . x - |x|^2/2 - c) / sqrt(m). With
 * `stabiliseRows` c is each row's max of w_a . x (a per-query constant that the row normalisation
 * cancels); otherwise c = 0 (keys: a per-key constant would not cancel).
 */
export function favorFeatures(x: Float64Array, T: number, d: number, W: Float64Array, m: number, stabiliseRows: boolean): Float64Array {
  const out = new Float64Array(T * m);
  const proj = new Float64Array(m);
  const inv = 1 / Math.sqrt(m);
  for (let t = 0; t < T; t++) {
    const xo = t * d;
    let half = 0;
    for (let j = 0; j < d; j++) half += x[xo + j] * x[xo + j];
    half /= 2;
    let c = stabiliseRows ? -Infinity : 0;
    for (let a = 0; a < m; a++) {
      const wo = a * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += W[wo + j] * x[xo + j];
      proj[a] = s;
      if (stabiliseRows && s > c) c = s;
    }
    const oo = t * m;
    for (let a = 0; a < m; a++) out[oo + a] = Math.exp(proj[a] - half - c) * inv;
  }
  return out;
}

export interface PerformerOptions {
  /** Number of random features m. */
  features: number;
  rng: Rng;
  /** Orthogonal blocks (FAVOR+) or i.i.d. Gaussian rows. */
  orthogonal?: boolean;
}

export function performerInputs(h: HeadQKV, o: PerformerOptions): KernelInputs & { W: Float64Array } {
  checkHead(h, 'Performer');
  const m = o.features, d = h.dk, s = Math.sqrt(h.scale);
  const W = randomProjection(m, d, o.rng, o.orthogonal ?? true);
  const q = h.q.map((x) => x * s), k = h.k.map((x) => x * s);
  return { T: h.T, m, dv: h.dv, fq: favorFeatures(q, h.T, d, W, m, true), fk: favorFeatures(k, h.T, d, W, m, false), v: h.v, W };
}

export function performerParallel(h: HeadQKV, o: PerformerOptions): AttentionResult {
  return kernelAttentionParallel(performerInputs(h, o));
}

export function performerRecurrent(h: HeadQKV, o: PerformerOptions): Float64Array {
  return kernelAttentionRecurrent(performerInputs(h, o));
}

/** Mean relative error of Performer's output against exact softmax attention, for each m (draws seeded 0..draws-1 from `seed`). */
export function performerErrorCurve(h: HeadQKV, ms: readonly number[], draws: number, seed: number, orthogonal: boolean, exact: Float64Array): number[] {
  return ms.map((m) => {
    let e = 0;
    for (let s = 0; s < draws; s++) {
      const out = performerParallel(h, { features: m, rng: createRng(seed * 1009 + s * 31 + 7), orthogonal }).out;
      let num = 0, den = 0;
      for (let i = 0; i < exact.length; i++) { num += (out[i] - exact[i]) ** 2; den += exact[i] ** 2; }
      e += Math.sqrt(num / den);
    }
    return e / draws;
  });
}
