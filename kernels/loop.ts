// The tuned plain loop: the same ops as reference.ts, written for speed in plain TypedArray loops.
// At the engine's sizes (decode is dozens of tiny products per token) per-call overhead and loop
// shape decide the speed, not arithmetic. Tricks, each checked against the reference in tests:
// - products are register-blocked: A·Bᵀ in 4 x 4 blocks of the output, A·B four rows of B at a time;
// - RoPE's inverse frequencies are computed once per (dim, theta), not per element;
// - softmax takes one exp per element and writes straight into the output.
import { attentionOut, type Backend, outBuffer } from './backend.js';

/**
 * Float64 accumulators reused from call to call (a call never re-enters the backend, and each
 * thread has its own module), so a decode step's small calls allocate nothing. Only grow.
 */
const scratch: Float64Array[] = [new Float64Array(0), new Float64Array(0)];
function f64(slot: 0 | 1, n: number): Float64Array {
  if (scratch[slot].length < n) scratch[slot] = new Float64Array(Math.max(n, 2 * scratch[slot].length));
  return scratch[slot];
}
// RMSNorm and SwiGLU are single passes with nothing to tune: the reference's loops serve as they are.
import { rmsNorm, swiglu } from './reference.js';

/**
 * C[m,n] = A[m,k] @ B[n,k]^T in 4 x 4 blocks of C: each pass over k loads 4 values of A and 4 of B
 * for 16 multiply-adds (a row at a time it was 5 loads for 4), which measured ~1.75x faster for
 * the engine's batched shapes (24 x 64 x 96: 1.2 -> 2.1 GMAC/s in Node). Rows left over go in pairs,
 * then singly.
 */
export function matmulT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  const c = outBuffer(out, m * n, 'matmulT');
  let i = 0;
  for (; i + 4 <= m; i += 4) fourRows(a, b, c, i, k, n);
  for (; i + 2 <= m; i += 2) twoRows(a, b, c, i, k, n);
  if (i < m) oneRow(a, b, c, i, k, n);
  return c;
}

function fourRows(a: Float32Array, b: Float32Array, c: Float32Array, i: number, k: number, n: number): void {
  const a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
  const n4 = n - (n % 4);
  let j = 0;
  for (; j < n4; j += 4) {
    const b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let p = 0; p < k; p++) {
      const v0 = b[b0 + p], v1 = b[b1 + p], v2 = b[b2 + p], v3 = b[b3 + p];
      let x = a[a0 + p];
      s00 += x * v0; s01 += x * v1; s02 += x * v2; s03 += x * v3;
      x = a[a1 + p];
      s10 += x * v0; s11 += x * v1; s12 += x * v2; s13 += x * v3;
      x = a[a2 + p];
      s20 += x * v0; s21 += x * v1; s22 += x * v2; s23 += x * v3;
      x = a[a3 + p];
      s30 += x * v0; s31 += x * v1; s32 += x * v2; s33 += x * v3;
    }
    let o = i * n + j;
    c[o] = s00; c[o + 1] = s01; c[o + 2] = s02; c[o + 3] = s03; o += n;
    c[o] = s10; c[o + 1] = s11; c[o + 2] = s12; c[o + 3] = s13; o += n;
    c[o] = s20; c[o + 1] = s21; c[o + 2] = s22; c[o + 3] = s23; o += n;
    c[o] = s30; c[o + 1] = s31; c[o + 2] = s32; c[o + 3] = s33;
  }
  for (; j < n; j++) {
    const bo = j * k;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0; p < k; p++) {
      const v = b[bo + p];
      s0 += a[a0 + p] * v; s1 += a[a1 + p] * v; s2 += a[a2 + p] * v; s3 += a[a3 + p] * v;
    }
    c[i * n + j] = s0; c[(i + 1) * n + j] = s1; c[(i + 2) * n + j] = s2; c[(i + 3) * n + j] = s3;
  }
}

