// The per-op backend chooser. Availability is not speed (without a GPU, gpu.js's WebGL2 runs ~10x
// slower than a plain loop), so every candidate that works here is measured on each op at the
// shapes the engine calls (a decode row, a prefill block, a training batch), deterministically:
// process CPU time, sampled in rounds until the choice comes out the same 3 rounds in a row, ties
// (within 15%) to the simpler candidate, and the winner table stored per machine and build
// (options.table) so the same machine reuses the same choice (decide.ts, measure.ts,
// table-key.ts); a GPU or custom candidate replaces the CPU choice for an op and size bucket only
// when it measured at least 2x faster, never for an elementwise op.
// The parts, one job each (kernels/select/):
// - workloads.ts   size buckets, inputs, the measured shapes (decode row, prefill block, training batch)
// - candidates.ts  building the candidates (reference, loop, wasm, gpu.js modes, custom), the correctness probe
// - measure.ts     timing one cell: CPU time where there is one, rounds of samples until the choice is stable
// - decide.ts      the decision rule of a cell: tie margin toward the simpler, the margin a GPU/custom candidate must beat
// - table-key.ts   the key of a stored winner table (machine and build), and stores for it
// - dispatch.ts    routing calls; falling back when a kernel throws or a watched backend is too slow
// - report.ts      the plain-JSON report, and checking a stored one before reuse
// This file runs them in order: candidates, probes, measurement (all small cells first, then
// medium, then large; each cell until its choice is stable), decision, dispatch. `reuse` takes an earlier report's table instead of measuring (the
// winner table cached: the same machine keeps the same choice), `force` routes every op to one
// candidate.
import { type Backend, OP_NAMES, type OpName } from './backend.js';
import { loopBackend } from './loop.js';
import { referenceBackend } from './reference.js';
import { type Candidate, gatherCandidates, simplicity } from './select/candidates.js';
import { cellChoice, DEFAULT_TIE_MARGIN, fixedRuleChoice, TIMING_RULE } from './select/decide.js';
import { AutoBackend, cpuFallback, type Route } from './select/dispatch.js';
import { type MeasureSettings, measureCell, type Previous, selectClock } from './select/measure.js';
import { type CellReport, checkStoredReport, type OpReport, type SelectedBackend, type SelectionReport, summarize } from './select/report.js';
import { environment, now, round, yieldNow } from './select/util.js';
import { selectionTableKey, type TableStore } from './select/table-key.js';
import { BUCKET_LIMITS, BUCKET_NAMES, type BucketName, MEASURE_SHAPES } from './select/workloads.js';

export { BUCKET_LIMITS, BUCKET_NAMES, bucketOf, bucketOfSize, makeWorkload, MEASURE_SHAPES, opSize, PROBE_SHAPES, randomFloats } from './select/workloads.js';
export type { BucketName, Workload } from './select/workloads.js';
export { checkStoredReport, STORED_REPORT_MAX_AGE_MS } from './select/report.js';
export type { CandidateReport, CellReport, FallbackRecord, OpReport, SelectedBackend, SelectionReport } from './select/report.js';
export { cellChoice, CPU_RULE_ORDER, decide, DEFAULT_TIE_MARGIN, ELEMENTWISE_OPS, FIXED_RULE_OPS, fixedRuleChoice, FOREIGN_MARGIN, TIE_FLOOR_MS, TIMING_RULE } from './select/decide.js';
export { memoryTable, selectionTableKey, type TableStore } from './select/table-key.js';

