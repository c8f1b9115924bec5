// The page's compute backend: which one is active, how it was chosen, and the user's override.
// One shared instance, so every BackendBadge shows the same state and lessons can read
// `backendState.backend` (read it at each computation rather than keeping it: a replaced backend
// is destroyed to free its GPU contexts). Measurement happens only in the browser (start() is
// called on mount), in a worker where there is no GPU (backend-measure.ts); until it is done, the
// WebAssembly SIMD kernels compute (or the tuned loop where they cannot load, which the badge says).
import type { Backend } from '$kernels/backend';
import { referenceBackend } from '$kernels/reference';
import { readReport, summarizeChoice, type ReportView } from './backend-report';

/** What the badge says when selection failed and the reference computes. */
export const REFERENCE_LABEL = 'plain loop (reference)';
/** The switch's value for "let the measurement decide". */
export const AUTO = 'auto';

const STORAGE_KEY = 'nanoseek.backend';
// The last measurement: later pages (and other tabs) reuse its choices for a day instead of
// measuring again (~2 s), so every page of a session computes with the same kernels. What is read
// back is checked (kernels/select/report.ts checkStoredReport) and dropped, with a notice, if not sound.
const REPORT_KEY = 'nanoseek.backend.report';
/** The longest a page may hold the kernel measurement (holdMeasurement). */
const HOLD_MS = 10_000;
/** A stored forced choice longer than this is not a backend name. */
const MAX_NAME_LENGTH = 64;

export type BackendStatus = 'idle' | 'measuring' | 'ready' | 'failed';

const EMPTY: ReportView = { candidates: [], ops: [], fallbacks: [] };

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Selected extends Backend {
  readonly report: import('$kernels/select').SelectionReport;
  destroy(): void;
}

function storageGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage blocked
  }
}

function storageSet(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // not persisted; harmless
  }
}

export class BackendController {
  status = $state<BackendStatus>('idle');
  /** The backend to compute with: the selected one, or the fastest default until (or unless) one is. */
  backend = $state.raw<Backend>(referenceBackend);
  /** The last selection report, read for display. */
  view = $state.raw<ReportView>(EMPTY);
  /** Why selection failed, when it did (the reference is then in use). */
  error = $state<string | null>(null);
  /** Something the reader should know that is not a failure (a stored choice dropped, a forced backend abandoned). */
  notice = $state<string | null>(null);
  /** AUTO, or the name of the backend the user forced. */
  force = $state(AUTO);
  /** Backend names the switch offers (every available candidate seen so far). */
  choices = $state.raw<string[]>([]);
  /** Where the running measurement runs ('worker': off the main thread, the page computing meanwhile), else null. */
  measuringIn = $state<'worker' | 'page' | null>(null);
  /** Wall time of the last selection, in ms. */
  elapsedMs = $state<number | null>(null);

