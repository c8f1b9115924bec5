// What a lesson is made of. A lesson module in notebooks/ exports `meta` (for the index) and
// `notebook`: its inputs (sliders, toggles, selects: the whole state, mirrored in the URL), its
// cells (a reactive graph run by @observablehq/runtime: each cell names its inputs and recomputes
// only when one of them changes), and its sections (prose with math, then the views that draw cells).
import type { Component } from 'svelte';
import type { Provenance } from '../../components/charts/types.js';

export type { Provenance };

interface InputBase {
  /** Variable name cells use, and the URL key. Letters, digits and underscores. */
  name: string;
  /** What the control changes, shown beside it ("Latent width d_c"). */
  label: string;
  /** A sentence for screen readers and the hover title. */
  help?: string;
}

export interface RangeInput extends InputBase {
  kind: 'range';
  min: number;
  max: number;
  step: number;
  value: number;
  /** Unit shown after the value ("tokens", "dims"). */
  unit?: string;
  /** Slide in powers of two (min, max and value must be powers of two). */
  log2?: boolean;
  /** The value as shown, e.g. 131072 -> "128K". */
  format?: (v: number) => string;
  /**
   * The largest value that changes anything, given the other inputs (e.g. the token to explain, at
   * most the prompt's length): the slider ends there and a value past it (from a link, or left over
   * after another input shrank it) is shown and used as this bound. Default: `max`.
   */
  maxFrom?: (values: Readonly<Record<string, InputValue>>) => number;
}

export interface ToggleInput extends InputBase {
  kind: 'toggle';
  value: boolean;
}

export interface SelectInput extends InputBase {
  kind: 'select';
  options: { value: string; label: string }[];
  value: string;
}

/** The reader's own text (a prompt box): one line or a few, cut to `maxLength` characters. */
export interface TextInput extends InputBase {
  kind: 'text';
  value: string;
  /** The longest text kept (the model's context for this lesson); a longer one is cut with a notice. */
  maxLength: number;
  /** Ready-made texts offered beside the box (e.g. prose and arithmetic); the tests try each. */
  examples: { label: string; value: string }[];
}

/**
 * A curve the reader draws on a pad (pointer, touch, or arrow keys; the values can also be typed),
 * or one of the lesson's named presets. The value is a preset's name or the drawing encoded for
 * the URL (notebooks/_kit/curve.ts: '.' then one base64url character per point).
 */
export interface CurveInput extends InputBase {
  kind: 'curve';
  /** A preset's name or an encoded drawing of `points` points. */
  value: string;
  /** Points of a drawing (evenly spaced, values in [-1, 1], 64 levels). */
  points: number;
  /** Named curves the lesson makes itself (buttons beside the pad). */
  presets: { value: string; label: string }[];
}

export type InputSpec = RangeInput | ToggleInput | SelectInput | TextInput | CurveInput;
export type InputValue = number | boolean | string;

export interface CellSpec {
  /** Variable name; other cells and views refer to it. */
  name: string;
  /** Names of inputs, other cells, or the builtin `backend` (the page's compute Backend). */
  inputs: string[];
  /** Computes the cell's value from its inputs' values, in order. May return a promise. */
  run: (...args: never[]) => unknown;
  /** Where the value comes from: the engine, derived from engine values, or a published figure. */
  provenance: Provenance;
}

/** A picture (or table, or stat line) of one cell's value, drawn by a component. */
export interface ViewSpec {
  /** The cell whose value is drawn; it must be chart data (components/charts/types.ts) unless `component` says otherwise. */
  cell: string;
  /** Heading of the figure. */
  title: string;
  /** One or two sentences under the figure: what to look at. */
  caption?: string;
  /** A component taking `{ data, title }`; default: the generic Chart (dispatches on data.kind). */
  component?: Component<{ data: never; title: string }>;
}

export interface SectionSpec {
  /** Anchor and slide id. */
  id: string;
  title: string;
  /** Markdown-ish prose: paragraphs, lists, **bold**, *em*, `code`, [links](url), $math$ and $$display math$$. */
  prose: string;
  /** Inputs whose controls sit in this section. */
  controls?: string[];
  views?: ViewSpec[];
  /** Prose after the views. */
  after?: string;
}

export interface FormulaSpec {
  /** A cell whose value is the scope: name -> number or matrix. */
  cell: string;
  /** Shown in the box at first. */
  initial: string;
  examples: string[];
  /** What each scope name is. */
  descriptions?: Record<string, string>;
}

/** What a lesson shows first, above the fold: its key figure and a one-line takeaway. */
export interface LeadSpec {
  /** One sentence: what the figure shows (the heading of the first screen). */
  takeaway: string;
  /** The key figure (a view of any cell, drawn as in a section). */
  view: ViewSpec;
  /** Controls shown beside it (e.g. the prompt box and the weights switch). */
  controls?: string[];
  /** A short note under the figure, e.g. which model it runs (trained or random weights). */
  note?: string;
}

export interface Notebook {
  inputs: InputSpec[];
  cells: CellSpec[];
  /** The first screen: key figure and takeaway, before the sections. */
  lead?: LeadSpec;
  sections: SectionSpec[];
  formula?: FormulaSpec;
  /**
   * Every cell is a function of its inputs' values alone (no input mutated in place, no clock):
   * a cell whose inputs are all the very same values as at its last computation keeps its value
   * instead of running again. A slider that changes nothing upstream (a seed while the trained
   * model is shown) then recomputes and redraws nothing downstream.
   */
  pure?: boolean;
}

/** Helper for lesson authors: a typed cell (inputs' values arrive as `any`; keep cells small). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function cell(name: string, inputs: string[], run: (...args: any[]) => unknown, provenance: Provenance = { kind: 'derived' }): CellSpec {
  return { name, inputs, run: run as CellSpec['run'], provenance };
}

/** Names reserved for builtins every notebook gets. */
export const BUILTIN_INPUTS = ['backend'] as const;
