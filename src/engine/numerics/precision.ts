// The model run in a lower precision, simulated in float32 exactly where it matters: every weight
// holds the value its stored format gives back, and every activation the value its format keeps.
//
//   bf16 / fp16   weights stored in the format (the routing bias stays F32); every op's output
//                 rounded to the format (products accumulate in float32 or better, as tensor cores do)
//   fp8-block     DeepSeek-V3's recipe (§3.3): linear weights E4M3 per 128 x 128 block, their
//                 inputs quantised to E4M3 per 1 x 128 tile (per token, per 128 channels) when the
//                 product runs; embeddings, output head, router, norms and attention in BF16
//   fp8-tensor    the same with one scale per weight tensor and one per activation matrix
//
// The FP8 inputs are recognised by the weight they multiply: a matmulT whose B is one of the FP8
// weights (the very Float32Array the model binds) quantises its A first.
import type { Backend } from '../../../kernels/backend.js';
import type { DeepSeekConfig } from '../config.js';
import { Model } from '../model.js';
import type { Tensor } from '../weights.js';
import { BF16, E4M3, FP16, type FloatFormat, decodeArray, roundArray } from './formats.js';
import { type Granularity, applyBlockScales, fakeQuantize, quantize } from './quantize.js';
import { storageDtypeOf, storedBytes, type TargetDtype } from './convert.js';
import { formatOfDtype } from './storage.js';

export type Scheme = 'fp32' | 'bf16' | 'fp16' | 'fp8-tensor' | 'fp8-block';
export const SCHEMES: readonly Scheme[] = ['fp32', 'bf16', 'fp16', 'fp8-tensor', 'fp8-block'];
export const SCHEME_LABELS: Readonly<Record<Scheme, string>> = {
  fp32: 'FP32', bf16: 'BF16', fp16: 'FP16', 'fp8-tensor': 'FP8 per tensor', 'fp8-block': 'FP8 1x128 / 128x128',
};

const targetOf = (s: Scheme): TargetDtype => (s === 'fp32' ? 'f32' : s === 'bf16' ? 'bf16' : s === 'fp16' ? 'fp16' : 'fp8');

// float32 -> bf16 -> float32 on the bits (round to nearest even), the hot path of BF16 activations.
function roundBf16InPlace(x: Float32Array): void {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i]!;
    if ((b & 0x7f800000) === 0x7f800000) continue; // Inf and NaN stay
    u[i] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
}

// float32 -> fp16 -> float32: normals by rounding away 13 mantissa bits on the float32 bits,
// subnormals (below 2^-14) to the nearest multiple of 2^-24, ties to even; 65520 and up overflow.
const F16_MIN_NORMAL = 2 ** -14, F16_OVERFLOW = 65520, F16_UNIT = 2 ** 24;
function roundF16InPlace(x: Float32Array): void {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!, a = Math.abs(v);
    if (!(a < F16_OVERFLOW)) { if (a === a) x[i] = v > 0 ? Infinity : -Infinity; continue; }
    if (a < F16_MIN_NORMAL) {
      const n = v * F16_UNIT;
      let r = Math.round(n);
      if (r - n === 0.5 && r % 2 !== 0) r -= 1; // Math.round takes ties up; ties go to even
      x[i] = r / F16_UNIT;
      continue;
    }
    const b = u[i]!;
    u[i] = ((b + 0xfff + ((b >>> 13) & 1)) & 0xffffe000) >>> 0;
  }
}

function roundInPlace(f: FloatFormat | null, x: Float32Array): Float32Array {
  if (f === BF16) roundBf16InPlace(x);
  else if (f === FP16) roundF16InPlace(x);
  else if (f) roundArray(f, x, x);
  return x;
}

export interface PrecisionBackendOptions {
  /** Format every op's output is rounded to (null: float32, no rounding). */
  activations: FloatFormat | null;
  /** Weights whose matmulT inputs are quantised to FP8 first, and how (1 x 128 tiles or per tensor). */
  fp8Inputs?: { weights: ReadonlySet<Float32Array>; granularity: Granularity };
}

/** (exported for tests) */
export const roundActivations = roundInPlace;

/** A Backend that runs `inner` and rounds as a low-precision run would. */
export function precisionBackend(inner: Backend, o: PrecisionBackendOptions): Backend {
  const f = o.activations;
  const fp8 = o.fp8Inputs;
  const r = (x: Float32Array) => roundInPlace(f, x);
  return {
    name: `${inner.name} (${f ? f.name : 'FP32'} activations${fp8 ? `, FP8 ${fp8.granularity} inputs` : ''})`,
    matmul: (a, b, m, k, n, out) => r(inner.matmul(a, b, m, k, n, out)),
    matmulT(a, b, m, k, n, out) {
      const x = fp8 && fp8.weights.has(b) ? fakeQuantize(a, m, k, fp8.granularity, E4M3) : a;
      return r(inner.matmulT(x, b, m, k, n, out));
    },
    matmulTN: (a, b, m, k, n, out) => r(inner.matmulTN(a, b, m, k, n, out)),
    softmaxRows: (x, rows, cols, out) => r(inner.softmaxRows(x, rows, cols, out)),
    rmsNorm: (x, w, rows, cols, eps, out) => r(inner.rmsNorm(x, w, rows, cols, eps, out)),
    rope: (x, rows, dim, positions, theta, out) => r(inner.rope(x, rows, dim, positions, theta, out)),
    swiglu: (g, u, n, out) => r(inner.swiglu(g, u, n, out)),
    causalAttention: (q, k, v, nq, nk, dk, dv, scale, offset, out, weights) => r(inner.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, out, weights)),
  };
}

