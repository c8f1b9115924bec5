// Multi-head Latent Attention (DeepSeek-V2 §2.1, DeepSeek-V3 §2.1.1) with decoupled RoPE.
//   c_Q = RMSNorm(W_DQ h)           q^C = W_UQ c_Q  (or q = W_Q h without a query latent)
//   [c_KV ; k^R] = W_DKV h          c_KV = RMSNorm(c_KV), k^R = RoPE(k^R), shared by all heads
//   k^C_i = W_UK,i c_KV, v^C_i = W_UV,i c_KV  (kv_b_proj holds W_UK,i then W_UV,i per head i)
//   score_i(t, j) = (q^C_i,t . k^C_i,j + q^R_i,t . k^R_j) / sqrt(d_h + d_h^R)
// Three ways to decode, all equal up to float rounding:
//   full-cache:   cache k_i = [k^C_i ; k^R] and v^C_i per head (what plain MHA caches);
//   decompressed: cache c_KV and k^R, rebuild every k^C_i, v^C_i from c_KV at every step;
//   absorbed:     cache c_KV and k^R; q^C_i . (W_UK,i c_KV) = (W_UK,i^T q^C_i) . c_KV, so the
//                 query is moved into latent space and attention runs over c_KV directly; the
//                 weighted sum of c_KV is lifted by W_UV,i afterwards (then W_O). RoPE sits only
//                 on the decoupled q^R/k^R, so nothing position-dependent lies between W_UQ and W_UK,
//                 and for a loaded model W_UK,i^T W_UQ,i is folded once (foldedQuery): c_Q goes
//                 straight to every head's latent query in one product per layer.
import { type Backend, isConstant, markConstant } from '../../kernels/backend.js';
import { type DeepSeekConfig, qkHeadDim } from './config.js';
import type { AttentionPath, LayerCache, Workspace } from './cache.js';
import { type AttentionWeights, kvBHead } from './weights.js';

/** What a lesson may want to see of one attention call (only filled when asked for). */
export interface AttentionTrace {
  /** Normalised c_KV of the new tokens [T, d_c]. */
  ckv: Float32Array;
  /** Rotated k^R of the new tokens [T, d_h^R]. */
  kPe: Float32Array;
  /** Queries of the new tokens after RoPE on their rope part [T, n_h * (d_h + d_h^R)]. */
  q: Float32Array;
  /** Absorbed path only: W_UK,i^T q^C_i per head [n_h, T, d_c]. */
  qLatent: Float32Array | null;
  /** Attention probabilities [n_h, T, N] over all N visible tokens (zeros where masked). */
  weights: Float32Array;
  /** Tokens attended over (cache plus new). */
  keys: number;
}

/**
 * Tree attention (Medusa, SpecInfer): T new tokens form a token tree rather than a sequence. Node t
 * sits at position start + depth[t] and sees every cached token plus its own ancestors and itself
 * (ancestor[t * T + j] = 1), never its siblings or their subtrees. Absorbed path only.
 */
export interface TreeMask {
  depth: Int32Array;
  ancestor: Uint8Array;
}

/** Copy columns [start, start+count) of a row-major [rows, cols] matrix. */
export function sliceColumns(src: Float32Array, rows: number, cols: number, start: number, count: number, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) {
    const from = r * cols + start, to = r * count;
    for (let j = 0; j < count; j++) dst[to + j] = src[from + j];
  }
  return dst;
}

/** Write a [rows, count] block into columns [start, start+count) of dst [rows, cols]. */
function putColumns(dst: Float32Array, cols: number, src: Float32Array, rows: number, start: number, count: number): void {
  for (let r = 0; r < rows; r++) {
    const from = r * count, to = r * cols + start;
    for (let j = 0; j < count; j++) dst[to + j] = src[from + j];
  }
}

/** An array of `length` floats: reused across decode steps (from a layer's Workspace), or fresh (null). */
const f32 = (ws: Workspace | null, name: string, length: number): Float32Array => ws ? ws.f32(name, length) : new Float32Array(length);

