// GAU and FLASH (Hua et al. 2022, "Transformer Quality in Linear Time").
// Gated attention unit: one head, with queries and keys from one shared low-dimensional Z,
//   U = silu(X W_u), V = silu(X W_v), Z = silu(X W_z)               (U, V: [T, e]; Z: [T, s], s small)
//   Q = Z * gamma_q + beta_q,  K = Z * gamma_k + beta_k               (per-dim scale and offset)
//   O = (U (.) A V) W_o,       A_ij = relu(Q_i . K_j / sqrt(s))^2 / C  (squared-ReLU kernel, no softmax)
// FLASH's mixed chunk attention splits the sequence into chunks of C tokens: quadratic (squared
// ReLU) inside a chunk, linear across chunks (Q_lin (sum over earlier chunks of K_lin^T V), another
// scale/offset of Z). Decoding keeps the current chunk's keys and values (at most C) and one
// s x e state for everything before it: memory bounded by C, whatever the context.
// `mixedChunk*` is the attention alone, on any quad/lin queries and keys (also a model head's).
import { createRng } from '../sampling.js';
import { elu1 } from './feature-maps.js';
import { TINY_DENOMINATOR } from './kernel-attention.js';
import { type AttentionResult, type HeadQKV, checkHead, dot } from './qkv.js';

export interface MixedChunkInputs {
  T: number;
  /** Query/key width s. */
  s: number;
  dv: number;
  qQuad: Float64Array;
  kQuad: Float64Array;
  qLin: Float64Array;
  kLin: Float64Array;
  v: ArrayLike<number>;
  /** Chunk length C (C >= T: one chunk, plain quadratic attention). */
  chunk: number;
  /** Multiplies q . k inside relu^2 (1/sqrt(s) in GAU). */
  quadScale: number;
  /** Multiplies the squared-ReLU weights (1/C in FLASH). */
  quadWeight: number;
  /** Multiplies the linear weights q_lin . k_lin. */
  linWeight: number;
  /** Divide each row by its total weight (needs non-negative linear weights); FLASH does not. */
  normalise: boolean;
}

const relu2 = (x: number) => (x > 0 ? x * x : 0);

function checkMixed(x: MixedChunkInputs): void {
  if (!(Number.isInteger(x.chunk) && x.chunk >= 1)) throw new RangeError('mixed chunk attention: chunk must be a positive integer');
  if (x.qQuad.length !== x.T * x.s || x.kQuad.length !== x.T * x.s || x.qLin.length !== x.T * x.s || x.kLin.length !== x.T * x.s) {
    throw new RangeError(`mixed chunk attention: queries and keys must be [T, s] = [${x.T}, ${x.s}]`);
  }
}

/** Parallel form: the T x T mixing matrix (squared ReLU in the chunk, linear before it). */
export function mixedChunkParallel(x: MixedChunkInputs): AttentionResult {
  checkMixed(x);
  const { T, s, dv, chunk } = x;
  const weights = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    const c0 = i - (i % chunk);
    let sum = 0;
    for (let j = 0; j < c0; j++) { const a = x.linWeight * dot(x.qLin, i * s, x.kLin, j * s, s); weights[i * T + j] = a; sum += a; }
    for (let j = c0; j <= i; j++) { const a = x.quadWeight * relu2(x.quadScale * dot(x.qQuad, i * s, x.kQuad, j * s, s)); weights[i * T + j] = a; sum += a; }
    if (x.normalise) {
      const inv = sum > TINY_DENOMINATOR ? 1 / sum : 0;
      for (let j = 0; j <= i; j++) weights[i * T + j] *= inv;
    }
  }
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) {
    const a = weights[i * T + j];
    for (let c = 0; c < dv; c++) out[i * dv + c] += a * x.v[j * dv + c];
  }
  return { out, weights };
}

/** Recurrent (decoding) form: the current chunk's keys and values, and S, z for all earlier chunks. */
export function mixedChunkRecurrent(x: MixedChunkInputs): Float64Array {
  checkMixed(x);
  const { T, s, dv, chunk } = x;
  const S = new Float64Array(s * dv), z = new Float64Array(s);
  const out = new Float64Array(T * dv);
  let open: number[] = []; // token indices of the current chunk
  for (let i = 0; i < T; i++) {
    if (i % chunk === 0) {
      // Fold the finished chunk into the linear state, then forget its tokens.
      for (const j of open) for (let a = 0; a < s; a++) {
        const kk = x.kLin[j * s + a];
        z[a] += kk;
        for (let c = 0; c < dv; c++) S[a * dv + c] += kk * x.v[j * dv + c];
      }
      open = [];
    }
    open.push(i);
    let sum = x.linWeight * dot(z, 0, x.qLin, i * s, s);
    for (let a = 0; a < s; a++) {
      const qa = x.linWeight * x.qLin[i * s + a];
      for (let c = 0; c < dv; c++) out[i * dv + c] += qa * S[a * dv + c];
    }
    for (const j of open) {
      const w = x.quadWeight * relu2(x.quadScale * dot(x.qQuad, i * s, x.kQuad, j * s, s));
      sum += w;
      for (let c = 0; c < dv; c++) out[i * dv + c] += w * x.v[j * dv + c];
    }
    if (x.normalise) {
      const inv = sum > TINY_DENOMINATOR ? 1 / sum : 0;
      for (let c = 0; c < dv; c++) out[i * dv + c] *= inv;
    }
  }
  return out;
}

