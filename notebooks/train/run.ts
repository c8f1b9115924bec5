// The page's side of one training run: it starts the run's workers (worker.ts, and helper.ts for
// the second thread), sends them the controls (run, pause, step once, reset, load, export), and
// keeps what they report (every step, every evaluation, the samples) as the run's history, which the
// views draw. It saves the run to IndexedDB (store.ts) every few seconds while it trains and on
// pause, and restores it on a reload. It pauses while the tab is hidden and says so.
// Where there are no Web Workers (Node: tests), a run is the untrained model's settings and stays at step 0.
import { clearRuns, deleteRun, loadRun } from './store';
import {
  type EvalPoint, type FromWorker, type RunSettings, type Sample, type StepPoint, type ToWorker, type UntrainedStats,
  charsPerStep, settingsKey,
} from './settings';

/** pausing: asked to pause, the step in flight is finishing (paused once the trainer says it stopped). */
export type RunStatus = 'starting' | 'ready' | 'running' | 'pausing' | 'paused' | 'hidden' | 'error' | 'offline';

export interface History {
  steps: StepPoint[];
  evals: EvalPoint[];
  samples: Sample[];
  untrained: UntrainedStats | null;
  layers: string[];
  params: number;
  loadedFrom: string | null;
}

/** What the views read: a plain snapshot, a new object only when something changed. */
export interface RunView {
  label: string;
  settings: RunSettings;
  status: RunStatus;
  message: string | null;
  step: number;
  chars: number;
  charsPerSec: number | null;
  threads: number;
  kernels: string;
  history: History;
  restored: boolean;
  version: number;
}

const SAVE_EVERY_MS = 10_000;

/** The steps as columns of typed arrays: what is saved (cloning thousands of small objects into IndexedDB would hold the main thread). */
interface PackedSteps { n: number; L: number; E: number; num: Float64Array; mtp: Float64Array; load: Float32Array; bias: Float32Array }
type SavedHistory = Omit<History, 'steps'> & { packed: PackedSteps };

const NUM = ['step', 'chars', 'lr', 'bpc', 'loss', 'gradNorm'] as const;

function pack(h: History): SavedHistory {
  const { steps, ...rest } = h;
  const n = steps.length, L = steps[0]?.load.length ?? 0, E = steps[0]?.load[0]?.length ?? 0, K = NUM.length;
  const p: PackedSteps = { n, L, E, num: new Float64Array(n * K), mtp: new Float64Array(n), load: new Float32Array(n * L * E), bias: new Float32Array(n * L * E) };
  for (let i = 0; i < n; i++) {
    const s = steps[i]!;
    for (let j = 0; j < K; j++) p.num[i * K + j] = s[NUM[j]!];
    p.mtp[i] = s.mtpAgree ?? NaN;
    for (let l = 0; l < L; l++) {
      const load = s.load[l], bias = s.bias[l], at = (i * L + l) * E;
      if (load) p.load.set(load.length === E ? load : load.slice(0, E), at);
      if (bias) p.bias.set(bias.length === E ? bias : bias.slice(0, E), at);
    }
  }
  return { ...rest, packed: p };
}

function unpack(saved: SavedHistory): History {
  const { packed: p, ...rest } = saved;
  const steps: StepPoint[] = [];
  for (let i = 0; i < p.n; i++) {
    const v = (j: number) => p.num[i * NUM.length + j]!;
    const rows = (a: Float32Array) => Array.from({ length: p.L }, (_, l) => Array.from(a.subarray((i * p.L + l) * p.E, (i * p.L + l + 1) * p.E)));
    steps.push({ step: v(0), chars: v(1), lr: v(2), bpc: v(3), loss: v(4), gradNorm: v(5), mtpAgree: Number.isNaN(p.mtp[i]!) ? null : p.mtp[i]!, load: rows(p.load), bias: rows(p.bias) });
  }
  return { ...rest, steps };
}

