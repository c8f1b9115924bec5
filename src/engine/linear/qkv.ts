// One attention head's queries, keys and values as float64 rows, the exact causal softmax attention
// they define (the reference every variant in this folder is measured against), and the way to
// read them from the model: a layer's AttentionTrace holds q (RoPE applied) and the latents
// c_KV, k^R; the head's keys and values are decompressed from the latents with W_UK,i and W_UV,i
// exactly as the decompressed decode path does (k_i = [W_UK,i c_KV ; k^R], v_i = W_UV,i c_KV).
import { headMatrices } from '../absorption.js';
import { qkHeadDim } from '../config.js';
import type { LayerTrace, Model } from '../model.js';

/** A head's q, k, v for T tokens: q, k [T, dk], v [T, dv], and the score scale (1/sqrt(dk) in MLA). */
export interface HeadQKV {
  T: number;
  dk: number;
  dv: number;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  scale: number;
}

/** An attention's output [T, dv] and, in the parallel form, its T x T mixing matrix (row i: weights on v_j). */
export interface AttentionResult {
  out: Float64Array;
  /** weights[i*T + j]: how much v_j contributes to output i (zero above the diagonal). */
  weights: Float64Array | null;
}

export function checkHead(h: HeadQKV, where: string): void {
  if (!(h.T > 0) || !(h.dk > 0) || !(h.dv > 0)) throw new RangeError(`${where}: T, dk and dv must be positive`);
  if (h.q.length !== h.T * h.dk || h.k.length !== h.T * h.dk) throw new RangeError(`${where}: q and k must be [T, dk] = [${h.T}, ${h.dk}]`);
  if (h.v.length !== h.T * h.dv) throw new RangeError(`${where}: v must be [T, dv] = [${h.T}, ${h.dv}]`);
}

export function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

/** out = weights @ v for a [T, T] mixing matrix. */
export function mix(weights: Float64Array, v: ArrayLike<number>, T: number, dv: number): Float64Array {
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) {
    const w = weights[i * T + j];
    if (w === 0) continue;
    for (let c = 0; c < dv; c++) out[i * dv + c] += w * v[j * dv + c];
  }
  return out;
}

/** Exact causal softmax attention: softmax_j<=i(scale q_i . k_j) v_j, in float64. */
export function softmaxAttention(h: HeadQKV): AttentionResult {
  checkHead(h, 'softmaxAttention');
  const { T, dk, dv, q, k, scale } = h;
  const weights = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    let max = -Infinity;
    for (let j = 0; j <= i; j++) {
      const s = scale * dot(q, i * dk, k, j * dk, dk);
      weights[i * T + j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j <= i; j++) { const e = Math.exp(weights[i * T + j] - max); weights[i * T + j] = e; sum += e; }
    for (let j = 0; j <= i; j++) weights[i * T + j] /= sum;
  }
  return { out: mix(weights, h.v, T, dv), weights };
}

/** Rows of a head from model-layout arrays (float32 [T, cols] with the head at a column offset). */
function columns(src: ArrayLike<number>, T: number, cols: number, start: number, count: number): Float64Array {
  const out = new Float64Array(T * count);
  for (let t = 0; t < T; t++) for (let c = 0; c < count; c++) out[t * count + c] = src[t * cols + start + c];
  return out;
}

/**
 * Head `head` of a traced layer (model.forward(tokens, { trace: true }).trace[layer]): q with RoPE
 * on its rope part, k = [k^C ; k^R] and v, with k^C and v decompressed from the traced c_KV.
 */
export function headQKV(model: Model, layerTrace: LayerTrace, head: number): HeadQKV {
  const cfg = model.config, tr = layerTrace.attention;
  const nh = cfg.num_attention_heads, qk = qkHeadDim(cfg), nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim;
  const dc = cfg.kv_lora_rank, dv = cfg.v_head_dim;
  const T = tr.ckv.length / dc;
  if (tr.keys !== T) throw new RangeError('headQKV: the trace must come from a forward without a cache (every key is a new token)');
  const m = headMatrices(model, layerTrace.layer, head);
  const q = columns(tr.q, T, nh * qk, head * qk, qk);
  const k = new Float64Array(T * qk);
  const v = new Float64Array(T * dv);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < nope; r++) k[t * qk + r] = dot(m.wUK, r * dc, tr.ckv, t * dc, dc);
    for (let r = 0; r < dr; r++) k[t * qk + nope + r] = tr.kPe[t * dr + r];
    for (let r = 0; r < dv; r++) v[t * dv + r] = dot(m.wUV, r * dc, tr.ckv, t * dc, dc);
  }
  return { T, dk: qk, dv, q, k, v, scale: 1 / Math.sqrt(qk) };
}
