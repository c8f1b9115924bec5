// The slide list of presentation mode (src/lib/shell/notebook/slides.ts) on random notebooks: a
// title slide first, every figure on exactly one slide (the key figure once), one figure per slide,
// and each slide's controls are those of its section that its figure's cell reads (through other cells).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSlides, inputsOf, slideOfSection } from '../src/lib/shell/notebook/slides';
import type { CellSpec, InputSpec, Notebook, SectionSpec } from '../notebooks/_kit/types';

const INPUTS: InputSpec[] = ['a', 'b', 'c', 'd'].map((name) => ({ kind: 'range', name, label: name, min: 0, max: 9, step: 1, value: 1 }));

/** Cells c0..c5; cell i reads some inputs and some earlier cells (a DAG). */
const cellsArb = fc
  .array(fc.record({ inputs: fc.subarray(['a', 'b', 'c', 'd']), earlier: fc.array(fc.nat(), { maxLength: 2 }) }), { minLength: 6, maxLength: 6 })
  .map((specs) =>
    specs.map((s, i): CellSpec => ({
      name: `c${i}`,
      inputs: [...s.inputs, ...(i > 0 ? s.earlier.map((e) => `c${e % i}`) : [])],
      run: () => 0,
      provenance: { kind: 'derived' },
    })),
  );

const notebookArb = cellsArb.chain((cells) =>
  fc
    .record({
      sections: fc.array(
        fc.record({ views: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }), controls: fc.subarray(['a', 'b', 'c', 'd']) }),
        { minLength: 1, maxLength: 5 },
      ),
      lead: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    })
    .map(({ sections, lead }): Notebook => ({
      inputs: INPUTS,
      cells,
      lead: lead === undefined ? undefined : { takeaway: 'Takeaway', view: { cell: `c${lead}`, title: 'Key' } },
      sections: sections.map((s, i): SectionSpec => ({
        id: `s${i}`,
        title: `Section ${i}`,
        prose: 'text',
        controls: s.controls,
        views: [...new Set(s.views)].map((v) => ({ cell: `c${v}`, title: `View ${v}` })),
      })),
    })),
);

describe('inputsOf', () => {
  it('follows cells to the inputs they read', () => {
    const cells: CellSpec[] = [
      { name: 'x', inputs: ['a'], run: () => 0, provenance: { kind: 'derived' } },
      { name: 'y', inputs: ['x', 'b', 'backend'], run: () => 0, provenance: { kind: 'derived' } },
      { name: 'z', inputs: ['c'], run: () => 0, provenance: { kind: 'derived' } },
    ];
    expect([...inputsOf('y', cells, INPUTS)].sort()).toEqual(['a', 'b']);
    expect([...inputsOf('z', cells, INPUTS)]).toEqual(['c']);
  });
});

describe('buildSlides', () => {
  it('title first, each figure once, one figure per slide, controls the figure reads', () => {
    fc.assert(
      fc.property(notebookArb, (nb) => {
        const slides = buildSlides(nb);
        expect(slides[0]).toEqual({ kind: 'title' });
        const figures = slides.slice(1);
        expect(figures.every((s) => s.kind === 'figure')).toBe(true);
        if (nb.lead) {
          const first = figures[0];
          expect(first.kind === 'figure' && first.section.id === 'key-figure' && first.view?.cell === nb.lead.view.cell).toBe(true);
        }
        for (const section of nb.sections) {
          const mine = figures.filter((s) => s.kind === 'figure' && s.section.id === section.id);
          expect(mine.length).toBeGreaterThanOrEqual(1);
          const views = section.views ?? [];
          if (views.length === 0) expect(mine.map((s) => s.kind === 'figure' && s.view)).toEqual([null]);
          // Every figure of the section is on a slide, except a repeat of the key figure beside others.
          const shown = mine.map((s) => (s.kind === 'figure' ? s.view?.cell : undefined));
          for (const v of views) if (!(nb.lead && v.cell === nb.lead.view.cell && views.length > 1)) expect(shown).toContain(v.cell);
          for (const s of mine) {
            if (s.kind !== 'figure' || !s.view) continue;
            const read = inputsOf(s.view.cell, nb.cells, nb.inputs);
            expect(s.controls.every((c) => (section.controls ?? []).includes(c))).toBe(true);
            if (read.size > 0) expect(s.controls.sort()).toEqual((section.controls ?? []).filter((c) => read.has(c)).sort());
          }
          expect(slideOfSection(slides, section.id)).toBe(slides.findIndex((s) => s.kind === 'figure' && s.section.id === section.id));
        }
        expect(slideOfSection(slides, 'no-such-section')).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
