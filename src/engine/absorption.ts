// The algebra behind MLA's absorbed decode, as numbers a lesson can show.
// - headMatrices: one head's W_UQ (or W_Q) rows, W_UK, W_UV, its W_O columns, and the absorbed
//   products W_UQ^T W_UK (the query side folded onto c_KV) and W_O W_UV (the output side).
// - ropeAbsorption: why RoPE on the compressed key breaks absorption and decoupled RoPE does not.
//   With RoPE on k^C, score(t, j) = (R_t q^C_t) . (R_j W_UK c_j): the rotation R_j depends on the
//   key's position and sits between W_UK and c_j, so no position-free matrix can move W_UK onto the
//   query side; absorbing anyway (dropping R_j) is wrong by an amount that grows with j. With
//   decoupled RoPE the rotated part is a separate, head-shared k^R, and the compressed part has no
//   rotation: the absorbed score equals the exact one up to float rounding.
import { qkHeadDim } from './config.js';
import type { LayerTrace, Model } from './model.js';
import { kvBHead } from './weights.js';

/** Row-major float64 matrix product C[m,n] = A[m,k] B[k,n] (for small lesson-sized checks). */
function product(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const x = a[i * k + p];
    for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j];
  }
  return c;
}

function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

export interface HeadMatrices {
  layer: number;
  head: number;
  /** Width of the query projection's input: q_lora_rank (d_c'), or hidden_size without a query latent. */
  queryInput: number;
  /** W_UQ,i: the q^C rows of q_b_proj (or q_proj) for this head [qk_nope, queryInput]. */
  wUQ: Float64Array;
  /** W_UK,i [qk_nope, d_c]. */
  wUK: Float64Array;
  /** W_UV,i [v_head_dim, d_c]. */
  wUV: Float64Array;
  /** This head's columns of o_proj [hidden, v_head_dim]. */
  wO: Float64Array;
  /** W_UQ,i^T W_UK,i [queryInput, d_c]: q^C . k^C = c_Q^T (W_UQ^T W_UK) c_KV. */
  absorbedQK: Float64Array;
  /** W_O,i W_UV,i [hidden, d_c]: the head's output written straight from its latent attention output. */
  absorbedOV: Float64Array;
}

/** One head's MLA matrices and their absorbed products. */
export function headMatrices(model: Model, layer: number, head: number): HeadMatrices {
  const cfg = model.config;
  const w = (layer < cfg.num_hidden_layers ? model.weights.layers[layer] : model.weights.mtp[layer - cfg.num_hidden_layers]?.layer)?.attn;
  if (!w) throw new RangeError(`headMatrices: no layer ${layer}`);
  if (head < 0 || head >= cfg.num_attention_heads) throw new RangeError(`headMatrices: no head ${head}`);
  const nope = cfg.qk_nope_head_dim, dv = cfg.v_head_dim, dc = cfg.kv_lora_rank, d = cfg.hidden_size, qk = qkHeadDim(cfg);
  const queryInput = cfg.q_lora_rank ?? d;
  const q = (w.qBProj ?? w.qProj)!;
  const wUQ = Float64Array.from(q.subarray(head * qk * queryInput, (head * qk + nope) * queryInput));
  const slices = kvBHead(w.kvBProj, cfg, head);
  const wUK = Float64Array.from(slices.wUK), wUV = Float64Array.from(slices.wUV);
  const wO = new Float64Array(d * dv);
  const oCols = cfg.num_attention_heads * dv;
  for (let r = 0; r < d; r++) for (let c = 0; c < dv; c++) wO[r * dv + c] = w.oProj[r * oCols + head * dv + c];
  return {
    layer, head, queryInput, wUQ, wUK, wUV, wO,
    absorbedQK: product(transpose(wUQ, nope, queryInput), wUK, queryInput, nope, dc),
    absorbedOV: product(wO, wUV, d, dv, dc),
  };
}

