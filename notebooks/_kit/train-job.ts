// A lesson's short training run in a Web Worker, to a step count the URL holds: the same link
// gives the same picture (seeded, run to a fixed step, never "as far as it got by now"), and the
// page's main thread only draws. A lesson defines a Runner (its request -> a Stepper taking one
// step per call); its worker.ts is one line, `serveJobs(runner)`; its page side is a JobClient,
// whose follow() is a generator cell: a value each frame the worker has reported (the figures
// fill in as it trains), the last with `done` and the run's final payload.
//
// The worker keeps its last run: asking for more steps of the same run continues it instead of
// starting again (moving a "steps" slider up costs only the new steps), and the request (a lesson's
// model: megabytes to copy on the page's thread at every move) is not sent again for it. Where there is no Worker
// (Node: the notebook tests, prerendering) the same runner runs in-process (to a capped step
// count the lesson chooses) and follow() yields once. Products run on the WebAssembly kernels (kernels/fastest.ts) in both, as
// the training lesson's workers do: a fixed backend, so a run does not depend on the page's choice.
//
// A run computed ahead and shipped with the lesson (shipped-runs.ts: its defaults on the shipped
// model, by the same runner on the same kernels) is passed to follow() as `known`: complete at the
// step asked, it is the answer and the worker is not asked; otherwise its reports show at once
// while the worker computes the run.
import type { Backend } from '$kernels/backend';
import { fastestBackend } from '$kernels/fastest';
import type { KnownRun } from './shipped-runs';

/** One run of a lesson's training: each step() trains one step and returns what it measured. */
export interface Stepper<R, F> {
  step(): R;
  /** The heavy result at the current step (e.g. the trained weights), sent once at the end. */
  final(): F;
}

/** How a lesson turns a request (model, settings) into a run. */
export type Runner<Q, R, F> = (request: Q, backend: Backend) => Stepper<R, F>;

/** What a follow() cell yields: the reports of steps 1..reports.length and, once done, the final payload. */
export interface Progress<R, F> {
  /** The step count asked for. */
  target: number;
  reports: R[];
  final: F | null;
  done: boolean;
}

/** A start without its request (null) continues the worker's kept run of that key; the worker asks `again` if it has none. */
type ToWorker<Q> = { type: 'start'; id: number; key: string; steps: number; request: Q | null } | { type: 'cancel'; id: number };
type FromWorker<R, F> =
  | { type: 'again'; id: number }
  | { type: 'reports'; id: number; from: number; reports: R[] }
  | { type: 'done'; id: number; final: F }
  | { type: 'error'; id: number; message: string };

/** The run a worker (or the in-process fallback) keeps, so more steps of it continue it. */
interface Kept<R, F> { key: string; stepper: Stepper<R, F>; reports: R[] }

function keep<Q, R, F>(kept: Kept<R, F> | null, runner: Runner<Q, R, F>, key: string, steps: number, request: Q, backend: Backend): Kept<R, F> {
  if (kept && kept.key === key && kept.reports.length <= steps) return kept;
  return { key, stepper: runner(request, backend), reports: [] };
}

/** In-process runs kept (each holds its optimizer state: a few MB for the tiny model). */
const INLINE_RUNS = 10;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The worker's side: start, continue or drop runs as the page asks; a newer request supersedes. */
export function serveJobs<Q, R, F>(runner: Runner<Q, R, F>): void {
  const scope = self as unknown as { onmessage: ((e: MessageEvent<ToWorker<Q>>) => void) | null; postMessage(m: FromWorker<R, F>): void };
  const backend = fastestBackend(() => {});
  let latest = -1;
  let kept: Kept<R, F> | null = null;
  // Between steps: let a newer request (or a cancel) in before the next step.
  const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  scope.onmessage = async (e) => {
    const m = e.data;
    if (m.type === 'cancel') { if (m.id === latest) latest = -1; return; }
    latest = m.id;
    try {
      const b = await backend;
      if (latest !== m.id) return;
      if (m.request === null && !(kept && kept.key === m.key && kept.reports.length <= m.steps)) {
        scope.postMessage({ type: 'again', id: m.id });
        return;
      }
      const run = (kept = m.request === null ? kept! : keep(kept, runner, m.key, m.steps, m.request, b));
      if (run.reports.length > 0) scope.postMessage({ type: 'reports', id: m.id, from: 0, reports: run.reports.slice() });
      while (run.reports.length < m.steps) {
        await tick();
        if (latest !== m.id || kept !== run) return;
        const r = run.stepper.step();
        run.reports.push(r);
        scope.postMessage({ type: 'reports', id: m.id, from: run.reports.length - 1, reports: [r] });
      }
      scope.postMessage({ type: 'done', id: m.id, final: run.stepper.final() });
    } catch (err) {
      kept = null;
      scope.postMessage({ type: 'error', id: m.id, message: errorText(err) });
    }
  };
}

