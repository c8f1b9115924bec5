// What the selector runs: size buckets, deterministic inputs for each op, the shapes measured in
// each bucket (the shapes the engine calls: a decode row, a prefill block, a training batch) and
// the tiny odd shapes of the correctness probe.
import type { Backend, OpName } from '../backend.js';

export const BUCKET_NAMES = ['small', 'medium', 'large'] as const;
export type BucketName = (typeof BUCKET_NAMES)[number];

/** Upper bound of each bucket's "size" (an equivalent matrix side, see opSize); large is unbounded. */
export const BUCKET_LIMITS: Readonly<Record<BucketName, number>> = { small: 64, medium: 256, large: Infinity };

/**
 * An op's problem size as an equivalent side length, so one set of bucket limits serves every op:
 * matmul/matmulT cbrt(m*k*n); softmaxRows/rmsNorm/rope sqrt(rows*cols); swiglu sqrt(n);
 * causalAttention cbrt(nq*nk*(dk+dv)/2). A 64x64x64 matmul and a 64x64 softmax are both size 64.
 */
export function opSize(op: OpName, dims: readonly number[]): number {
  switch (op) {
    case 'matmul':
    case 'matmulT':
    case 'matmulTN':
      return Math.cbrt(dims[0] * dims[1] * dims[2]);
    case 'softmaxRows':
    case 'rmsNorm':
    case 'rope':
      return Math.sqrt(dims[0] * dims[1]);
    case 'swiglu':
      return Math.sqrt(dims[0]);
    case 'causalAttention':
      return Math.cbrt((dims[0] * dims[1] * (dims[2] + dims[3])) / 2);
  }
}

export function bucketOfSize(size: number): BucketName {
  return size <= BUCKET_LIMITS.small ? 'small' : size <= BUCKET_LIMITS.medium ? 'medium' : 'large';
}

/** The bucket a call of `op` with these dims falls in (dims in the op's argument order). */
export function bucketOf(op: OpName, dims: readonly number[]): BucketName {
  return bucketOfSize(opSize(op, dims));
}

// ---- workloads: the inputs for probes, measurements, tests and benchmarks ----


/** A deterministic stream of floats in [-1, 1). */
export function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** A ready-to-run call of one op with fixed inputs (and reusable output buffers). */
export interface Workload {
  op: OpName;
  dims: number[];
  /** "16x32x64"-style label. */
  label: string;
  /** Multiply-add-style work units (used to scale timings between sizes). */
  work: number;
  run(backend: Backend): Float32Array;
  /** The attention weights of the last run (causalAttention only). */
  weights?: Float32Array;
}

/** Build a workload for `op` at `dims` with deterministic inputs. */
export function makeWorkload(op: OpName, dims: readonly number[], seed = 1): Workload {
  const d = [...dims];
  const label = d.join('x');
  switch (op) {
    case 'matmul':
    case 'matmulT':
    case 'matmulTN': {
      const [m, k, n] = d;
      const a = randomFloats(m * k, seed), b = randomFloats(k * n, seed + 1), out = new Float32Array(m * n);
      return { op, dims: d, label, work: m * k * n, run: (be) => be[op](a, b, m, k, n, out) };
    }
    case 'softmaxRows': {
      const [rows, cols] = d;
      const x = randomFloats(rows * cols, seed).map((v) => v * 8), out = new Float32Array(rows * cols);
      return { op, dims: d, label, work: rows * cols, run: (be) => be.softmaxRows(x, rows, cols, out) };
    }
    case 'rmsNorm': {
      const [rows, cols] = d;
      const x = randomFloats(rows * cols, seed), w = randomFloats(cols, seed + 1), out = new Float32Array(rows * cols);
      return { op, dims: d, label, work: rows * cols, run: (be) => be.rmsNorm(x, w, rows, cols, 1e-6, out) };
    }
    case 'rope': {
      const [rows, dim] = d;
      const x = randomFloats(rows * dim, seed), out = new Float32Array(rows * dim);
      const pos = Array.from({ length: rows }, (_, i) => i);
      return { op, dims: d, label, work: rows * dim, run: (be) => be.rope(x, rows, dim, pos, 10000, out) };
    }
    case 'swiglu': {
      const [n] = d;
      const g = randomFloats(n, seed).map((v) => v * 4), u = randomFloats(n, seed + 1), out = new Float32Array(n);
      return { op, dims: d, label, work: n, run: (be) => be.swiglu(g, u, n, out) };
    }
    case 'causalAttention': {
      const [nq, nk, dk, dv] = d;
      const offset = d[4] ?? nk - nq;
      const q = randomFloats(nq * dk, seed), k = randomFloats(nk * dk, seed + 1), v = randomFloats(nk * dv, seed + 2);
      const out = new Float32Array(nq * dv);
      const wl: Workload = {
        op, dims: d, label, work: nq * nk * (dk + dv), weights: new Float32Array(nq * nk),
        run: (be) => be.causalAttention(q, k, v, nq, nk, dk, dv, 1 / Math.sqrt(dk), offset, out, wl.weights),
      };
      return wl;
    }
  }
}

/**
 * The shape measured for each op in each bucket, from the engine's own calls on the lessons' model
 * (d 64, 4 heads, d_c 32, FFN 96-192 wide): small = one decode row, medium = a prefill block,
 * large = a training batch (16 sequences of 128 tokens). Each lies inside its bucket by opSize.
 */
export const MEASURE_SHAPES: Readonly<Record<OpName, Readonly<Record<BucketName, readonly number[]>>>> = {
  matmul: { small: [1, 64, 192], medium: [64, 64, 192], large: [2048, 64, 192] },
  matmulT: { small: [1, 64, 192], medium: [64, 64, 192], large: [2048, 64, 192] },
  matmulTN: { small: [64, 16, 64], medium: [192, 128, 64], large: [192, 2048, 64] },
  softmaxRows: { small: [4, 64], medium: [256, 128], large: [2048, 128] },
  rmsNorm: { small: [1, 64], medium: [128, 64], large: [2048, 64] },
  rope: { small: [4, 8], medium: [1024, 8], large: [16384, 8] },
  swiglu: { small: [96], medium: [12288], large: [196608] },
  causalAttention: { small: [1, 512, 24, 12], medium: [128, 128, 24, 12], large: [1024, 1024, 24, 12] },
};

/** Tiny odd shapes for the correctness probe (not multiples of 4; a query row with no visible key). */
export const PROBE_SHAPES: Readonly<Record<OpName, readonly number[]>> = {
  matmul: [3, 5, 7],
  matmulT: [3, 5, 7],
  matmulTN: [3, 5, 7],
  softmaxRows: [3, 7],
  rmsNorm: [3, 6],
  rope: [3, 6],
  swiglu: [7],
  causalAttention: [4, 5, 3, 5, -1],
};

