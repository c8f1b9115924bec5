// A lesson's heavy engine work off the page's main thread. A slider whose new value needs engine
// work of tens of milliseconds or more (a decode run, a sweep of speculative runs, a timed run)
// would otherwise block the page for that long on every move; here it runs in a Web Worker, the
// page stays responsive, and the figure keeps its previous picture until the answer arrives
// (CellFrame marks it as computing). The math is the engine's; this file only carries requests
// and answers. (Modelled on notebooks/_kit/train-job.ts.)
//
// A lesson writes its jobs once, as plain functions of a request: `{ name: (request) => result }`
// (jobs.ts), imported by both sides. Its worker.ts is `serveEngineJobs(jobs)`; its page side is
// `new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), jobs)`
// and a cell calls `engine.run('name', request)`, which returns a promise. A request and a result
// must be structured-cloneable, except that a Model at the request's top level is sent by its
// weights (once per weights object; the worker keeps the last few) and arrives as a Model on the
// worker's WebAssembly backend (kernels/fastest.ts, as the training workers use).
//
// The runtime starts a cell's next computation only after the previous one settled and skips the
// stale ones in between, so a drag sends the worker at most one request per cell beyond the one
// running. Where there is no Worker (Node: the notebook tests, the prerendered previews) the jobs
// run in-process; if the worker fails (does not load, does not start in time, goes silent while
// requests wait, cannot read a message) every request from then on runs in-process too, `failure`
// says why, and `runWhere` tells a figure where its answer was computed, so it can say so.
import type { DeepSeekConfig } from '$engine/config';
import { Model } from '$engine/model';
import type { ModelWeights } from '$engine/weights';
import type { Backend } from '$kernels/backend';
import { fastestBackend } from '$kernels/fastest';

/**
 * A lesson's jobs. Each gets its request and, in the worker, the worker's backend (kernels/fastest.ts)
 * for models it builds itself; in-process (Node) no backend (the engine's default).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Jobs = Record<string, (request: any, backend?: Backend) => unknown>;

/** How a Model in a request travels: its number; the weights went ahead in a 'model' message. */
interface ModelRef { readonly __engineModel: number }

type ToWorker =
  | { type: 'model'; n: number; config: DeepSeekConfig; weights: ModelWeights }
  | { type: 'job'; id: number; kind: string; request: Record<string, unknown> };

type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string };

/** Models the worker keeps (the shipped one, a few seeded or noisy copies). */
const WORKER_MODELS = 8;
/** How long the worker may take to load its module and kernels before the page computes in place. */
const START_MS = 20_000;
/** How long the worker may stay silent while requests wait (a lesson's job takes well under a second to a few). */
const SILENT_MS = 60_000;

/** Where an answer was computed: the worker; the page because there is no Worker (Node); the page because the worker failed. */
export type Where = 'worker' | 'inline' | 'page';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const isRef = (v: unknown): v is ModelRef => typeof v === 'object' && v !== null && '__engineModel' in v;

/** The worker's side: models by number, jobs one at a time in the order they came. */
export function serveEngineJobs(jobs: Jobs): void {
  const scope = self as unknown as { onmessage: ((e: MessageEvent<ToWorker>) => void) | null; postMessage(m: FromWorker): void };
  const backend = fastestBackend(() => {});
  const models = new Map<number, Model>();
  const queue: ToWorker[] = [];
  let running = false;
  const drain = async () => {
    if (running) return;
    running = true;
    const b = await backend;
    while (queue.length > 0) {
      const m = queue.shift()!;
      if (m.type === 'model') {
        if (models.size >= WORKER_MODELS) models.delete(models.keys().next().value!);
        models.set(m.n, new Model(m.config, m.weights, b));
        continue;
      }
      try {
        const request = Object.fromEntries(Object.entries(m.request).map(([k, v]) => {
          if (!isRef(v)) return [k, v];
          const model = models.get(v.__engineModel);
          if (!model) throw new Error(`engine worker: model ${v.__engineModel} is no longer kept`);
          return [k, model];
        }));
        const job = jobs[m.kind];
        if (!job) throw new Error(`engine worker: no job '${m.kind}'`);
        scope.postMessage({ type: 'done', id: m.id, value: await job(request, b) });
      } catch (e) {
        scope.postMessage({ type: 'error', id: m.id, message: errorText(e) });
      }
      // Let newer messages in between two jobs.
      await new Promise((r) => setTimeout(r, 0));
    }
    running = false;
  };
  scope.onmessage = (e) => {
    queue.push(e.data);
    void drain();
  };
  void backend.then(() => scope.postMessage({ type: 'ready' }));
}

/** The page's side: one worker per lesson page, spawned on first use. */
export class EngineWorker<J extends Jobs> {
  readonly #spawn: () => Worker;
  readonly #jobs: J;
  #worker: Worker | null = null;
  #failed: string | null = null;
  #nextId = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; kind: keyof J; request: Record<string, unknown> }>();
  /** Numbers of the weights already sent to the worker. */
  #sent = new WeakMap<ModelWeights, number>();
  #nextModel = 0;
  #startTimer: ReturnType<typeof setTimeout> | null = null;
  #silentTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #startMs: number;
  readonly #silentMs: number;