/**
 * The absorbed query projection folded once per model (DeepSeek-V2 §2.1.2's absorption, on the
 * query side): per head i, W_UQK,i = W_UK,i^T W_UQ,i [d_c, q_in] (q_in = q_lora_rank, or
 * hidden_size without a query latent), so W_UK,i^T q^C_i = W_UQK,i c_Q is one product from c_Q
 * (or h) straight into latent space; all heads stacked as rows [n_h * d_c, q_in], and beside it
 * the q^R rows of q_b_proj (q_proj) [n_h * d_h^R, q_in], whose output RoPE still rotates. Made in
 * float64 and rounded once; only for weights marked constant (a loaded model's: a product of
 * weights that training updates in place would go stale), keyed by kv_b_proj.
 */
export interface FoldedQuery {
  /** The query weight it was folded from (q_b_proj, or q_proj). */
  source: Float32Array;
  /** [n_h * d_c, q_in]: row (i, c) = (W_UK,i^T W_UQ,i)[c, :]. */
  latent: Float32Array;
  /** [n_h * d_h^R, q_in]: the q^R rows of the query projection. */
  rope: Float32Array;
}
const folds = new WeakMap<Float32Array, FoldedQuery>();

/** The folded query projection of an attention layer, or null when its weights are not constant. */
export function foldedQuery(cfg: DeepSeekConfig, w: AttentionWeights): FoldedQuery | null {
  const wq = (w.qBProj ?? w.qProj)!;
  const kept = folds.get(w.kvBProj);
  if (kept && kept.source === wq) return kept;
  if (!isConstant(w.kvBProj) || !isConstant(wq)) return null;
  const nh = cfg.num_attention_heads, qk = qkHeadDim(cfg), nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank;
  const qin = cfg.q_lora_rank ?? cfg.hidden_size;
  const latent = new Float32Array(nh * dc * qin), rope = new Float32Array(nh * dr * qin);
  const acc = new Float64Array(qin);
  for (let h = 0; h < nh; h++) {
    const { wUK } = kvBHead(w.kvBProj, cfg, h); // [nope, d_c]
    for (let c = 0; c < dc; c++) {
      acc.fill(0);
      for (let j = 0; j < nope; j++) {
        const u = wUK[j * dc + c], row = (h * qk + j) * qin;
        for (let i = 0; i < qin; i++) acc[i] += u * wq[row + i];
      }
      latent.set(acc, (h * dc + c) * qin);
    }
    for (let j = 0; j < dr; j++) rope.set(wq.subarray((h * qk + nope + j) * qin, (h * qk + nope + j + 1) * qin), (h * dr + j) * qin);
  }
  markConstant(latent, rope);
  const fold = { source: wq, latent, rope };
  folds.set(w.kvBProj, fold);
  return fold;
}

/**
 * W_UK,i [nope, d_c] and W_UV,i [d_v, d_c] of every head, as views of kv_b_proj made once per
 * weights (not per step), and marked constant when kv_b_proj is, so a backend keeping constants
 * in its own memory copies them once.
 */
const headViews = new WeakMap<Float32Array, { wUK: Float32Array[]; wUV: Float32Array[] }>();
function headWeights(kvBProj: Float32Array, cfg: DeepSeekConfig): { wUK: Float32Array[]; wUV: Float32Array[] } {
  let views = headViews.get(kvBProj);
  if (!views) {
    const wUK: Float32Array[] = [], wUV: Float32Array[] = [];
    for (let h = 0; h < cfg.num_attention_heads; h++) {
      const head = kvBHead(kvBProj, cfg, h);
      wUK.push(head.wUK);
      wUV.push(head.wUV);
    }
    if (isConstant(kvBProj)) markConstant(...wUK, ...wUV);
    views = { wUK, wUV };
    headViews.set(kvBProj, views);
  }
  return views;
}

interface Projected {
  /** The query projection's input [T, q_in]: c_Q = RMSNorm(W_DQ h), or h itself without a query latent. */
  cq: Float32Array;
  /** q per token [T, n_h * qk] with RoPE applied to each head's rope part (null when not asked for). */
  q: Float32Array | null;
  /** Normalised c_KV [T, d_c]. */
  ckv: Float32Array;
  /** Rotated k^R [T, d_h^R]. */
  kPe: Float32Array;
  /** Position of each new token [T]. */
  positions: Float32Array;
}