function twoRows(a: Float32Array, b: Float32Array, c: Float32Array, i: number, k: number, n: number): void {
  const a0 = i * k, a1 = a0 + k, c0 = i * n, c1 = c0 + n;
  const n4 = n - (n % 4);
  let j = 0;
  for (; j < n4; j += 4) {
    const b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    for (let p = 0; p < k; p++) {
      const x = a[a0 + p], y = a[a1 + p];
      const v0 = b[b0 + p], v1 = b[b1 + p], v2 = b[b2 + p], v3 = b[b3 + p];
      s00 += x * v0; s01 += x * v1; s02 += x * v2; s03 += x * v3;
      s10 += y * v0; s11 += y * v1; s12 += y * v2; s13 += y * v3;
    }
    c[c0 + j] = s00; c[c0 + j + 1] = s01; c[c0 + j + 2] = s02; c[c0 + j + 3] = s03;
    c[c1 + j] = s10; c[c1 + j + 1] = s11; c[c1 + j + 2] = s12; c[c1 + j + 3] = s13;
  }
  for (; j < n; j++) {
    const bo = j * k;
    let s0 = 0, s1 = 0;
    for (let p = 0; p < k; p++) {
      const v = b[bo + p];
      s0 += a[a0 + p] * v; s1 += a[a1 + p] * v;
    }
    c[c0 + j] = s0; c[c1 + j] = s1;
  }
}

function oneRow(a: Float32Array, b: Float32Array, c: Float32Array, i: number, k: number, n: number): void {
  // A single row (a decode step) reuses each load of A across 8 columns of B (~15% faster than 4).
  const ao = i * k, co = i * n;
  const n8 = n - (n % 8);
  let j = 0;
  for (; j < n8; j += 8) {
    const b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k, b4 = b3 + k, b5 = b4 + k, b6 = b5 + k, b7 = b6 + k;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let p = 0; p < k; p++) {
      const x = a[ao + p];
      s0 += x * b[b0 + p]; s1 += x * b[b1 + p]; s2 += x * b[b2 + p]; s3 += x * b[b3 + p];
      s4 += x * b[b4 + p]; s5 += x * b[b5 + p]; s6 += x * b[b6 + p]; s7 += x * b[b7 + p];
    }
    c[co + j] = s0; c[co + j + 1] = s1; c[co + j + 2] = s2; c[co + j + 3] = s3;
    c[co + j + 4] = s4; c[co + j + 5] = s5; c[co + j + 6] = s6; c[co + j + 7] = s7;
  }
  for (; j < n; j++) {
    const bo = j * k;
    let s = 0;
    for (let p = 0; p < k; p++) s += a[ao + p] * b[bo + p];
    c[co + j] = s;
  }
}

/** C[m,n] = A[m,k] @ B[k,n]: rows of B scaled and added into a float64 row accumulator. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  const c = outBuffer(out, m * n, 'matmul');
  const row = f64(0, n);
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    row.fill(0, 0, n);
    const ao = i * k;
    let p = 0;
    for (; p < k4; p += 4) {
      const x0 = a[ao + p], x1 = a[ao + p + 1], x2 = a[ao + p + 2], x3 = a[ao + p + 3];
      const o0 = p * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      for (let j = 0; j < n; j++) row[j] += x0 * b[o0 + j] + x1 * b[o1 + j] + x2 * b[o2 + j] + x3 * b[o3 + j];
    }
    for (; p < k; p++) {
      const x = a[ao + p], o = p * n;
      for (let j = 0; j < n; j++) row[j] += x * b[o + j];
    }
    const co = i * n;
    for (let j = 0; j < n; j++) c[co + j] = row[j];
  }
  return c;
}

/**
 * C[m,n] = A[k,m]^T @ B[k,n]: for each output row i, the rows of B scaled by column i of A are
 * added into a float64 row accumulator, four steps of k at a time (as matmul).
 */