  /**
   * `spawn` creates the worker (on first use); `startMs`: how long it may take to say it is ready;
   * `silentMs`: how long it may stay silent while requests wait.
   */
  constructor(spawn: () => Worker, jobs: J, options: { startMs?: number; silentMs?: number } = {}) {
    this.#spawn = spawn;
    this.#jobs = jobs;
    this.#startMs = options.startMs ?? START_MS;
    this.#silentMs = options.silentMs ?? SILENT_MS;
  }

  /** Why the worker is not used, if it failed (null while it works, or in Node). */
  get failure(): string | null {
    return this.#failed;
  }

  /**
   * Start the worker now (its module and kernels load while the page fetches a model, say), so the
   * first job does not wait for them; with `model`, send its weights too (the worker builds its copy
   * while the page computes). Nothing where there is no Worker.
   */
  warm(model?: Model): void {
    if (typeof Worker === 'undefined' || !this.#ensure()) return;
    if (model) this.#ref(model);
  }

  /** Run job `kind` on `request`: in the worker when there is one, else in-process. */
  async run<K extends keyof J & string>(kind: K, request: Parameters<J[K]>[0]): Promise<Awaited<ReturnType<J[K]>>> {
    return (await this.runWhere(kind, request)).value;
  }

  /** As run, with where the answer was computed. */
  async runWhere<K extends keyof J & string>(kind: K, request: Parameters<J[K]>[0]): Promise<{ value: Awaited<ReturnType<J[K]>>; where: Where }> {
    type R = Awaited<ReturnType<J[K]>>;
    const req = request as Record<string, unknown>;
    if (typeof Worker === 'undefined') return { value: (await this.#jobs[kind](req)) as R, where: 'inline' };
    const w = this.#ensure();
    if (!w) return { value: (await this.#jobs[kind](req)) as R, where: 'page' };
    const id = this.#nextId++;
    const value = await new Promise<R>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, kind, request: req });
      const wire: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(req)) wire[k] = v instanceof Model ? this.#ref(v) : v;
      this.#post({ type: 'job', id, kind, request: wire });
      this.#watch();
    });
    return { value, where: this.#failed ? 'page' : 'worker' };
  }

  /** Restart the silence watchdog while requests wait (stop it when none do). */
  #watch(): void {
    if (this.#silentTimer) clearTimeout(this.#silentTimer);
    this.#silentTimer = null;
    if (this.#waiting.size > 0 && this.#worker) {
      this.#silentTimer = setTimeout(() => this.#fail(`it did not answer for ${this.#silentMs / 1000} s`), this.#silentMs);
    }
  }

  #ref(model: Model): ModelRef {
    let n = this.#sent.get(model.weights);
    // The worker keeps the last WORKER_MODELS models: one sent longer ago than that goes again.
    if (n === undefined || this.#nextModel - n > WORKER_MODELS - 1) {
      n = this.#nextModel++;
      this.#sent.set(model.weights, n);
      this.#post({ type: 'model', n, config: model.config, weights: model.weights });
    }
    return { __engineModel: n };
  }

  #post(m: ToWorker): void {
    try {
      this.#worker?.postMessage(m);
    } catch (e) {
      this.#fail(`a request could not be sent (${errorText(e)})`);
    }
  }

  #ensure(): Worker | null {
    if (this.#worker || this.#failed) return this.#worker;
    let w: Worker;
    try {
      w = this.#spawn();
    } catch (e) {
      this.#fail(`it could not be created (${errorText(e)})`);
      return null;
    }
    this.#worker = w;
    this.#startTimer = setTimeout(() => this.#fail(`it did not start within ${this.#startMs / 1000} s`), this.#startMs);
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === 'ready') {
        if (this.#startTimer) clearTimeout(this.#startTimer);
        this.#startTimer = null;
        return;
      }
      const p = this.#waiting.get(m.id);
      if (!p) return;
      this.#waiting.delete(m.id);
      this.#watch();
      if (m.type === 'done') p.resolve(m.value);
      else p.reject(new Error(m.message));
    };
    w.onerror = (e) => {
      e.preventDefault();
      this.#fail(e.message || 'it did not load');
    };
    w.onmessageerror = () => this.#fail('an answer could not be read');
    return w;
  }

  #fail(why: string): void {
    if (this.#failed) return;
    this.#failed = why;
    console.warn(`[engine worker] ${why}; computing on the page instead`);
    if (this.#startTimer) clearTimeout(this.#startTimer);
    if (this.#silentTimer) clearTimeout(this.#silentTimer);
    this.#worker?.terminate();
    this.#worker = null;
    // What was waiting for the worker is computed here instead.
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) {
      Promise.resolve().then(() => this.#jobs[w.kind as string](w.request)).then(w.resolve, (e) => w.reject(e instanceof Error ? e : new Error(String(e))));
    }
  }
}
