// The slides of a lesson in presentation mode: a title slide, then the first screen's key figure,
// then one slide per figure of each section (a section with three figures gives three slides), and a
// text slide for a section without figures. Each figure slide carries the controls its figure depends
// on (of those its section shows), so a slide never holds controls that change nothing on it.
import type { CellSpec, InputSpec, Notebook, SectionSpec, ViewSpec } from '$notebooks/_kit/types';

export type Slide =
  | { kind: 'title' }
  | {
      kind: 'figure';
      /** The section the slide belongs to (the lead is the section `key-figure`). */
      section: SectionSpec;
      /** The figure, or null for a section without figures (its text is the slide). */
      view: ViewSpec | null;
      /** Controls shown with the figure. */
      controls: string[];
      /** Which of the section's slides this is (1-based) and how many it has. */
      part: number;
      parts: number;
    };

/** The lead drawn as a section (its heading is the takeaway); the page uses the same id. */
export function leadSection(notebook: Notebook): SectionSpec | null {
  const lead = notebook.lead;
  if (!lead) return null;
  return { id: 'key-figure', title: lead.takeaway, prose: '', controls: lead.controls, views: [lead.view] };
}

/** The names of the inputs a cell reads, directly or through other cells. */
export function inputsOf(cell: string, cells: readonly CellSpec[], inputs: readonly InputSpec[]): Set<string> {
  const byName = new Map(cells.map((c) => [c.name, c]));
  const isInput = new Set(inputs.map((i) => i.name));
  const found = new Set<string>();
  const seen = new Set<string>();
  const stack = [cell];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    if (isInput.has(name)) found.add(name);
    const spec = byName.get(name);
    if (spec) stack.push(...spec.inputs);
  }
  return found;
}

export function buildSlides(notebook: Notebook): Slide[] {
  const slides: Slide[] = [{ kind: 'title' }];
  const lead = leadSection(notebook);
  const sections = lead ? [lead, ...notebook.sections] : notebook.sections;
  for (const section of sections) {
    let views = section.views ?? [];
    // A section figure that repeats the key figure is not shown twice (unless it is the section's only one).
    if (lead && section !== lead) {
      const others = views.filter((v) => v.cell !== notebook.lead!.view.cell);
      if (others.length > 0) views = others;
    }
    const controls = section.controls ?? [];
    if (views.length === 0) {
      slides.push({ kind: 'figure', section, view: null, controls, part: 1, parts: 1 });
      continue;
    }
    views.forEach((view, i) => {
      const used = inputsOf(view.cell, notebook.cells, notebook.inputs);
      // A cell that reads no input of the section's (e.g. a custom view reading the runtime) keeps them all.
      const mine = controls.filter((c) => used.has(c));
      slides.push({ kind: 'figure', section, view, controls: mine.length > 0 || used.size > 0 ? mine : controls, part: i + 1, parts: views.length });
    });
  }
  return slides;
}

/** The first slide of a section, or the title slide if the section has none. */
export function slideOfSection(slides: readonly Slide[], id: string): number {
  const i = slides.findIndex((s) => s.kind === 'figure' && s.section.id === id);
  return i < 0 ? 0 : i;
}