export interface SelectOptions {
  /**
   * Recorded in the report only (default 1500; 600 with `quick`): a cell is sampled until its
   * choice is stable (at most maxRounds rounds) whatever the time, so a loaded machine slows the
   * selection down instead of changing its answer.
   */
  budgetMs?: number;
  /** Shorter samples and fewer rounds at most, for tests and CLIs that only need a sane choice. */
  quick?: boolean;
  /** gpu.js modes to try (default: all of GPUJS_MODES); `false` or [] for none. */
  gpujs?: readonly string[] | false;
  /** Report every gpu.js mode as not tried, for this reason (a worker measuring for a page that has no GPU to offer). */
  gpujsSkipped?: string;
  /**
   * Reuse the choices of an earlier report (e.g. this session's first page) instead of measuring:
   * only the candidates it chose are built and probed; a choice that no longer works here falls
   * back to the reference, with a note. (A stored report must pass checkStoredReport first.)
   */
  reuse?: SelectionReport;
  /** What the report says of a reused choice (default: reused from an earlier measurement). */
  reuseNote?: string;
  /** Include the tuned plain loop (loop.ts) as a candidate (default true). */
  loop?: boolean;
  /** Include the WebAssembly SIMD kernels (wasm.ts) as a candidate (default true). */
  wasm?: boolean;
  /** Extra candidates (custom kernels, or deliberately failing ones in tests). Names must be unique. */
  candidates?: readonly Backend[];
  /** Use this candidate (by name: 'reference', 'loop', 'wasm', 'gpu.js webasm', ...) for every op; no measurement. */
  force?: string;
  /** A simpler candidate within this fraction of the fastest is chosen instead (default 0.15; a gpu.js or custom candidate must beat the fixed CPU choice by FOREIGN_MARGIN at least). */
  tieMargin?: number;
  /** A gpu.js or custom candidate's call longer than this (ms) moves its ops to the CPU (default 50: a slider's budget). */
  slowCallMs?: number;
  /** The same, for a call that compiled a kernel (default 1000). */
  compileCallMs?: number;
  /** Where the once-per-op warning goes (default console.warn). */
  warn?: (message: string) => void;
  /**
   * The winner table stored per machine and build: a table stored under this machine's key
   * (selectionTableKey) is reused instead of measuring; a measured one is saved there. Not with
   * `force` or `reuse`.
   */
  table?: TableStore;
}

/** The per-op, per-bucket choices of an earlier report, if it is complete; else null. */
function reusableChoices(report: SelectionReport | undefined): { names: Set<string>; cells: Record<OpName, Record<BucketName, CellReport>> } | null {
  if (!report || typeof report !== 'object' || !report.ops) return null;
  const names = new Set<string>();
  const cells = {} as Record<OpName, Record<BucketName, CellReport>>;
  for (const op of OP_NAMES) {
    const buckets = report.ops[op]?.buckets;
    if (!buckets) return null;
    for (const b of BUCKET_NAMES) {
      if (typeof buckets[b]?.chosen !== 'string') return null;
      names.add(buckets[b].chosen);
    }
    cells[op] = buckets;
  }
  return { names, cells };
}

const shapeOf = (op: OpName, b: BucketName): string => MEASURE_SHAPES[op][b].join('x');

/**
 * Measure what works here and return a Backend that routes each op, by size, to the chosen
 * candidate (or to `options.force` for every op). Never rejects because a candidate is missing:
 * the reference is always there.
 */
