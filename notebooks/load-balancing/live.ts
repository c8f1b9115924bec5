// Live training for the load-balancing lesson: three playgrounds (src/engine/playground/) on the
// same seed, data and initial weights, one per balancing strategy, trained in lockstep toward a
// goal step, and what the page draws of them as one plain `Frame`. The playgrounds train in the
// lesson's Web Worker (jobs.ts); the page keeps a copy of their stats and draws.
//
// A notebook cell is a function of its inputs; training takes time. The `training` cell therefore
// returns a generator when the page can animate: its first pull shows the runs as the page has
// them (within the input's task); each later pull, once per animation frame, asks the worker for
// the steps the speed owes and yields a Frame when it answers, and the views redraw. The state the
// page settles on depends only on the inputs (the seed, the settings and the step to train to): a
// shared link shows the same picture once it has trained there. Lowering the step shows the first
// steps of the runs at once (they are what a run trained to that step shows); the worker brings
// its playgrounds back there from a snapshot.
//   - With prefers-reduced-motion, the generator yields one promise instead, which trains in the
//     worker and resolves to the final Frame: the figures show "Computing…" and then the result,
//     with no animation.
//   - Without animation frames (Node: tests, scripts) the cell trains to the goal at once, in
//     process, and returns the final Frame itself.
// Play (keep training to the end of the run) and pause (stop where it is) are the `playing`
// toggle; a paused step is not in the link (the link holds the step to train to).
import {
  type BalanceOptions,
  type EvalStats,
  type OwnershipGrid,
  type PlaygroundOptions,
  type StepStats,
  makeTask,
  maxVio,
  resolveConfig,
} from '$engine/playground';
import { createRng } from '$engine/sampling';
import { EngineWorker } from '../_kit/engine-worker';
import { type AdvanceRequest, type RunAdvance, jobs } from './jobs';

export type Strategy = 'none' | 'aux' | 'bias';

export const STRATEGIES: { id: Strategy; label: string }[] = [
  { id: 'none', label: 'no balancing' },
  { id: 'aux', label: 'auxiliary loss' },
  { id: 'bias', label: 'bias update (V3)' },
];

/** The last step a run trains to: the end of the `steps` slider, and where play stops. */
export const END_STEP = 2000;
export { GRID } from './jobs';
/** Training per request to the worker, ms (it answers at least this often while it trains). */
const WORKER_BUDGET_MS = 30;
/**
 * A new Frame at most this often while animating (~10 per second); in between, a pull yields the
 * previous Frame object again, which the view cells map to their previous charts, so nothing
 * redraws. Drawing eight figures costs more than a frame.
 */
const VIEW_INTERVAL_MS = 100;

/** The runs train in the lesson's Web Worker (jobs.ts, worker.ts); in-process where there is none. */
const engine = new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek load-balancing runs' }), jobs);

/** What all three runs share (the task, the router, the capacity). */
export interface Shared {
  seed: number;
  skew: number;
  experts: number;
  topk: number;
  /** null: no capacity, nothing dropped (DeepSeek-V3). */
  capacity: number | null;
}

/**
 * The page's copy of one run: its stats up to `steps` as the engine reported them (the playground
 * itself trains in the worker), and what the page last measured on it.
 */
export interface Run {
  strategy: Strategy;
  label: string;
  options: PlaygroundOptions;
  tokens: number;
  experts: number;
  topk: number;
  clusters: { center: [number, number]; frequency: number }[];
  steps: number;
  /** Stats of steps 1..steps. Replaced, never changed in place (RunFrames share it). */
  history: StepStats[];
  grid: { step: number; grid: OwnershipGrid } | null;
  evaluation: { step: number; stats: EvalStats } | null;
  /** The last RunFrame made of it (reused while nothing in it changed). */
  shown: RunFrame | null;
}

// Runs of recent settings, so moving a slider back shows what was trained instead of training it
// again. A run is a deterministic function of its options and its step count (jobs.ts), so the
// first n steps of a run found here are what a fresh run trained to step n shows. One training
// cell drives them at a time (the runtime ends the old generator before it starts the new one).
const CACHE_SIZE = 12;
const cache = new Map<string, Run>();

export function playgroundOptions(strategy: Strategy, shared: Shared, balance: Partial<BalanceOptions>): PlaygroundOptions {
  return {
    seed: shared.seed,
    task: { skew: shared.skew },
    router: { n_routed_experts: shared.experts, num_experts_per_tok: shared.topk },
    capacityFactor: shared.capacity,
    balance: { ...balance, strategy },
    historyLimit: END_STEP,
  };
}

/** The run of a strategy under these settings (from the cache when it is there). */
export function runOf(strategy: Strategy, shared: Shared, balance: Partial<BalanceOptions> = {}): Run {
  const options = playgroundOptions(strategy, shared, balance);
  const key = JSON.stringify(options);
  let run = cache.get(key);
  if (run) {
    cache.delete(key);
  } else {
    // The engine's config and task for these options (the run's weights live in the worker).
    const config = resolveConfig(options);
    const task = makeTask({ seed: config.seed, ...config.task });
    run = {
      strategy, label: STRATEGIES.find((s) => s.id === strategy)!.label, options,
      tokens: config.batchSize, experts: config.router.n_routed_experts, topk: config.router.num_experts_per_tok,
      clusters: task.clusters.map((c) => ({ center: c.center, frequency: c.frequency })),
      steps: 0, history: [], grid: null, evaluation: null, shown: null,
    };
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, run);
  return run;
}

