// The linear-attention lesson's heavy engine work off the page's main thread: the swapped-layer
// forwards (a model forward over the passage per variant, 20-330 ms each in Chromium here) and
// Performer's error curves (8 feature counts x 3 draws) run in a Web Worker (worker.ts), so a
// slider drag never waits behind them and no task of the page runs that long. The math is the
// engine's (src/engine/linear); this file only carries requests and answers.
//
// The page sends each model's weights to the worker once (by the weights' identity: the shipped
// model, the reader's own, or the seeded stand-in), then small requests. A cell's promise settles
// when the worker answers; meanwhile the figure keeps its previous picture (CellFrame marks it as
// computing). Where there is no Worker (Node: the notebook tests, the prerendered previews) the
// same functions run in-process. If the worker fails (it did not load, threw, or did not start in
// time) every request from then on runs in-process and its answer says so (`where: 'page'`), which
// the swapped-layer table states under the figures.
import { type HeadQKV, type SwapResult, type VariantSpec, performerErrorCurve, swappedLayerBits } from '$engine/linear';
import type { DeepSeekConfig } from '$engine/config';
import { Model } from '$engine/model';
import type { ModelWeights } from '$engine/weights';

export type Job =
  | { kind: 'swap'; model: number; tokens: number[]; layer: number; variant: VariantSpec }
  | { kind: 'performerCurve'; head: HeadQKV; ms: number[]; draws: number; seed: number; orthogonal: boolean; exact: Float64Array };

export type ToWorker =
  | { type: 'model'; model: number; config: DeepSeekConfig; weights: ModelWeights }
  | { type: 'job'; id: number; job: Job };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string };

/** Where an answer was computed: the worker, the page because there is no Worker (Node), or the page because the worker failed. */
export type Where = 'worker' | 'inline' | 'page';

/** Runs one job on a model already known by its number. The worker and the in-process path both call this. */
export function runJob(job: Job, model: (n: number) => Model): unknown {
  switch (job.kind) {
    case 'swap': return swappedLayerBits(model(job.model), job.tokens, job.layer, job.variant);
    case 'performerCurve': return performerErrorCurve(job.head, job.ms, job.draws, job.seed, job.orthogonal, job.exact);
  }
}

/** How long the worker may take to start (load its module and kernels) before the page gives up on it. */
const START_MS = 15_000;
/** How long the worker may stay silent with requests outstanding (one swapped forward takes well under a second). */
const SILENT_MS = 60_000;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class BackgroundEngine {
  readonly #spawn: () => Worker;
  #worker: Worker | null = null;
  /** Why the worker is not used (null while it works or was never needed). */
  #failed: string | null = null;
  #nextId = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; job: Job }>();
  /** Model numbers by weights, and the models by number (for in-process runs). */
  readonly #ids = new WeakMap<ModelWeights, number>();
  readonly #models = new Map<number, Model>();
  #nextModel = 0;
  #startTimer: ReturnType<typeof setTimeout> | null = null;
  #silentTimer: ReturnType<typeof setTimeout> | null = null;

  readonly #startMs: number;
  readonly #silentMs: number;

  /**
   * `spawn` creates the worker (on first use); `startMs`: how long it may take to say it is ready;
   * `silentMs`: how long it may stay silent while requests wait.
   */
  constructor(spawn: () => Worker, options: { startMs?: number; silentMs?: number } = {}) {
    this.#spawn = spawn;
    this.#startMs = options.startMs ?? START_MS;
    this.#silentMs = options.silentMs ?? SILENT_MS;
  }

  /** Restart the silence watchdog while requests wait (stop it when none do). */
  #watch(): void {
    if (this.#silentTimer) clearTimeout(this.#silentTimer);
    this.#silentTimer = null;
    if (this.#waiting.size > 0 && this.#worker) {
      this.#silentTimer = setTimeout(() => this.#fail(`it did not answer for ${this.#silentMs / 1000} s`), this.#silentMs);
    }
  }

  /** Why the worker is not used, if it failed (for the page to say so). */
  get failure(): string | null {
    return this.#failed;
  }

  #modelNumber(model: Model): number {
    let n = this.#ids.get(model.weights);
    if (n === undefined) {
      n = this.#nextModel++;
      this.#ids.set(model.weights, n);
      // At most a few models are alive at once (the shipped one, the reader's, a stand-in).
      if (this.#models.size >= 4) {
        const [old, m] = this.#models.entries().next().value!;
        this.#models.delete(old);
        this.#ids.delete(m.weights);
      }
      this.#models.set(n, model);
      if (this.#worker) this.#post({ type: 'model', model: n, config: model.config, weights: model.weights });
    }
    return n;
  }

  #post(m: ToWorker): void {
    try {
      this.#worker!.postMessage(m);
    } catch (e) {
      this.#fail(`a request could not be sent (${errorText(e)})`);
    }
  }

  #fail(why: string): void {
    if (this.#failed) return;
    this.#failed = why;
    console.warn(`[linear-attention] background worker failed: ${why}; computing on the page instead`);
    if (this.#startTimer) clearTimeout(this.#startTimer);
    if (this.#silentTimer) clearTimeout(this.#silentTimer);
    this.#worker?.terminate();
    this.#worker = null;
    // What was waiting for the worker is computed here instead.
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) {
      try {
        w.resolve(this.#inline(w.job));
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  #inline(job: Job): unknown {
    return runJob(job, (n) => {
      const m = this.#models.get(n);
      if (!m) throw new Error('background engine: model no longer kept');
      return m;
    });
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
    // Models the page already knows (none on first use).
    for (const [n, model] of this.#models) this.#post({ type: 'model', model: n, config: model.config, weights: model.weights });
    return w;
  }

  async #run<T>(job: Job): Promise<{ value: T; where: Where }> {
    if (typeof Worker === 'undefined') return { value: this.#inline(job) as T, where: 'inline' };
    const w = this.#ensure();
    if (!w) return { value: this.#inline(job) as T, where: 'page' };
    const id = this.#nextId++;
    const value = await new Promise<unknown>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, job });
      this.#post({ type: 'job', id, job });
      this.#watch();
    });
    return { value: value as T, where: this.#failed ? 'page' : 'worker' };
  }

  /** Bits per token of `tokens` with layer `layer`'s attention swapped for `variant`. */
  async swap(model: Model, tokens: number[], layer: number, variant: VariantSpec): Promise<SwapResult & { where: Where }> {
    const n = this.#modelNumber(model);
    const { value, where } = await this.#run<SwapResult>({ kind: 'swap', model: n, tokens, layer, variant });
    return { ...value, where };
  }

  /** Performer's mean relative error against `exact` for each feature count (performerErrorCurve). */
  async performerCurve(head: HeadQKV, ms: number[], draws: number, seed: number, orthogonal: boolean, exact: Float64Array): Promise<number[]> {
    const { value } = await this.#run<number[]>({ kind: 'performerCurve', head, ms, draws, seed, orthogonal, exact });
    return value;
  }
}
