// Live training for the load-balancing lesson: three playgrounds (src/engine/playground/) on the
// same seed, data and initial weights, one per balancing strategy, trained in lockstep toward a
// goal step, and what the page draws of them as one plain `Frame`.
//
// A notebook cell is a function of its inputs; training takes time. The `training` cell therefore
// returns a generator when the page can animate: the Observable runtime pulls it once per
// animation frame, each pull trains a few steps within a time budget and yields a Frame, and the
// views redraw. The state the page settles on depends only on the inputs (the seed, the settings
// and the step to train to): a shared link shows the same picture once it has trained there.
//   - With prefers-reduced-motion, the generator yields one promise instead, which trains in
//     chunks between tasks (the page stays responsive) and resolves to the final Frame: the
//     figures show "Computing…" and then the result, with no animation.
//   - Without animation frames (Node: tests, scripts) the cell trains to the goal at once and
//     returns the final Frame itself.
// Play (keep training to the end of the run) and pause (stop where it is) are the `playing`
// toggle; a paused step is not in the link (the link holds the step to train to).
import {
  type BalanceOptions,
  type EvalStats,
  type OwnershipGrid,
  type Playground,
  type PlaygroundOptions,
  type StepStats,
  createPlayground,
  maxVio,
} from '$engine/playground';
import { createRng } from '$engine/sampling';

export type Strategy = 'none' | 'aux' | 'bias';

export const STRATEGIES: { id: Strategy; label: string }[] = [
  { id: 'none', label: 'no balancing' },
  { id: 'aux', label: 'auxiliary loss' },
  { id: 'bias', label: 'bias update (V3)' },
];

/** The last step a run trains to: the end of the `steps` slider, and where play stops. */
export const END_STEP = 2000;
/** Ownership grid resolution (cells per side over the input square). */
export const GRID = 24;
/** Work per animation frame, ms (training only; the views draw after it). */
const FRAME_BUDGET_MS = 8;
/**
 * A new Frame at most this often while animating (~10 per second); in between, a pull trains and
 * yields the previous Frame object again, which the view cells map to their previous charts, so
 * nothing redraws. Drawing eight figures costs far more than a frame, training does not.
 */
const VIEW_INTERVAL_MS = 100;

/** What all three runs share (the task, the router, the capacity). */
export interface Shared {
  seed: number;
  skew: number;
  experts: number;
  topk: number;
  /** null: no capacity, nothing dropped (DeepSeek-V3). */
  capacity: number | null;
}

/** One playground and what the page last measured on it. */
export interface Run {
  strategy: Strategy;
  label: string;
  pg: Playground;
  grid: { step: number; grid: OwnershipGrid } | null;
  evaluation: { step: number; stats: EvalStats } | null;
  /** The last RunFrame made of it (reused while nothing in it changed). */
  shown: RunFrame | null;
}

// Runs of recent settings, so moving a slider back resumes a run instead of retraining it. A run
// is a deterministic function of its options and its step count (the batch of step n is drawn
// from its own seeded stream), so a run found here and brought to step n shows what a fresh run
// trained to step n would show. One training cell drives them at a time (the runtime ends the old
// generator before it starts the new one).
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
    run = { strategy, label: STRATEGIES.find((s) => s.id === strategy)!.label, pg: createPlayground(options), grid: null, evaluation: null, shown: null };
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

/** A run as the views see it: plain data, copied at the frame. */
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

/** One step for every run that is behind the goal and at the smallest step count (laggards catch up first). */
function stepRound(runs: Run[], goal: number): boolean {
  let min = Infinity;
  for (const r of runs) if (r.pg.steps < goal) min = Math.min(min, r.pg.steps);
  if (min === Infinity) return false;
  for (const r of runs) if (r.pg.steps === min) r.pg.step();
  return true;
}

function refreshGrid(r: Run): void {
  if (r.grid?.step !== r.pg.steps) r.grid = { step: r.pg.steps, grid: r.pg.ownershipGrid(GRID) };
}

function refreshEvaluation(r: Run): void {
  if (r.evaluation?.step !== r.pg.steps) r.evaluation = { step: r.pg.steps, stats: r.pg.evaluate() };
}

/** A run's RunFrame, rebuilt only when its step, map or evaluation changed (views keep their charts otherwise). */
function runFrameOf(r: Run, done: boolean): RunFrame {
  const grid = r.grid?.grid ?? null;
  const evaluation = done && r.evaluation?.step === r.pg.steps ? r.evaluation.stats : null;
  const last = r.shown;
  if (last && last.steps === r.pg.steps && last.grid === grid && last.evaluation === evaluation && last.history.length === r.pg.history.length) return last;
  r.shown = {
    strategy: r.strategy,
    label: r.label,
    steps: r.pg.steps,
    history: r.pg.history.slice(),
    tokens: r.pg.config.batchSize,
    experts: r.pg.config.router.n_routed_experts,
    topk: r.pg.config.router.num_experts_per_tok,
    grid,
    gridStep: r.grid?.step ?? 0,
    evaluation,
    clusters: r.pg.task.clusters.map((c) => ({ center: c.center, frequency: c.frequency })),
  };
  return r.shown;
}

