// Causal attention with a factorised similarity sim(q_i, k_j) = phi(q_i) . phi(k_j) (the features
// are given: elu+1, ReLU, Performer's random features). Two forms that compute the same numbers:
//   parallel:  o_i = sum_{j<=i} (phi_i . psi_j) v_j / sum_{j<=i} phi_i . psi_j     (a T x T matrix)
//   recurrent: S_i = S_{i-1} + psi_i v_i^T,  z_i = z_{i-1} + psi_i,  o_i = S_i^T phi_i / (z_i . phi_i)
// The recurrent form is an RNN whose state (S: m x dv, z: m numbers) does not grow with the context.
// With `normalise: false` the denominator is dropped (TransNormer's starting point).
import type { AttentionResult } from './qkv.js';
import { dot } from './qkv.js';

/** Features of the queries and keys: fq, fk [T, m]; values v [T, dv]. */
export interface KernelInputs {
  T: number;
  m: number;
  dv: number;
  fq: Float64Array;
  fk: Float64Array;
  v: ArrayLike<number>;
}

/**
 * A denominator at or below this is "nothing attended": every feature product is exactly zero
 * (ReLU features all off, or exp features that underflowed). Any positive denominator is divided
 * by: Performer's unstabilised key features can be ~1e-15 for long keys and still give exact
 * ratios in float64.
 */
export const TINY_DENOMINATOR = 0;

/** The T x T causal similarity matrix phi(Q) phi(K)^T, optionally row-normalised. */
export function kernelWeights(x: KernelInputs, normalise: boolean): Float64Array {
  const { T, m, fq, fk } = x;
  const w = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    let sum = 0;
    const qo = i * m;
    for (let j = 0; j <= i; j++) {
      const ko = j * m;
      let s = 0;
      for (let a = 0; a < m; a++) s += fq[qo + a] * fk[ko + a];
      w[i * T + j] = s;
      sum += s;
    }
    if (normalise) {
      const inv = sum > TINY_DENOMINATOR ? 1 / sum : 0;
      for (let j = 0; j <= i; j++) w[i * T + j] *= inv;
    }
  }
  return w;
}

/** The parallel (quadratic) form. */
export function kernelAttentionParallel(x: KernelInputs, normalise = true): AttentionResult {
  const weights = kernelWeights(x, normalise);
  const { T, dv, v } = x;
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) {
    const a = weights[i * T + j];
    for (let c = 0; c < dv; c++) out[i * dv + c] += a * v[j * dv + c];
  }
  return { out, weights };
}

/** The recurrent state of a kernel attention: S [m, dv] and z [m]. */
export class KernelState {
  readonly S: Float64Array;
  readonly z: Float64Array;
  tokens = 0;

  constructor(readonly m: number, readonly dv: number, readonly normalise = true) {
    this.S = new Float64Array(m * dv);
    this.z = new Float64Array(m);
  }

  /** Fold in key features psi and value v. */
  update(psi: ArrayLike<number>, po: number, v: ArrayLike<number>, vo: number): void {
    const { m, dv, S, z } = this;
    for (let a = 0; a < m; a++) {
      const p = psi[po + a];
      if (p === 0) continue;
      z[a] += p;
      for (let c = 0; c < dv; c++) S[a * dv + c] += p * v[vo + c];
    }
    this.tokens++;
  }

  /** o = S^T phi / (z . phi) (or S^T phi unnormalised), written into out at offset oo. */
  read(phi: ArrayLike<number>, fo: number, out: Float64Array, oo: number): void {
    const { m, dv, S, z } = this;
    for (let c = 0; c < dv; c++) out[oo + c] = 0;
    for (let a = 0; a < m; a++) {
      const p = phi[fo + a];
      if (p === 0) continue;
      for (let c = 0; c < dv; c++) out[oo + c] += p * S[a * dv + c];
    }
    if (!this.normalise) return;
    const den = dot(z, 0, phi, fo, m);
    const inv = den > TINY_DENOMINATOR ? 1 / den : 0;
    for (let c = 0; c < dv; c++) out[oo + c] *= inv;
  }

  /** Numbers held: m dv + m (normalised) or m dv, whatever the context. */
  get size(): number {
    return this.m * this.dv + (this.normalise ? this.m : 0);
  }
}

/** The recurrent form: one token at a time through a KernelState. */
export function kernelAttentionRecurrent(x: KernelInputs, normalise = true): Float64Array {
  const { T, m, dv, fq, fk, v } = x;
  const state = new KernelState(m, dv, normalise);
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) {
    state.update(fk, i * m, v, i * dv);
    state.read(fq, i * m, out, i * dv);
  }
  return out;
}
