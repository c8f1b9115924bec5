// Block-scaled quantisation: scale shapes with partial edge blocks, each block's largest value lands
// on the format's max, the error bound of round-to-nearest, and blocks not touching each other
// (an outlier spoils only its own block; per tensor it spoils everything).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { E4M3, E5M2, decode, encode } from '../src/engine/numerics/formats.js';
import { blockShape, dequantize, encodeE4M3Saturate, errorStats, fakeQuantize, quantize, scaleShapeFor } from '../src/engine/numerics/quantize.js';

const matrix = (rows: number, cols: number, seed: number): Float32Array => {
  // a small deterministic generator (values in about [-1, 1], some much smaller)
  let s = seed >>> 0;
  const next = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return Float32Array.from({ length: rows * cols }, () => (next() - 0.5) * 2 * 10 ** (-3 * next()));
};

describe('the E4M3 encoder of quantize\'s loop', () => {
  const same = (v: number) => expect(encodeE4M3Saturate(v), `v = ${v}`).toBe(encode(E4M3, v, 'saturate'));

  it('equals encode(E4M3, v, \'saturate\') on every code\'s value, the midpoints between codes and just either side, zeros, infinities and NaN', () => {
    const values: number[] = [];
    for (let c = 0; c < 0x7f; c++) values.push(decode(E4M3, c));
    values.push(480, 464, 512, 1e30);
    const sorted = [...new Set(values)].sort((a, b) => a - b);
    const probes = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, 2 ** -20];
    for (let i = 0; i < sorted.length; i++) {
      const v = sorted[i]!, next = sorted[i + 1];
      probes.push(v, v * (1 + 2 ** -50), v * (1 - 2 ** -50));
      if (next !== undefined) { const mid = (v + next) / 2; probes.push(mid, mid * (1 + 2 ** -50), mid * (1 - 2 ** -50)); }
    }
    for (const v of probes) { same(v); same(-v); }
  });

  it('equals encode on random values across E4M3\'s range and beyond', () => {
    fc.assert(fc.property(fc.double({ min: -2000, max: 2000, noNaN: true }), fc.integer({ min: -30, max: 0 }), (v, e) => {
      same(v * 2 ** e);
    }), { numRuns: 20000 });
  });
});

describe('quantize / dequantize', () => {
  it('a hand-worked example is exact: scale 2, codes 0.5, 1, 1.5, 448', () => {
    const q = quantize([1, 2, 3, 896], 1, 4, 'tensor');
    expect(Array.from(q.scales)).toEqual([2]);
    expect(Array.from(q.codes)).toEqual([0x30, 0x38, 0x3c, 0x7e]);
    expect(Array.from(dequantize(q))).toEqual([1, 2, 3, 896]);
  });

  it('granularities name DeepSeek-V3 block shapes', () => {
    expect(blockShape('tensor', 300, 200)).toEqual([300, 200]);
    expect(blockShape('row', 300, 200)).toEqual([1, 200]);
    expect(blockShape('tile', 300, 200)).toEqual([1, 128]);
    expect(blockShape('block', 300, 200)).toEqual([128, 128]);
    expect(scaleShapeFor(300, 200, [128, 128])).toEqual([3, 2]);
    expect(scaleShapeFor(256, 256, [128, 128])).toEqual([2, 2]);
  });

  it('every block (partial edge blocks too) puts its largest magnitude on +-448, and the error is within half a spacing', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 32 }), fc.integer(), (rows, cols, br, bc, seed) => {
      const x = matrix(rows, cols, seed);
      const q = quantize(x, rows, cols, [br, bc]);
      const [sr, sc] = q.scaleShape;
      expect(q.scales.length).toBe(sr * sc);
      expect(sr).toBe(Math.ceil(rows / br));
      const y = dequantize(q);
      for (let bi = 0; bi < sr; bi++) for (let bj = 0; bj < sc; bj++) {
        let amax = 0, amaxCode = 0;
        const s = q.scales[bi * sc + bj]!;
        for (let r = bi * br; r < Math.min(rows, (bi + 1) * br); r++) for (let c = bj * bc; c < Math.min(cols, (bj + 1) * bc); c++) {
          const v = Math.abs(x[r * cols + c]!);
          if (v > amax) { amax = v; amaxCode = q.codes[r * cols + c]! & 0x7f; }
          // Round-to-nearest in E4M3: error <= half the spacing at the value (spacing 2^(e-3), at least 2^-9).
          const scaled = v / s;
          const e = Math.max(Math.floor(Math.log2(Math.max(scaled, 2 ** -9))), -6);
          // (plus the float32 rounding of code x scale when it is stored)
          expect(Math.abs(y[r * cols + c]! - x[r * cols + c]!)).toBeLessThanOrEqual(s * 2 ** (e - 3) / 2 + v * 2 ** -23);
        }
        if (amax > 0) expect(amaxCode).toBe(0x7e);
      }
    }), { numRuns: 200 });
  });

  it('an outlier changes only its own block; per tensor it flushes small values to zero', () => {
    const rows = 256, cols = 256;
    const x = matrix(rows, cols, 7);
    const spiked = x.slice();
    spiked[5 * cols + 9] = 1e4; // in block (0, 0)
    const a = fakeQuantize(x, rows, cols, 'block');
    const b = fakeQuantize(spiked, rows, cols, 'block');
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      if (r < 128 && c < 128) continue;
      expect(b[r * cols + c]).toBe(a[r * cols + c]);
    }
    const blockErr = errorStats(x, fakeQuantize(x, rows, cols, 'block'));
    const tensorSpiked = fakeQuantize(spiked, rows, cols, 'tensor');
    const others = (a: Float32Array) => a.filter((_, i) => i !== 5 * cols + 9);
    const tensorErr = errorStats(others(spiked), others(tensorSpiked)); // the error on everything but the outlier
    // with scale 1e4/448 ~ 22, everything below 22 * 2^-10 ~ 0.02 rounds to zero
    expect(tensorErr.zeros).toBeGreaterThan(rows * cols * 0.3);
    expect(blockErr.zeros).toBeLessThan(rows * cols * 0.01);
    expect(tensorErr.relRms).toBeGreaterThan(2 * blockErr.relRms);
  });

  it('E5M2 blocks put the block max on 57344; zero blocks stay zero with scale 1', () => {
    const q = quantize([0, 0, 0, 0, 3, -6], 3, 2, [1, 2], E5M2);
    expect(Array.from(q.scales)).toEqual([1, 1, Math.fround(6 / 57344)]);
    expect(decode(E5M2, q.codes[5]!)).toBe(-57344);
    expect(Array.from(dequantize(q)).slice(0, 4)).toEqual([0, 0, 0, 0]);
  });

  it('refuses a wrong length or block', () => {
    expect(() => quantize([1, 2, 3], 2, 2, 'tensor')).toThrow(/3 values, expected 2 x 2/);
    expect(() => quantize([1, 2, 3, 4], 2, 2, [0, 2])).toThrow(/positive integers/);
    expect(E4M3.max).toBe(448);
  });
});
