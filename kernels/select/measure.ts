// Timing one cell of the decision table (one op at one bucket's shape) on every candidate.
// To give the same machine the same answer:
// - a sample's time is the smaller of its wall time and its process CPU time (Node's
//   process.cpuUsage): wall time counts what other processes take from us, CPU time counts what
//   V8's own compiler and GC threads do beside us, and each is an upper bound of the call's own
//   time. Browsers have no CPU clock: there it is wall time (performance.now);
// - each candidate is timed in samples of several calls (at least sampleMs each), in rounds (one
//   sample of every candidate per round, so drift hits every candidate alike); its time is its
//   fastest sample (interference, whether other processes or V8's own compiler and GC threads,
//   only adds time);
// - after every round from the third on, the cell's decision is made from the times so far
//   (`choose`: decide.ts cellChoice); sampling stops once it has come out the same `stableRounds`
//   rounds in a row, whatever the budget (a loaded machine slows the selection down rather than
//   changing its answer), or after maxRounds: then the simplest of the candidates that won one of
//   the last stableRounds rounds is taken (an unsettled race is a tie);
// - a candidate that the smaller bucket showed to be far slower (scaled by the work ratio) is not
//   timed at the larger size, and one that is over 4x the fastest after 3 samples stops early
//   (more samples could not bring it within the tie margin).
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
  /** Rounds at most (a sample of every live candidate per round). */
  maxRounds: number;
  /** Stable: the decision came out the same this many rounds in a row. */
  stableRounds: number;
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
  op: OpName, bucket: BucketName, cands: Candidate[], s: MeasureSettings,
  prev: Previous, clock: () => number, choose: (timingsMs: Record<string, number>) => string | null,
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
  const timeOf = (r: Run): number => Math.min(...r.samples);
  const timings = (): Record<string, number> => {
    const t: Record<string, number> = {};
    for (const r of runs) if (r.samples.length > 0) t[r.name] = timeOf(r);
    return t;
  };
  const recent: string[] = []; // the decision after each round (from the third)
  let same = 0;
  let rounds = 0;
  for (; rounds < s.maxRounds && runs.some((r) => !r.done); rounds++) {
    for (const r of runs) {
      if (r.done) continue;
      let dt: number;
      try {
        const t = clock(), tw = now();
        for (let i = 0; i < r.calls; i++) wl.run(r.backend);
        const cpu = clock() - t, wall = now() - tw;
        dt = Math.min(cpu, wall) / r.calls;
        r.spent += Math.min(cpu, wall); // the cap counts our own time: load must not end a race early
      } catch (e) {
        r.done = true;
        r.samples.length = 0;
        notes[r.name] = `threw: ${message(e)}`;
        continue;
      }
      r.samples.push(dt);
      if (r.spent > s.cellCapMs && r.samples.length >= 3) { r.done = true; notes[r.name] = `stopped after ${r.samples.length} samples: over ${s.cellCapMs} ms spent`; }
    }
    if (rounds < 2) continue;
    // clearly losing: more samples would not change the choice
    const best = Math.min(...runs.filter((r) => r.samples.length > 0).map(timeOf));
    for (const r of runs) if (!r.done && r.samples.length >= 3 && timeOf(r) > 4 * best) { r.done = true; notes[r.name] = `stopped after ${r.samples.length} samples: over 4x the fastest`; }
    const d = choose(timings());
    if (d === null) break;
    same = recent.length > 0 && recent[recent.length - 1] === d ? same + 1 : 1;
    recent.push(d);
    if (same >= s.stableRounds) break;
    // every candidate stopped (capped or clearly losing): their times are final, so is the choice
    if (runs.every((r) => r.done)) { same = s.stableRounds; break; } // no time budget cuts a race short: that would change answers under load
  }
  cell.rounds = Math.min(rounds + 1, s.maxRounds);
  cell.stable = same >= s.stableRounds;
  if (!cell.stable && recent.length > 0) {
    const last = new Set(recent.slice(-s.stableRounds));
    cell.unsettled = [...last];
  }
  for (const r of runs) {
    if (r.samples.length === 0) continue;
    const ms = timeOf(r);
    cell.timingsMs[r.name] = round(ms);
    prev.set(r.name, { ms, work: wl.work });
  }
  return cell;
}
