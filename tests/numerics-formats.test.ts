// Number formats checked at the bit level: against Math.fround (FP32), against integer bit tricks
// on float32 bits written here independently (BF16, FP16), against the published constants, and
// exhaustively over every code of the 8- and 16-bit formats.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BF16, E4M3, E5M2, FORMATS, FP16, FP32, type FloatFormat, decode, encode, fields, neighbours, roundArray, roundTo } from '../src/engine/numerics/formats.js';
import { bf16ToF32, f16ToF32 } from '../src/engine/safetensors.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOfF32 = (x: number): number => { f32[0] = x; return u32[0]!; };

/** float32 -> bf16 bits, the usual integer trick: add 0x7fff plus the lowest kept bit, then truncate. */
function bf16FromF32Bits(b: number): number {
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) & 0x8000) | 0x7fc0; // NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> fp16 bits by integer operations on the float32 fields (round to nearest even). */
function f16FromF32Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return sign | (man ? 0x7e00 : 0x7c00);
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00;
  let full: number, shift: number, outExp: number;
  if (e <= 0) {
    // subnormal in fp16 (or zero): value = (man | 1<<23) * 2^(exp-150); fp16 subnormal unit 2^-24
    if (exp === 0) return sign; // float32 zero or subnormal: far below fp16's smallest
    full = man | 0x800000;
    shift = 14 - e; // 13 + (1 - e)
    outExp = 0;
    if (shift > 24) return sign;
  } else {
    full = man;
    shift = 13;
    outExp = e;
  }
  const kept = full >>> shift;
  const rem = full - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  let m = kept;
  if (rem > half || (rem === half && (kept & 1) === 1)) m += 1;
  // Carry out of the mantissa moves into the exponent field (the adding below does it).
  return sign | ((outExp << 10) + m);
}

const anyFloat32 = fc.float({ noNaN: true });

describe('FP32: encode agrees with Math.fround', () => {
  it('on any double, including subnormals and overflow', () => {
    fc.assert(fc.property(fc.double({ noNaN: true }), (x) => {
      expect(encode(FP32, x)).toBe(bitsOfF32(x));
      expect(Object.is(roundTo(FP32, x), Math.fround(x))).toBe(true);
    }), { numRuns: 5000 });
  });
});

describe('BF16', () => {
  it('agrees with the float32 bit trick on any float32', () => {
    fc.assert(fc.property(anyFloat32, (x) => { expect(encode(BF16, x)).toBe(bf16FromF32Bits(bitsOfF32(x))); }), { numRuns: 5000 });
  });
  it('decodes every code as the safetensors reader does', () => {
    for (let c = 0; c < 0x10000; c++) {
      const v = decode(BF16, c);
      if (Number.isNaN(v)) expect(bf16ToF32(c)).toBeNaN();
      else expect(Object.is(v, bf16ToF32(c))).toBe(true);
    }
  });
  it('known constants', () => {
    expect(BF16.max).toBe(3.3895313892515355e38);
    expect(encode(BF16, BF16.max)).toBe(0x7f7f);
    expect(BF16.minSubnormal).toBe(2 ** -133);
    expect(encode(BF16, 2 ** -133)).toBe(0x0001);
    expect(encode(BF16, 1)).toBe(0x3f80);
    expect(encode(BF16, -2)).toBe(0xc000);
    expect(encode(BF16, 1 / 3)).toBe(0x3eab); // 0.333984375
    expect(roundTo(BF16, 1 / 3)).toBe(0.333984375);
  });
});