/** The projections every path shares: queries, c_KV and k^R of the new tokens. */
function project(be: Backend, cfg: DeepSeekConfig, w: AttentionWeights, x: Float32Array, T: number, start: number, ws: Workspace | null, depth: Int32Array | null, needQ: boolean): Projected {
  const d = cfg.hidden_size, nh = cfg.num_attention_heads, qk = qkHeadDim(cfg);
  const nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank;
  let cq = x;
  if (!w.qProj) {
    const rq = cfg.q_lora_rank!;
    cq = be.rmsNorm(be.matmulT(x, w.qAProj!, T, d, rq, f32(ws, 'cqRaw', T * rq)), w.qALayernorm!, T, rq, cfg.rms_norm_eps, f32(ws, 'cq', T * rq));
  }
  const compressedKv = be.matmulT(x, w.kvAProjWithMqa, T, d, dc + dr, f32(ws, 'compressedKv', T * (dc + dr)));
  const ckv = be.rmsNorm(sliceColumns(compressedKv, T, dc + dr, 0, dc, f32(ws, 'ckvRaw', T * dc)), w.kvALayernorm, T, dc, cfg.rms_norm_eps, f32(ws, 'ckv', T * dc));
  const positions = f32(ws, 'positions', T); // integers below 2^24: exact in float32
  for (let t = 0; t < T; t++) positions[t] = start + (depth ? depth[t] : t);
  const kPe = be.rope(sliceColumns(compressedKv, T, dc + dr, dc, dr, f32(ws, 'kPeRaw', T * dr)), T, dr, positions, cfg.rope_theta, f32(ws, 'kPe', T * dr));
  let q: Float32Array | null = null;
  if (needQ) {
    const qin = w.qProj ? d : cfg.q_lora_rank!;
    q = be.matmulT(cq, (w.qProj ?? w.qBProj)!, T, qin, nh * qk, f32(ws, 'q', T * nh * qk));
    if (dr > 0) {
      // Rotate every head's q^R in one call: rows (t, head) with position start + t.
      const rows = T * nh;
      const qPe = sliceColumns(q, rows, qk, nope, dr, f32(ws, 'qPeRaw', rows * dr));
      putColumns(q, qk, be.rope(qPe, rows, dr, headPositions(positions, T, nh, ws), cfg.rope_theta, f32(ws, 'qPeRotated', rows * dr)), rows, nope, dr);
    }
  }
  return { cq, q, ckv, kPe, positions };
}

/** Positions of the rows (t, head) of T tokens' per-head vectors: token t's, n_h times. */
function headPositions(positions: Float32Array, T: number, nh: number, ws: Workspace | null): Float32Array {
  const rows = T * nh, out = f32(ws, 'qPePositions', rows);
  for (let r = 0; r < rows; r++) out[r] = positions[Math.floor(r / nh)];
  return out;
}

/**
 * Mixes one head's values in place of softmax attention (the linear-attention lesson swaps a
 * layer's attention for a variant on the layer's own q [T, qk], k [N, qk], v [N, d_v]); returns
 * the head's output [T, d_v]. Only the paths that materialise per-head K and V take one.
 */
export type HeadMixer = (head: number, q: Float32Array, k: Float32Array, v: Float32Array, T: number, N: number, start: number, scale: number) => Float32Array;

/**
 * Attention of T new tokens at positions start..start+T-1, for one layer. With a cache the new
 * tokens are appended and attend over everything cached; without one (the full recompute) they
 * attend over themselves, so `start` must be 0. Returns W_O applied to the heads' outputs [T, d].
 */
