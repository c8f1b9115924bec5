// The 'curve' input (a signal the reader draws): the URL encoding keeps a drawing to within half a
// level and a level-exact drawing exactly; a link with a drawing, a preset or junk is read back,
// used or refused with a notice; the state-space lesson streams the drawing it was given.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CURVE_LEVELS, decodeCurve, encodeCurve, levelValue, sampleCurve } from '../notebooks/_kit/curve';
import type { CurveInput } from '../notebooks/_kit/types';
import { readUrlState, writeUrlState } from '../src/lib/notebook/url-state';
import { notebookProblems } from '../src/lib/notebook/validate';
import { DRAWN_POINTS, makeSignal } from '../notebooks/state-space/signals';

const input: CurveInput = { kind: 'curve', name: 'signal', label: 'Signal', value: 'sines', points: 8, presets: [{ value: 'sines', label: 'sines' }, { value: 'steps', label: 'steps' }] };
const arbValues = (n: number) => fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n });

describe('curve encoding', () => {
  it('one URL-safe character per point after a dot; decoded values within half a level', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 200 }).chain((n) => arbValues(n)), (ys) => {
      const text = encodeCurve(ys);
      expect(text).toMatch(/^\.[A-Za-z0-9_-]+$/);
      expect(text.length).toBe(ys.length + 1);
      expect(encodeURIComponent(text)).toBe(text);
      const back = decodeCurve(text, ys.length)!;
      const half = 1 / (CURVE_LEVELS - 1) + 1e-12; // half of a level's width 2/63
      ys.forEach((y, i) => expect(Math.abs(back[i] - y)).toBeLessThanOrEqual(half));
      expect(encodeCurve(back)).toBe(text);
    }));
  });

  it('clamps values outside [-1, 1] to the ends and refuses texts of another length or alphabet', () => {
    expect(decodeCurve(encodeCurve([5, -5, 0]), 3)!.map((y) => Math.round(y * 100) / 100)).toEqual([1, -1, levelValue(32)].map((y) => Math.round(y * 100) / 100));
    expect(decodeCurve('.AAAA', 3)).toBeNull();
    expect(decodeCurve('.A!A', 3)).toBeNull();
    expect(decodeCurve('AAA', 3)).toBeNull();
  });

  it('sampling goes through the drawn points with straight lines between them', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 20 }).chain((n) => fc.tuple(arbValues(n), fc.integer({ min: 1, max: 30 }))), ([ys, k]) => {
      const L = (ys.length - 1) * k + 1; // every k-th sample falls on a point
      const s = sampleCurve(ys, L);
      ys.forEach((y, i) => expect(s[i * k]).toBeCloseTo(y, 12));
      for (let i = 0; i + 1 < ys.length; i++) for (let j = 0; j <= k; j++) {
        const lo = Math.min(ys[i], ys[i + 1]) - 1e-12, hi = Math.max(ys[i], ys[i + 1]) + 1e-12;
        expect(s[i * k + j]).toBeGreaterThanOrEqual(lo);
        expect(s[i * k + j]).toBeLessThanOrEqual(hi);
      }
    }));
  });
});

describe('a curve input in the URL', () => {
  it('a drawing round-trips through the link exactly', () => {
    fc.assert(fc.property(arbValues(8), (ys) => {
      const text = encodeCurve(ys);
      const params = writeUrlState([input], { values: { signal: text }, hidden: new Set(), present: null });
      const back = readUrlState([input], new URLSearchParams(params.toString()));
      expect(back.notices).toEqual([]);
      expect(back.values.signal).toBe(text);
    }));
  });

  it('a preset is used; junk, a drawing of the wrong length and an unknown preset fall back with a notice', () => {
    expect(readUrlState([input], new URLSearchParams('signal=steps')).values.signal).toBe('steps');
    for (const bad of ['nonsense', encodeCurve([0, 0, 0]), '.!!!!!!!!']) {
      const s = readUrlState([input], new URLSearchParams({ signal: bad }));
      expect(s.values.signal).toBe('sines');
      expect(s.notices.join(' ')).toMatch(/Ignored signal=/);
    }
  });

  it('the notebook check refuses a default that is neither a preset nor a drawing', () => {
    const nb = { inputs: [{ ...input, value: 'zigzag' }], cells: [], sections: [] };
    expect(notebookProblems(nb).join(' ')).toMatch(/neither a preset nor a drawing/);
    expect(notebookProblems({ ...nb, inputs: [{ ...input, value: encodeCurve(new Array(8).fill(0.5)) }] })).toEqual([]);
  });
});

describe('the state-space lesson streams the drawing', () => {
  it('sampled at L points, through the drawn values (the seed plays no part)', () => {
    const ys = Array.from({ length: DRAWN_POINTS }, (_, i) => levelValue((i * 7) % CURVE_LEVELS));
    const L = (DRAWN_POINTS - 1) * 4 + 1;
    const a = makeSignal(encodeCurve(ys), L, 1), b = makeSignal(encodeCurve(ys), L, 2);
    expect(Array.from(a)).toEqual(Array.from(b));
    ys.forEach((y, i) => expect(a[i * 4]).toBeCloseTo(y, 12));
  });
});
