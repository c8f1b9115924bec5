// The lesson's runs and the values its figures draw. The settings (the lesson's inputs, in the URL)
// pick a run: the same settings find the same run (this page's, or the one saved in the browser),
// new settings start a new one (the old one is saved and its workers stop). Training happens in the
// run's workers. Each figure's cell is its own stream (a generator): when a run has reported
// something it recomputes at most every VIEW_MS, and yields only when its value changed, so a new
// figure value touches that figure alone (one shared cell read by all figures made every figure's
// cell recompute, and show itself as computing, twice a second). While a run trains, a figure off
// screen is not recomputed at all (it catches up when it comes on screen or the run stops), and the
// figures on screen take turns (index.ts: the headline every frame, the others every third).
import { type RunView, TrainingRun } from './run';
import { type Balancing, type RunSettings, settingsKey } from './settings';

/** A figure's new value at most this often while training. */
export const VIEW_MS = 500;

export interface LiveFrame { runs: Runs; views: { a: RunView; b: RunView | null } }

const BALANCING_LABEL: Record<Balancing, string> = { bias: 'bias update (V3)', aux: 'auxiliary loss', none: 'no balancing' };

/**
 * The lesson's runs: A, from the settings, and with the comparison on, B, with the other balancing.
 * B is chosen by its own cell (chooseSecond), not by the `runs` cell: every figure's stream reads
 * `runs`, and the runtime recomputes everything downstream of a moved input, so with the second
 * run's balancing an input of `runs`, moving that select restarted all 16 figures' streams (and
 * recomputed the off-screen ones) even with no second run. Now it changes B here and tells the
 * streams, which draw it on their next turn.
 */
export class Runs {
  #b: TrainingRun | null = null;
  #listeners = new Set<() => void>();
  /** Runs of the previous pair not kept by `a`: B may take one back (chooseSecond), the others stop. */
  #retired: TrainingRun[];

  constructor(readonly a: TrainingRun, readonly compare: boolean, readonly threads: number, retired: TrainingRun[]) {
    this.#retired = retired;
    if (!compare) this.#retire();
  }