describe('FP16', () => {
  it('agrees with integer rounding of float32 bits on any float32', () => {
    fc.assert(fc.property(anyFloat32, (x) => { expect(encode(FP16, x)).toBe(f16FromF32Bits(bitsOfF32(x))); }), { numRuns: 5000 });
    // and densely around the subnormal range and the overflow edge
    fc.assert(fc.property(fc.double({ min: -70000, max: 70000, noNaN: true }), (x) => {
      const y = Math.fround(x);
      expect(encode(FP16, y)).toBe(f16FromF32Bits(bitsOfF32(y)));
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.double({ min: -1e-4, max: 1e-4, noNaN: true }), (x) => {
      const y = Math.fround(x);
      expect(encode(FP16, y)).toBe(f16FromF32Bits(bitsOfF32(y)));
    }), { numRuns: 3000 });
  });
  it('decodes every code as the safetensors reader does', () => {
    for (let c = 0; c < 0x10000; c++) {
      const v = decode(FP16, c);
      if (Number.isNaN(v)) expect(f16ToF32(c)).toBeNaN();
      else expect(Object.is(v, f16ToF32(c))).toBe(true);
    }
  });
  it('known constants: max 65504, min subnormal 2^-24, min normal 2^-14, overflow to infinity', () => {
    expect(FP16.max).toBe(65504);
    expect(encode(FP16, 65504)).toBe(0x7bff);
    expect(FP16.minSubnormal).toBe(2 ** -24);
    expect(encode(FP16, 2 ** -24)).toBe(0x0001);
    expect(FP16.minNormal).toBe(2 ** -14);
    expect(encode(FP16, 2 ** -14)).toBe(0x0400);
    expect(encode(FP16, 65519.99)).toBe(0x7bff); // below the midpoint 65520
    expect(encode(FP16, 65520)).toBe(0x7c00); // the midpoint ties to the even code: infinity
    expect(encode(FP16, -1e6)).toBe(0xfc00);
    expect(encode(FP16, 1e6, 'saturate')).toBe(0x7bff);
    expect(encode(FP16, 2 ** -25)).toBe(0x0000); // half of the smallest subnormal ties to zero
    expect(encode(FP16, 2 ** -25 * 1.0001)).toBe(0x0001);
    expect(encode(FP16, 3 * 2 ** -25)).toBe(0x0002); // 1.5 units ties to 2
    expect(encode(FP16, -0)).toBe(0x8000);
    expect(encode(FP16, NaN)).toBe(0x7e00);
    expect(encode(FP16, 0.1)).toBe(0x2e66);
  });
});

describe('FP8 E4M3 (OCP FN: no infinity, max 448)', () => {
  it('constants', () => {
    expect(E4M3.max).toBe(448);
    expect(E4M3.maxCode).toBe(0x7e);
    expect(E4M3.minNormal).toBe(2 ** -6);
    expect(E4M3.minSubnormal).toBe(2 ** -9);
    expect(E4M3.nanCode).toBe(0x7f);
    expect(decode(E4M3, 0x7f)).toBeNaN();
    expect(decode(E4M3, 0xff)).toBeNaN();
    expect(decode(E4M3, 0x78)).toBe(256); // all-ones exponent is a normal binade here
    expect(decode(E4M3, 0x01)).toBe(2 ** -9);
    expect(decode(E4M3, 0x08)).toBe(2 ** -6);
    expect(decode(E4M3, 0xfe)).toBe(-448);
  });
  it('overflow: 464 (the midpoint past 448) ties to 448; beyond it is NaN, or 448 saturating; infinity is NaN', () => {
    expect(encode(E4M3, 464)).toBe(0x7e);
    expect(encode(E4M3, 464.01)).toBe(0x7f);
    expect(encode(E4M3, -500)).toBe(0xff);
    expect(encode(E4M3, 500, 'saturate')).toBe(0x7e);
    expect(encode(E4M3, -Infinity, 'saturate')).toBe(0xfe);
    expect(encode(E4M3, Infinity)).toBe(0x7f);
  });
  it('exactly 254 finite codes (all but the two NaNs) and 2 zeros', () => {
    let finite = 0;
    for (let c = 0; c < 256; c++) if (Number.isFinite(decode(E4M3, c))) finite++;
    expect(finite).toBe(254);
  });
});

describe('FP8 E5M2 (IEEE-like: infinity, max 57344)', () => {
  it('constants', () => {
    expect(E5M2.max).toBe(57344);
    expect(encode(E5M2, 57344)).toBe(0x7b);
    expect(E5M2.minSubnormal).toBe(2 ** -16);
    expect(E5M2.minNormal).toBe(2 ** -14);
    expect(decode(E5M2, 0x7c)).toBe(Infinity);
    expect(decode(E5M2, 0x7d)).toBeNaN();
    expect(encode(E5M2, 61439)).toBe(0x7b);
    expect(encode(E5M2, 61440)).toBe(0x7c); // midpoint ties to the even code: infinity
  });
  it('agrees with the top byte of FP16 rounded to nearest even (E5M2 is FP16 with 8 fewer mantissa bits)', () => {
    for (let c = 0; c < 0x10000; c++) {
      const v = decode(FP16, c);
      if (!Number.isFinite(v)) continue;
      // RNE on the fp16 code's low byte, as an integer.
      const low = c & 0xff, hi = c >>> 8;
      const up = low > 0x80 || (low === 0x80 && (hi & 1) === 1);
      expect(encode(E5M2, v)).toBe(hi + (up ? 1 : 0));
    }
  });
});

const smallFormats: FloatFormat[] = [E4M3, E5M2, FP16, BF16];

describe.each(smallFormats.map((f) => [f.name, f] as const))('%s: every code', (_name, f) => {
  const n = 2 ** f.bits;
  it('round-trips: encode(decode(c)) === c for every non-NaN code', () => {
    for (let c = 0; c < n; c++) {
      const v = decode(f, c);
      if (Number.isNaN(v)) expect(Number.isNaN(decode(f, encode(f, v)))).toBe(true);
      else expect(encode(f, v)).toBe(c);
    }
  });
  it('halfway cases round to the even code, and just off halfway to the nearer one', () => {
    // consecutive positive finite codes
    for (let c = 0; c + 1 < n / 2; c++) {
      const lo = decode(f, c), hi = decode(f, c + 1);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
      const mid = (lo + hi) / 2; // exact in float64
      const even = c % 2 === 0 ? c : c + 1;
      expect(encode(f, mid)).toBe(even);
      expect(encode(f, -mid)).toBe(even + n / 2);
      const nudge = (hi - lo) * 2 ** -20;
      expect(encode(f, mid - nudge)).toBe(c);
      expect(encode(f, mid + nudge)).toBe(c + 1);
    }
  });
});

describe('rounding properties', () => {
  it('round-to-nearest: the error is at most half the spacing, and no representable value is nearer', () => {
    for (const f of [BF16, FP16, E4M3, E5M2]) {
      fc.assert(fc.property(fc.double({ min: -f.max, max: f.max, noNaN: true }), (x) => {
        const r = roundTo(f, x);
        const { below, above, ulp } = neighbours(f, x);
        expect(Math.abs(r - x)).toBeLessThanOrEqual(ulp / 2);
        expect(r === below || r === above).toBe(true);
      }), { numRuns: 1000 });
    }
  });
  it('encode is monotonic in the value', () => {
    for (const f of [BF16, FP16, E4M3, E5M2]) {
      fc.assert(fc.property(fc.double({ min: -f.max, max: f.max, noNaN: true }), fc.double({ min: -f.max, max: f.max, noNaN: true }), (a, b) => {
        const [x, y] = a <= b ? [a, b] : [b, a];
        expect(roundTo(f, x)).toBeLessThanOrEqual(roundTo(f, y));
      }), { numRuns: 1000 });
    }
  });
  it('fields and roundArray', () => {
    expect(fields(FP32, encode(FP32, -1.5))).toEqual({ sign: 1, exponent: 127, mantissa: 0x400000, bits: '1' + '01111111' + '1'.padEnd(23, '0') });
    expect(fields(E4M3, 0x7e)).toEqual({ sign: 0, exponent: 15, mantissa: 6, bits: '01111110' });
    expect(Array.from(roundArray(E4M3, [0.3, 1000, -17]))).toEqual([0.3125, NaN, -16]);
    expect(Object.keys(FORMATS)).toEqual(['FP32', 'BF16', 'FP16', 'E4M3', 'E5M2']);
  });
});
