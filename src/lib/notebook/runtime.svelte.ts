// The bridge from a notebook's cells, run by @observablehq/runtime, to Svelte state. Each input is
// a runtime variable redefined when its control moves; each cell is a variable whose observer
// writes its value, status and error into separate $state signals, so a view re-renders only when
// its own cell changes. Changes made in one event are computed together at the end of that task
// (see computeWithinTheTask), so only the newest value of a dragged slider is computed. Browser only: create it
// on mount and dispose() on destroy (events arriving after that are ignored).
import { type Module, Runtime, type Variable } from '@observablehq/runtime';
import type { Backend } from '../../../kernels/backend.js';
import { CellPriority } from './priority.js';
import type { CellSpec, InputValue, Notebook } from '$notebooks/_kit/types';

export type CellStatus = 'pending' | 'fulfilled' | 'rejected';

export class CellState {
  value = $state.raw<unknown>(undefined);
  status = $state<CellStatus>('pending');
  error = $state<string | null>(null);
  /** Milliseconds the last computation took (the cell's own function). */
  ms = $state(0);
  /** Counts fulfilled values, so views and tests can tell a new value from an old one. */
  version = $state(0);
  /** When this cell last went pending (performance.now()), for progress indicators. */
  pendingSince = $state(0);
  /** When this cell last produced a value (performance.now()); not reactive, for measurements. */
  fulfilledAt = 0;
  /** When the cell's own function last started (performance.now()); not reactive, for measurements. A cell that hands its work to a worker starts within the key press and fulfils later. */
  startedAt = 0;
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * The runtime recomputes on the next animation frame by default: up to a frame (16 ms) of waiting
 * after a key press before any work starts. Recompute at the end of the current task instead: the
 * changes made by one event are still computed together, the picture is ready for the very next
 * paint, and a slow drag still computes only the newest value (the browser coalesces pointer
 * events while the page is busy). A generator's next value is still pulled on the next frame: the
 * runtime schedules those pulls through the same method (as "precomputes"), and pulling them in
 * microtasks would run an animation to its end in one long task, frozen on screen. An input moved
 * while an animation runs is taken up with its next frame. This replaces a method the runtime
 * declares writable (`_computeSoon`); if a future runtime lacks it, the default scheduling stays.
 */
function computeWithinTheTask(runtime: Runtime): void {
  const rt = runtime as unknown as {
    _computeSoon?: () => Promise<void>; _computeNow?: () => Promise<void>; _disposed?: boolean; _precomputes?: unknown[];
  };
  if (typeof rt._computeSoon !== 'function' || typeof rt._computeNow !== 'function' || !Array.isArray(rt._precomputes)) return;
  const onNextFrame = rt._computeSoon;
  const computeNow = rt._computeNow;
  rt._computeSoon = function () {
    if ((rt._precomputes?.length ?? 0) > 0) return onNextFrame.call(rt);
    return Promise.resolve().then(() => (rt._disposed ? undefined : computeNow.call(rt)));
  };
}

export class NotebookRuntime {
  readonly cells: Record<string, CellState> = {};
  readonly values: Record<string, InputValue> = $state({});
  #runtime: Runtime;
  #inputs = new Map<string, Variable>();
  #backend: Variable;
  #backendInUse: Backend;
  #disposed = false;
  #listeners = new Set<() => void>();
  // Inputs set but not yet taken up by the runtime (it computes at the end of the task, or with the next frame during an animation).
  #setCount = 0;
  #takenCount = 0;
  #priority: CellPriority;
  /** Figures on the page -> the cell each draws, and whether it is on screen now. */
  #figures = new Map<Element, { cell: string; on: boolean }>();
  #screen: IntersectionObserver | null = null;
  #pure: boolean;
  /** Raised by recomputeAll: a pure cell's kept value is from an older epoch and computes again. */
  #epoch = 0;

