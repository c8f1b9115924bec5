// The selection report: plain JSON, shown by the backend badge and stored by the page so later
// pages reuse the choice. A stored report is read back through checkStoredReport, which refuses
// anything malformed or stale (with a one-line reason for the badge) instead of trusting it.
import { type Backend, OP_NAMES, type OpName } from '../backend.js';
import { BUCKET_NAMES, type BucketName } from './workloads.js';

export interface CandidateReport {
  name: string;
  kind: 'reference' | 'loop' | 'wasm' | 'gpu.js' | 'custom';
  /** The gpu.js mode, for kind 'gpu.js'. */
  mode?: string;
  /** Constructed and passed the probe for at least one op. */
  available: boolean;
  /** Why it is unavailable (construction error, async-only, every probe failed). */
  reason?: string;
  constructMs?: number;
  /** Time of the correctness probe (includes compiling its kernels), ms. */
  probeMs?: number;
  /** Per op: 'ok', or why the probe failed (absent: not probed). */
  probe: Partial<Record<OpName, string>>;
}

export interface CellReport {
  /** The candidate calls in this op and bucket are routed to. */
  chosen: string;
  /** Whether the choice comes from a measurement in this cell (false: inherited, forced or defaulted). */
  measured: boolean;
  /** The measured shape, e.g. "16x32x64". */
  shape: string;
  /** ms per call of each candidate measured: its fastest sample (see SelectionReport.clock). */
  timingsMs: Record<string, number>;
  /** The first call of each candidate (includes kernel compilation), ms. */
  firstCallMs?: Record<string, number>;
  /** Why a candidate was skipped or stopped in this cell, or how the choice was made. */
  notes?: Record<string, string>;
  /** Set when a run-time failure moved this cell to the reference. */
  fallback?: string;
  /** Rounds of samples taken (measured cells). */
  rounds?: number;
  /** The decision came out the same in the last rounds (measure.ts stableRounds). */
  stable?: boolean;
  /** Not stable: the candidates that won one of the last rounds (the simplest of them was taken). */
  unsettled?: string[];
}

export interface OpReport {
  /** The most common choice across buckets (ties: the smaller bucket); per-bucket choices in `buckets`. */
  chosen: string;
  /** Timings of the first measured bucket (medium, else small, else large) whose choice is `chosen`. */
  timingsMs: Record<string, number>;
  buckets: Record<BucketName, CellReport>;
}

export interface FallbackRecord {
  op: OpName | '*';
  from: string;
  to: string;
  bucket?: BucketName;
  reason: string;
  /** ms since selection started. */
  atMs: number;
}

export interface SelectionReport {
  name: string;
  forced: string | null;
  /** The choices were taken from an earlier report (options.reuse), not measured now. */
  reused: boolean;
  environment: 'browser' | 'worker' | 'node' | 'unknown';
  budgetMs: number;
  /** Construction + probes + measurement, ms. */
  elapsedMs: number;
  /** The measurement phase alone, ms. */
  measureMs: number;
  /** Importing gpu.js, ms (null when no gpu.js mode was tried). */
  gpuJsLoadMs: number | null;
  buckets: Record<BucketName, { maxSize: number | null; shapes: Record<OpName, string> }>;
  sizeRule: string;
  /** 'cpu': process CPU time (Node), so other processes' load does not count; 'wall': performance.now() (browsers). */
  clock: 'cpu' | 'wall';
  /** How the winner is picked among the measured timings. */
  decisionRule: string;
  /** The machine-and-build key the table was stored or looked up under (options.table), else null. */
  tableKey?: string | null;
  candidates: CandidateReport[];
  ops: Record<OpName, OpReport>;
  fallbacks: FallbackRecord[];
}

/** The Backend selectBackend returns. */
export interface SelectedBackend extends Backend {
  readonly report: SelectionReport;
  /** Name of the candidate that a call of `op` in `bucket` runs on now. */
  routeOf(op: OpName, bucket: BucketName): string;
  /** Release gpu.js kernels and contexts. */
  destroy(): void;
}

