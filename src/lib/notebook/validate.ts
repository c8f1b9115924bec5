// Checks a notebook's wiring before anything runs: every name a cell, view, control or formula
// refers to exists, and nothing is defined twice. A lesson with a typo fails its test (and the
// build) with the name at fault, instead of showing a ReferenceError to a student.
import { decodeCurve, isDrawing } from '$notebooks/_kit/curve';
import { BUILTIN_INPUTS, type Notebook } from '$notebooks/_kit/types';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Problems found, as sentences; empty when the notebook is consistent. */
export function notebookProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  const defined = new Map<string, string>();
  const define = (name: string, what: string) => {
    if (!NAME.test(name)) problems.push(`${what} "${name}" is not a valid name (letters, digits, _)`);
    const before = defined.get(name);
    if (before) problems.push(`"${name}" is defined twice (${before} and ${what})`);
    defined.set(name, what);
  };
  for (const b of BUILTIN_INPUTS) defined.set(b, 'builtin');
  for (const input of nb.inputs) {
    define(input.name, 'input');
    if (input.kind === 'range') {
      if (!(input.min <= input.value && input.value <= input.max)) problems.push(`input "${input.name}": value ${input.value} outside ${input.min}..${input.max}`);
      if (!(input.step > 0)) problems.push(`input "${input.name}": step must be > 0`);
      if (input.log2) {
        for (const v of [input.min, input.max, input.value]) if (!Number.isInteger(Math.log2(v))) problems.push(`input "${input.name}": ${v} is not a power of two (log2 slider)`);
      }
    }
    if (input.kind === 'text') {
      if (!(input.maxLength > 0) || input.value.length > input.maxLength) problems.push(`input "${input.name}": default text longer than maxLength ${input.maxLength}`);
      if (!input.examples.some((e) => e.value !== input.value)) problems.push(`input "${input.name}": needs an example other than its default (the tests try each)`);
    }
    if (input.kind === 'curve') {
      if (!(Number.isInteger(input.points) && input.points >= 2)) problems.push(`input "${input.name}": a curve needs at least 2 points`);
      const known = input.presets.some((o) => o.value === input.value) || decodeCurve(input.value, input.points) !== null;
      if (!known) problems.push(`input "${input.name}": value "${input.value}" is neither a preset nor a drawing of ${input.points} points`);
      if (input.presets.some((o) => isDrawing(o.value))) problems.push(`input "${input.name}": a preset's name may not start with "."`);
    }
    if (input.kind === 'select' && !input.options.some((o) => o.value === input.value)) {
      problems.push(`input "${input.name}": value "${input.value}" is not one of its options`);
    }
  }
  for (const c of nb.cells) define(c.name, 'cell');
  for (const c of nb.cells) {
    for (const i of c.inputs) if (!defined.has(i)) problems.push(`cell "${c.name}" reads "${i}", which is not defined`);
    if (c.run.length !== c.inputs.length) problems.push(`cell "${c.name}" names ${c.inputs.length} inputs but its function takes ${c.run.length}`);
  }
  // Cycles would leave cells pending forever.
  const cells = new Map(nb.cells.map((c) => [c.name, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    const c = cells.get(name);
    if (!c || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') { problems.push(`cells form a cycle: ${[...path, name].join(' -> ')}`); return; }
    state.set(name, 'visiting');
    for (const i of c.inputs) visit(i, [...path, name]);
    state.set(name, 'done');
  };
  for (const c of nb.cells) visit(c.name, []);

  const sectionIds = new Set<string>();
  for (const s of nb.sections) {
    if (sectionIds.has(s.id)) problems.push(`section id "${s.id}" is used twice`);
    sectionIds.add(s.id);
    for (const name of s.controls ?? []) {
      if (!nb.inputs.some((i) => i.name === name)) problems.push(`section "${s.id}" shows a control for "${name}", which is not an input`);
    }
    for (const v of s.views ?? []) {
      if (!cells.has(v.cell)) problems.push(`section "${s.id}" draws cell "${v.cell}", which is not defined`);
    }
  }
  if (nb.lead) {
    if (!cells.has(nb.lead.view.cell)) problems.push(`the lead draws cell "${nb.lead.view.cell}", which is not defined`);
    for (const name of nb.lead.controls ?? []) if (!nb.inputs.some((i) => i.name === name)) problems.push(`the lead shows a control for "${name}", which is not an input`);
  }
  if (nb.formula && !cells.has(nb.formula.cell)) problems.push(`the formula's scope cell "${nb.formula.cell}" is not defined`);
  return problems;
}