  constructor(notebook: Notebook, initial: Record<string, InputValue>, backend: Backend) {
    // Unknown names must be errors, not window globals (`name`, `status`...).
    this.#runtime = new Runtime(undefined, () => undefined);
    computeWithinTheTask(this.#runtime);
    const main = this.#runtime.module();
    this.#priority = new CellPriority(notebook.cells);
    this.#pure = notebook.pure ?? false;
    // Inputs are observed so the runtime always computes them (idle() counts on it).
    const observed = { fulfilled() {} };
    this.#backendInUse = backend;
    this.#backend = main.variable(observed).define('backend', [], () => backend);
    for (const input of notebook.inputs) {
      const v = initial[input.name] ?? input.value;
      this.values[input.name] = v;
      this.#inputs.set(input.name, main.variable(observed).define(input.name, [], () => v));
    }
    for (const spec of notebook.cells) this.#defineCell(main, spec);
  }

  #defineCell(main: Module, spec: CellSpec): void {
    const state = new CellState();
    this.cells[spec.name] = state;
    const observer = {
      pending: () => {
        if (this.#disposed) return;
        if (state.status !== 'pending') state.pendingSince = performance.now();
        state.status = 'pending';
        this.#notify();
      },
      fulfilled: (value: unknown) => {
        if (this.#disposed) return;
        state.value = value;
        state.fulfilledAt = performance.now();
        state.status = 'fulfilled';
        state.error = null;
        state.version++;
        this.#notify();
      },
      rejected: (error: unknown) => {
        if (this.#disposed) return;
        state.status = 'rejected';
        state.error = message(error);
        this.#notify();
      },
    };
    const run = spec.run as (...args: unknown[]) => unknown;
    const timed = (self: unknown, args: unknown[]) => {
      const t0 = performance.now();
      state.startedAt = t0;
      const out = run.apply(self, args);
      if (out instanceof Promise) return out.finally(() => { state.ms = performance.now() - t0; });
      state.ms = performance.now() - t0;
      return out;
    };
    const priority = this.#priority;
    // A pure notebook's cell keeps its value when its inputs are the very values it last computed
    // from (the runtime recomputes every dependent of a moved input, whatever it returns).
    // Generators are never kept: their value is one frame of an animation.
    const pure = this.#pure;
    const self = this;
    let last: { args: unknown[]; value: unknown; epoch: number } | null = null;
    let generation = 0;
    const remember = (args: unknown[], out: unknown): unknown => {
      const g = ++generation;
      const epoch = self.#epoch;
      last = null;
      if (!pure) return out;
      const keep = (value: unknown) => {
        const iterator = typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function';
        if (g === generation && !iterator) last = { args, value, epoch };
        return value;
      };
      return out instanceof Promise ? out.then(keep) : keep(out);
    };
    // A plain function, not an arrow: the runtime passes the cell's previous value as `this`.
    main.variable(observer).define(spec.name, spec.inputs, function (this: unknown, ...args: unknown[]) {
      if (last && last.epoch === self.#epoch && last.args.length === args.length && args.every((a, i) => Object.is(a, last!.args[i]))) return last.value;
      // A cell nobody is looking at waits its turn (priority.ts); its inputs are ready by now.
      const wait = priority.turn(spec.name);
      if (!wait) return remember(args, timed(this, args));
      return remember(args, wait.then(() => timed(this, args)));
    });
  }

  /** Move an input; the cells that depend on it recompute at the end of this task (see computeWithinTheTask and priority.ts). */
  set(name: string, value: InputValue): void {
    const v = this.#inputs.get(name);
    if (!v || this.#disposed) return;
    this.#priority.inputMoved();
    const generation = ++this.#setCount;
    v.define(name, [], () => {
      // Called when the runtime computes this input: its dependents are pending by now.
      this.#takenCount = Math.max(this.#takenCount, generation);
      return value;
    });
    // After define: the recompute's microtask is then queued before the redraw this write schedules,
    // so the figures are computed first and drawn with the controls in one redraw.
    this.values[name] = value;
  }

  /** Use another compute backend (every engine cell recomputes; the same one again changes nothing). */
  setBackend(backend: Backend): void {
    if (backend === this.#backendInUse) return;
    this.#backendInUse = backend;
    this.recomputeAll();
  }

  /** Every engine cell computes again (e.g. the models they read were replaced). */
  recomputeAll(): void {
    if (this.#disposed) return;
    this.#epoch++; // what pure cells kept was read from the models being replaced
    const backend = this.#backendInUse;
    const generation = ++this.#setCount;
    this.#backend.define('backend', [], () => {
      this.#takenCount = Math.max(this.#takenCount, generation);
      return backend;
    });
  }

  /** True when every input change has been taken up and no cell is computing. */
  get settled(): boolean {
    return this.inputsTaken && Object.values(this.cells).every((c) => c.status !== 'pending');
  }

  /** Resolves once every input change has been computed and every cell has settled. */
  idle(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.settled) { this.#listeners.delete(check); resolve(); }
      };
      this.#listeners.add(check);
      // An input whose dependents were all up to date notifies nothing: look again each frame.
      const poll = () => { if (this.#listeners.has(check)) { check(); if (this.#listeners.has(check)) requestAnimationFrame(poll); } };
      requestAnimationFrame(poll);
    });
  }

  /**
   * Call `listener` after every change of a cell's status or value (synchronously, as it happens);
   * returns the function that stops it. For measurements and tests: views read the cells' state.
   */
  subscribe(listener: () => void): () => void {
    const l = () => listener();
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** Every input change taken up by the runtime (cells may still be computing). */
  get inputsTaken(): boolean {
    return this.#takenCount === this.#setCount;
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  /**
   * Watch a figure drawing `cell`: while any of it is on screen the cell and what
   * it reads compute first when an input moves. Returns the function that stops watching.
   * Without IntersectionObserver every cell computes at once, as if all were on screen.
   */
  observe(el: Element, cell: string): () => void {
    if (this.#disposed || typeof IntersectionObserver !== 'function') return () => {};
    this.#screen ??= new IntersectionObserver((entries) => {
      this.#priority.screenKnown();
      for (const e of entries) {
        const f = this.#figures.get(e.target);
        if (!f || f.on === e.isIntersecting) continue;
        f.on = e.isIntersecting;
        this.#priority.show(f.cell, f.on);
      }
    });
    this.#figures.set(el, { cell, on: false });
    this.#screen.observe(el);
    return () => {
      const f = this.#figures.get(el);
      this.#figures.delete(el);
      this.#screen?.unobserve(el);
      if (f?.on) this.#priority.show(f.cell, false);
    };
  }

  dispose(): void {
    this.#priority.dispose();
    this.#screen?.disconnect();
    this.#disposed = true;
    this.#listeners.clear();
    this.#runtime.dispose();
  }
}
