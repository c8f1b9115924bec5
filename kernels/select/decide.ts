import type { OpName } from '../backend.js';

// The decision table's rule, in one place: the fastest candidate wins, except that a simpler
// candidate within `tieMargin` of the fastest wins instead. Timings of two candidates that close
// swap places from run to run (load, JIT, GC), so without this rule the same machine would give
// different choices; with it, only a difference larger than the margin can change a choice.
export const DEFAULT_TIE_MARGIN = 0.15;
/** Below this difference per call (ms) two candidates tie whatever the ratio: a few microseconds are within timer and JIT noise, and cost nothing. */
export const TIE_FLOOR_MS = 0.002;

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

// ---- the fixed rule of the CPU kernels ----
// Timing cannot choose among the CPU kernel sets reproducibly at the engine's decode sizes: a call
// takes 0.2-10 µs, and a disturbed sample (another process, a GC, the JIT) swaps the order. On
// the 2-core machine under load, 4 quick selections routed the elementwise ops 3 different ways,
// and one routed the decode-row A·B to the reference and A·Bᵀ to the loop (wasm's one sample
// disturbed) although the wasm kernels are 4-20x faster at those shapes in every undisturbed run
// (npm run bench). The candidates round differently (float64 reference, float32 loop, SIMD exp
// and blocking), so a timing-chosen routing made the same prompt give different bits from run to
// run. So the CPU choice is a fixed rule: the first of wasm > loop > reference that passed the
// op's probe, every op, every bucket. Timing decides only whether a GPU (gpu.js) or custom
// candidate replaces it, and only by a clear margin (FOREIGN_MARGIN: at least 2x faster), never
// for the elementwise ops (softmaxRows, rmsNorm, rope, swiglu: O(n) work on O(n) data, which a GPU
// round trip cannot win). Every candidate is still timed, for the report.
export const CPU_RULE_ORDER = ['wasm', 'loop', 'reference'] as const;
export const FIXED_RULE_OPS: readonly OpName[] = ['softmaxRows', 'rmsNorm', 'rope', 'swiglu'];
/** A GPU or custom candidate replaces the fixed CPU choice only when the CPU choice takes more than (1 + this) times as long. */
export const FOREIGN_MARGIN = 1;
export const FIXED_RULE = `CPU kernels by a fixed rule, not by timing (their timings swap at decode sizes and they round differently): the first of ${CPU_RULE_ORDER.join(' > ')} that passed the op's probe; ` +
  `a gpu.js or custom candidate replaces it only when at least ${FOREIGN_MARGIN + 1}x faster, and never for ${FIXED_RULE_OPS.join(', ')}`;

/** Is this candidate kind one of the CPU kernel sets the fixed rule chooses among? */
export const isCpuKind = (kind: string): boolean => (CPU_RULE_ORDER as readonly string[]).includes(kind);

/** The fixed rule's CPU choice for `op` (kind, name, availability, ops whose probe passed); null if none qualifies. */
export function fixedRuleChoice(op: OpName, candidates: ReadonlyArray<{ kind: string; name: string; available: boolean; ok: ReadonlySet<OpName> }>): string | null {
  for (const kind of CPU_RULE_ORDER) {
    const c = candidates.find((x) => x.kind === kind && x.available && x.ok.has(op));
    if (c) return c.name;
  }
  return null;
}
