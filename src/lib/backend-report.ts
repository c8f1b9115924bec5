// Reads the plain-JSON `report` that kernels/select.ts attaches to the backend it returns, and
// turns it into the few lists the BackendBadge draws. The reader is lenient on purpose: it accepts
// arrays or name-keyed records and a few common field spellings, so the badge keeps working while
// the report's exact shape settles. Anything it cannot read is left out, never invented.

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
  /** Per-size choices, when the report has them. */
  buckets: BucketView[];
}

export interface ReportView {
  candidates: CandidateView[];
  ops: OpView[];
  fallbacks: string[];
}

type Rec = Record<string, unknown>;

const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);

function pick(r: Rec, keys: readonly string[]): unknown {
  for (const k of keys) if (r[k] !== undefined && r[k] !== null) return r[k];
  return undefined;
}

function str(x: unknown): string | undefined {
  if (typeof x === 'string' && x.trim() !== '') return x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (isRec(x)) return str(pick(x, NAME_KEYS));
  return undefined;
}

function num(x: unknown): number | undefined {
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  if (isRec(x)) return num(pick(x, MS_KEYS));
  return undefined;
}

const NAME_KEYS = ['name', 'backend', 'id', 'label'] as const;
const MS_KEYS = ['ms', 'medianMs', 'median', 'timeMs', 'time', 'mean', 'meanMs'] as const;
const CHOSEN_KEYS = ['chosen', 'choice', 'backend', 'winner', 'selected', 'use', 'name'] as const;
const TIMING_KEYS = ['timings', 'timingsMs', 'times', 'measurements', 'ms', 'results'] as const;
const REASON_KEYS = ['reason', 'error', 'why', 'message', 'note'] as const;

/** [key, value] pairs of an array (key from a name field) or of a record (its own keys). */
function entries(x: unknown, nameKeys: readonly string[]): Array<[string, unknown]> {
  if (Array.isArray(x)) {
    const out: Array<[string, unknown]> = [];
    for (const item of x) {
      const key = isRec(item) ? str(pick(item, nameKeys)) : str(item);
      if (key !== undefined) out.push([key, item]);
    }
    return out;
  }
  if (isRec(x)) return Object.entries(x);
  return [];
}

function readCandidates(raw: Rec): CandidateView[] {
  const list = pick(raw, ['candidates', 'backends', 'available']);
  return entries(list, NAME_KEYS).map(([name, v]) => {
    if (typeof v === 'boolean') return { name, available: v };
    if (!isRec(v)) return { name, available: true };
    const flag = pick(v, ['available', 'ok', 'usable', 'supported']);
    const reasons: string[] = [];
    const reason = str(pick(v, REASON_KEYS));
    if (reason) reasons.push(reason);
    const available = flag === undefined ? reason === undefined : Boolean(flag);
    // An available candidate may still be unusable for some ops: say which (per-op probe results
    // other than "ok"). For an unavailable one the overall reason says enough.
    if ((available || !reason) && isRec(v.probe)) {
      for (const [op, result] of Object.entries(v.probe)) {
        if (typeof result === 'string' && result !== 'ok') reasons.push(`not used for ${op} (probe: ${result})`);
      }
    }
    return { name, available, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
  });
}

function readTimings(x: unknown): TimingView[] {
  const out: TimingView[] = [];
  for (const [name, v] of entries(x, NAME_KEYS)) {
    const ms = num(v);
    if (ms !== undefined) out.push({ name, ms });
  }
  return out.sort((a, b) => a.ms - b.ms);
}

function readBuckets(x: unknown): BucketView[] {
  return entries(x, ['bucket', 'name']).flatMap(([name, v]): BucketView[] => {
    if (typeof v === 'string') return [{ name, chosen: v, timings: [] }];
    if (!isRec(v)) return [];
    const timings = readTimings(pick(v, TIMING_KEYS));
    const chosen = str(pick(v, CHOSEN_KEYS.filter((k) => k !== 'name'))) ?? timings[0]?.name ?? '?';
    const shape = str(v.shape);
    const notes: string[] = [];
    const fallback = str(v.fallback);
    if (fallback) notes.push(`fell back: ${fallback}`);
    if (isRec(v.notes)) {
      for (const [who, text] of Object.entries(v.notes)) if (typeof text === 'string') notes.push(`${who}: ${text}`);
    }
    return [{ name, chosen, timings, ...(shape ? { shape } : {}), ...(notes.length ? { note: notes.join('; ') } : {}) }];
  });
}

function readOps(raw: Rec): OpView[] {
  const list = pick(raw, ['ops', 'perOp', 'choices', 'choice', 'selection', 'chosen']);
  return entries(list, ['op', 'name']).map(([op, v]) => {
    if (typeof v === 'string') return { op, chosen: v, timings: [], buckets: [] };
    if (!isRec(v)) return { op, chosen: '?', timings: [], buckets: [] };
    const timings = readTimings(pick(v, TIMING_KEYS));
    const chosenKeys = CHOSEN_KEYS.filter((k) => !(k === 'name' && v.op === undefined && str(v.name) === op));
    const chosen = str(pick(v, chosenKeys)) ?? timings[0]?.name ?? '?';
    return { op, chosen, timings, buckets: readBuckets(pick(v, ['buckets', 'sizes'])) };
  });
}

function readFallbacks(raw: Rec): string[] {
  const list = pick(raw, ['fallbacks', 'fallback', 'errors']);
  const items = Array.isArray(list) ? list : list === undefined ? [] : [list];
  const out: string[] = [];
  for (const f of items) {
    if (typeof f === 'string') out.push(f);
    else if (isRec(f)) {
      const op = f.op === '*' ? 'all ops' : str(f.op);
      const bucket = str(f.bucket);
      const from = str(pick(f, ['from', 'backend', 'wanted', 'requested']));
      const to = str(pick(f, ['to', 'using', 'fallback', 'instead']));
      const reason = str(pick(f, REASON_KEYS));
      const where = op && bucket ? `${op} (${bucket})` : op;
      const head = [where, from && to ? `${from} → ${to}` : (from ?? to)].filter(Boolean).join(': ');
      const text = [head, reason].filter(Boolean).join(head && reason ? ' — ' : '');
      if (text) out.push(text);
    }
  }
  return out;
}

/** Read a selection report (any JSON value) into the badge's lists. */
export function readReport(raw: unknown): ReportView {
  if (!isRec(raw)) return { candidates: [], ops: [], fallbacks: [] };
  return { candidates: readCandidates(raw), ops: readOps(raw), fallbacks: readFallbacks(raw) };
}

/**
 * What runs, in a few words: "reference" when every op (at every size) chose it,
 * "reference + gpu.js webasm" when choices differ, "" when the report names none.
 */
export function summarizeChoice(view: ReportView): string {
  const chosen = new Set<string>();
  for (const o of view.ops) {
    if (o.chosen !== '?') chosen.add(o.chosen);
    for (const b of o.buckets) if (b.chosen !== '?') chosen.add(b.chosen);
  }
  return [...chosen].join(' + ');
}

/** A duration for people: "0.42 ms", "12 ms", "1.3 s". */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 0.1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}
