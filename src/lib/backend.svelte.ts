// The page's compute backend: which one is active, how it was chosen, and the user's override.
// One shared instance, so every BackendBadge shows the same state and lessons can read
// `backendState.backend` (read it at each computation rather than keeping it: a replaced backend
// is destroyed to free its GPU contexts). Measurement happens only in the browser (start() is called on mount).
//
// kernels/select.ts (selectBackend) is looked up with import.meta.glob, so this module builds and
// runs, falling back to the plain-loop reference, even in a tree where select.ts does not exist yet
// or fails to load.
import type { Backend } from '$kernels/backend';
import { referenceBackend } from '$kernels/reference';
import { readReport, summarizeChoice, type ReportView } from './backend-report';

interface SelectedBackend extends Backend {
  readonly report?: unknown;
}
interface SelectModule {
  selectBackend?: (options?: { force?: string; reuse?: unknown }) => Promise<SelectedBackend>;
}

const selectModules = import.meta.glob<SelectModule>('/kernels/select.ts');

/** What the badge says when select.ts could not be used. */
export const REFERENCE_LABEL = 'plain loop (reference)';
/** The switch's value for "let the measurement decide". */
export const AUTO = 'auto';

const STORAGE_KEY = 'nanoseek.backend';
// The last measurement: later pages (and other tabs) reuse its choices for a day instead of
// measuring again (~1.5 s), so every page of a session computes with the same kernels.
const REPORT_KEY = 'nanoseek.backend.report';
const REPORT_MAX_AGE_MS = 24 * 3600 * 1000;

export type BackendStatus = 'idle' | 'measuring' | 'ready' | 'failed';

const EMPTY: ReportView = { candidates: [], ops: [], fallbacks: [] };

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class BackendController {
  status = $state<BackendStatus>('idle');
  /** The backend to compute with: the selected one, or the reference until (or unless) one is. */
  backend = $state.raw<Backend>(referenceBackend);
  /** The last selection report, read for display. */
  view = $state.raw<ReportView>(EMPTY);
  /** Why selection failed, when it did (the reference is then in use). */
  error = $state<string | null>(null);
  /** AUTO, or the name of the backend the user forced. */
  force = $state(AUTO);
  /** Backend names the switch offers (every available candidate seen so far). */
  choices = $state.raw<string[]>([]);
  /** Wall time of the last selection, in ms. */
  elapsedMs = $state<number | null>(null);

  #run = 0;
  #seenFallbacks = 0;

  /** Short name of what is active: the per-op choice, or the reference label. */
  get label(): string {
    if (this.status === 'failed') return REFERENCE_LABEL;
    return summarizeChoice(this.view) || this.backend.name;
  }

  /** Measure once per page (later calls are no-ops). Browser only. */
  start(): void {
    if (this.status !== 'idle') return;
    let saved: string | null = null;
    try {
      saved = localStorage.getItem(STORAGE_KEY);
    } catch {
      // storage blocked: start from auto
    }
    let reuse: unknown;
    try {
      const text = localStorage.getItem(REPORT_KEY);
      const saved = text ? (JSON.parse(text) as { at?: number; report?: unknown }) : undefined;
      reuse = saved && typeof saved.at === 'number' && Date.now() - saved.at < REPORT_MAX_AGE_MS ? saved.report : undefined;
    } catch {
      reuse = undefined;
    }
    void this.measure(saved || AUTO, reuse);
  }

  /**
   * Choose again, forcing `force` unless it is AUTO; with `reuse` (an earlier report of this
   * session), take its choices instead of measuring. The newest call wins.
   */
  async measure(force: string, reuse?: unknown): Promise<void> {
    const run = ++this.#run;
    this.force = force;
    this.status = 'measuring';
    this.error = null;
    try {
      localStorage.setItem(STORAGE_KEY, force);
    } catch {
      // not persisted; harmless
    }
    const t0 = performance.now();
    try {
      const load = selectModules['/kernels/select.ts'];
      if (!load) throw new Error('kernels/select.ts is not part of this build yet');
      const mod = await load();
      if (typeof mod.selectBackend !== 'function') throw new Error('kernels/select.ts does not export selectBackend()');
      const selected = await mod.selectBackend(force === AUTO ? (reuse ? { reuse } : undefined) : { force });
      if (run !== this.#run) {
        release(selected); // a newer choice is on its way
        return;
      }
      if (force === AUTO && !reuse) {
        try {
          localStorage.setItem(REPORT_KEY, JSON.stringify({ at: Date.now(), report: selected.report }));
        } catch {
          // not kept: the next page measures again
        }
      }
      const view = readReport(selected.report);
      this.#seenFallbacks = fallbackCount(selected);
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
      if (run === this.#run) this.elapsedMs = performance.now() - t0;
    }
  }

  /**
   * Re-read the report if the backend added fallbacks since (select.ts appends run-time fallbacks
   * to its live report). Cheap; the badge calls it every few seconds.
   */
  refresh(): void {
    if (this.status !== 'ready') return;
    const n = fallbackCount(this.backend);
    if (n === this.#seenFallbacks) return;
    this.#seenFallbacks = n;
    this.view = readReport((this.backend as SelectedBackend).report);
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

function fallbackCount(backend: Backend): number {
  const report = (backend as SelectedBackend).report as { fallbacks?: unknown } | undefined;
  return Array.isArray(report?.fallbacks) ? report.fallbacks.length : 0;
}

/** The page-wide instance. */
export const backendState = new BackendController();