/** Rotate interleaved pairs of a vector by position pos (float64; the same rule as the kernels). */
function rotate(x: ArrayLike<number>, pos: number, theta: number): Float64Array {
  const dim = x.length, y = new Float64Array(dim);
  for (let i = 0; i < dim / 2; i++) {
    const a = pos * Math.pow(theta, (-2 * i) / dim), c = Math.cos(a), s = Math.sin(a);
    y[2 * i] = x[2 * i] * c - x[2 * i + 1] * s;
    y[2 * i + 1] = x[2 * i] * s + x[2 * i + 1] * c;
  }
  return y;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

export interface RopeAbsorption {
  tokens: number;
  /** [T, T] row t, column j <= t: the exact score of query t and key j if RoPE sat on k^C (coupled). */
  coupledExact: Float64Array;
  /** Same scores computed the absorbed way from the cached c_KV (the key rotation cannot be applied). */
  coupledAbsorbed: Float64Array;
  /** |coupledExact - coupledAbsorbed| (zero only at key position 0, where R_0 = I). */
  coupledError: Float64Array;
  /** [T, T] DeepSeek's decoupled RoPE: exact score (from rebuilt k^C and the shared k^R). */
  decoupledExact: Float64Array;
  /** The same scores from the absorbed query over the cached c_KV and k^R. */
  decoupledAbsorbed: Float64Array;
  decoupledError: Float64Array;
  maxCoupledError: number;
  maxDecoupledError: number;
}

/**
 * For one layer and head of a prompt: the attention scores (before scaling) under coupled RoPE,
 * exact and absorbed, and under decoupled RoPE, exact and absorbed. The coupled variant rotates
 * q^C and k^C = W_UK c_KV in place (needs an even qk_nope_head_dim); it is what the papers call
 * incompatible with absorption, computed here from the model's own weights and activations.
 */
export function ropeAbsorption(model: Model, tokens: readonly number[], layer: number, head: number, trace?: readonly LayerTrace[]): RopeAbsorption {
  const cfg = model.config;
  if (cfg.qk_nope_head_dim % 2 !== 0) throw new RangeError('ropeAbsorption: qk_nope_head_dim must be even to rotate k^C in pairs');
  // A caller that already ran the prompt with a trace passes it, so a new head or layer costs no forward.
  const tr = (trace ?? model.forward(tokens, { trace: true }).trace!)[layer];
  if (!tr) throw new RangeError(`ropeAbsorption: no layer ${layer}`);
  const T = tokens.length, nh = cfg.num_attention_heads, qk = qkHeadDim(cfg);
  const nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank;
  const m = headMatrices(model, layer, head);
  const qC = (t: number) => tr.attention.q.subarray((t * nh + head) * qk, (t * nh + head) * qk + nope);
  const qPe = (t: number) => tr.attention.q.subarray((t * nh + head) * qk + nope, (t * nh + head + 1) * qk);
  const c = (j: number) => tr.attention.ckv.subarray(j * dc, (j + 1) * dc);
  const kPe = (j: number) => tr.attention.kPe.subarray(j * dr, (j + 1) * dr);
  const absorb = (q: ArrayLike<number>) => product(q, m.wUK, 1, nope, dc); // W_UK^T q (as a row)
  // Per key: k^C_j = W_UK c_j, and its rotation at position j; computed once, used by every query.
  const kC = Array.from({ length: T }, (_, j) => product(m.wUK, c(j), nope, dc, 1));
  const kCRot = kC.map((k, j) => rotate(k, j, cfg.rope_theta));

  const grid = () => new Float64Array(T * T);
  const r = { coupledExact: grid(), coupledAbsorbed: grid(), coupledError: grid(), decoupledExact: grid(), decoupledAbsorbed: grid(), decoupledError: grid() };
  let maxC = 0, maxD = 0;
  for (let t = 0; t < T; t++) {
    const qRot = rotate(qC(t), t, cfg.rope_theta);
    const qLatCoupled = absorb(qRot);
    const qLat = absorb(qC(t));
    for (let j = 0; j <= t; j++) {
      const i = t * T + j;
      r.coupledExact[i] = dot(qRot, kCRot[j]);
      r.coupledAbsorbed[i] = dot(qLatCoupled, c(j));
      r.coupledError[i] = Math.abs(r.coupledExact[i] - r.coupledAbsorbed[i]);
      r.decoupledExact[i] = dot(qC(t), kC[j]) + dot(qPe(t), kPe(j));
      r.decoupledAbsorbed[i] = dot(qLat, c(j)) + dot(qPe(t), kPe(j));
      r.decoupledError[i] = Math.abs(r.decoupledExact[i] - r.decoupledAbsorbed[i]);
      maxC = Math.max(maxC, r.coupledError[i]);
      maxD = Math.max(maxD, r.decoupledError[i]);
    }
  }
  return { tokens: T, ...r, maxCoupledError: maxC, maxDecoupledError: maxD };
}

/** Largest |a_i - b_i| of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
