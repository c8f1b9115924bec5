// safetensors dtypes of the low-precision formats, and their bytes (little-endian, as the format
// stores every element). The safetensors reader and writer call these for everything but F32/F64.
import { BF16, E4M3, E5M2, FP16, type FloatFormat, decodeArray, encode } from './formats.js';

/** The dtype names safetensors uses (https://github.com/huggingface/safetensors) for each format. */
export const DTYPE_FORMATS: Readonly<Record<string, FloatFormat>> = Object.freeze({ BF16, F16: FP16, F8_E4M3: E4M3, F8_E5M2: E5M2 });

export type StorageDtype = 'F32' | 'BF16' | 'F16' | 'F8_E4M3' | 'F8_E5M2';

/** The format of a low-precision dtype, or undefined for F32, F64 and unknown names. */
export function formatOfDtype(dtype: string): FloatFormat | undefined {
  return Object.hasOwn(DTYPE_FORMATS, dtype) ? DTYPE_FORMATS[dtype] : undefined;
}

/**
 * Values rounded to `dtype` (nearest, ties to even) as little-endian bytes. FP8 values beyond the
 * format's range are an error in a checkpoint, so callers scale first; here they saturate.
 */
export function encodeTensorBytes(dtype: string, data: ArrayLike<number>): Uint8Array {
  const f = formatOfDtype(dtype);
  if (!f) throw new RangeError(`encodeTensorBytes: no low-precision format for dtype ${JSON.stringify(dtype)}`);
  const bytesPer = f.bits / 8;
  const out = new Uint8Array(data.length * bytesPer);
  const overflow = f.bits === 8 ? 'saturate' : undefined;
  for (let i = 0; i < data.length; i++) {
    const c = encode(f, data[i]!, overflow);
    if (bytesPer === 1) out[i] = c;
    else { out[2 * i] = c & 0xff; out[2 * i + 1] = c >>> 8; }
  }
  return out;
}

/** Bytes of an 8-bit dtype (F8_E4M3, F8_E5M2) as float32 values, exactly. */
export function decodeFp8Bytes(dtype: string, bytes: Uint8Array, out: Float32Array = new Float32Array(bytes.length)): Float32Array {
  const f = formatOfDtype(dtype);
  if (!f || f.bits !== 8) throw new RangeError(`decodeFp8Bytes: ${JSON.stringify(dtype)} is not an 8-bit float dtype`);
  return decodeArray(f, bytes, out);
}