export async function selectBackend(options: SelectOptions = {}): Promise<SelectedBackend> {
  const t0 = now();
  const quick = options.quick === true;
  const budgetMs = options.budgetMs ?? (quick ? 600 : 1500);
  const tieMargin = options.tieMargin ?? DEFAULT_TIE_MARGIN;
  const settings: MeasureSettings = {
    cellCapMs: quick ? 20 : 80,
    warmCalls: 20,
    warmMs: quick ? 3 : 6,
    sampleMs: quick ? 1 : 2,
    maxRounds: quick ? 10 : 14,
    stableRounds: 3,
    skipRatio: 8,
  };
  const clock = selectClock();
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const loadMs = { value: null as number | null };
  // a table stored for this machine and build stands for options.reuse
  const table = options.force === undefined && options.reuse === undefined ? options.table : undefined;
  const tableKey = table ? await selectionTableKey() : null;
  let fromTable: SelectionReport | undefined;
  if (table && tableKey) {
    const checked = checkStoredReport(await table.load(tableKey), Date.now(), Infinity);
    if ('report' in checked) fromTable = checked.report;
  }
  const reuse = options.force === undefined ? reusableChoices(options.reuse ?? fromTable) : null;
  const candidates = await gatherCandidates(reuse ? {
    ...options,
    loop: reuse.names.has(loopBackend.name),
    wasm: reuse.names.has('wasm'),
    gpujs: [...reuse.names].filter((n) => n.startsWith('gpu.js ')).map((n) => n.slice('gpu.js '.length)),
  } : options, loadMs);
  const rankOf = new Map(candidates.map((c, i) => [c.report.name, simplicity(c.report, i)]));
  const rank = (name: string): number => rankOf.get(name) ?? Infinity;
  const cpuChoice = (op: OpName): string | null =>
    fixedRuleChoice(op, candidates.map((c) => ({ kind: c.report.kind, name: c.report.name, available: c.report.available, ok: c.ok })));
  const kindOf = new Map(candidates.map((c) => [c.report.name, c.report.kind]));
  const kind = (name: string): string => kindOf.get(name) ?? 'custom';

  const buckets = {} as SelectionReport['buckets'];
  for (const b of BUCKET_NAMES) {
    const shapes = {} as Record<OpName, string>;
    for (const op of OP_NAMES) shapes[op] = shapeOf(op, b);
    buckets[b] = { maxSize: Number.isFinite(BUCKET_LIMITS[b]) ? BUCKET_LIMITS[b] : null, shapes };
  }
  const report: SelectionReport = {
    name: options.force ?? 'auto',
    forced: options.force ?? null,
    reused: reuse !== null,
    environment: environment(),
    budgetMs,
    elapsedMs: 0,
    measureMs: 0,
    gpuJsLoadMs: loadMs.value,
    buckets,
    sizeRule: 'size = cbrt(m*k*n) for matmul/matmulT/matmulTN, sqrt(rows*cols) for softmaxRows/rmsNorm/rope, sqrt(n) for swiglu, ' +
      'cbrt(nq*nk*(dk+dv)/2) for causalAttention; small <= 64 < medium <= 256 < large',
    clock: clock.kind,
    decisionRule: TIMING_RULE(tieMargin),
    tableKey,
    candidates: candidates.map((c) => c.report),
    ops: {} as Record<OpName, OpReport>,
    fallbacks: [],
  };
  const route = {} as Route;
  const byName = new Map(candidates.map((c) => [c.report.name, c]));

  const tm = now();
  if (options.force !== undefined) {
    const forced = byName.get(options.force);
    if (!forced || !forced.report.available) {
      const reason = !forced
        ? `no candidate named "${options.force}" (known: ${[...byName.keys()].join(', ')})`
        : `${forced.report.name} is unavailable: ${forced.report.reason ?? 'unknown reason'}`;
      report.fallbacks.push({ op: '*', from: options.force, to: referenceBackend.name, reason, atMs: round(now() - t0) });
      warn(`[kernels] cannot force ${options.force}: ${reason}; using the reference`);
    }
    for (const op of OP_NAMES) {
      const usable = forced && forced.ok.has(op);
      if (forced && forced.report.available && !usable) {
        const reason = `${forced.report.name} failed the ${op} probe: ${forced.report.probe[op] ?? 'not probed'}`;
        report.fallbacks.push({ op, from: forced.report.name, to: referenceBackend.name, reason, atMs: round(now() - t0) });
      }
      const be = usable ? forced.backend : referenceBackend;
      route[op] = { small: be, medium: be, large: be };
      const cells = {} as Record<BucketName, CellReport>;
      for (const b of BUCKET_NAMES) {
        cells[b] = { chosen: be.name, measured: false, shape: shapeOf(op, b), timingsMs: {}, notes: { [be.name]: usable ? 'forced' : 'forced candidate unusable for this op' } };
      }
      report.ops[op] = { chosen: be.name, timingsMs: {}, buckets: cells };
    }
  } else if (reuse) {
    for (const op of OP_NAMES) {
      const cells = {} as Record<BucketName, CellReport>;
      route[op] = { small: referenceBackend, medium: referenceBackend, large: referenceBackend };
      for (const b of BUCKET_NAMES) {
        const earlier = reuse.cells[op][b];
        const c = byName.get(earlier.chosen);
        const works = c !== undefined && c.report.available && c.ok.has(op);
        const be = works ? c.backend : referenceBackend;
        route[op][b] = be;
        cells[b] = {
          ...earlier,
          chosen: be.name,
          measured: false,
          notes: { [be.name]: works ? (fromTable ? 'the table stored for this machine and build' : (options.reuseNote ?? 'reused from an earlier measurement')) : `${earlier.chosen} no longer works here: reference` },
        };
      }
      report.ops[op] = { ...summarize(cells), buckets: cells };
    }
  } else {
    const cells = {} as Record<OpName, Partial<Record<BucketName, CellReport>>>;
    const prev = {} as Record<OpName, Previous>;
    for (const op of OP_NAMES) {
      cells[op] = {};
      prev[op] = new Map();
      route[op] = { small: referenceBackend, medium: referenceBackend, large: referenceBackend };
    }
    const usable = candidates.filter((c) => c.report.available);
    for (const b of BUCKET_NAMES) {
      for (const op of OP_NAMES) {
        await yieldNow(); // keep the page responsive between cells
        const cands = usable.filter((c) => c.ok.has(op));
        const below = b === 'small' ? undefined : cells[op][b === 'medium' ? 'small' : 'medium'];
        const inherit = (why: string): CellReport => {
          const chosen = below?.chosen ?? referenceBackend.name;
          return { chosen, measured: false, shape: shapeOf(op, b), timingsMs: {}, notes: { [chosen]: below ? `${why}: inherited from ${b === 'medium' ? 'small' : 'medium'}` : `${why}: default` } };
        };
        let cell: CellReport;
        if (cands.length === 1) {
          cell = { chosen: cands[0].report.name, measured: false, shape: shapeOf(op, b), timingsMs: {}, notes: { [cands[0].report.name]: 'the only candidate for this op' } };
        } else {
          const choose = (t: Record<string, number>): string | null => cellChoice(op, t, kind, rank, tieMargin)?.chosen ?? null;
          cell = measureCell(op, b, cands, settings, prev[op], clock.read, choose);
          const d = cellChoice(op, cell.timingsMs, kind, rank, tieMargin);
          if (cell.stable && d) {
            cell.chosen = d.chosen;
            cell.notes![d.chosen] = d.note ?? `the same choice ${settings.stableRounds} rounds in a row (${cell.rounds} rounds)`;
          } else if (cell.unsettled && cell.unsettled.length > 0) {
            // an unsettled race is a tie: the simplest of the recent winners
            const chosen = [...cell.unsettled].sort((x, y) => rank(x) - rank(y))[0]!;
            cell.chosen = chosen;
            cell.notes![chosen] = `not settled in ${cell.rounds} rounds (won by ${cell.unsettled.join(', ')}): the simplest of them`;
          } else {
            const fixed = cpuChoice(op);
            const fallback = fixed !== null ? { chosen: fixed } : inherit('nothing timed');
            cell.chosen = fallback.chosen;
            cell.measured = false;
            cell.notes![fallback.chosen] = 'nothing could be timed: the first of wasm > loop > reference that passed the probe';
          }
          if (Object.keys(cell.notes!).length === 0) delete cell.notes;
        }
        cells[op][b] = cell;
        route[op][b] = byName.get(cell.chosen)?.backend ?? referenceBackend;
      }
    }
    for (const op of OP_NAMES) {
      const full = cells[op] as Record<BucketName, CellReport>;
      report.ops[op] = { ...summarize(full), buckets: full };
    }
  }
  report.measureMs = round(now() - tm);
  report.elapsedMs = round(now() - t0);
  if (fromTable) report.reused = true;
  if (table && tableKey && !reuse) {
    try {
      await table.save(tableKey, { at: Date.now(), report: JSON.parse(JSON.stringify(report)) });
    } catch (e) {
      warn(`[kernels] could not store the winner table: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // Release candidates nobody routes to (their kernels and contexts); keep the CPU fallbacks.
  const used = new Set<Backend>();
  for (const op of OP_NAMES) for (const b of BUCKET_NAMES) used.add(route[op][b]);
  const cpu = candidates.filter((c) => c.report.available && (c.report.kind === 'wasm' || c.report.kind === 'loop'))
    .sort((x, y) => rank(y.report.name) - rank(x.report.name)); // wasm before loop
  const keep: Candidate[] = [];
  for (const c of candidates) {
    if (used.has(c.backend) || cpu.includes(c)) keep.push(c);
    else c.destroy?.();
  }
  const watched = new Set(candidates.filter((c) => c.report.kind === 'gpu.js' || c.report.kind === 'custom').map((c) => c.backend));
  const watchdog = {
    watched,
    slowCallMs: options.slowCallMs ?? 50,
    compileCallMs: options.compileCallMs ?? 1000,
    fallbackFor: cpuFallback(cpu),
  };
  const release = (): void => {
    for (const c of keep) {
      try { c.destroy?.(); } catch { /* ignore */ }
    }
  };
  // caches live in the wasm instance's memory when it is kept (any op's kernel can read them there)
  const floats = cpu.find((c) => c.report.kind === 'wasm')?.backend;
  return new AutoBackend(report.name, report, route, release, watchdog, warn, t0, floats);
}