export function matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  const c = outBuffer(out, m * n, 'matmulTN');
  const row = f64(0, n);
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    row.fill(0, 0, n);
    let p = 0;
    for (; p < k4; p += 4) {
      const x0 = a[p * m + i], x1 = a[(p + 1) * m + i], x2 = a[(p + 2) * m + i], x3 = a[(p + 3) * m + i];
      const o0 = p * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      for (let j = 0; j < n; j++) row[j] += x0 * b[o0 + j] + x1 * b[o1 + j] + x2 * b[o2 + j] + x3 * b[o3 + j];
    }
    for (; p < k; p++) {
      const x = a[p * m + i], o = p * n;
      for (let j = 0; j < n; j++) row[j] += x * b[o + j];
    }
    const co = i * n;
    for (let j = 0; j < n; j++) c[co + j] = row[j];
  }
  return c;
}

export function softmaxRows(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
  const y = outBuffer(out, rows * cols, 'softmaxRows');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - max);
      y[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) y[o + j] *= inv;
  }
  return y;
}

const inverseFrequencies = new Map<number, Map<number, Float64Array>>();

/** theta^(-2i/dim) for i < dim/2, cached per (dim, theta) (looked up without making a key string). */
function frequencies(dim: number, theta: number): Float64Array {
  let byTheta = inverseFrequencies.get(dim);
  if (!byTheta) inverseFrequencies.set(dim, byTheta = new Map());
  let f = byTheta.get(theta);
  if (!f) {
    f = Float64Array.from({ length: dim / 2 }, (_, i) => Math.pow(theta, (-2 * i) / dim));
    byTheta.set(theta, f);
  }
  return f;
}

export function rope(x: Float32Array, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out?: Float32Array): Float32Array {
  if (dim % 2 !== 0) throw new RangeError(`rope: dim ${dim} must be even`);
  const y = outBuffer(out, rows * dim, 'rope');
  const freq = frequencies(dim, theta);
  for (let r = 0; r < rows; r++) {
    const pos = positions[r], o = r * dim;
    for (let i = 0; i < dim / 2; i++) {
      const angle = pos * freq[i];
      const c = Math.cos(angle), s = Math.sin(angle);
      const x0 = x[o + 2 * i], x1 = x[o + 2 * i + 1];
      y[o + 2 * i] = x0 * c - x1 * s;
      y[o + 2 * i + 1] = x0 * s + x1 * c;
    }
  }
  return y;
}

export function causalAttention(
  q: Float32Array, k: Float32Array, v: Float32Array,
  nq: number, nk: number, dk: number, dv: number,
  scale: number, offset: number,
  out?: Float32Array, weights?: Float32Array,
): Float32Array {
  const o = attentionOut(out, weights, nq, nk, dv);
  const p = f64(0, nk);
  const acc = f64(1, dv);
  for (let i = 0; i < nq; i++) {
    const last = Math.min(nk - 1, offset + i);
    const qo = i * dk;
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      const ko = j * dk;
      let s = 0;
      for (let t = 0; t < dk; t++) s += q[qo + t] * k[ko + t];
      s *= scale;
      p[j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) { const e = Math.exp(p[j] - max); p[j] = e; sum += e; }
    const inv = 1 / sum;
    acc.fill(0, 0, dv);
    for (let j = 0; j <= last; j++) {
      const w = p[j] * inv, vo = j * dv;
      for (let t = 0; t < dv; t++) acc[t] += w * v[vo + t];
      if (weights) weights[i * nk + j] = w;
    }
    if (weights) for (let j = last + 1; j < nk; j++) weights[i * nk + j] = 0;
    for (let t = 0; t < dv; t++) o[i * dv + t] = acc[t];
  }
  return o;
}

/** The tuned loop as one backend ("loop" in reports: the plain TypedArray loop of the benchmarks). */
export const loopBackend: Backend = {
  name: 'loop',
  matmul, matmulT, matmulTN, softmaxRows, rmsNorm, rope, swiglu, causalAttention,
};
