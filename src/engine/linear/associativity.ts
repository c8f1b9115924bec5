// Why linear attention is linear: without softmax, attention is three matrix products and
//   (Q K^T) V = Q (K^T V),
// the left costs T^2 (dk + dv) multiply-adds and a T x T matrix, the right 2 T dk dv and a dk x dv
// one. Softmax sits between the two products: exp(q . k) is not a product of a function of q and
// a function of k, so the bracket cannot move. Putting exp on q and k separately (the nearest
// factorised thing) computes a different attention altogether.
import { type HeadQKV, dot, softmaxAttention } from './qkv.js';
import { relativeError } from './metrics.js';

export interface AssociativityCheck {
  /** max |(Q K^T) V - Q (K^T V)| over the whole (non-causal) T x dv result. */
  maxDifference: number;
  /** Largest |entry| of (Q K^T) V, for scale. */
  maxEntry: number;
  /** Multiply-adds of each bracketing. */
  macsLeft: number;
  macsRight: number;
  /** Relative error of the "moved bracket" with exp on q and k separately, against softmax attention (both causal, normalised). */
  softmaxMovedError: number;
}

export function associativityCheck(h: HeadQKV): AssociativityCheck {
  const { T, dk, dv, q, k, v, scale } = h;
  const left = new Float64Array(T * dv), right = new Float64Array(T * dv), KtV = new Float64Array(dk * dv);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) {
    const s = dot(q, i * dk, k, j * dk, dk);
    for (let c = 0; c < dv; c++) left[i * dv + c] += s * v[j * dv + c];
  }
  for (let j = 0; j < T; j++) for (let a = 0; a < dk; a++) for (let c = 0; c < dv; c++) KtV[a * dv + c] += k[j * dk + a] * v[j * dv + c];
  for (let i = 0; i < T; i++) for (let a = 0; a < dk; a++) for (let c = 0; c < dv; c++) right[i * dv + c] += q[i * dk + a] * KtV[a * dv + c];
  let maxDifference = 0, maxEntry = 0;
  for (let i = 0; i < left.length; i++) { maxDifference = Math.max(maxDifference, Math.abs(left[i] - right[i])); maxEntry = Math.max(maxEntry, Math.abs(left[i])); }
  // The moved bracket with exp applied to q and k elementwise: exp(q) . exp(k) != exp(q . k).
  const r = Math.sqrt(scale);
  const eq = q.map((x) => Math.exp(x * r)), ek = k.map((x) => Math.exp(x * r));
  const out = new Float64Array(T * dv);
  const S = new Float64Array(dk * dv), z = new Float64Array(dk);
  for (let i = 0; i < T; i++) {
    for (let a = 0; a < dk; a++) { z[a] += ek[i * dk + a]; for (let c = 0; c < dv; c++) S[a * dv + c] += ek[i * dk + a] * v[i * dv + c]; }
    const den = dot(eq, i * dk, z, 0, dk);
    for (let a = 0; a < dk; a++) for (let c = 0; c < dv; c++) out[i * dv + c] += eq[i * dk + a] * S[a * dv + c] / den;
  }
  return {
    maxDifference, maxEntry,
    macsLeft: T * T * (dk + dv), macsRight: 2 * T * dk * dv,
    softmaxMovedError: relativeError(out, softmaxAttention(h).out),
  };
}
