// NormalStream (the tight-loop normal draws noisyCopy uses) gives exactly the numbers of
// normal(createRng(seed)) called in turn, across several calls on one stream, so a noisy copy is
// the same model whichever way it was drawn.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NormalStream, createRng, normal } from '../src/engine/sampling';

describe('NormalStream', () => {
  it('continues the stream of normal(createRng(seed)) over calls of any length', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }), fc.double({ min: 0.001, max: 3, noNaN: true }), (seed, lengths, scale) => {
      const rng = createRng(seed);
      const stream = new NormalStream(seed);
      for (const n of lengths) {
        const src = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3.5);
        const out = new Float32Array(n);
        stream.addScaled(src, scale, out);
        const want = Float32Array.from(src, (v) => v + scale * normal(rng));
        expect(Array.from(out)).toEqual(Array.from(want));
      }
    }), { numRuns: 60 });
  });

  it('draws from the standard normal (mean ~0, variance ~1 over 20,000 draws)', () => {
    const n = 20_000, out = new Float32Array(n);
    new NormalStream(7).addScaled(new Float32Array(n), 1, out);
    const mean = out.reduce((a, b) => a + b, 0) / n;
    const variance = out.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});
