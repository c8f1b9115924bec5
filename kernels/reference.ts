// The reference backend: plain TypeScript loops, accumulating in float64 (JS numbers), storing
// float32. It is the twin every accelerated kernel is tested against, and at the tiny sizes the
// lessons use it is also the "plain loop" candidate in backend selection.
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

export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  const c = outBuffer(out, m * n, 'matmul');
  const row = f64(0, n);
  for (let i = 0; i < m; i++) {
    row.fill(0, 0, n);
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) row[j] += aip * b[bo + j];
    }
    for (let j = 0; j < n; j++) c[i * n + j] = row[j];
  }
  return c;
}

export function matmulT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  const c = outBuffer(out, m * n, 'matmulT');
  for (let i = 0; i < m; i++) {
    const ao = i * k;
    for (let j = 0; j < n; j++) {
      const bo = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + p] * b[bo + p];
      c[i * n + j] = s;
    }
  }
  return c;
}

export function matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  const c = outBuffer(out, m * n, 'matmulTN');
  const acc = f64(0, m * n).fill(0, 0, m * n);
  for (let p = 0; p < k; p++) {
    const ao = p * m, bo = p * n;
    for (let i = 0; i < m; i++) {
      const x = a[ao + i];
      if (x === 0) continue;
      const co = i * n;
      for (let j = 0; j < n; j++) acc[co + j] += x * b[bo + j];
    }
  }
  for (let i = 0; i < m * n; i++) c[i] = acc[i];
  return c;
}

export function softmaxRows(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
  const y = outBuffer(out, rows * cols, 'softmaxRows');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
    for (let j = 0; j < cols; j++) y[o + j] = Math.exp(x[o + j] - max) / sum;
  }
  return y;
}

export function rmsNorm(x: Float32Array, weight: Float32Array, rows: number, cols: number, eps: number, out?: Float32Array): Float32Array {
  const y = outBuffer(out, rows * cols, 'rmsNorm');
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let j = 0; j < cols; j++) ss += x[o + j] * x[o + j];
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let j = 0; j < cols; j++) y[o + j] = weight[j] * (x[o + j] * inv);
  }
  return y;
}

export function rope(x: Float32Array, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out?: Float32Array): Float32Array {
  if (dim % 2 !== 0) throw new RangeError(`rope: dim ${dim} must be even`);
  const y = outBuffer(out, rows * dim, 'rope');
  for (let r = 0; r < rows; r++) {
    const pos = positions[r];
    const o = r * dim;
    for (let i = 0; i < dim / 2; i++) {
      const angle = pos * Math.pow(theta, (-2 * i) / dim);
      const c = Math.cos(angle), s = Math.sin(angle);
      const x0 = x[o + 2 * i], x1 = x[o + 2 * i + 1];
      y[o + 2 * i] = x0 * c - x1 * s;
      y[o + 2 * i + 1] = x0 * s + x1 * c;
    }
  }
  return y;
}

export function swiglu(gate: Float32Array, up: Float32Array, n: number, out?: Float32Array): Float32Array {
  const y = outBuffer(out, n, 'swiglu');
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    y[i] = (g / (1 + Math.exp(-g))) * up[i];
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
  const scores = f64(0, nk);
  const acc = f64(1, dv);
  for (let i = 0; i < nq; i++) {
    const last = Math.min(nk - 1, offset + i); // keys 0..last are visible
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      let s = 0;
      for (let p = 0; p < dk; p++) s += q[i * dk + p] * k[j * dk + p];
      s *= scale;
      scores[j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) { scores[j] = Math.exp(scores[j] - max); sum += scores[j]; }
    acc.fill(0, 0, dv);
    for (let j = 0; j <= last; j++) {
      const w = scores[j] / sum;
      if (weights) weights[i * nk + j] = w;
      for (let p = 0; p < dv; p++) acc[p] += w * v[j * dv + p];
    }
    if (weights) for (let j = last + 1; j < nk; j++) weights[i * nk + j] = 0;
    for (let p = 0; p < dv; p++) o[i * dv + p] = acc[p];
  }
  return o;
}

/** The reference backend as one object. */
export const referenceBackend: Backend = {
  name: 'reference',
  matmul, matmulT, matmulTN, softmaxRows, rmsNorm, rope, swiglu, causalAttention,
};