/**
 * Step points kept at most. Past it, the older points are thinned to every other one (the newest
 * KEEP_RECENT stay whole), so a long run's history, and the page's memory, stop growing: the
 * figures draw at most 100 points or 50 columns of it anyway.
 */
export const MAX_STEPS = 3000;
const KEEP_RECENT = 1000;

export function thinned(steps: StepPoint[]): StepPoint[] {
  if (steps.length <= MAX_STEPS) return steps;
  const old = steps.length - KEEP_RECENT;
  const out: StepPoint[] = [];
  for (let i = old % 2; i < old; i += 2) out.push(steps[i]!);
  for (let i = old; i < steps.length; i++) out.push(steps[i]!);
  return out;
}

export function emptyHistory(): History {
  return { steps: [], evals: [], samples: [], untrained: null, layers: [], params: 0, loadedFrom: null };
}

/** Where the corpus files are served (static/data/stories/). */
function dataUrl(): string {
  return new URL('/data/stories/', location.href).href;
}

/** How long a new run waits before starting its worker (TrainingRun #start). */
const START_DELAY_MS = 200;

export class TrainingRun {
  readonly key: string;
  status: RunStatus = 'starting';
  message: string | null = null;
  history: History = emptyHistory();
  step = 0;
  chars = 0;
  charsPerSec: number | null = null;
  threads: number;
  /** The trainer's compute kernels (the worker's backend name). */
  kernels = '';
  restored = false;
  version = 0;
  /** Probe logits of the last exported checkpoint (tests compare them with a reloaded one's). */
  exportedProbe: number[] | null = null;
  /** Resume when the tab is shown again (it was running when hidden). */
  #resumeOnShow = false;
  #wantRunning = false;
  #worker: Worker | null = null;
  #helper: Worker | null = null;
  #listeners = new Set<() => void>();
  #nextId = 1;
  #replies = new Map<number, (m: FromWorker) => void>();
  #saveTimer: ReturnType<typeof setInterval> | null = null;
  #shown: RunView | null = null;
  #disposed = false;
  #onVisibility = () => this.#visibility();