/** The page's side: one worker per lesson page, spawned on first use. */
export class JobClient<Q, R, F> {
  #spawn: () => Worker;
  #runner: Runner<Q, R, F>;
  #worker: Worker | null = null;
  #nextId = 0;
  #listeners = new Map<number, (m: FromWorker<R, F>) => void>();
  /** The run the worker was last asked for (so it keeps it): more steps of it go without the request. */
  #sent: { key: string; steps: number } | null = null;
  // In-process runs (no Worker): the last few, by key, so going back to a setting does not train again.
  #inline: { kept: Kept<R, F>[]; backend: Promise<Backend> | null } = { kept: [], backend: null };

  #inlineSteps: number;

  /**
   * `spawn` creates the lesson's worker (new Worker(new URL('./worker.ts', import.meta.url), ...));
   * `runner` is the same code, for in-process runs. `inlineSteps` caps in-process runs (Node: the
   * notebook tests and the prerendered previews check the wiring without training for minutes;
   * the page's figures always come from the worker, to the full step count).
   */
  constructor(spawn: () => Worker, runner: Runner<Q, R, F>, options: { inlineSteps?: number } = {}) {
    this.#spawn = spawn;
    this.#runner = runner;
    this.#inlineSteps = options.inlineSteps ?? Infinity;
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const w = this.#spawn();
    w.onmessage = (e: MessageEvent<FromWorker<R, F>>) => this.#listeners.get(e.data.id)?.(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      const message = `the training worker failed: ${e.message || 'it did not load'}`;
      this.#worker = null;
      this.#sent = null;
      for (const [id, l] of this.#listeners) l({ type: 'error', id, message });
    };
    return (this.#worker = w);
  }

  /**
   * Train the run named `key` (same key = same run: model, settings, seed) to `steps` steps. A
   * generator cell: it yields the progress so far, then promises of the next progress, one per pull
   * (a frame); each takes everything the worker reported since (a busy frame shows the newest step).
   * It yields promises rather than awaiting inside an async generator so that it always rests at a
   * yield: when an input changes, the runtime's return() then ends it at once, and the worker is
   * told to stop.
   */
  *follow(key: string, steps: number, request: Q, known: KnownRun<R, F> | null = null): Generator<Progress<R, F> | Promise<Progress<R, F>>, void, unknown> {
    // A run computed ahead (shipped-runs.ts): complete at this step, it is the answer and the
    // worker is not asked; otherwise its reports show at once while the worker computes the rest.
    const ahead = known && known.reports.length >= steps ? known.finalAt(steps) : undefined;
    if (known && ahead !== undefined) {
      yield { target: steps, reports: known.reports.slice(0, steps), final: ahead, done: true };
      return;
    }
    if (typeof Worker === 'undefined') {
      yield this.#inlineRun(key, steps, request);
      return;
    }
    const id = this.#nextId++;
    // The worker's reports replace these (the same numbers: the same runner on the same kernels).
    const reports: R[] = known ? known.reports.slice(0, steps) : [];
    // Every value carries the promise of the finished run (see finished()): it resolves with the
    // last value, or is rejected when the run stops before it (replaced, or the worker failed).
    let settle!: { resolve: (p: Progress<R, F>) => void; reject: (e: Error) => void };
    const whenDone = new Promise<Progress<R, F>>((resolve, reject) => { settle = { resolve, reject }; });
    whenDone.catch(() => {}); // a stopped run is not an error by itself; finished() passes it on
    const value = (v: Progress<R, F>) => Object.defineProperty(v, WHEN_DONE, { value: whenDone, enumerable: false });
    const inbox: FromWorker<R, F>[] = [];
    let waiting: { drain: () => void; reject: (e: Error) => void } | null = null;
    this.#listeners.set(id, (m) => {
      if (m.type === 'again') {
        this.#ensure().postMessage({ type: 'start', id, key, steps, request } satisfies ToWorker<Q>);
        return;
      }
      if (m.type === 'error') this.#sent = null;
      inbox.push(m);
      const w = waiting;
      waiting = null;
      w?.drain();
    });
    // The next progress: everything in the inbox, now or when the next message arrives.
    const next = () => new Promise<Progress<R, F>>((resolve, reject) => {
      const drain = () => {
        let final: F | null = null, done = false;
        for (const m of inbox.splice(0)) {
          if (m.type === 'error') { const e = new Error(m.message); settle.reject(e); reject(e); return; }
          if (m.type === 'reports') m.reports.forEach((r, i) => { reports[m.from + i] = r; });
          else if (m.type === 'done') { final = m.final; done = true; }
        }
        const v = value({ target: steps, reports: reports.slice(), final, done });
        if (done) { reachedEnd = true; settle.resolve(v); }
        resolve(v);
      };
      if (inbox.length > 0) drain();
      else waiting = { drain, reject };
    });
    let reachedEnd = false;
    try {
      const continues = this.#sent !== null && this.#sent.key === key && steps >= this.#sent.steps;
      this.#sent = { key, steps };
      this.#ensure().postMessage({ type: 'start', id, key, steps, request: continues ? null : request } satisfies ToWorker<Q>);
      yield value({ target: steps, reports: reports.slice(), final: null, done: false });
      // The next pull comes after the last promise resolved: by then its drain() has seen `done`.
      while (!reachedEnd) yield next();
    } finally {
      this.#listeners.delete(id);
      if (!reachedEnd) {
        const stopped = new Error('the run was replaced before it finished');
        settle.reject(stopped);
        (waiting as { reject: (e: Error) => void } | null)?.reject(stopped);
        this.#worker?.postMessage({ type: 'cancel', id } satisfies ToWorker<Q>);
      }
    }
  }

  async #inlineRun(key: string, target: number, request: Q): Promise<Progress<R, F>> {
    const steps = Math.min(target, this.#inlineSteps);
    const backend = await (this.#inline.backend ??= fastestBackend(() => {}));
    const kept = this.#inline.kept;
    const at = kept.findIndex((k) => k.key === key);
    const run = keep(at >= 0 ? kept.splice(at, 1)[0]! : null, this.#runner, key, steps, request, backend);
    kept.unshift(run);
    kept.length = Math.min(kept.length, INLINE_RUNS);
    while (run.reports.length < steps) run.reports.push(run.stepper.step());
    return { target, reports: run.reports.slice(), final: run.stepper.final(), done: true };
  }
}

const WHEN_DONE = Symbol('when the run is done');

/**
 * A cell for what needs the finished run: pending (its figures marked stale) until `done`, then the
 * last value. (Not a promise that never settles: the runtime starts a cell's next computation only
 * after its previous one settles, so each of these settles when the run finishes or is replaced.)
 */
export function finished<R, F>(p: Progress<R, F>): Promise<Progress<R, F>> | Progress<R, F> {
  if (p.done) return p;
  const whenDone = (p as unknown as Record<symbol, Promise<Progress<R, F>> | undefined>)[WHEN_DONE];
  if (!whenDone) throw new Error('finished(): not a value of JobClient.follow');
  return whenDone;
}

// Ids for request keys: the same weights object gets the same id (a new model, a new run).
const ids = new WeakMap<object, number>();
let nextWeightsId = 0;
export function objectId(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextWeightsId++));
  return id;
}