function frameOf(runs: Run[], clock: Clock, goal: number, runTo: number, playing: boolean, speed: number, done: boolean, measured: number | null): Frame {
  return { runs: runs.map((r) => runFrameOf(r, done)), goal, runTo, playing, pausedAt: clock.pausedAt, done, speed, measured };
}

function finish(runs: Run[]): void {
  for (const r of runs) {
    refreshGrid(r);
    refreshEvaluation(r);
  }
}

/** Decide the goal from the controls and the clock; reset runs that are past it. */
function goalOf(runs: Run[], clock: Clock, runTo: number, playing: boolean): number {
  if (clock.runTo !== runTo) {
    clock.runTo = runTo;
    clock.pausedAt = null;
  }
  if (playing) clock.pausedAt = null;
  else if (clock.wasPlaying) clock.pausedAt = Math.max(...runs.map((r) => r.pg.steps));
  clock.wasPlaying = playing;
  const goal = playing ? END_STEP : (clock.pausedAt ?? runTo);
  for (const r of runs) {
    if (r.pg.steps > goal) {
      r.pg.reset();
      r.grid = null;
      r.evaluation = null;
      r.shown = null;
    }
  }
  return goal;
}

/** The training cell: the final Frame (no animation frames), or a generator of Frames (in a page). */
export function train(runs: Run[], clock: Clock, runTo: number, playing: boolean, speed: number): Frame | Generator<Frame | Promise<Frame>> {
  const goal = goalOf(runs, clock, runTo, playing);
  const now = () => performance.now();
  if (typeof requestAnimationFrame !== 'function') {
    while (stepRound(runs, goal));
    finish(runs);
    return frameOf(runs, clock, goal, runTo, playing, speed, true, null);
  }
  const reduced = typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
  return reduced ? jump(runs, clock, goal, runTo, playing, speed, now) : animate(runs, clock, goal, runTo, playing, speed, now);
}

/** Reduced motion: one promise that trains in chunks between tasks and resolves to the final Frame. */
function* jump(runs: Run[], clock: Clock, goal: number, runTo: number, playing: boolean, speed: number, now: () => number): Generator<Promise<Frame>> {
  const state = { cancelled: false };
  const nextTask = () => new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
  const work = async (): Promise<Frame> => {
    for (;;) {
      const t0 = now();
      let more = true;
      while (more && now() - t0 < FRAME_BUDGET_MS) more = stepRound(runs, goal);
      if (!more || state.cancelled) break;
      await nextTask();
      if (state.cancelled) break;
    }
    if (!state.cancelled) finish(runs);
    return frameOf(runs, clock, goal, runTo, playing, speed, !state.cancelled, null);
  };
  try {
    yield work();
  } finally {
    state.cancelled = true;
  }
}

/** Animation: each pull trains what the speed owes since the last frame (within the budget) and yields a Frame. */
function* animate(runs: Run[], clock: Clock, goal: number, runTo: number, playing: boolean, speed: number, now: () => number): Generator<Frame> {
  const behind = () => runs.some((r) => r.pg.steps < goal);
  if (!behind()) {
    finish(runs);
    yield frameOf(runs, clock, goal, runTo, playing, speed, true, null);
    return;
  }
  // The first pull happens as soon as an input changes: show the runs as they are, train from the next frame.
  let shown = frameOf(runs, clock, goal, runTo, playing, speed, false, null);
  let shownAt = now();
  yield shown;
  let last = now();
  let owed = 0;
  let gridTurn = 0;
  const samples: { t: number; steps: number }[] = [];
  const slowest = () => Math.min(...runs.map((r) => r.pg.steps));
  for (;;) {
    const t0 = now();
    owed += (speed * Math.min(100, t0 - last)) / 1000;
    last = t0;
    let rounds = 0;
    while (rounds < Math.floor(owed) && stepRound(runs, goal)) {
      rounds++;
      if (now() - t0 > FRAME_BUDGET_MS) break;
    }
    // Steps the budget could not fit are not owed later (no burst after a slow frame).
    owed = rounds < Math.floor(owed) ? 0 : owed - rounds;
    if (!behind()) {
      finish(runs);
      yield frameOf(runs, clock, goal, runTo, playing, speed, true, null);
      return;
    }
    samples.push({ t: t0, steps: slowest() });
    while (samples.length > 2 && t0 - samples[0].t > 1000) samples.shift();
    if (t0 - shownAt >= VIEW_INTERVAL_MS) {
      // One ownership map per new Frame, in turn.
      const r = runs[gridTurn++ % runs.length];
      refreshGrid(r);
      const span = samples[samples.length - 1].t - samples[0].t;
      const measured = span > 250 ? ((samples[samples.length - 1].steps - samples[0].steps) * 1000) / span : null;
      shown = frameOf(runs, clock, goal, runTo, playing, speed, false, measured);
      shownAt = t0;
    }
    yield shown;
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
