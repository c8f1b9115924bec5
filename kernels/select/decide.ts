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