  constructor(readonly settings: RunSettings, readonly label: string, threads: number) {
    this.key = settingsKey(settings);
    this.threads = threads;
    if (typeof Worker === 'undefined' || typeof window === 'undefined') {
      this.status = 'offline';
      return;
    }
    document.addEventListener('visibilitychange', this.#onVisibility);
    void this.#start(null, START_DELAY_MS);
  }

  /** The current state as plain data (the same object until something changes). */
  view(): RunView {
    if (this.#shown?.version === this.version) return this.#shown;
    this.#shown = {
      label: this.label, settings: this.settings, status: this.status, message: this.message, step: this.step, chars: this.chars,
      charsPerSec: this.charsPerSec, threads: this.threads, kernels: this.kernels, history: this.history, restored: this.restored, version: this.version,
    };
    return this.#shown;
  }

  subscribe(f: () => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  #changed(): void {
    this.version++;
    for (const f of [...this.#listeners]) f();
  }

  #post(m: ToWorker, transfer: Transferable[] = []): void {
    this.#worker?.postMessage(m, transfer);
  }

  #request(m: ToWorker & { id: number }, transfer: Transferable[] = []): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.#replies.set(m.id, resolve);
      this.#post(m, transfer);
    });
  }

  async #start(fresh: Uint8Array | null, delayMs = 0): Promise<void> {
    this.#terminate();
    this.status = 'starting';
    this.#changed();
    // A settings move makes a new run: during a drag the next move replaces it within this time,
    // so its worker (module, kernels, corpus, the untrained model's measurement: a core for ~2 s)
    // is not started only to be stopped, while the page answers the drag on the other core.
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (this.#disposed) return;
    let saved = fresh ? null : await loadRun<SavedHistory>(this.key).catch(() => null);
    if (saved && !saved.history?.packed) saved = null; // saved by an older page: start afresh
    if (this.#disposed) return;
    if (saved) {
      this.history = unpack(saved.history);
      this.restored = true;
    }
    this.#worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek trainer' });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#receive(e.data);
    this.#worker.onerror = (e) => this.#fail(`the trainer stopped: ${e.message || 'the worker failed to load'}`);
    if (this.threads > 1) {
      this.#helper = new Worker(new URL('./helper.ts', import.meta.url), { type: 'module', name: 'nanoseek gradient helper' });
      this.#helper.onerror = (e) => this.#fail(`the second thread stopped: ${e.message || 'the worker failed to load'}`);
      const channel = new MessageChannel();
      this.#helper.postMessage(null, [channel.port2]);
      this.#worker.postMessage({ type: 'port' }, [channel.port1]);
    }
    this.#post({ type: 'init', settings: this.settings, threads: this.threads, dataUrl: dataUrl(), saved: saved?.state ?? null, untrained: saved?.history.untrained ?? null });
  }

  #fail(message: string): void {
    this.status = 'error';
    this.message = message;
    this.#changed();
  }

  #receive(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.history = { ...this.history, layers: m.layers, params: m.params, untrained: m.untrained, loadedFrom: m.loadedFrom };
        this.step = m.step;
        this.chars = m.chars;
        this.threads = m.threads;
        this.kernels = m.kernels;
        this.status = this.#wantRunning ? 'running' : 'ready';
        if (this.step > 0 && !this.#wantRunning) this.status = 'paused';
        if (this.#wantRunning) this.#post({ type: 'run' });
        break;
      case 'steps': {
        const last = m.points[m.points.length - 1]!;
        this.history = { ...this.history, steps: thinned(this.history.steps.concat(m.points)) };
        this.step = last.step;
        this.chars = last.chars;
        if (m.charsPerSec !== null) this.charsPerSec = m.charsPerSec;
        break;
      }
      case 'eval':
        this.history = { ...this.history, evals: this.history.evals.filter((e) => e.step < m.point.step).concat([m.point]) };
        break;
      case 'sample':
        this.history = { ...this.history, samples: this.history.samples.filter((s) => s.step < m.sample.step).concat([m.sample]) };
        break;
      case 'state':
        if (m.running) {
          if (this.#wantRunning && this.status !== 'hidden') this.status = 'running';
        } else {
          if (this.status === 'pausing' || (this.status === 'running' && !this.#wantRunning)) this.status = this.step > 0 ? 'paused' : 'ready';
          this.charsPerSec = null;
          void this.save();
        }
        break;
      case 'error':
        this.#wantRunning = false;
        this.#fail(m.message);
        return;
      default: {
        const r = 'id' in m ? this.#replies.get(m.id) : undefined;
        if (r) { this.#replies.delete((m as { id: number }).id); r(m); }
        return;
      }
    }
    this.#changed();
  }

  // ---- controls ----

  run(): void {
    if (this.status === 'offline' || this.status === 'error') return;
    this.#wantRunning = true;
    this.message = null;
    if (this.status !== 'starting') {
      this.status = 'running';
      this.#post({ type: 'run' });
    }
    this.#saveTimer ??= setInterval(() => this.#saveWhenIdle(), SAVE_EVERY_MS);
    this.#changed();
  }

  pause(): void {
    this.#wantRunning = false;
    this.#resumeOnShow = false;
    if (this.#saveTimer) { clearInterval(this.#saveTimer); this.#saveTimer = null; }
    this.#post({ type: 'pause' });
    if (this.status === 'running') this.status = 'pausing';
    else if (this.status === 'hidden') this.status = this.step > 0 ? 'paused' : 'ready';
    this.message = null;
    this.#changed();
  }

  /** The reader pressed something: while training, the trainer leaves the cores to the page until `until` (ms since the epoch; worker.ts yieldToPage). */
  inputSeen(until: number): void {
    if (this.status === 'running') this.#post({ type: 'yield', until });
  }

  stepOnce(): void {
    if (this.status === 'running' || this.status === 'pausing' || this.status === 'starting' || this.status === 'offline') return;
    this.#post({ type: 'step' });
  }

  get running(): boolean {
    return this.#wantRunning;
  }

  /** Back to step 0 from the seed (the saved copy is deleted). */
  async reset(): Promise<void> {
    this.#wantRunning = false;
    if (this.#saveTimer) { clearInterval(this.#saveTimer); this.#saveTimer = null; }
    this.history = emptyHistory();
    this.step = 0;
    this.chars = 0;
    this.charsPerSec = null;
    this.restored = false;
    this.message = null;
    await deleteRun(this.key).catch(() => {});
    if (this.status !== 'offline') await this.#start(new Uint8Array(0));
    else this.#changed();
  }

  /** Save in the page's idle time (between frames, not in the middle of a reader's input). */
  #saveWhenIdle(): void {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(() => void this.save(), { timeout: SAVE_EVERY_MS / 2 });
    else void this.save();
  }

  /** Save now (weights, optimizer, data position and the history). */
  async save(): Promise<void> {
    if (!this.#worker || this.status === 'starting' || this.step === 0) return;
    // The worker writes it (with its state) to IndexedDB; the packed history's arrays move there without a copy.
    const history = pack(this.history);
    const { num, mtp, load, bias } = history.packed;
    await this.#request({ type: 'save', id: this.#nextId++, key: this.key, history }, [num.buffer, mtp.buffer, load.buffer, bias.buffer]);
  }

  /** The checkpoint as one file (tar: config.json, model.safetensors, tokenizer.json). */
  async exportBundle(): Promise<Uint8Array | null> {
    if (!this.#worker || this.status === 'starting') return null;
    const r = await this.#request({ type: 'export', id: this.#nextId++ });
    if (r.type !== 'export') return null;
    this.exportedProbe = r.probe;
    return r.bytes;
  }

  /** Load a checkpoint bundle; resolves to an error message (nothing changes) or null. */
  async load(bytes: Uint8Array, file: string): Promise<string | null> {
    if (!this.#worker || this.status === 'starting') return 'the trainer is still starting; try again in a moment';
    const wasRunning = this.#wantRunning;
    const r = await this.#request({ type: 'load', id: this.#nextId++, bytes, file }, [bytes.buffer as ArrayBuffer]);
    if (r.type === 'load-error') return r.message;
    this.#wantRunning = false;
    this.history = { ...emptyHistory(), untrained: this.history.untrained };
    this.step = 0;
    this.chars = 0;
    this.status = 'ready';
    this.#changed();
    if (wasRunning) this.pause();
    return null;
  }

  #visibility(): void {
    if (document.visibilityState === 'hidden') {
      if (this.#wantRunning) {
        this.#resumeOnShow = true;
        this.#post({ type: 'pause' });
        this.status = 'hidden';
        this.message = 'Paused while this tab was hidden: it goes on when you come back.';
        this.#changed();
      }
      void this.save();
    } else if (this.#resumeOnShow) {
      this.#resumeOnShow = false;
      this.message = 'Resumed: training paused while the tab was hidden.';
      this.status = 'running';
      this.#post({ type: 'run' });
      this.#changed();
    }
  }

  #terminate(): void {
    this.#worker?.terminate();
    this.#helper?.terminate();
    this.#worker = null;
    this.#helper = null;
    for (const r of this.#replies.values()) r({ type: 'error', message: 'the trainer was restarted' });
    this.#replies.clear();
  }

  /** Stop the workers (saving first when it has trained). */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#wantRunning = false;
    this.#post({ type: 'pause' });
    if (this.#saveTimer) { clearInterval(this.#saveTimer); this.#saveTimer = null; }
    await this.save().catch(() => {});
    this.#disposed = true;
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#terminate();
  }
}

export { clearRuns, charsPerStep };
