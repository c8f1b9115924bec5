// Load balancing: the strategies the lesson compares, and how balance is measured.
//
//  none  — the router follows the task loss alone; experts that get tokens get better and get more
//          tokens (rich get richer), and on a skewed task a few experts take most of them.
//  aux   — an auxiliary balance loss (Switch Transformer / DeepSeek-V2 / DeepSeek-V3 eq. 17-20):
//            L_Bal = α Σ_i f_i P_i,
//            f_i = E / (K T) · #{t : i chosen for t}   (a count: constant, no gradient)
//            P_i = (1/T) Σ_t s'_{i,t},  s'_{i,t} = s_{i,t} / Σ_j s_{j,t}   (gradient flows here)
//          With f_i written as the fraction of routed (token, expert) pairs this is α E Σ_i f_i P_i,
//          Switch's form; both equal α when the load is uniform.
//  bias  — DeepSeek-V3's auxiliary-loss-free balancing (§2.1.2): after each step,
//            b_i += γ · sign(mean load − load_i),
//          and route() adds b only to choose experts; gate weights still come from the unbiased s.
// Any strategy can add the complementary sequence-wise loss (DeepSeek-V3 eq. 17-20): the same L_Bal
// computed on each "sequence" (a run of `seqLen` consecutive tokens of the batch) and averaged, with
// a small α. Here f_i counts what route() chose (with the bias, when there is one); the paper writes
// the top-k of the unbiased s, which is the same set whenever the bias is zero.
import type { Routing } from '../router.js';

export type BalanceStrategy = 'none' | 'aux' | 'bias';

export interface BalanceOptions {
  strategy: BalanceStrategy;
  /** α of the batch-wise auxiliary loss ('aux'). */
  auxAlpha: number;
  /** γ, the bias update speed ('bias'). */
  biasGamma: number;
  /** α of the complementary sequence-wise loss, on top of any strategy (0: off). */
  seqAlpha: number;
  /** Tokens per "sequence" for the sequence-wise loss. */
  seqLen: number;
}

export const DEFAULT_BALANCE: BalanceOptions = { strategy: 'none', auxAlpha: 0.1, biasGamma: 0.01, seqAlpha: 0, seqLen: 16 };

/** Tokens routed to each expert [E] (the router's choice, before any capacity drop). */
export function expertLoad(routing: Routing, E: number): Int32Array {
  const load = new Int32Array(E);
  for (const chosen of routing.experts) for (const e of chosen) load[e]++;
  return load;
}

/** MaxVio = (max_i load_i − mean load) / mean load (DeepSeek-V3 §4.5.2); 0 when perfectly even. */
export function maxVio(load: ArrayLike<number>): number {
  let max = -Infinity, sum = 0;
  for (let i = 0; i < load.length; i++) { max = Math.max(max, load[i]); sum += load[i]; }
  const mean = sum / load.length;
  return mean > 0 ? (max - mean) / mean : 0;
}

/** Share of all routed (token, expert) pairs taken by the `n` most loaded experts. */
export function topShare(load: ArrayLike<number>, n: number): number {
  const sorted = Array.from(load).sort((a, b) => b - a);
  const total = sorted.reduce((a, b) => a + b, 0);
  return total > 0 ? sorted.slice(0, n).reduce((a, b) => a + b, 0) / total : 0;
}

export interface BalanceLoss {
  loss: number;
  /** ∂loss/∂s [T, E] on the unbiased scores (s, not s'). */
  dScores: Float64Array;
}

/**
 * L_Bal = α Σ_i f_i P_i over chunks of `chunk` consecutive tokens, averaged over chunks
 * (chunk = T: the batch-wise loss; chunk = seqLen: the sequence-wise one). Adds into `dScores`
 * when given, so several balance terms can share one gradient buffer.
 */
export function balanceLoss(
  scores: Float64Array, routing: Routing, E: number, K: number, alpha: number, chunk: number, dScores?: Float64Array,
): BalanceLoss {
  const T = routing.tokens;
  const ds = dScores ?? new Float64Array(T * E);
  if (alpha === 0 || T === 0) return { loss: 0, dScores: ds };
  const L = Math.max(1, Math.min(chunk, T));
  const nChunks = Math.ceil(T / L);
  const f = new Float64Array(E), Pi = new Float64Array(E);
  let loss = 0;
  for (let c0 = 0; c0 < T; c0 += L) {
    const c1 = Math.min(T, c0 + L), n = c1 - c0;
    f.fill(0);
    Pi.fill(0);
    for (let t = c0; t < c1; t++) for (const e of routing.experts[t]) f[e] += E / (K * n);
    for (let t = c0; t < c1; t++) {
      let S = 0;
      for (let e = 0; e < E; e++) S += scores[t * E + e];
      for (let e = 0; e < E; e++) Pi[e] += scores[t * E + e] / S / n;
    }
    let part = 0;
    for (let e = 0; e < E; e++) part += f[e] * Pi[e];
    loss += (alpha * part) / nChunks;
    // ∂/∂s'_{i,t} = α f_i / (n · nChunks); through s' = s / S: ∂/∂s_j = (∂/∂s'_j − Σ_i s'_i ∂/∂s'_i) / S.
    const k = alpha / (n * nChunks);
    for (let t = c0; t < c1; t++) {
      let S = 0, inner = 0;
      for (let e = 0; e < E; e++) S += scores[t * E + e];
      for (let e = 0; e < E; e++) inner += (scores[t * E + e] / S) * k * f[e];
      for (let e = 0; e < E; e++) ds[t * E + e] += (k * f[e] - inner) / S;
    }
  }
  return { loss, dScores: ds };
}

/** DeepSeek-V3's bias update (the trainer's, src/engine/train/adamw.ts). */
export { updateBias } from '../train/adamw.js';