/** The weights as a scheme stores them, read back (FP8 x scale for the FP8 ones). */
export function schemeWeights(tensors: ReadonlyMap<string, Tensor>, scheme: Scheme): { tensors: Map<string, Tensor>; fp8: Set<Float32Array> } {
  const out = new Map<string, Tensor>();
  const fp8 = new Set<Float32Array>();
  const target = targetOf(scheme);
  for (const [name, t] of tensors) {
    const dtype = storageDtypeOf(name, t.shape, target);
    let data: Float32Array;
    if (dtype === 'F8_E4M3') {
      const q = quantize(t.data, t.shape[0]!, t.shape[1]!, scheme === 'fp8-tensor' ? 'tensor' : 'block', E4M3);
      data = applyBlockScales(decodeArray(E4M3, q.codes), q.rows, q.cols, q.block, q.scales);
      fp8.add(data);
    } else {
      const f = formatOfDtype(dtype);
      data = f ? roundInPlace(f, t.data.slice()) : t.data;
    }
    out.set(name, { shape: t.shape, data });
  }
  return { tensors: out, fp8 };
}

/** The model in a scheme: stored weights (`stored`: schemeWeights done before), and (with `activations`) low-precision activations. */
export function modelInScheme(
  config: DeepSeekConfig, tensors: ReadonlyMap<string, Tensor>, scheme: Scheme, inner: Backend, activations = true,
  stored: ReturnType<typeof schemeWeights> = schemeWeights(tensors, scheme),
): Model {
  const { tensors: w, fp8 } = stored;
  if (scheme === 'fp32' || !activations) return Model.fromTensors(config, w, { backend: inner });
  const act = scheme === 'fp16' ? FP16 : BF16; // FP8 schemes keep BF16 activations between the FP8 products
  const be = precisionBackend(inner, {
    activations: act,
    fp8Inputs: scheme.startsWith('fp8') ? { weights: fp8, granularity: scheme === 'fp8-tensor' ? 'tensor' : 'tile' } : undefined,
  });
  return Model.fromTensors(config, w, { backend: be });
}

/** Bytes of the weights as the scheme stores them (FP8 scales included). */
export function schemeBytes(tensors: ReadonlyMap<string, Tensor>, scheme: Scheme): number {
  if (scheme === 'fp8-tensor') {
    let b = 0;
    for (const [name, t] of tensors) b += storageDtypeOf(name, t.shape, 'fp8') === 'F8_E4M3' ? t.data.length + 4 : t.data.length * (name.endsWith('e_score_correction_bias') ? 4 : 2);
    return b;
  }
  return storedBytes(tensors, targetOf(scheme));
}

export interface LogitsComparison {
  /** Cross-entropy of the next token in bits, averaged over positions (bits per character for a character model). */
  bitsPerChar: number;
  /** The same for the reference (FP32) logits. */
  refBitsPerChar: number;
  /** Fraction of positions whose top-1 token equals the reference's. */
  agreement: number;
  maxAbsDiff: number;
  meanAbsDiff: number;
}

/** Log2-loss of row t's logits on target t, in bits. */
function bitsOf(logits: Float32Array, t: number, V: number, target: number): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[t * V + j]!);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[t * V + j]! - max);
  return (Math.log(sum) + max - logits[t * V + target]!) / Math.LN2;
}

const argmax = (x: Float32Array, t: number, V: number) => {
  let best = 0;
  for (let j = 1; j < V; j++) if (x[t * V + j]! > x[t * V + best]!) best = j;
  return best;
};

/**
 * Logits [T, V] of a model against reference logits on the same tokens: next-token bits (row t
 * predicts tokens[t + 1]), top-1 agreement and the absolute logit differences.
 */
export function compareLogits(ref: Float32Array, test: Float32Array, tokens: readonly number[], V: number): LogitsComparison {
  const T = tokens.length;
  let bits = 0, refBits = 0, agree = 0, maxAbs = 0, sumAbs = 0;
  for (let t = 0; t < T; t++) {
    if (t + 1 < T) {
      bits += bitsOf(test, t, V, tokens[t + 1]!);
      refBits += bitsOf(ref, t, V, tokens[t + 1]!);
    }
    if (argmax(ref, t, V) === argmax(test, t, V)) agree++;
    for (let j = 0; j < V; j++) {
      const d = Math.abs(test[t * V + j]! - ref[t * V + j]!);
      maxAbs = Math.max(maxAbs, d);
      sumAbs += d;
    }
  }
  const n = Math.max(T - 1, 1);
  return { bitsPerChar: bits / n, refBitsPerChar: refBits / n, agreement: agree / Math.max(T, 1), maxAbsDiff: maxAbs, meanAbsDiff: sumAbs / Math.max(T * V, 1) };
}
