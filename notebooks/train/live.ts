// The lesson's runs and the frames the views draw. The settings (the lesson's inputs, in the URL)
// pick a run: the same settings find the same run (this page's, or the one saved in the browser),
// new settings start a new one (the old one is saved and its workers stop). Training happens in the
// run's workers; the `live` cell is a generator that yields a new frame when a run has reported
// something, at most every VIEW_MS, and otherwise waits without work on the main thread.
import { type RunView, TrainingRun } from './run';
import { type Balancing, type RunSettings, settingsKey } from './settings';

/**
 * A new frame at most this often while training. Drawing fifteen figures is what costs the main
 * thread (style, layout and paint of their SVG), so each frame redraws only some of them (index.ts:
 * the headline figures every frame, the others in turn every third frame).
 */
export const VIEW_MS = 500;

export interface Runs { a: TrainingRun; b: TrainingRun | null }
export interface LiveFrame { runs: Runs; views: { a: RunView; b: RunView | null }; /** Frames yielded so far (views take turns by it). */ tick: number }

const BALANCING_LABEL: Record<Balancing, string> = { bias: 'bias update (V3)', aux: 'auxiliary loss', none: 'no balancing' };

let current: Runs | null = null;

function runFor(s: RunSettings, label: string, threads: number, old: TrainingRun[]): TrainingRun {
  const key = settingsKey(s);
  const same = old.find((r) => r.key === key && r.threads === threads && r.label === label);
  return same ?? new TrainingRun(s, label, threads);
}

/** The runs for these settings (a second one with other balancing when comparing). */
export function runsFor(s: RunSettings, compare: boolean, other: Balancing): Runs {
  const old = current ? [current.a, ...(current.b ? [current.b] : [])] : [];
  // Two threads split each batch when the machine has a core to spare for the page itself; on two
  // cores, two busy trainer threads leave the page none (measured here: the page's frames and input
  // suffered, and one thread trained faster). Two runs take one thread each.
  // (scripts/bench-train.mjs forces a count to measure both.)
  const forced = (globalThis as { __nanoseekTrainThreads?: number }).__nanoseekTrainThreads;
  const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 2;
  const threads = forced === 1 || forced === 2 ? forced : compare || cores <= 2 ? 1 : 2;
  const a = runFor(s, `A: ${BALANCING_LABEL[s.balancing]}`, threads, old);
  const b = compare ? runFor({ ...s, balancing: other }, `B: ${BALANCING_LABEL[other]}`, threads, old) : null;
  for (const r of old) if (r !== a && r !== b) void r.dispose();
  current = { a, b };
  if (typeof window !== 'undefined') (window as unknown as { __nanoseekTrain?: unknown }).__nanoseekTrain = current;
  return current;
}

/** A run has started: failed, offline, restored, or its step-0 evaluation and sample are in. */
function started(r: TrainingRun): boolean {
  const v = r.view();
  if (v.status === 'error' || v.status === 'offline') return true;
  if (v.status === 'starting') return false;
  return v.step > 0 || (v.history.evals.length > 0 && v.history.samples.length > 0) || v.history.loadedFrom !== null || v.restored;
}

let ticks = 0;
function frameOf(runs: Runs): LiveFrame {
  return { runs, views: { a: runs.a.view(), b: runs.b?.view() ?? null }, tick: ticks++ };
}

/** The live cell: the current frame now, then a new one each time a run changes (throttled). */
export function* live(runs: Runs): Generator<LiveFrame | Promise<LiveFrame>> {
  let shown = frameOf(runs);
  if (typeof window === 'undefined') {
    yield shown;
    return;
  }
  const all = [runs.a, ...(runs.b ? [runs.b] : [])];
  // The first frame once every run has started (its untrained model measured and sampled, or its
  // saved state restored): until then the figures wait, so a page settles on what the settings give.
  yield new Promise<LiveFrame>((resolve) => {
    const check = () => {
      if (!all.every(started)) return false;
      for (const stop of stops) stop();
      resolve((shown = frameOf(runs)));
      return true;
    };
    const stops: (() => void)[] = [];
    if (!check()) for (const r of all) stops.push(r.subscribe(check));
  });
  let lastAt = performance.now();
  for (;;) {
    yield new Promise<LiveFrame>((resolve) => {
      const stops: (() => void)[] = [];
      let fired = false;
      const fire = () => {
        if (fired) return;
        fired = true;
        for (const stop of stops) stop();
        const wait = Math.max(0, VIEW_MS - (performance.now() - lastAt));
        setTimeout(() => {
          shown = frameOf(runs);
          lastAt = performance.now();
          resolve(shown);
        }, wait);
      };
      const f = frameOf(runs);
      if (f.views.a !== shown.views.a || f.views.b !== shown.views.b) { fire(); return; }
      for (const r of all) stops.push(r.subscribe(fire));
    });
  }
}
