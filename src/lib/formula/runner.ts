// Runs formulas in a Web Worker (worker.ts) so that none blocks the page: the page posts the
// formula and its scope and goes on; the answer comes back when it is ready. At most one formula
// computes at a time and only the latest request waits behind it (a lesson that trains live
// changes the scope every frame: the frames in between are skipped, not queued), and a scope
// change alone is evaluated at most every `minIntervalMs`, and not until the worker has rested
// `restFactor` times as long as the last evaluation took (a formula that computes for a second
// then runs at most a fifth of the time, leaving the cores to the lesson). A formula still running after
// `timeoutMs` is stopped by ending the worker (a new one starts for the next formula).
import { type FormulaResult, type FormulaScope } from '../formula';

export interface FormulaRunnerOptions {
  /** Stop a formula that runs longer than this (it has its own 1,000 ms budget inside). */
  timeoutMs?: number;
  /** How long the default worker may take to load before its first job fails (not counted in timeoutMs). */
  startupMs?: number;
  /** Evaluate at most this often when only the scope changes (the formula text is the same). */
  minIntervalMs?: number;
  /** After an evaluation of d ms, a scope-only change waits restFactor x d ms (default 4). */
  restFactor?: number;
  /** Make the worker (tests substitute one). */
  spawn?: () => Worker;
  /** Turn a scope into what can be posted (e.g. unwrap reactive proxies); called only for a
   *  scope that is actually sent, not for those skipped. */
  prepare?: (scope: FormulaScope) => FormulaScope;
}

export interface FormulaRunner {
  /** The result, or null if a newer request replaced this one before it ran. */
  evaluate(expr: string, scope: FormulaScope): Promise<FormulaResult | null>;
  dispose(): void;
}

interface Job { expr: string; scope: FormulaScope; resolve: (r: FormulaResult | null) => void }

const spawnDefault = () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'formula' });

export function createFormulaRunner(options: FormulaRunnerOptions = {}): FormulaRunner {
  const timeoutMs = options.timeoutMs ?? 2000;
  const minIntervalMs = options.minIntervalMs ?? 250;
  const restFactor = options.restFactor ?? 4;
  const spawn = options.spawn ?? spawnDefault;
  const prepare = options.prepare ?? ((s: FormulaScope) => s);
  let worker: Worker | null = null;
  let running: (Job & { id: number; timer: ReturnType<typeof setTimeout> }) | null = null;
  let waiting: Job | null = null;
  let waitTimer: ReturnType<typeof setTimeout> | undefined;
  let nextId = 1;
  let lastExpr: string | null = null;
  let lastStart = -Infinity;
  let lastEnd = -Infinity;
  let lastDuration = 0;
  let disposed = false;

  // The default worker says when it has loaded (worker.ts); until then a job's budget has not started.
  const announcesReady = options.spawn === undefined;
  const startupMs = options.startupMs ?? 30000;
  let ready = false;

  function startTimer(): void {
    if (!running) return;
    clearTimeout(running.timer);
    running.timer = setTimeout(() => {
      finishWith({ ok: false, error: `Took too long (stopped after ${timeoutMs} ms); try a smaller piece` }, true);
    }, timeoutMs);
  }

  function ensureWorker(): Worker {
    if (worker) return worker;
    const w = spawn();
    ready = !announcesReady;
    w.onmessage = (event: MessageEvent<{ id: number; result: FormulaResult } | { ready: true }>) => {
      if ('ready' in event.data) {
        ready = true;
        if (running) {
          lastStart = performance.now();
          startTimer();
        }
        return;
      }
      if (!running || event.data.id !== running.id) return;
      clearTimeout(running.timer);
      lastEnd = performance.now();
      lastDuration = lastEnd - lastStart;
      const done = running;
      running = null;
      done.resolve(event.data.result);
      pump();
    };
    w.onerror = (event) => {
      event.preventDefault();
      finishWith({ ok: false, error: 'The formula could not be evaluated' }, true);
    };
    worker = w;
    return w;
  }

  /** End the running job with `result`; restart the worker if it is stuck or broken. */
  function finishWith(result: FormulaResult, restart: boolean): void {
    if (restart) {
      worker?.terminate();
      worker = null;
    }
    if (running) {
      clearTimeout(running.timer);
      lastEnd = performance.now();
      lastDuration = lastEnd - lastStart;
      const done = running;
      running = null;
      done.resolve(result);
    }
    pump();
  }

  function pump(): void {
    if (disposed || running || !waiting) return;
    // A new formula text runs at once; the same text with a new scope waits out the interval.
    const wait = waiting.expr === lastExpr
      ? Math.max(lastStart + minIntervalMs, lastEnd + restFactor * lastDuration) - performance.now()
      : 0;
    if (wait > 0) {
      clearTimeout(waitTimer);
      waitTimer = setTimeout(pump, wait);
      return;
    }
    const job = waiting;
    waiting = null;
    const id = nextId++;
    lastExpr = job.expr;
    lastStart = performance.now();
    running = { ...job, id, timer: undefined as unknown as ReturnType<typeof setTimeout> };
    try {
      const w = ensureWorker();
      if (ready) startTimer();
      else {
        running.timer = setTimeout(() => {
          finishWith({ ok: false, error: `The formula worker did not start within ${startupMs / 1000} s` }, true);
        }, startupMs);
      }
      w.postMessage({ id, expr: job.expr, scope: prepare(job.scope) });
    } catch (err) {
      // A scope value the worker cannot receive (not cloneable): say so rather than block the page.
      finishWith({ ok: false, error: `The lesson's values could not be sent to the formula worker (${err instanceof Error ? err.name : 'error'})` }, false);
    }
  }

  return {
    evaluate(expr, scope) {
      return new Promise((resolve) => {
        if (disposed) return resolve(null);
        waiting?.resolve(null); // replaced before it ran
        waiting = { expr, scope, resolve };
        pump();
      });
    },
    dispose() {
      disposed = true;
      clearTimeout(waitTimer);
      waiting?.resolve(null);
      waiting = null;
      if (running) finishWith({ ok: false, error: 'Stopped' }, true);
      worker?.terminate();
      worker = null;
    },
  };
}