/** Remembers, across re-runs of the training cell on one page, where play was paused. */
export interface Clock {
  runTo: number | null;
  wasPlaying: boolean;
  pausedAt: number | null;
}

export function newClock(): Clock {
  return { runTo: null, wasPlaying: false, pausedAt: null };
}

/** A run as the views see it: plain data, as of the frame. */
export interface RunFrame {
  strategy: Strategy;
  label: string;
  steps: number;
  history: StepStats[];
  tokens: number;
  experts: number;
  topk: number;
  grid: OwnershipGrid | null;
  gridStep: number;
  evaluation: EvalStats | null;
  clusters: { center: [number, number]; frequency: number }[];
}

export interface Frame {
  runs: RunFrame[];
  /** The step the runs are training to now. */
  goal: number;
  /** The `steps` slider. */
  runTo: number;
  playing: boolean;
  /** The step play was paused at (null unless paused past or before the slider's step). */
  pausedAt: number | null;
  /** Every run has reached the goal (nothing more will change until an input does). */
  done: boolean;
  /** Requested speed, steps per second per run. */
  speed: number;
  /** Measured speed while animating (steps per second of the slowest run); null otherwise. */
  measured: number | null;
}

/** A run's RunFrame, rebuilt only when its stats, map or evaluation changed (views keep their charts otherwise). */
function runFrameOf(r: Run, done: boolean): RunFrame {
  const grid = r.grid?.grid ?? null;
  const evaluation = done && r.evaluation?.step === r.steps ? r.evaluation.stats : null;
  const last = r.shown;
  if (last && last.history === r.history && last.grid === grid && last.evaluation === evaluation) return last;
  r.shown = {
    strategy: r.strategy,
    label: r.label,
    steps: r.steps,
    history: r.history,
    tokens: r.tokens,
    experts: r.experts,
    topk: r.topk,
    grid,
    gridStep: r.grid?.step ?? 0,
    evaluation,
    clusters: r.clusters,
  };
  return r.shown;
}

function frameOf(runs: Run[], clock: Clock, goal: number, runTo: number, playing: boolean, speed: number, done: boolean, measured: number | null): Frame {
  return { runs: runs.map((r) => runFrameOf(r, done)), goal, runTo, playing, pausedAt: clock.pausedAt, done, speed, measured };
}

/** Every run is at the goal with its map and evaluation there. */
function finished(runs: Run[], goal: number): boolean {
  return runs.every((r) => r.steps === goal && r.grid?.step === goal && r.evaluation?.step === goal);
}

/** Decide the goal from the controls and the clock; runs past it go back to it (their first `goal` steps are a run trained to it). */
function goalOf(runs: Run[], clock: Clock, runTo: number, playing: boolean): number {
  if (clock.runTo !== runTo) {
    clock.runTo = runTo;
    clock.pausedAt = null;
  }
  if (playing) clock.pausedAt = null;
  else if (clock.wasPlaying) clock.pausedAt = Math.max(...runs.map((r) => r.steps));
  clock.wasPlaying = playing;
  const goal = playing ? END_STEP : (clock.pausedAt ?? runTo);
  for (const r of runs) {
    if (r.steps > goal) {
      r.history = r.history.slice(0, goal);
      r.steps = goal;
      r.grid = null;
      r.evaluation = null;
    }
  }
  return goal;
}

function requestOf(runs: Run[], goal: number, to: number, ms: number | null, grids: number[]): AdvanceRequest {
  return { runs: runs.map((r) => ({ options: r.options, have: r.steps })), goal, to, ms, grids };
}

/** Take the engine's answer into the runs (the stats each lacked, maps, evaluations). */
function apply(runs: Run[], answer: RunAdvance[]): void {
  answer.forEach((a, i) => {
    const r = runs[i];
    // Stats continue the page's copy (an answer to an older request may overlap what it has).
    const fresh = a.stats.filter((s) => s.step > r.steps);
    if (fresh.length > 0 && fresh[0].step === r.steps + 1) {
      r.history = r.history.concat(fresh);
      r.steps = r.history.length;
    }
    if (a.steps === r.steps) {
      if (a.grid) r.grid = { step: a.steps, grid: a.grid };
      if (a.evaluation) r.evaluation = { step: a.steps, stats: a.evaluation };
    }
  });
}

