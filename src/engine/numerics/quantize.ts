// Scaled quantisation of a [rows, cols] matrix to a low-precision format, as DeepSeek-V3 does FP8
// (§3.3.2 "Fine-grained quantization"): the matrix is cut into blocks, each block gets one float32
// scale s = amax(|block|) / max(format), and stores codes of x / s. Dequantised value = code x s,
// which is what the shipped checkpoints call `weight_scale_inv` (the factor that undoes the scale).
//
//   per tensor   one block of [rows, cols]: one outlier sets the scale for every value
//   per row      blocks of [1, cols]
//   1 x 128      activations in DeepSeek-V3: per token, per 128 channels
//   128 x 128    weights in DeepSeek-V3: per 128 output x 128 input channels
// Edge blocks are partial when a dimension is not a multiple of the block (ceil division).
import { E4M3, type FloatFormat, decodeArray, encode } from './formats.js';

export type Granularity = 'tensor' | 'row' | 'tile' | 'block';

/** The block shape [blockRows, blockCols] a granularity means for a [rows, cols] matrix. */
export function blockShape(g: Granularity, rows: number, cols: number): [number, number] {
  switch (g) {
    case 'tensor': return [Math.max(rows, 1), Math.max(cols, 1)];
    case 'row': return [1, Math.max(cols, 1)];
    case 'tile': return [1, 128];
    case 'block': return [128, 128];
  }
}

export interface Quantized {
  format: FloatFormat;
  rows: number;
  cols: number;
  block: [number, number];
  /** One code per value, row-major. */
  codes: Uint8Array | Uint16Array;
  /** Scales [ceil(rows / block[0]), ceil(cols / block[1])], row-major: value = decode(code) x scale. */
  scales: Float32Array;
  scaleShape: [number, number];
}

/** How many blocks along each dimension. */
export function scaleShapeFor(rows: number, cols: number, block: readonly [number, number]): [number, number] {
  return [Math.ceil(rows / block[0]), Math.ceil(cols / block[1])];
}

/**
 * Quantise x [rows, cols] in blocks of `block` (or a named granularity) to `format` (E4M3 by default).
 * Scales are rounded to float32 before use, so dequantising with the stored scales reproduces exactly
 * what was encoded. An all-zero block gets scale 1. Values are cast saturating: x / s never exceeds
 * max(format) by more than float rounding.
 */
export function quantize(
  x: ArrayLike<number>, rows: number, cols: number,
  block: Granularity | readonly [number, number], format: FloatFormat = E4M3,
): Quantized {
  if (x.length !== rows * cols) throw new RangeError(`quantize: ${x.length} values, expected ${rows} x ${cols}`);
  const [br, bc] = typeof block === 'string' ? blockShape(block, rows, cols) : block;
  if (!(Number.isInteger(br) && br >= 1 && Number.isInteger(bc) && bc >= 1)) throw new RangeError(`quantize: block [${br}, ${bc}] must be two positive integers`);
  const [sr, sc] = scaleShapeFor(rows, cols, [br, bc]);
  const scales = new Float32Array(sr * sc);
  const codes = format.bits === 8 ? new Uint8Array(rows * cols) : new Uint16Array(rows * cols);
  for (let bi = 0; bi < sr; bi++) {
    const r0 = bi * br, r1 = Math.min(rows, r0 + br);
    for (let bj = 0; bj < sc; bj++) {
      const c0 = bj * bc, c1 = Math.min(cols, c0 + bc);
      let amax = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]!));
      const s = amax > 0 && Number.isFinite(amax) ? Math.fround(amax / format.max) || format.minSubnormal : 1;
      scales[bi * sc + bj] = s;
      if (format === E4M3) {
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) codes[r * cols + c] = encodeE4M3Saturate(x[r * cols + c]! / s);
      } else {
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) codes[r * cols + c] = encode(format, x[r * cols + c]! / s, 'saturate');
      }
    }
  }
  return { format, rows, cols, block: [br, bc], codes, scales, scaleShape: [sr, sc] };
}