/**
 * FLASH-style chunked attention on a model head's q, k, v (nothing trained for it): squared ReLU
 * of the scaled score inside the chunk, linear attention with elu+1 features across chunks, each
 * row divided by its total weight so the output stays a weighted average of the values.
 */
export function chunkedInputs(h: HeadQKV, chunk: number): MixedChunkInputs {
  checkHead(h, 'chunked attention');
  const r = Math.sqrt(h.scale);
  const feat = (x: Float64Array) => x.map((y) => elu1(y * r));
  return {
    T: h.T, s: h.dk, dv: h.dv, qQuad: h.q, kQuad: h.k, qLin: feat(h.q), kLin: feat(h.k), v: h.v,
    chunk, quadScale: h.scale, quadWeight: 1, linWeight: 1, normalise: true,
  };
}

// ---- The gated attention unit itself (its own weights: it replaces attention and the FFN) ----

export interface GauParams {
  d: number;
  /** Expanded width e (U, V). */
  e: number;
  /** Shared query/key width s. */
  s: number;
  wU: Float64Array; // [e, d]
  wV: Float64Array; // [e, d]
  wZ: Float64Array; // [s, d]
  /** Per-dim scale and offset for the four views of Z: quad q, quad k, lin q, lin k. */
  gamma: [Float64Array, Float64Array, Float64Array, Float64Array];
  beta: [Float64Array, Float64Array, Float64Array, Float64Array];
  wO: Float64Array; // [d, e]
}

/** Seeded GAU weights (uniform, scaled by fan-in; gammas near 1, betas near 0). */
export function initGau(d: number, e: number, s: number, seed: number): GauParams {
  const rng = createRng(seed);
  const mat = (rows: number, cols: number) => Float64Array.from({ length: rows * cols }, () => (2 * rng() - 1) * Math.sqrt(3 / cols));
  const vec = (centre: number, spread: number) => Float64Array.from({ length: s }, () => centre + spread * (2 * rng() - 1));
  return {
    d, e, s,
    wU: mat(e, d), wV: mat(e, d), wZ: mat(s, d),
    gamma: [vec(1, 0.2), vec(1, 0.2), vec(1, 0.2), vec(1, 0.2)],
    beta: [vec(0, 0.1), vec(0, 0.1), vec(0, 0.1), vec(0, 0.1)],
    wO: mat(d, e),
  };
}

const silu = (x: number) => x / (1 + Math.exp(-x));

/** y [T, rows] = f(x [T, cols] W^T) for W [rows, cols]. */
function linear(x: ArrayLike<number>, T: number, cols: number, W: Float64Array, rows: number, f: (x: number) => number = (y) => y): Float64Array {
  const y = new Float64Array(T * rows);
  for (let t = 0; t < T; t++) for (let r = 0; r < rows; r++) y[t * rows + r] = f(dot(x, t * cols, W, r * cols, cols));
  return y;
}

function scaleOffset(Z: Float64Array, T: number, s: number, g: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(T * s);
  for (let t = 0; t < T; t++) for (let a = 0; a < s; a++) out[t * s + a] = Z[t * s + a] * g[a] + b[a];
  return out;
}

/** The GAU's attention inputs for X [T, d]: U and the mixed chunk attention over V. */
export function gauInputs(p: GauParams, x: ArrayLike<number>, T: number, chunk: number): { U: Float64Array; attn: MixedChunkInputs } {
  if (x.length !== T * p.d) throw new RangeError(`GAU: x must be [T, d] = [${T}, ${p.d}]`);
  const U = linear(x, T, p.d, p.wU, p.e, silu);
  const V = linear(x, T, p.d, p.wV, p.e, silu);
  const Z = linear(x, T, p.d, p.wZ, p.s, silu);
  const C = Math.min(chunk, T);
  return {
    U,
    attn: {
      T, s: p.s, dv: p.e, v: V, chunk,
      qQuad: scaleOffset(Z, T, p.s, p.gamma[0], p.beta[0]), kQuad: scaleOffset(Z, T, p.s, p.gamma[1], p.beta[1]),
      qLin: scaleOffset(Z, T, p.s, p.gamma[2], p.beta[2]), kLin: scaleOffset(Z, T, p.s, p.gamma[3], p.beta[3]),
      quadScale: 1 / Math.sqrt(p.s), quadWeight: 1 / C, linWeight: 1 / C, normalise: false,
    },
  };
}

function gauOutput(p: GauParams, U: Float64Array, AV: Float64Array, T: number): Float64Array {
  const gated = U.map((u, i) => u * AV[i]);
  return linear(gated, T, p.e, p.wO, p.d);
}

/** GAU forward [T, d] with FLASH mixing (chunk >= T: plain GAU), parallel form. */
export function gauParallel(p: GauParams, x: ArrayLike<number>, T: number, chunk: number): Float64Array {
  const { U, attn } = gauInputs(p, x, T, chunk);
  return gauOutput(p, U, mixedChunkParallel(attn).out, T);
}

/** The same, decoded token by token (mixedChunkRecurrent). */
export function gauRecurrent(p: GauParams, x: ArrayLike<number>, T: number, chunk: number): Float64Array {
  const { U, attn } = gauInputs(p, x, T, chunk);
  return gauOutput(p, U, mixedChunkRecurrent(attn), T);
}
