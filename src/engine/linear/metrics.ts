// How far an approximate attention is from softmax, and how spread out its rows are.
import type { HeadQKV } from './qkv.js';

/** ||a - b||_F / ||b||_F. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Entropy in bits of row i of a causal T x T mixing matrix, over its |weights| made to sum to 1
 * (a row that is not a distribution, e.g. TransNormer's, is measured by its magnitudes). A row
 * spread evenly over i+1 tokens has log2(i+1) bits: "attention dilution" is a row near that.
 */
export function rowEntropy(weights: ArrayLike<number>, T: number, i: number): number {
  let sum = 0;
  for (let j = 0; j <= i; j++) sum += Math.abs(weights[i * T + j]);
  if (!(sum > 0)) return 0;
  let h = 0;
  for (let j = 0; j <= i; j++) {
    const p = Math.abs(weights[i * T + j]) / sum;
    if (p > 0) h -= p * Math.log2(p);
  }
  return h;
}

/** Entropy of every row (bits). */
export function rowEntropies(weights: ArrayLike<number>, T: number): Float64Array {
  return Float64Array.from({ length: T }, (_, i) => rowEntropy(weights, T, i));
}

/** The causal T x T matrix of exact softmax kernel values exp(scale q_i . k_j) (0 above the diagonal). */
export function softmaxKernel(h: HeadQKV): Float64Array {
  const { T, dk, q, k, scale } = h;
  const K = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let c = 0; c < dk; c++) s += q[i * dk + c] * k[j * dk + c];
    K[i * T + j] = Math.exp(scale * s);
  }
  return K;
}

/** Mean and largest |q_i| and |k_j| after the sqrt(scale) each side gets (what Performer's features see). */
export function scaledNorms(h: HeadQKV): { qMean: number; qMax: number; kMean: number; kMax: number } {
  const r = Math.sqrt(h.scale);
  const stats = (x: Float64Array) => {
    let mean = 0, max = 0;
    for (let t = 0; t < h.T; t++) {
      let s = 0;
      for (let c = 0; c < h.dk; c++) s += x[t * h.dk + c] ** 2;
      const n = Math.sqrt(s) * r;
      mean += n / h.T;
      max = Math.max(max, n);
    }
    return { mean, max };
  };
  const q = stats(h.q), k = stats(h.k);
  return { qMean: q.mean, qMax: q.max, kMean: k.mean, kMax: k.max };
}
