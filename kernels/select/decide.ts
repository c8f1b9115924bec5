import type { OpName } from '../backend.js';

// The decision table's rule, in one place: the fastest candidate wins, except that a simpler
// candidate within `tieMargin` of the fastest wins instead. Timings of two candidates that close
// swap places from run to run (load, JIT, GC), so without this rule the same machine would give
// different choices; with it, only a difference larger than the margin can change a choice.
export const DEFAULT_TIE_MARGIN = 0.15;
/** Below this difference per call (ms) two candidates tie whatever the ratio (0.2 µs: within timer and JIT noise; a decode step makes ~70 calls, so a larger floor would cost real time). */
export const TIE_FLOOR_MS = 0.0002;

export const DECISION_RULE = (margin: number): string =>
  `the fastest candidate, unless a simpler one (reference < loop < wasm < gpu.js < custom) is within ${Math.round(margin * 100)}% or ${TIE_FLOOR_MS * 1000} µs per call of it`;

/** The chosen candidate among `timingsMs` (ms per call), with `rank` giving simplicity (lower is simpler). */
export function decide(timingsMs: Readonly<Record<string, number>>, rank: (name: string) => number, tieMargin = DEFAULT_TIE_MARGIN): { chosen: string; note?: string } | null {
  const names = Object.keys(timingsMs);
  if (names.length === 0) return null;
  let fastest = names[0];
  for (const n of names) if (timingsMs[n] < timingsMs[fastest] || (timingsMs[n] === timingsMs[fastest] && rank(n) < rank(fastest))) fastest = n;
  const limit = Math.max(timingsMs[fastest] * (1 + tieMargin), timingsMs[fastest] + TIE_FLOOR_MS);
  let chosen = fastest;
  for (const n of names) if (timingsMs[n] <= limit && rank(n) < rank(chosen)) chosen = n;
  if (chosen === fastest) return { chosen };
  const pct = Math.round((timingsMs[chosen] / timingsMs[fastest] - 1) * 100);
  return { chosen, note: `ties with ${fastest} (${pct}% slower, within ${Math.round(tieMargin * 100)}% or ${TIE_FLOOR_MS * 1000} µs): the simpler candidate` };
}

// ---- the rule of a cell: timing, made reproducible ----
// An earlier version chose the CPU kernel sets by a fixed order (wasm > loop > reference) because
// quick timings at decode sizes swapped from run to run (4 quick selections on the loaded 2-core
// machine routed the elementwise ops 3 ways) and with them the output's bits. Now timing decides
// again, made reproducible by: process CPU time (Node) instead of wall time; each candidate's
// fastest sample (interference only adds time); sampling in rounds until the decision has come out
// the same `stableRounds` rounds in a row (measure.ts); a tie margin (a simpler candidate within
// `tieMargin` of the fastest wins); and the winner table stored per machine and build
// (table-key.ts), so the same machine and build reuse the same choice. What stays fixed:
// - a GPU (gpu.js) or custom candidate replaces the CPU choice only when at least
//   (1 + FOREIGN_MARGIN) times faster, and never for the elementwise ops (softmaxRows, rmsNorm,
//   rope, swiglu: O(n) work on O(n) data, which a GPU round trip cannot win);
// - CPU_RULE_ORDER (wasm > loop > reference) is the order of the fallback when a chosen kernel
//   throws, and the choice where nothing could be timed.
export const CPU_RULE_ORDER = ['wasm', 'loop', 'reference'] as const;
export const ELEMENTWISE_OPS: readonly OpName[] = ['softmaxRows', 'rmsNorm', 'rope', 'swiglu'];
/** @deprecated the old name of ELEMENTWISE_OPS (ops a GPU or custom candidate never takes). */
export const FIXED_RULE_OPS = ELEMENTWISE_OPS;
/** A GPU or custom candidate replaces the CPU choice only when the CPU choice takes more than (1 + this) times as long. */
export const FOREIGN_MARGIN = 1;
export const TIMING_RULE = (margin: number): string =>
  `by process CPU time (wall time in browsers), each candidate's fastest sample, sampled in rounds until the choice is the same 3 rounds in a row: ` +
  `the fastest CPU kernel set unless a simpler one (reference < loop < wasm) is within ${Math.round(margin * 100)}% or ${TIE_FLOOR_MS * 1000} µs per call; ` +
  `a gpu.js or custom candidate replaces it only when at least ${FOREIGN_MARGIN + 1}x faster, and never for ${ELEMENTWISE_OPS.join(', ')}; ` +
  `the table is stored per machine and build and reused`;

/** Is this candidate kind one of the CPU kernel sets (reference, loop, wasm)? */
export const isCpuKind = (kind: string): boolean => (CPU_RULE_ORDER as readonly string[]).includes(kind);

/** The first of wasm > loop > reference that passed the op's probe (the fallback order); null if none qualifies. */
export function fixedRuleChoice(op: OpName, candidates: ReadonlyArray<{ kind: string; name: string; available: boolean; ok: ReadonlySet<OpName> }>): string | null {
  for (const kind of CPU_RULE_ORDER) {
    const c = candidates.find((x) => x.kind === kind && x.available && x.ok.has(op));
    if (c) return c.name;
  }
  return null;
}

/**
 * The choice of one cell from its timings (ms per call): the CPU kernel sets by decide() with
 * `tieMargin`; then a gpu.js or custom candidate only by FOREIGN_MARGIN, and never for an
 * elementwise op. Null when nothing was timed.
 */
export function cellChoice(op: OpName, timingsMs: Readonly<Record<string, number>>, kindOf: (name: string) => string, rank: (name: string) => number, tieMargin = DEFAULT_TIE_MARGIN): { chosen: string; note?: string } | null {
  const cpu: Record<string, number> = {}, foreign: Record<string, number> = {};
  for (const [name, ms] of Object.entries(timingsMs)) (isCpuKind(kindOf(name)) ? cpu : foreign)[name] = ms;
  const c = decide(cpu, rank, tieMargin);
  const mayForeign = !ELEMENTWISE_OPS.includes(op) && Object.keys(foreign).length > 0;
  if (!mayForeign) return c;
  const contest: Record<string, number> = { ...foreign };
  if (c) contest[c.chosen] = cpu[c.chosen]!;
  const f = decide(contest, rank, Math.max(tieMargin, FOREIGN_MARGIN));
  if (f && c && f.chosen === c.chosen) return c;
  if (f && c) return { chosen: f.chosen, note: `${(cpu[c.chosen]! / contest[f.chosen]!).toFixed(1)}x faster than the CPU choice ${c.chosen}` };
  return f;
}
