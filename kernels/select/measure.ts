// Timing one cell of the decision table (one op at one bucket's shape) on every candidate.
// To give the same machine the same answer:
// - a sample's time is the smaller of its wall time and its process CPU time (Node's
//   process.cpuUsage): wall time counts what other processes take from us, CPU time counts what
//   V8's own compiler and GC threads do beside us, and each is an upper bound of the call's own
//   time. Browsers have no CPU clock: there it is wall time (performance.now);
// - each candidate is timed in samples of several calls (at least sampleMs each), round-robin so
//   drift hits every candidate alike; its time is the fastest sample (interference, whether other
//   processes or V8's own compiler and GC threads, which CPU time counts too, only adds time),
//   and sampling stops once 3 samples in a row have not lowered it by more than `stableSpread`;
// - every candidate gets at least 2 samples, whatever the budget (so a loaded machine slows the
//   selection down rather than changing its answer); a candidate that the smaller bucket showed
//   to be far slower (scaled by the work ratio) is not timed again at the larger size, and one
//   that is clearly losing stops early.
import type { Backend, OpName } from '../backend.js';
import type { Candidate } from './candidates.js';
import type { CellReport } from './report.js';
import { message, now, round } from './util.js';
import { type BucketName, makeWorkload, MEASURE_SHAPES } from './workloads.js';

export interface MeasureSettings {
  /** Most ms spent on samples of one candidate in one cell. */
  cellCapMs: number;
  /** Warm-up calls before timing (at least one, at most this many, while under warmMs). */
  warmCalls: number;
  warmMs: number;
  /** Each sample runs calls for at least this many ms. */
  sampleMs: number;
  /** Samples per candidate: at least 3, at most maxSamples. */
  maxSamples: number;
  /** Stable: 3 samples in a row did not lower the fastest sample by more than this fraction. */
  stableSpread: number;
  /** Not timed again when the smaller size predicts more than this times the fastest. */
  skipRatio: number;
}

type CpuUsage = () => { user: number; system: number };

/** The clock: process CPU time in ms where there is one (Node), else wall time. */
export function selectClock(): { read: () => number; kind: 'cpu' | 'wall' } {
  const cpu = (globalThis as { process?: { cpuUsage?: CpuUsage } }).process?.cpuUsage;
  if (typeof cpu === 'function') {
    return { read: () => { const u = cpu(); return (u.user + u.system) / 1000; }, kind: 'cpu' };
  }
  return { read: now, kind: 'wall' };
}

/** The previous bucket's time of each candidate (to predict this one's by the work ratio). */
export type Previous = Map<string, { ms: number; work: number }>;

export function measureCell(
  op: OpName, bucket: BucketName, cands: Candidate[], s: MeasureSettings, deadline: number,
  prev: Previous, clock: () => number,
): CellReport {
  const wl = makeWorkload(op, MEASURE_SHAPES[op][bucket], 3);
  const cell: CellReport = { chosen: '', measured: true, shape: wl.label, timingsMs: {}, firstCallMs: {}, notes: {} };
  const notes = cell.notes!;
  const firsts = cell.firstCallMs!;
  interface Run { backend: Backend; name: string; calls: number; samples: number[]; spent: number; done: boolean }
  const runs: Run[] = [];
  // Predicted ms per call from the smaller bucket; skip what is far slower than the fastest prediction.
  const predicted = new Map<string, number>();
  for (const c of cands) {
    const p = prev.get(c.report.name);
    if (p) predicted.set(c.report.name, (p.ms * wl.work) / p.work);
  }
  const bestPredicted = Math.min(...predicted.values());
  for (const c of cands) {
    const name = c.report.name;
    const guess = predicted.get(name);
    if (guess !== undefined && guess > s.skipRatio * bestPredicted) {
      notes[name] = `not timed: the smaller size predicts ~${guess.toFixed(2)} ms per call, over ${s.skipRatio}x the fastest`;
      continue;
    }
    try {
      const t = now();
      wl.run(c.backend);
      const first = now() - t;
      firsts[name] = round(first);
      // Plain JS reaches optimized code only after some calls (wasm is compiled up front); a first
      // call longer than warmMs has warmed up already (long loops are optimized mid-call).
      const tw = now();
      let perCall = first;
      if (first < s.warmMs) {
        let n = 0;
        for (; n < s.warmCalls && (n === 0 || now() - tw < s.warmMs); n++) wl.run(c.backend);
        perCall = (now() - tw) / n;
      }
      const calls = Math.max(1, Math.min(1000, Math.ceil(s.sampleMs / Math.max(perCall, 1e-4))));
      runs.push({ backend: c.backend, name, calls, samples: [], spent: 0, done: false });
    } catch (e) {
      notes[name] = `threw: ${message(e)}`;
    }
  }
  // Stable when the fastest of all samples but the last 3 is within stableSpread of the fastest overall.
  const stable = (xs: number[]): boolean => {
    if (xs.length < 4) return false;
    const before = Math.min(...xs.slice(0, -3));
    return before <= (1 + s.stableSpread) * Math.min(...xs);
  };
  const timeOf = (r: Run): number => Math.min(...r.samples);
  for (let round_ = 0; round_ < s.maxSamples && runs.some((r) => !r.done); round_++) {
    for (const r of runs) {
      if (r.done) continue;
      let dt: number;
      try {
        const t = clock(), tw = now();
        for (let i = 0; i < r.calls; i++) wl.run(r.backend);
        const cpu = clock() - t, wall = now() - tw;
        dt = Math.min(cpu, wall) / r.calls;
        r.spent += wall;
      } catch (e) {
        r.done = true;
        r.samples.length = 0;
        notes[r.name] = `threw: ${message(e)}`;
        continue;
      }
      r.samples.push(dt);
      if (stable(r.samples)) r.done = true;
      else if (r.spent > s.cellCapMs) { r.done = true; notes[r.name] = `not stable within ${s.cellCapMs} ms: ${r.samples.length} samples`; }
      else if (now() > deadline && r.samples.length >= 1 && round_ >= 1) { r.done = true; notes[r.name] = `budget spent after ${r.samples.length} sample(s)`; }
      // clearly losing: more samples would not change the choice
      const best = Math.min(...runs.filter((o) => o !== r && o.samples.length >= 2).map(timeOf));
      if (!r.done && r.samples.length >= 2 && timeOf(r) > 4 * best) { r.done = true; notes[r.name] = `stopped after ${r.samples.length} samples: over 4x the fastest`; }
    }
  }
  for (const r of runs) {
    if (r.samples.length === 0) continue;
    const ms = timeOf(r);
    cell.timingsMs[r.name] = round(ms);
    prev.set(r.name, { ms, work: wl.work });
  }
  return cell;
}