/** An op's summary from its buckets: the most common choice (ties: the smaller bucket). */
export function summarize(buckets: Record<BucketName, CellReport>): { chosen: string; timingsMs: Record<string, number> } {
  const count = new Map<string, number>();
  for (const b of BUCKET_NAMES) count.set(buckets[b].chosen, (count.get(buckets[b].chosen) ?? 0) + 1);
  let chosen = buckets.small.chosen;
  for (const b of BUCKET_NAMES) if ((count.get(buckets[b].chosen) ?? 0) > (count.get(chosen) ?? 0)) chosen = buckets[b].chosen;
  for (const b of ['medium', 'small', 'large'] as const) {
    if (buckets[b].measured && buckets[b].chosen === chosen) return { chosen, timingsMs: buckets[b].timingsMs };
  }
  return { chosen, timingsMs: {} };
}

// ---- reading a stored report back ----

/** How long a stored choice is reused before measuring again. */
export const STORED_REPORT_MAX_AGE_MS = 24 * 3600 * 1000;
/** Clock skew tolerated on a stored timestamp; later than this in the future is corrupt. */
const FUTURE_SLACK_MS = 5 * 60 * 1000;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Why `timings` is not a name -> ms record of finite non-negative numbers, or null. */
function badTimings(t: unknown, where: string): string | null {
  if (!isRecord(t)) return `${where}: timings are not a name -> ms record`;
  for (const [name, ms] of Object.entries(t)) {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return `${where}: timing of ${JSON.stringify(name)} is not a duration`;
  }
  return null;
}

/**
 * Check a report as stored ({ at: ms since epoch, report }) against what selectBackend writes.
 * Returns the report, or why it was refused: not a report, an op, bucket or candidate missing or
 * named twice, a timing that is not a duration, a timestamp in the future (corrupt: it would never
 * expire) or one older than maxAgeMs.
 */
export function checkStoredReport(stored: unknown, nowMs: number, maxAgeMs = STORED_REPORT_MAX_AGE_MS): { report: SelectionReport } | { refused: string } {
  if (!isRecord(stored)) return { refused: 'not an object' };
  const at = stored.at;
  if (typeof at !== 'number' || !Number.isFinite(at)) return { refused: 'no time of measurement' };
  if (at > nowMs + FUTURE_SLACK_MS) return { refused: `measured in the future (${new Date(at).toISOString()})` };
  if (nowMs - at > maxAgeMs) return { refused: `older than ${Math.round(maxAgeMs / 3600000)} h` };
  const r = stored.report;
  if (!isRecord(r) || !isRecord(r.ops) || !Array.isArray(r.candidates) || !Array.isArray(r.fallbacks)) return { refused: 'not a selection report' };
  const names = new Set<string>();
  for (const c of r.candidates) {
    if (!isRecord(c) || typeof c.name !== 'string' || typeof c.available !== 'boolean') return { refused: 'a candidate without a name' };
    if (names.has(c.name)) return { refused: `candidate ${JSON.stringify(c.name)} listed twice` };
    names.add(c.name);
  }
  for (const op of OP_NAMES) {
    const o = r.ops[op];
    if (!isRecord(o) || !isRecord(o.buckets) || typeof o.chosen !== 'string') return { refused: `no choice for ${op}` };
    const bad = badTimings(o.timingsMs, op);
    if (bad) return { refused: bad };
    for (const b of BUCKET_NAMES) {
      const cell = o.buckets[b];
      if (!isRecord(cell) || typeof cell.chosen !== 'string') return { refused: `no choice for ${op} (${b})` };
      if (!names.has(cell.chosen)) return { refused: `${op} (${b}) chose ${JSON.stringify(cell.chosen)}, which is not a candidate` };
      const badCell = badTimings(cell.timingsMs, `${op} (${b})`);
      if (badCell) return { refused: badCell };
    }
  }
  for (const op of Object.keys(r.ops)) if (!(OP_NAMES as readonly string[]).includes(op)) return { refused: `unknown op ${JSON.stringify(op)}` };
  return { report: r as unknown as SelectionReport };
}