  #run = 0;
  #seenFallbacks = 0;
  /** What the measurement waits for before it starts (a lesson page's first figures). */
  #holds: Promise<unknown>[] = [];
  #settleFirst: () => void = () => {};
  /**
   * Resolves once there is a backend worth computing with: a stored choice rebuilt, or (while a
   * measurement runs) the fastest default; on failure, the reference. A page starts its cells then,
   * so nothing is computed on the float64 reference only to be computed again a moment later.
   */
  readonly first: Promise<void> = new Promise((resolve) => (this.#settleFirst = resolve));

  /** Short name of what is active: the per-op choice, or the reference label. */
  get label(): string {
    if (this.status === 'failed') return REFERENCE_LABEL;
    return summarizeChoice(this.view) || this.backend.name;
  }

  /**
   * Hold the kernel measurement until `until` settles (at most HOLD_MS): a lesson page holds it
   * until its first figures are computed. On a machine with few cores the measurement's worker
   * would otherwise take a core from the page's first figures (and its timings would be taken
   * while the page computes). Call before the measurement reaches its worker (on mount).
   */
  holdMeasurement(until: Promise<unknown>): void {
    this.#holds.push(until);
  }

  /** Measure once per page (later calls are no-ops). Browser only. */
  start(): void {
    if (this.status !== 'idle') return;
    let force = storageGet(STORAGE_KEY) ?? AUTO;
    if (force.length === 0 || force.length > MAX_NAME_LENGTH) {
      this.notice = 'The stored backend choice was not a backend name: back to auto.';
      force = AUTO;
      storageSet(STORAGE_KEY, AUTO);
    }
    void this.measure(force, true);
  }

  /**
   * Choose again, forcing `force` unless it is AUTO. With `fromStorage` (the page's first
   * selection), a stored report that passes checkStoredReport is reused instead of measuring.
   * The newest call wins.
   */
  async measure(force: string, fromStorage = false): Promise<void> {
    const run = ++this.#run;
    this.force = force;
    this.status = 'measuring';
    this.error = null;
    storageSet(STORAGE_KEY, force);
    const t0 = performance.now();
    try {
      const select = await import('$kernels/select');
      let reuse: import('$kernels/select').SelectionReport | undefined;
      if (force === AUTO && fromStorage) {
        const text = storageGet(REPORT_KEY);
        if (text !== null) {
          let stored: unknown = null;
          try {
            stored = JSON.parse(text);
          } catch {
            // refused below as "not an object"
          }
          const checked = select.checkStoredReport(stored, Date.now());
          if ('report' in checked) reuse = checked.report;
          else {
            storageSet(REPORT_KEY, null);
            if (!/older than/.test(checked.refused)) this.notice = `The stored backend measurement was dropped (${checked.refused}): measuring again.`;
          }
        }
      }
      if (run === this.#run && this.backend === referenceBackend && !(force === AUTO && reuse)) {
        // Compute with the fastest default while measuring (the reference only if even the loop is refused);
        // a stored choice is rebuilt in a moment, and used from the start.
        const { fastestBackend } = await import('$kernels/fastest');
        if (run === this.#run && this.backend === referenceBackend) this.backend = await fastestBackend();
        this.#settleFirst();
      }
      // With no GPU to offer, the measurement runs in a worker: the page's figures do not wait for it.
      let measured: import('$kernels/select').SelectionReport | undefined;
      if (force === AUTO && !reuse && typeof Worker === 'function') {
        const where = await import('./backend-measure');
        const noGpu = where.noGpuReason();
        if (noGpu !== null) {
          // The page's first figures first (a lesson page holds the measurement until they are computed).
          if (this.#holds.length > 0) await Promise.race([Promise.allSettled(this.#holds), new Promise((r) => setTimeout(r, HOLD_MS))]);
          if (run !== this.#run) return;
          try {
            this.measuringIn = 'worker';
            measured = await where.measureInWorker(noGpu);
          } catch (e) {
            if (run === this.#run) this.notice = `Measuring the kernels in a worker failed (${message(e)}): measured on the page instead.`;
          }
        }
        if (run !== this.#run) return;
      }
      if (!measured && force === AUTO && !reuse) this.measuringIn = 'page';
      const selected = (await select.selectBackend(
        force !== AUTO ? { force } : measured ? { reuse: measured, reuseNote: 'measured in a background worker' } : reuse ? { reuse } : {},
      )) as Selected;
      if (run !== this.#run) {
        release(selected); // a newer choice is on its way
        return;
      }
      if (force === AUTO && (measured || !reuse)) storageSet(REPORT_KEY, JSON.stringify({ at: Date.now(), report: measured ?? selected.report }));
      const view = readReport(selected.report);
      this.#seenFallbacks = selected.report.fallbacks.length;
      const previous = this.backend;
      this.backend = selected;
      if (previous !== selected) release(previous);
      this.view = view;
      this.choices = [...new Set([...this.choices, ...view.candidates.filter((c) => c.available).map((c) => c.name)])];
      this.status = 'ready';
    } catch (e) {
      if (run !== this.#run) return;
      console.warn('[nanoseek] backend selection failed; using the reference loop:', e);
      release(this.backend);
      this.backend = referenceBackend;
      this.view = EMPTY;
      this.error = message(e);
      if (!this.choices.includes(referenceBackend.name)) this.choices = [...this.choices, referenceBackend.name];
      this.status = 'failed';
    } finally {
      if (run === this.#run) {
        this.elapsedMs = performance.now() - t0;
        this.measuringIn = null;
      }
      this.#settleFirst();
    }
  }

  /**
   * Re-read the report if the backend added fallbacks since (the dispatcher appends run-time
   * fallbacks to its live report). A forced backend abandoned for being too slow is not forced
   * again on the next page: the stored choice goes back to auto, and the badge says so.
   * Cheap; the badge calls it every few seconds.
   */
  refresh(): void {
    if (this.status !== 'ready') return;
    const report = (this.backend as Partial<Selected>).report;
    const n = report?.fallbacks.length ?? 0;
    if (!report || n === this.#seenFallbacks) return;
    const fresh = report.fallbacks.slice(this.#seenFallbacks);
    this.#seenFallbacks = n;
    this.view = readReport(report);
    const abandoned = report.forced !== null && fresh.find((f) => f.op === '*' && f.from === report.forced);
    if (abandoned) {
      storageSet(STORAGE_KEY, AUTO);
      this.notice = `${report.forced} was too slow here (${abandoned.reason}): this page moved to ${abandoned.to}, and the next page chooses automatically.`;
    }
  }
}

/** Free a replaced backend's kernels and GPU contexts (select.ts backends have destroy()). */
function release(backend: Backend): void {
  const b = backend as Backend & { destroy?: () => void };
  if (b === referenceBackend || typeof b.destroy !== 'function') return;
  try {
    b.destroy();
  } catch (e) {
    console.warn('[nanoseek] releasing a backend failed:', e);
  }
}

/** The page-wide instance. */
export const backendState = new BackendController();
