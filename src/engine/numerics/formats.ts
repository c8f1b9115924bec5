// Binary floating-point formats as bit fields: FP32, BF16, FP16 and the two FP8 formats DeepSeek-V3
// trains with (E4M3 for everything, E5M2 named in the paper as the usual choice for gradients).
//
// A value is sign | exponent field | mantissa field. With E exponent bits, M mantissa bits and bias B:
//   exponent field 0          subnormal: (-1)^s * m * 2^(1 - B - M)       (includes +-0)
//   exponent field e > 0      normal:    (-1)^s * (2^M + m) * 2^(e - B - M)
// 'ieee' formats (FP32, BF16, FP16, E5M2) keep the all-ones exponent for infinity (m = 0) and NaN.
// E4M3 is the OCP "FN" variant: no infinity; only S.1111.111 is NaN, so the largest finite value is
// S.1111.110 = 1.75 * 2^8 = 448.
//
// Encoding rounds the exact value (a JS number, float64) to the nearest representable value, ties to
// the one whose last mantissa bit is 0 (round-to-nearest-even, IEEE 754's default).

export type FormatName = 'FP32' | 'BF16' | 'FP16' | 'E4M3' | 'E5M2';

export interface FloatFormat {
  name: FormatName;
  /** Bits in all: 1 + exponentBits + mantissaBits. */
  bits: number;
  exponentBits: number;
  mantissaBits: number;
  bias: number;
  /** 'ieee': the all-ones exponent means infinity or NaN. 'fn': finite only, all-ones code is NaN. */
  special: 'ieee' | 'fn';
  /** Largest finite value. */
  max: number;
  /** Smallest positive normal value 2^(1 - bias). */
  minNormal: number;
  /** Smallest positive subnormal value 2^(1 - bias - mantissaBits). */
  minSubnormal: number;
  /** The code of +max and of the canonical NaN. */
  maxCode: number;
  nanCode: number;
}

function makeFormat(name: FormatName, exponentBits: number, mantissaBits: number, special: 'ieee' | 'fn'): FloatFormat {
  const bias = 2 ** (exponentBits - 1) - 1;
  const expOnes = 2 ** exponentBits - 1;
  const mantOnes = 2 ** mantissaBits - 1;
  // Largest finite: ieee has exponent field all-ones minus one with a full mantissa; fn keeps the
  // all-ones exponent but gives up its all-ones mantissa to NaN.
  const maxExp = special === 'ieee' ? expOnes - 1 : expOnes;
  const maxMant = special === 'ieee' ? mantOnes : mantOnes - 1;
  return {
    name, bits: 1 + exponentBits + mantissaBits, exponentBits, mantissaBits, bias, special,
    max: (2 ** mantissaBits + maxMant) * 2 ** (maxExp - bias - mantissaBits),
    minNormal: 2 ** (1 - bias),
    minSubnormal: 2 ** (1 - bias - mantissaBits),
    maxCode: maxExp * 2 ** mantissaBits + maxMant,
    nanCode: special === 'ieee' ? expOnes * 2 ** mantissaBits + 2 ** (mantissaBits - 1) : expOnes * 2 ** mantissaBits + mantOnes,
  };
}

export const FP32 = makeFormat('FP32', 8, 23, 'ieee');
export const BF16 = makeFormat('BF16', 8, 7, 'ieee');
export const FP16 = makeFormat('FP16', 5, 10, 'ieee');
export const E4M3 = makeFormat('E4M3', 4, 3, 'fn');
export const E5M2 = makeFormat('E5M2', 5, 2, 'ieee');

export const FORMATS: Readonly<Record<FormatName, FloatFormat>> = Object.freeze({ FP32, BF16, FP16, E4M3, E5M2 });

/**
 * What happens to a value beyond the largest finite one. 'infinity' (ieee formats) and 'nan' (E4M3,
 * which has no infinity) are the plain casts; 'saturate' clamps to +-max, as FP8 training recipes do
 * when casting already-scaled values.
 */
export type Overflow = 'infinity' | 'nan' | 'saturate';

const defaultOverflow = (f: FloatFormat): Overflow => (f.special === 'ieee' ? 'infinity' : 'nan');

// floor(log2(a)) read from the float64 exponent field (exact; Math.log2 can be off by one near powers
// of two), and powers of two from a table: encode runs per element when a tensor is quantised.
const bitsView = new DataView(new ArrayBuffer(8));
const POW2 = Float64Array.from({ length: 2200 }, (_, i) => 2 ** (i - 1100));
const pow2 = (e: number): number => POW2[e + 1100]!;

/** floor(log2(a)) for a finite a > 0. */
function exponentOf(a: number): number {
  bitsView.setFloat64(0, a);
  const biased = (bitsView.getUint32(0) >>> 20) & 0x7ff;
  if (biased !== 0) return biased - 1023;
  let e = -1023; // a float64 subnormal
  while (pow2(e) > a) e--;
  return e;
}

function overflowCode(f: FloatFormat, sign: number, overflow: Overflow): number {
  if (overflow === 'saturate') return sign + f.maxCode;
  if (overflow === 'infinity' && f.special === 'ieee') return sign + (2 ** f.exponentBits - 1) * 2 ** f.mantissaBits;
  return sign + f.nanCode; // E4M3 has no infinity: a value past max is NaN
}

