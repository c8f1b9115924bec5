// The one compute interface the engine talks to. Everything is row-major Float32Array with the
// shape passed beside it; no op knows about models. `out`, when given, must have the result's
// length and is returned (so hot loops can reuse buffers); otherwise a new array is returned.

/** The ops every backend implements. Names and argument order are shared by all implementations. */
export interface Backend {
  /** Short name shown to users, e.g. "reference", "gpu.js webasm", "auto". */
  readonly name: string;

  /** C[m,n] = A[m,k] @ B[k,n]. */
  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array;

  /** C[m,n] = A[m,k] @ B[n,k]^T: a Linear layer `x @ W.T` with W stored [out, in]. */
  matmulT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array;

  /**
   * C[m,n] = A[k,m]^T @ B[k,n]: the weight gradient of a Linear. For y = x W^T with x [T,in],
   * W [out,in] and dy [T,out]: dW = matmulTN(dy, x, out, T, in).
   */
  matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array;

  /** Softmax over each row of x[rows, cols] (numerically stable: the row max is subtracted first). */
  softmaxRows(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array;

  /** RMSNorm of each row: w * x / sqrt(mean(x^2) + eps). */
  rmsNorm(x: Float32Array, weight: Float32Array, rows: number, cols: number, eps: number, out?: Float32Array): Float32Array;

  /**
   * Rotary embedding on interleaved pairs (x[2i], x[2i+1]) of each row of x[rows, dim], row r at
   * position positions[r]: angle = pos * theta^(-2i/dim);
   * out[2i] = x[2i] cos - x[2i+1] sin, out[2i+1] = x[2i] sin + x[2i+1] cos.
   */
  rope(x: Float32Array, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out?: Float32Array): Float32Array;

  /** SwiGLU's elementwise half: silu(gate) * up = gate / (1 + exp(-gate)) * up. */
  swiglu(gate: Float32Array, up: Float32Array, n: number, out?: Float32Array): Float32Array;

  /**
   * Causal scaled dot-product attention for one head.
   * q[nq, dk], k[nk, dk], v[nk, dv]. Query row i sits at absolute position `offset + i` and key row j
   * at position j; query i attends keys j <= offset + i. Scores are scaled by `scale`.
   * Returns out[nq, dv]; when `weights` is given (length nq*nk) the softmax probabilities are
   * written there (zeros where masked).
   */
  causalAttention(
    q: Float32Array, k: Float32Array, v: Float32Array,
    nq: number, nk: number, dk: number, dv: number,
    scale: number, offset: number,
    out?: Float32Array, weights?: Float32Array,
  ): Float32Array;

  /**
   * Optional: storage in the backend's own memory for arrays that live across calls and grow
   * (KV caches). A kernel given a view of it reads it where it lies instead of copying it in.
   * Absent: plain Float32Arrays serve.
   */
  allocFloats?(length: number): FloatBlock;
}

/**
 * `length` floats in a backend's own memory (WebAssembly). That memory may grow, which detaches
 * every view of it, so `array()` is the way in: it returns the current view (the same object
 * until the memory grows). Never hold a view across a backend call. `free()` gives the floats back
 * (a block that is dropped without free() is given back when it is garbage-collected).
 */
export interface FloatBlock {
  readonly length: number;
  array(): Float32Array;
  free(): void;
}

/** Every op name, in a fixed order (for selection tables, benchmarks and parity tests). */
export const OP_NAMES = ['matmul', 'matmulT', 'matmulTN', 'softmaxRows', 'rmsNorm', 'rope', 'swiglu', 'causalAttention'] as const;
export type OpName = (typeof OP_NAMES)[number];

/** Allocate `out` when absent, or check its length when given. */
export function outBuffer(out: Float32Array | undefined, length: number, op: string): Float32Array {
  if (!out) return new Float32Array(length);
  if (out.length !== length) throw new RangeError(`${op}: out has length ${out.length}, expected ${length}`);
  return out;
}

/** causalAttention's output [nq, dv] (as outBuffer), after checking the optional weights buffer is [nq, nk]. */
export function attentionOut(out: Float32Array | undefined, weights: Float32Array | undefined, nq: number, nk: number, dv: number): Float32Array {
  const o = outBuffer(out, nq * dv, 'causalAttention');
  if (weights && weights.length !== nq * nk) throw new RangeError(`causalAttention: weights has length ${weights.length}, expected ${nq * nk}`);
  return o;
}

// ---- constant operands ----
// A backend with its own memory (WebAssembly) can keep a copy of an operand that never changes (a
// loaded model's weights) instead of copying it in on every call. Only the code that creates such
// arrays knows they are constant, so it says so here; arrays that are updated in place (training
// parameters, KV caches) are never marked, and are copied per call.
const constants = new WeakSet<Float32Array>();

/** Declare arrays that will never be written again (a backend may copy them once and keep the copy). */
export function markConstant(...arrays: Float32Array[]): void {
  for (const a of arrays) constants.add(a);
}

/** markConstant on every Float32Array found in plain objects and arrays under `root` (a model's weights). */
export function markConstantDeep(root: unknown): void {
  const seen = new Set<object>();
  const walk = (x: unknown): void => {
    if (x instanceof Float32Array) constants.add(x);
    else if (typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && !seen.has(x)) {
      seen.add(x);
      for (const v of Array.isArray(x) ? x : Object.values(x)) walk(v);
    }
  };
  walk(root);
}

export function isConstant(a: Float32Array): boolean {
  return constants.has(a);
}
