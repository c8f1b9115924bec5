// Which cells compute in the task that moved an input, and which wait their turn. A cell drawn by a
// figure on screen, and every cell it reads, is needed: it computes at once, so the
// picture the reader is looking at updates by the next frame. Every other cell waits, then computes
// after that frame is painted, one cell per task, so a key press or a drag in between is handled
// first (and makes the waiting work stale, so a drag computes only what is on screen). A waiting
// cell whose figure comes into view computes at once. Until the page has reported what is on
// screen, every cell is needed.

/** Runs `fn` in a new task, without waiting for a frame. */
function nextTask(fn: () => void): void {
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); fn(); };
    channel.port2.postMessage(null);
  } else setTimeout(fn, 0);
}

/** Runs `fn` in a new task after the next frame is painted (a task queued from rAF runs after the paint). */
function afterNextPaint(fn: () => void): void {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => nextTask(fn));
  else nextTask(fn);
}

export class CellPriority {
  readonly #inputs: Map<string, readonly string[]>;
  readonly #order: Map<string, number>;
  /** Figures on screen per cell (a cell may be drawn twice: in its section and on a slide). */
  readonly #shown = new Map<string, number>();
  #known = false;
  #needed: Set<string> | null = null;
  /** Cells whose inputs are ready, waiting for their turn: name -> let it compute. */
  readonly #waiting = new Map<string, () => void>();
  #pumping = false;
  /** An input moved since the pump last ran: let the next frame paint before more waiting work. */
  #repaint = false;
  #disposed = false;

  constructor(cells: readonly { name: string; inputs: readonly string[] }[]) {
    this.#inputs = new Map(cells.map((c) => [c.name, c.inputs]));
    this.#order = new Map(cells.map((c, i) => [c.name, i]));
  }

  /** The page has reported what is on screen (perhaps nothing): from now on only that is needed. */
  screenKnown(): void {
    if (this.#known) return;
    this.#known = true;
    this.#needed = null;
  }

  /** A figure drawing `cell` came on screen (`on`) or left it. */
  show(cell: string, on: boolean): void {
    const n = Math.max(0, (this.#shown.get(cell) ?? 0) + (on ? 1 : -1));
    if (n === 0) this.#shown.delete(cell);
    else this.#shown.set(cell, n);
    this.#known = true;
    this.#needed = null;
    for (const [name, go] of [...this.#waiting]) {
      if (this.isNeeded(name)) {
        this.#waiting.delete(name);
        go();
      }
    }
  }

  /** Is `cell` drawn on screen, or read (directly or not) by one that is? */
  isNeeded(cell: string): boolean {
    if (!this.#known) return true;
    if (!this.#needed) {
      const needed = new Set<string>();
      const visit = (name: string) => {
        if (needed.has(name) || !this.#inputs.has(name)) return;
        needed.add(name);
        for (const i of this.#inputs.get(name)!) visit(i);
      };
      for (const name of this.#shown.keys()) visit(name);
      this.#needed = needed;
    }
    return this.#needed.has(cell);
  }

  /** Null when `cell` may compute now; else a promise that resolves when its turn comes. */
  turn(cell: string): Promise<void> | null {
    if (this.#disposed || this.isNeeded(cell)) return null;
    // A newer computation of the same cell replaces an older one still waiting (the runtime
    // discards the older one's result anyway).
    const p = new Promise<void>((resolve) => this.#waiting.set(cell, resolve));
    this.#pump();
    return p;
  }

  /** An input moved: what it makes visible must reach the screen before any waiting cell computes. */
  inputMoved(): void {
    if (this.#pumping) this.#repaint = true;
  }

  /** Cells waiting for their turn (for tests). */
  get waiting(): number {
    return this.#waiting.size;
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const step = () => {
      if (this.#disposed || this.#waiting.size === 0) {
        this.#pumping = false;
        return;
      }
      if (this.#repaint) {
        this.#repaint = false;
        afterNextPaint(step);
        return;
      }
      // The earliest-defined waiting cell: cells are defined in reading order.
      let first: string | null = null;
      for (const name of this.#waiting.keys()) {
        if (first === null || this.#order.get(name)! < this.#order.get(first)!) first = name;
      }
      const go = this.#waiting.get(first!)!;
      this.#waiting.delete(first!);
      go();
      nextTask(step);
    };
    afterNextPaint(step);
  }

  dispose(): void {
    this.#disposed = true;
    this.#waiting.clear();
  }
}