/** The code (an unsigned integer of `f.bits` bits) of x rounded to nearest, ties to even. */
export function encode(f: FloatFormat, x: number, overflow: Overflow = defaultOverflow(f)): number {
  const M = f.mantissaBits;
  const sign = x < 0 || Object.is(x, -0) ? pow2(f.bits - 1) : 0;
  if (x !== x) return f.nanCode;
  const a = Math.abs(x);
  if (a === Infinity) return overflowCode(f, sign, overflow);
  if (a === 0) return sign;
  const emin = 1 - f.bias;
  let e = exponentOf(a);
  if (e < emin) e = emin;
  // n = a / ulp(e): in [2^M, 2^(M+1)) for normals, below 2^M for subnormals. Dividing by a power
  // of two is exact, and so is taking off the integer part.
  const n = a / pow2(e - M);
  let r = Math.floor(n);
  const frac = n - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
  const top = pow2(M);
  if (r === 2 * top) { r = top; e += 1; } // rounded up into the next binade
  let expField: number, mant: number;
  if (r >= top) { expField = e + f.bias; mant = r - top; } else { expField = 0; mant = r; }
  const expOnes = pow2(f.exponentBits) - 1;
  const tooBig = f.special === 'ieee'
    ? expField >= expOnes
    : expField > expOnes || (expField === expOnes && mant === top - 1);
  if (tooBig) return overflowCode(f, sign, overflow);
  return sign + expField * top + mant;
}

/** The exact value of a code. */
export function decode(f: FloatFormat, code: number): number {
  const M = f.mantissaBits;
  const signBit = 2 ** (f.bits - 1);
  const neg = code >= signBit;
  const rest = neg ? code - signBit : code;
  const expField = Math.floor(rest / 2 ** M);
  const mant = rest % 2 ** M;
  const expOnes = 2 ** f.exponentBits - 1;
  let v: number;
  if (f.special === 'ieee' && expField === expOnes) v = mant === 0 ? Infinity : NaN;
  else if (f.special === 'fn' && expField === expOnes && mant === 2 ** M - 1) v = NaN;
  else if (expField === 0) v = mant * 2 ** (1 - f.bias - M);
  else v = (2 ** M + mant) * 2 ** (expField - f.bias - M);
  return neg ? -v : v;
}

/** x rounded to the format (encode then decode). */
export function roundTo(f: FloatFormat, x: number, overflow?: Overflow): number {
  return decode(f, encode(f, x, overflow));
}

/** The three fields of a code, for showing its bit layout. */
export function fields(f: FloatFormat, code: number): { sign: number; exponent: number; mantissa: number; bits: string } {
  const M = f.mantissaBits;
  const signBit = 2 ** (f.bits - 1);
  const sign = code >= signBit ? 1 : 0;
  const rest = code - sign * signBit;
  const exponent = Math.floor(rest / 2 ** M);
  const mantissa = rest % 2 ** M;
  return { sign, exponent, mantissa, bits: code.toString(2).padStart(f.bits, '0') };
}

/** Is this code a finite value? */
export function isFiniteCode(f: FloatFormat, code: number): boolean {
  return Number.isFinite(decode(f, code));
}

/**
 * The representable neighbours of x: the largest value <= x and the smallest >= x (equal when x is
 * representable), and the spacing (ulp) between consecutive values where x lies.
 */
export function neighbours(f: FloatFormat, x: number): { below: number; above: number; ulp: number } {
  const a = Math.abs(x);
  const emin = 1 - f.bias;
  const e = a === 0 || !Number.isFinite(a) ? emin : Math.max(exponentOf(a), emin);
  const ulp = 2 ** (e - f.mantissaBits);
  const below = Math.floor(x / ulp) * ulp;
  const above = Math.ceil(x / ulp) * ulp;
  return { below, above, ulp };
}

// ---------------------------------------------------------------------------------------------
// Whole arrays

/** Codes of a whole array (Uint8Array for 8-bit formats, Uint16Array for 16-bit, Uint32Array for FP32). */
export function encodeArray(f: FloatFormat, x: ArrayLike<number>, overflow?: Overflow): Uint8Array | Uint16Array | Uint32Array {
  const out = f.bits === 8 ? new Uint8Array(x.length) : f.bits === 16 ? new Uint16Array(x.length) : new Uint32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = encode(f, x[i]!, overflow);
  return out;
}

/** Values of codes, as float32 (every BF16, FP16 and FP8 value is a float32 exactly). */
export function decodeArray(f: FloatFormat, codes: ArrayLike<number>, out: Float32Array = new Float32Array(codes.length)): Float32Array {
  // A table of all 2^bits values is cheaper than decoding each code for the 8- and 16-bit formats.
  if (f.bits <= 16) {
    const table = valueTable(f);
    for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]!]!;
  } else {
    for (let i = 0; i < codes.length; i++) out[i] = decode(f, codes[i]!);
  }
  return out;
}

const tables = new Map<FormatName, Float32Array>();

/** Every code's value (8- and 16-bit formats). */
export function valueTable(f: FloatFormat): Float32Array {
  let t = tables.get(f.name);
  if (!t) {
    if (f.bits > 16) throw new RangeError(`valueTable: ${f.name} has ${f.bits} bits, too many to tabulate`);
    t = new Float32Array(2 ** f.bits);
    for (let c = 0; c < t.length; c++) t[c] = decode(f, c);
    tables.set(f.name, t);
  }
  return t;
}

/** Each value of x rounded to the format, as float32 (simulated low-precision storage). */
export function roundArray(f: FloatFormat, x: ArrayLike<number>, out: Float32Array = new Float32Array(x.length), overflow?: Overflow): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = decode(f, encode(f, x[i]!, overflow));
  return out;
}
