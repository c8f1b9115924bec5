// The notebook platform's pure parts: URL state (round trip, bad values fall back with a notice,
// classroom hide list, presentation slide) and notebook wiring checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InputSpec, Notebook } from '../notebooks/_kit/types.js';
import { cell } from '../notebooks/_kit/types.js';
import { defaults, readUrlState, writeUrlState } from '../src/lib/notebook/url-state.js';
import { notebookProblems } from '../src/lib/notebook/validate.js';

const INPUTS: InputSpec[] = [
  { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1 },
  { kind: 'range', name: 'context', label: 'Context', min: 256, max: 131072, step: 1, value: 4096, log2: true },
  { kind: 'range', name: 'temp', label: 'Temperature', min: 0, max: 2, step: 0.1, value: 1 },
  { kind: 'toggle', name: 'rope', label: 'RoPE', value: true },
  { kind: 'select', name: 'path', label: 'Path', value: 'absorbed', options: [{ value: 'absorbed', label: 'A' }, { value: 'full-cache', label: 'F' }] },
];

describe('URL state', () => {
  it('round-trips any valid state, writing only what differs from the defaults', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 99 }), fc.integer({ min: 8, max: 17 }), fc.integer({ min: 0, max: 20 }), fc.boolean(), fc.constantFrom('absorbed', 'full-cache'),
      fc.subarray(INPUTS.map((i) => i.name)), fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
      (seed, exp, t, rope, path, hide, present) => {
        const values = { seed, context: 2 ** exp, temp: Math.round(t) / 10, rope, path };
        const params = writeUrlState(INPUTS, { values, hidden: new Set(hide), present });
        for (const i of INPUTS) expect(params.has(i.name)).toBe(values[i.name as keyof typeof values] !== i.value);
        const back = readUrlState(INPUTS, new URLSearchParams(params.toString()));
        expect(back.notices).toEqual([]);
        expect(back.values).toEqual(values);
        expect([...back.hidden].sort()).toEqual([...hide].sort());
        expect(back.present).toBe(present);
      },
    ), { numRuns: 200, seed: 3 });
  });

  it('a bad value falls back to its default with a notice naming it', () => {
    const cases: [string, string][] = [
      ['seed=abc', 'not a number'], ['seed=100', 'outside 0..99'], ['seed=1.5', 'not a multiple'],
      ['context=1000', 'not a power of two'], ['rope=maybe', 'not on/off'], ['path=sideways', 'not one of'],
      ['hide=nosuch', 'no such control'], ['present=-1', 'not a slide'], ['zzz=1', 'unknown setting'],
    ];
    for (const [query, why] of cases) {
      const s = readUrlState(INPUTS, new URLSearchParams(query));
      expect(s.values).toEqual(defaults(INPUTS));
      expect(s.notices, query).toHaveLength(1);
      expect(s.notices[0], query).toContain(why);
    }
  });
});

describe('hostile links (issue 17)', () => {
  it('a key given twice, or a hidden name listed twice, gives each notice once and uses the first value', () => {
    for (const query of ['zz=1&zz=2', 'hide=nosuch,nosuch', 'seed=3&seed=4', 'seed=abc&seed=abc&seed=abc', 'zz=1&zz=1&hide=nosuch,nosuch']) {
      const s = readUrlState(INPUTS, new URLSearchParams(query));
      expect(new Set(s.notices).size, query).toBe(s.notices.length);
      expect(s.notices.length, query).toBeGreaterThan(0);
    }
    expect(readUrlState(INPUTS, new URLSearchParams('seed=3&seed=4')).values.seed).toBe(3);
  });

  it('a long value is quoted cut and with its control characters escaped', () => {
    const s = readUrlState(INPUTS, new URLSearchParams({ seed: `\u001b[2J${'9'.repeat(10_000)}` }));
    expect(s.notices[0]!.length).toBeLessThan(200);
    expect(s.notices[0]).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('notebook wiring', () => {
  const base = (): Notebook => ({
    inputs: [INPUTS[0]],
    cells: [cell('a', ['seed'], (s: number) => s + 1), cell('b', ['a', 'backend'], (a: number, be: unknown) => [a, be])],
    sections: [{ id: 's', title: 'S', prose: 'p', controls: ['seed'], views: [{ cell: 'b', title: 'B' }] }],
  });

  it('a consistent notebook has no problems', () => {
    expect(notebookProblems(base())).toEqual([]);
  });

  it('names every kind of miswiring', () => {
    const nb = base();
    nb.cells.push(cell('c', ['nosuch'], (x: unknown) => x));
    nb.cells.push(cell('d', ['seed', 'a'], (x: unknown) => x));
    nb.cells.push(cell('e', ['f'], (x: unknown) => x), cell('f', ['e'], (x: unknown) => x));
    nb.cells.push(cell('a', ['seed'], (x: unknown) => x));
    nb.sections.push({ id: 's', title: 'again', prose: '', controls: ['nope'], views: [{ cell: 'ghost', title: 'G' }] });
    nb.formula = { cell: 'missing', initial: '1', examples: [] };
    const problems = notebookProblems(nb).join('\n');
    for (const fragment of ['reads "nosuch"', 'names 2 inputs but its function takes 1', 'cycle', '"a" is defined twice', 'section id "s" is used twice', 'control for "nope"', 'draws cell "ghost"', 'scope cell "missing"']) {
      expect(problems).toContain(fragment);
    }
  });
});
