// Turns the selection report of kernels/select.ts (SelectionReport, plain JSON) into the few lists
// the BackendBadge draws. A report read back from storage has been checked by checkStoredReport
// first; this reader only formats, and returns empty lists for anything that is not a report.
import type { SelectionReport } from '$kernels/select';

export interface CandidateView {
  name: string;
  available: boolean;
  reason?: string;
}

export interface TimingView {
  name: string;
  ms: number;
}

/** The choice for one size bucket of an op (select.ts routes each op by problem size). */
export interface BucketView {
  name: string;
  chosen: string;
  /** The measured shape, e.g. "16x32x64". */
  shape?: string;
  /** Fastest first; empty when the bucket was not measured. */
  timings: TimingView[];
  /** Why it was not measured, how it was chosen, or a run-time fallback. */
  note?: string;
}

export interface OpView {
  op: string;
  chosen: string;
  /** Fastest first. */
  timings: TimingView[];
  /** Per-size choices. */
  buckets: BucketView[];
}

export interface ReportView {
  candidates: CandidateView[];
  ops: OpView[];
  fallbacks: string[];
}

const EMPTY: ReportView = { candidates: [], ops: [], fallbacks: [] };

function timings(t: Record<string, number> | undefined): TimingView[] {
  return Object.entries(t ?? {}).map(([name, ms]) => ({ name, ms })).sort((a, b) => a.ms - b.ms);
}

/** Read a selection report into the badge's lists (empty lists when `raw` is not a report). */
export function readReport(raw: unknown): ReportView {
  const r = raw as Partial<SelectionReport> | null;
  if (!r || typeof r !== 'object' || !r.ops || !Array.isArray(r.candidates)) return EMPTY;
  const candidates = r.candidates.map((c): CandidateView => {
    const reasons: string[] = [];
    if (c.reason) reasons.push(c.reason);
    // An available candidate may still be unusable for some ops: say which.
    if (c.available) for (const [op, result] of Object.entries(c.probe ?? {})) if (result !== 'ok') reasons.push(`not used for ${op} (probe: ${result})`);
    return { name: c.name, available: c.available, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
  });
  const ops = Object.entries(r.ops).map(([op, o]): OpView => ({
    op,
    chosen: o.chosen,
    timings: timings(o.timingsMs),
    buckets: Object.entries(o.buckets).map(([name, cell]): BucketView => {
      const notes: string[] = [];
      if (cell.fallback) notes.push(`fell back: ${cell.fallback}`);
      for (const [who, text] of Object.entries(cell.notes ?? {})) notes.push(`${who}: ${text}`);
      return { name, chosen: cell.chosen, timings: timings(cell.timingsMs), shape: cell.shape, ...(notes.length ? { note: notes.join('; ') } : {}) };
    }),
  }));
  const fallbacks = (r.fallbacks ?? []).map((f) => {
    const where = f.op === '*' ? 'all ops' : f.bucket ? `${f.op} (${f.bucket})` : f.op;
    return `${where}: ${f.from} → ${f.to} — ${f.reason}`;
  });
  return { candidates, ops, fallbacks };
}

/**
 * What runs, in a few words: "reference" when every op (at every size) chose it,
 * "reference + wasm" when choices differ, "" when the report names none.
 */
export function summarizeChoice(view: ReportView): string {
  const chosen = new Set<string>();
  for (const o of view.ops) {
    chosen.add(o.chosen);
    for (const b of o.buckets) chosen.add(b.chosen);
  }
  return [...chosen].join(' + ');
}

/** A duration for people: "0.42 ms", "12 ms", "1.3 s". */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 0.1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(ms >= 0.001 ? 0 : 1)} µs`;
}