// encode(E4M3, v, 'saturate') for the hot loop above (every FP8 weight and activation of the
// precision lesson goes through it): the same round to nearest even, with E4M3's constants written
// in and the exponent read from the float64's bits. tests/numerics-quantize.test.ts checks it
// against encode on every code's value, the midpoints between codes and random values.
const F64 = new Float64Array(1);
const HI = new Uint32Array(F64.buffer, new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 4 : 0, 1); // the word with sign and exponent
const POW2_E4M3 = Float64Array.from({ length: 32 }, (_, i) => 2 ** (i - 16));
/** (exported for tests) The E4M3 code of v, saturating at +-448 (NaN stays NaN). */
export function encodeE4M3Saturate(v: number): number {
  if (v !== v) return 0x7f;
  const sign = v < 0 || (v === 0 && 1 / v < 0) ? 0x80 : 0;
  const a = Math.abs(v);
  if (a < 0.015625) {
    // Below 2^-6: subnormal, multiples of 2^-9 (code 8 is 2^-6 itself, the smallest normal).
    const n = a * 512;
    let r = Math.round(n);
    if (r - n === 0.5 && (r & 1) === 1) r -= 1; // Math.round takes ties up; ties go to even
    return sign + r;
  }
  if (a >= 464) return sign + 0x7e; // 464 is the tie between 448 (even) and 480 (past max): 448
  F64[0] = a;
  const e = ((HI[0]! >>> 20) & 0x7ff) - 1023; // floor(log2 a), -6..8 here
  const n = a * POW2_E4M3[16 + 3 - e]!; // a / 2^(e-3): in [8, 16)
  let r = Math.floor(n);
  const frac = n - r;
  if (frac > 0.5 || (frac === 0.5 && (r & 1) === 1)) r += 1;
  // (e + 7) * 8 + (r - 8): a carry to r = 16 lands on the next binade's first code.
  const code = (e + 7) * 8 + r - 8;
  return sign + (code > 0x7e ? 0x7e : code);
}

/** Values from codes and block scales: value = decode(code) x scale of its block. */
export function dequantize(q: Pick<Quantized, 'format' | 'rows' | 'cols' | 'block' | 'codes' | 'scales'>, out: Float32Array = new Float32Array(q.rows * q.cols)): Float32Array {
  decodeArray(q.format, q.codes, out);
  return applyBlockScales(out, q.rows, q.cols, q.block, q.scales);
}

/** Multiply each block of x [rows, cols] (in place) by its scale: scales [ceil(rows/b0), ceil(cols/b1)]. */
export function applyBlockScales(x: Float32Array, rows: number, cols: number, block: readonly [number, number], scales: ArrayLike<number>): Float32Array {
  const [br, bc] = block;
  const sc = Math.ceil(cols / bc);
  for (let r = 0; r < rows; r++) {
    const srow = Math.floor(r / br) * sc;
    for (let c = 0; c < cols; c++) x[r * cols + c] = x[r * cols + c]! * scales[srow + Math.floor(c / bc)]!;
  }
  return x;
}

/** Quantise and dequantise in one go: what the values become after a round trip through the format. */
export function fakeQuantize(x: ArrayLike<number>, rows: number, cols: number, block: Granularity | readonly [number, number], format: FloatFormat = E4M3): Float32Array {
  return dequantize(quantize(x, rows, cols, block, format));
}

/** Error of an approximation y of x: largest absolute error, root mean square error, relative RMS. */
export function errorStats(x: ArrayLike<number>, y: ArrayLike<number>): { maxAbs: number; rms: number; relRms: number; zeros: number } {
  let maxAbs = 0, se = 0, sx = 0, zeros = 0;
  for (let i = 0; i < x.length; i++) {
    const d = y[i]! - x[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    se += d * d;
    sx += x[i]! * x[i]!;
    if (y[i] === 0 && x[i] !== 0) zeros++;
  }
  const n = Math.max(x.length, 1);
  return { maxAbs, rms: Math.sqrt(se / n), relRms: sx > 0 ? Math.sqrt(se / sx) : 0, zeros };
}