  get b(): TrainingRun | null { return this.#b; }

  /** A and B (once chosen). */
  get all(): TrainingRun[] { return this.#b ? [this.a, this.#b] : [this.a]; }

  /** Every run there is to draw: with the comparison on, B has been chosen. */
  get complete(): boolean { return !this.compare || this.#b !== null; }

  /** Called when B is chosen or replaced. */
  subscribe(f: () => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  /** Run B with `other` balancing (none without the comparison); the same settings find the same run. */
  choose(other: Balancing): TrainingRun | null {
    if (!this.compare) return null;
    const s = { ...this.a.settings, balancing: other };
    if (this.#b?.key !== settingsKey(s)) {
      const old = this.#b;
      this.#b = runFor(s, `B: ${BALANCING_LABEL[other]}`, this.threads, [...this.#retired, ...(old ? [old] : [])]);
      this.#retired = this.#retired.filter((r) => r !== this.#b);
      if (old && old !== this.#b) void old.dispose();
      for (const f of [...this.#listeners]) f();
    }
    this.#retire();
    return this.#b;
  }

  /** Its runs, and those it has not yet let go of, for the next pair to keep or stop. */
  release(): TrainingRun[] {
    const out = [...this.all, ...this.#retired];
    this.#retired = [];
    return out;
  }

  #retire(): void {
    for (const r of this.#retired) void r.dispose();
    this.#retired = [];
  }
}

let current: Runs | null = null;

function runFor(s: RunSettings, label: string, threads: number, old: TrainingRun[]): TrainingRun {
  const key = settingsKey(s);
  const same = old.find((r) => r.key === key && r.threads === threads && r.label === label);
  return same ?? new TrainingRun(s, label, threads);
}

/** The runs for these settings: run A now, and with `compare`, a B to be chosen (chooseSecond). */
export function runsFor(s: RunSettings, compare: boolean): Runs {
  const old = current ? current.release() : [];
  // Two threads split each batch when the machine has a core to spare for the page itself; on two
  // cores, two busy trainer threads leave the page none. They train faster there too (bench-train
  // here: 14,972 characters/s against 9,432 on one), but the page's frames and input wait for a
  // core, and the reader's controls come first. Two runs take one thread each.
  // (scripts/bench-train.mjs forces a count to measure both.)
  const forced = (globalThis as { __nanoseekTrainThreads?: number }).__nanoseekTrainThreads;
  const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 2;
  const threads = forced === 1 || forced === 2 ? forced : compare || cores <= 2 ? 1 : 2;
  const a = runFor(s, `A: ${BALANCING_LABEL[s.balancing]}`, threads, old);
  current = new Runs(a, compare, threads, old.filter((r) => r !== a));
  if (typeof window !== 'undefined') (window as unknown as { __nanoseekTrain?: unknown }).__nanoseekTrain = current;
  return current;
}

/** The second run, with `other` balancing, when comparing (null otherwise). */
export function chooseSecond(runs: Runs, other: Balancing): TrainingRun | null {
  return runs.choose(other);
}

export function frameOf(runs: Runs): LiveFrame {
  return { runs, views: { a: runs.a.view(), b: runs.b?.view() ?? null } };
}

// ---- which figures are on screen ----
const onScreenNow = new WeakMap<Element, boolean>();
let screen: IntersectionObserver | null = null;

/** Is a figure drawing `cell` on screen (true when unknown: no IntersectionObserver, no figure yet, not reported yet)? */
export function figureOnScreen(cell: string): boolean {
  if (typeof document === 'undefined' || typeof IntersectionObserver !== 'function') return true;
  const figures = document.querySelectorAll(`figure.cell[data-cell="${cell}"]`);
  if (figures.length === 0) return true;
  screen ??= new IntersectionObserver((entries) => { for (const e of entries) onScreenNow.set(e.target, e.isIntersecting); });
  let on = false;
  for (const f of figures) {
    if (!onScreenNow.has(f)) { onScreenNow.set(f, true); screen.observe(f); }
    if (onScreenNow.get(f)) on = true;
  }
  return on;
}

// ---- the reader's input first ----
/**
 * After a key or pointer press (or an input's change), figures wait this long before recomputing.
 * A figure's update is a task of a few milliseconds plus the style, layout, paint and raster of its
 * chart; landing in the frame that answers a press, it made that frame late (the bench's
 * presentation delay). The figures update every VIEW_MS anyway, so waiting is not seen.
 */
export const INPUT_QUIET_MS = 150;
/** And the trainer leaves the cores to the page for what is left of this window after an input when it reads it. */
export const YIELD_MS = 100;
let lastInput = -Infinity;
let watchingInput = false;

function watchInput(): void {
  if (watchingInput || typeof window === 'undefined') return;
  watchingInput = true;
  let told = -Infinity;
  const mark = () => {
    lastInput = performance.now();
    // The trainer too (worker.ts yieldToPage), once per burst of events.
    if (lastInput - told < YIELD_MS / 2 || !current) return;
    told = lastInput;
    for (const r of current.all) r.inputSeen(performance.timeOrigin + lastInput + YIELD_MS);
  };
  for (const type of ['pointerdown', 'pointerup', 'keydown', 'keyup', 'input']) window.addEventListener(type, mark, { capture: true, passive: true });
}

/** Milliseconds a figure should wait for the reader's input to be answered first (0: none). */
function inputWait(): number {
  const scheduling = (navigator as { scheduling?: { isInputPending?: () => boolean } }).scheduling;
  const pending = scheduling?.isInputPending?.() ? 16 : 0;
  return Math.max(pending, INPUT_QUIET_MS - (performance.now() - lastInput));
}

export interface StreamOptions {
  /** The cell the stream is the value of: while training it is recomputed only while its figure is on screen. */
  cell?: string;
  /** While training, recompute on every `every`-th chance from `phase` (the figures take turns). */
  every?: number;
  phase?: number;
}

/**
 * A cell's value over a run: `f` of the current frame now, then again when a run reports something
 * (at most every VIEW_MS, and not within INPUT_QUIET_MS of the reader's input), yielding only
 * values that differ from the last (`f` memoises on the run's view). The first value comes as soon
 * as the runs are chosen (with the comparison on, B too), whether or not they have started.
 */
export function* stream<T>(runs: Runs, f: (frame: LiveFrame) => T, o: StreamOptions = {}): Generator<T | Promise<T>> {
  if (typeof window === 'undefined') {
    yield f(frameOf(runs));
    return;
  }
  const every = o.every ?? 1, phase = o.phase ?? 0;
  watchInput();
  let stop = () => {};
  let last: T | undefined;
  let lastAt = -Infinity;
  let chances = 0;
  /** Skipped while training (off screen, or not its turn): compute at the next chance that may. */
  let behind = false;
  try {
    for (let first = true; ; first = false) {
      yield new Promise<T>((resolve) => {
        let timer: ReturnType<typeof setTimeout> | null = null;
        const listeners: (() => void)[] = [];
        stop = () => {
          for (const l of listeners) l();
          listeners.length = 0;
          if (timer !== null) clearTimeout(timer);
          timer = null;
        };
        const attempt = () => {
          if (first) {
            // At once, as the run stands (a new run: starting, its untrained model still being
            // measured in the worker, ~2 s): the move is answered now, the measurement when it comes.
            if (!runs.complete) return;
            const v = f(frameOf(runs));
            stop();
            last = v;
            lastAt = performance.now();
            resolve(v);
            return;
          }
          if (timer !== null) return;
          const fire = () => {
            timer = null;
            const wait = inputWait();
            if (wait > 0) { timer = setTimeout(fire, wait); return; }
            const frame = frameOf(runs);
            const training = frame.views.a.status === 'running' || frame.views.b?.status === 'running';
            if (training) {
              const turn = chances++ % every === phase;
              lastAt = performance.now();
              if ((o.cell && !figureOnScreen(o.cell)) || !(turn || behind)) { behind = true; return; }
            }
            behind = false;
            lastAt = performance.now();
            const v = f(frame);
            if (v === last) return;
            stop();
            last = v;
            resolve(v);
          };
          timer = setTimeout(fire, Math.max(0, VIEW_MS - (performance.now() - lastAt)));
        };
        // B chosen or replaced: listen to the new pair's runs, and draw it on the next chance.
        let fromRuns: (() => void)[] = [];
        const listen = () => {
          for (const l of fromRuns) l();
          fromRuns = runs.all.map((r) => r.subscribe(attempt));
        };
        listeners.push(runs.subscribe(() => { listen(); attempt(); }), () => { for (const l of fromRuns) l(); });
        listen();
        attempt();
      });
    }
  } finally {
    stop();
  }
}
