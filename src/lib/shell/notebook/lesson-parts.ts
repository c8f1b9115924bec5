// What a section on the page and a slide in presentation mode both draw from: the lesson's
// pre-rendered prose, its inputs, cells and their sources, the current values, the controls a
// classroom link hides, the live runtime, and where a control's change goes.
import type { NotebookRuntime } from '$lib/notebook/runtime.svelte';
import type { CellSpec, InputSpec, InputValue } from '$notebooks/_kit/types';

export interface LessonParts {
  /** The section's prose (before and after its figures), HTML with KaTeX math. */
  html: { prose: string; after: string } | undefined;
  inputs: InputSpec[];
  cells: CellSpec[];
  values: Record<string, InputValue>;
  /** Controls a classroom link hides. */
  hidden: Set<string>;
  runtime: NotebookRuntime | null;
  /** Each cell's source code, for "View code". */
  sources: Record<string, string>;
  onchange: (name: string, value: InputValue) => void;
}