export function mlaForward(
  be: Backend, cfg: DeepSeekConfig, w: AttentionWeights,
  x: Float32Array, T: number, start: number,
  cache: LayerCache | null, trace: boolean, mixer: HeadMixer | null = null, tree: TreeMask | null = null,
  foldQuery = true,
): { out: Float32Array; trace: AttentionTrace | null } {
  const nh = cfg.num_attention_heads, qk = qkHeadDim(cfg);
  const nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank, dv = cfg.v_head_dim;
  const scale = 1 / Math.sqrt(qk);
  if (cache && cache.length !== start) throw new Error(`mlaForward: cache holds ${cache.length} tokens but the new tokens start at ${start}`);
  if (!cache && start !== 0) throw new Error('mlaForward: without a cache the tokens must start at position 0');

  // A decode step reuses its layer's arrays (nothing a trace keeps may be reused).
  const ws = cache && !trace ? cache.workspace : null;
  if (tree && cache?.path !== 'absorbed') throw new Error('mlaForward: tree attention runs on the absorbed latent cache only');
  const path: AttentionPath | 'recompute' = cache ? cache.path : 'recompute';
  const fold = path === 'absorbed' && foldQuery ? foldedQuery(cfg, w) : null;
  const { cq, q: projected, ckv, kPe, positions } = project(be, cfg, w, x, T, start, ws, tree ? tree.depth : null, fold === null || trace);
  const N = start + T; // tokens visible to the last query
  const heads = f32(ws, 'heads', T * nh * dv); // [T, n_h * d_v], every element written below
  const weights = trace ? new Float32Array(nh * T * N) : undefined;
  let qLatent: Float32Array | null = null;

  if (mixer && path === 'absorbed') throw new Error('mlaForward: a HeadMixer needs per-head keys and values (not the absorbed path)');
  if (path === 'absorbed') {
    const c = cache!;
    c.reserve(N);
    c.ckv.data.set(ckv, start * dc);
    c.kPe.data.set(kPe, start * dr);
    c.length = N;
    // The cache's rows are taken as views right at each call (c.ckv.view(N)), never kept across a
    // call: in a backend's own memory they are detached when that memory grows.
    const { wUK, wUV } = headWeights(w.kvBProj, cfg);
    // Stack heads as rows (head-major): qLat [n_h*T, d_c], qPe [n_h*T, d_h^R].
    let qLat: Float32Array, qPe: Float32Array;
    if (fold) {
      // One product per layer from c_Q into every head's latent query, one for every head's q^R.
      const qin = cfg.q_lora_rank ?? cfg.hidden_size;
      const latTok = be.matmulT(cq, fold.latent, T, qin, nh * dc, f32(ws, 'qLatTokens', T * nh * dc)); // [T, n_h*d_c]
      const ropeTok = dr > 0
        ? be.rope(be.matmulT(cq, fold.rope, T, qin, nh * dr, f32(ws, 'qPeRaw', T * nh * dr)), T * nh, dr, headPositions(positions, T, nh, ws), cfg.rope_theta, f32(ws, 'qPeRotated', T * nh * dr))
        : f32(ws, 'qPeRotated', 0);
      if (T === 1) {
        qLat = latTok; // one token: token-major is head-major
        qPe = ropeTok;
      } else {
        qLat = f32(ws, 'qLat', nh * T * dc);
        qPe = f32(ws, 'qPeHeads', nh * T * dr);
        for (let t = 0; t < T; t++) for (let h = 0; h < nh; h++) {
          for (let j = 0; j < dc; j++) qLat[(h * T + t) * dc + j] = latTok[(t * nh + h) * dc + j];
          for (let j = 0; j < dr; j++) qPe[(h * T + t) * dr + j] = ropeTok[(t * nh + h) * dr + j];
        }
      }
    } else {
      const q = projected!;
      qLat = f32(ws, 'qLat', nh * T * dc);
      qPe = f32(ws, 'qPeHeads', nh * T * dr);
      const qNope = f32(ws, 'qNope', T * nope), qLatHead = f32(ws, 'qLatHead', T * dc);
      for (let h = 0; h < nh; h++) {
        for (let t = 0; t < T; t++) {
          const from = t * nh * qk + h * qk;
          for (let j = 0; j < nope; j++) qNope[t * nope + j] = q[from + j];
          for (let j = 0; j < dr; j++) qPe[(h * T + t) * dr + j] = q[from + nope + j];
        }
        be.matmul(qNope, wUK[h], T, nope, dc, qLatHead); // W_UK,i^T q^C_i, as rows
        qLat.set(qLatHead, h * T * dc);
      }
    }
    const scores = be.matmulT(qLat, c.ckv.view(N), nh * T, dc, N, f32(ws, 'scores', nh * T * N));
    const ropeScores = dr > 0 ? be.matmulT(qPe, c.kPe.view(N), nh * T, dr, N, f32(ws, 'ropeScores', nh * T * N)) : null;
    // score = (latent part + rope part) * scale where key j is visible to query t (j <= start + t), else -inf
    for (let r = 0; r < nh * T; r++) {
      const o = r * N, visible = start + (r % T) + 1;
      if (ropeScores) for (let j = 0; j < visible; j++) scores[o + j] = (scores[o + j] + ropeScores[o + j]) * scale;
      else for (let j = 0; j < visible; j++) scores[o + j] *= scale;
      for (let j = visible; j < N; j++) scores[o + j] = -Infinity;
      if (tree) { // hide the new tokens that are not this node's ancestors
        const t = r % T;
        for (let j = 0; j <= t; j++) if (!tree.ancestor[t * T + j]) scores[o + start + j] = -Infinity;
      }
    }
    const probs = be.softmaxRows(scores, nh * T, N, f32(ws, 'probs', nh * T * N));
    if (weights) weights.set(probs);
    const oLat = be.matmul(probs, c.ckv.view(N), nh * T, N, dc, f32(ws, 'oLat', nh * T * dc)); // [n_h*T, d_c]
    const oLatHead = f32(ws, 'oLatHead', T * dc), oh = f32(ws, 'headOut', T * dv);
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < T * dc; i++) oLatHead[i] = oLat[h * T * dc + i];
      be.matmulT(oLatHead, wUV[h], T, dc, dv, oh); // W_UV,i lifts the head's latent output
      putColumns(heads, nh * dv, oh, T, h * dv, dv);
    }
    if (trace) qLatent = qLat;
  } else {
    // K and V per head, from the cached (or given) latents, or from the full cache.
    const q = projected!;
    const headQuery = (h: number) => sliceColumns(q, T, nh * qk, h * qk, qk, f32(ws, 'headQuery', T * qk));
    let keysOf: (h: number) => Float32Array;
    let valuesOf: (h: number) => Float32Array;
    // kPeOf: k^R's rows, read after the product (a cache's view is taken again after a backend call)
    const decompress = (ckvAll: Float32Array, kPeOf: () => Float32Array, rows: number) => {
      const kv = be.matmulT(ckvAll, w.kvBProj, rows, dc, nh * (nope + dv), f32(ws, 'kv', rows * nh * (nope + dv))); // [rows, n_h*(nope+v)]
      const K = (h: number) => {
        const k = f32(ws, 'K', rows * qk), kPeAll = kPeOf();
        for (let r = 0; r < rows; r++) {
          const from = r * nh * (nope + dv) + h * (nope + dv);
          for (let j = 0; j < nope; j++) k[r * qk + j] = kv[from + j];
          for (let j = 0; j < dr; j++) k[r * qk + nope + j] = kPeAll[r * dr + j];
        }
        return k;
      };
      const V = (h: number) => sliceColumns(kv, rows, nh * (nope + dv), h * (nope + dv) + nope, dv, f32(ws, 'V', rows * dv));
      return { K, V };
    };
    if (path === 'recompute') {
      ({ K: keysOf, V: valuesOf } = decompress(ckv, () => kPe, T));
    } else if (path === 'decompressed') {
      const c = cache!;
      c.reserve(N);
      c.ckv.data.set(ckv, start * dc);
      c.kPe.data.set(kPe, start * dr);
      c.length = N;
      ({ K: keysOf, V: valuesOf } = decompress(c.ckv.view(N), () => c.kPe.view(N), N));
    } else {
      const c = cache!;
      c.reserve(N);
      const fresh = decompress(ckv, () => kPe, T);
      for (let h = 0; h < nh; h++) {
        c.k[h].data.set(fresh.K(h), start * qk);
        c.v[h].data.set(fresh.V(h), start * dv);
      }
      c.length = N;
      keysOf = (h) => c.k[h].view(N);
      valuesOf = (h) => c.v[h].view(N);
    }
    const oh = f32(ws, 'headOut', T * dv);
    for (let h = 0; h < nh; h++) {
      const o = mixer ? mixer(h, headQuery(h), keysOf(h), valuesOf(h), T, N, start, scale) : be.causalAttention(
        headQuery(h), keysOf(h), valuesOf(h), T, N, qk, dv, scale, start,
        oh, weights?.subarray(h * T * N, (h + 1) * T * N),
      );
      putColumns(heads, nh * dv, o, T, h * dv, dv);
    }
  }

  const out = be.matmulT(heads, w.oProj, T, nh * dv, cfg.hidden_size, f32(ws, 'out', T * cfg.hidden_size));
  return {
    out,
    trace: trace ? { ckv, kPe, q: projected!, qLatent, weights: weights!, keys: N } : null,
  };
}