/** The training cell: the final Frame (no animation frames), or a generator of Frames (in a page). */
export function train(runs: Run[], clock: Clock, runTo: number, playing: boolean, speed: number): Frame | Generator<Frame | Promise<Frame>> {
  const goal = goalOf(runs, clock, runTo, playing);
  const now = () => performance.now();
  if (typeof requestAnimationFrame !== 'function') {
    apply(runs, jobs.advance(requestOf(runs, goal, goal, null, [])));
    return frameOf(runs, clock, goal, runTo, playing, speed, true, null);
  }
  const reduced = typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
  return reduced ? jump(runs, clock, goal, runTo, playing, speed) : animate(runs, clock, goal, runTo, playing, speed, now);
}

/** Reduced motion: one promise that trains (in the worker) to the goal and resolves to the final Frame. */
function* jump(runs: Run[], clock: Clock, goal: number, runTo: number, playing: boolean, speed: number): Generator<Promise<Frame>> {
  const state = { cancelled: false };
  const work = async (): Promise<Frame> => {
    while (!state.cancelled && !finished(runs, goal)) {
      const answer = await engine.run('advance', requestOf(runs, goal, goal, WORKER_BUDGET_MS, []));
      if (!state.cancelled) apply(runs, answer);
    }
    return frameOf(runs, clock, goal, runTo, playing, speed, !state.cancelled, null);
  };
  try {
    yield work();
  } finally {
    state.cancelled = true;
  }
}

/** Resolves on the next animation frame. */
const nextAnimationFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

/**
 * Animation: the first pull shows the runs as they are (within the input's task: the picture).
 * Each later pull is a promise of the next Frame: it asks the worker for the steps the speed owes,
 * again and again as it answers, and resolves with a new Frame at most every VIEW_INTERVAL_MS (and
 * when the runs are done). Between two Frames the page's thread only passes messages: no cell
 * recomputes and no figure changes (the runtime pulls again on the next animation frame).
 */
function* animate(runs: Run[], clock: Clock, goal: number, runTo: number, playing: boolean, speed: number, now: () => number): Generator<Frame | Promise<Frame>> {
  let shown = frameOf(runs, clock, goal, runTo, playing, speed, finished(runs, goal), null);
  if (shown.done) {
    yield shown;
    return;
  }
  const state = { cancelled: false };
  let shownAt = now();
  let last = shownAt;
  let owed = 0;
  let gridTurn = 0;
  const samples: { t: number; steps: number }[] = [];
  const slowest = () => Math.min(...runs.map((r) => r.steps));
  const nextFrame = async (): Promise<Frame> => {
    for (;;) {
      const t0 = now();
      owed += (speed * Math.min(100, t0 - last)) / 1000;
      last = t0;
      const from = slowest();
      const to = Math.min(goal, from + Math.floor(owed));
      const newFrame = t0 - shownAt >= VIEW_INTERVAL_MS;
      if (to === from && from < goal && !newFrame) {
        // Nothing owed yet (the speed is below what the worker does).
        await nextAnimationFrame();
        if (state.cancelled) return shown;
        continue;
      }
      // One ownership map per new Frame, in turn.
      const grids = newFrame ? [gridTurn++ % runs.length] : [];
      const answer = await engine.run('advance', requestOf(runs, goal, to, WORKER_BUDGET_MS, grids));
      if (state.cancelled) return shown;
      apply(runs, answer);
      const made = slowest() - from;
      // Steps the worker could not fit are not owed later (no burst after a slow answer).
      owed = made < to - from ? 0 : Math.max(0, owed - made);
      const t = now();
      samples.push({ t, steps: slowest() });
      while (samples.length > 2 && t - samples[0].t > 1000) samples.shift();
      const done = finished(runs, goal);
      if (done || newFrame) {
        const span = samples[samples.length - 1].t - samples[0].t;
        const measured = !done && span > 250 ? ((samples[samples.length - 1].steps - samples[0].steps) * 1000) / span : null;
        shown = frameOf(runs, clock, goal, runTo, playing, speed, done, measured);
        shownAt = t;
        return shown;
      }
    }
  };
  try {
    yield shown;
    while (!shown.done) yield nextFrame();
  } finally {
    state.cancelled = true;
  }
}

/**
 * MaxVio of a batch routed uniformly at random (each of T tokens picks K distinct experts of E):
 * the sampling noise a perfectly balanced router still shows on one batch. Mean over `batches`
 * seeded batches; memoised per (E, K, T).
 */
const noiseMemo = new Map<string, number>();
export function randomRoutingMaxVio(E: number, K: number, T: number, seed = 0, batches = 200): number {
  const key = `${E}/${K}/${T}/${seed}/${batches}`;
  const hit = noiseMemo.get(key);
  if (hit !== undefined) return hit;
  const rng = createRng(seed);
  const load = new Float64Array(E);
  const chosen: number[] = [];
  let total = 0;
  for (let b = 0; b < batches; b++) {
    load.fill(0);
    for (let t = 0; t < T; t++) {
      chosen.length = 0;
      while (chosen.length < K) {
        const e = Math.floor(rng() * E);
        if (!chosen.includes(e)) chosen.push(e);
      }
      for (const e of chosen) load[e]++;
    }
    total += maxVio(load);
  }
  const v = total / batches;
  noiseMemo.set(key, v);
  return v;
}
