// The load-balancing lesson's training, as a job of the kit's engine worker (_kit/engine-worker.ts):
// the three playgrounds (src/engine/playground/) live and train in the lesson's Web Worker, so the
// page's main thread only draws. Training a frame's steps, the evaluation and the ownership maps
// took 10-40 ms of the page's thread per animation frame, and collecting their garbage more.
// The page keeps a copy of each run's step stats (live.ts) and asks for more: `advance` trains the
// runs toward the page's goal for a bounded time and answers with the stats the page does not have.
// Where there is no Worker (Node: tests, prerender) the same job runs in-process.
//
// A run is a deterministic function of its options and its step count (the batch of step n is
// drawn from its own seeded stream), so the stats a run answers with are those of any run with
// the same options at that step, and a run brought back to an earlier step from a snapshot of its
// state (params, bias, Adam's moments: the engine's PlaygroundState) and trained on gives the
// same numbers as one trained from step 0.
import {
  type EvalStats,
  type OwnershipGrid,
  type Playground,
  type PlaygroundOptions,
  type PlaygroundState,
  type StepStats,
  createPlayground,
} from '$engine/playground';

/** Ownership grid resolution (cells per side over the input square). */
export const GRID = 24;
/** A snapshot of each run's state every this many steps (about 40 kB each at 8 experts). */
export const SNAPSHOT_EVERY = 50;
/** Runs kept (a page keeps 12 of recent settings: more here, so the page's runs are rarely retrained). */
const CACHE_SIZE = 16;

type Snapshot = Omit<PlaygroundState, 'config' | 'history'>;
interface Held { pg: Playground; options: PlaygroundOptions; snapshots: Map<number, Snapshot> }
const held = new Map<string, Held>();

function heldOf(options: PlaygroundOptions): Held {
  const key = JSON.stringify(options);
  let h = held.get(key);
  if (h) held.delete(key);
  else {
    h = { pg: createPlayground(options), options, snapshots: new Map() };
    if (held.size >= CACHE_SIZE) held.delete(held.keys().next().value!);
  }
  held.set(key, h);
  return h;
}

function step(h: Held): void {
  h.pg.step();
  const n = h.pg.steps;
  if (n % SNAPSHOT_EVERY === 0 && !h.snapshots.has(n)) {
    const { config: _config, history: _history, ...snapshot } = h.pg.state();
    h.snapshots.set(n, snapshot);
  }
}

/** Bring a run back to the latest snapshot at or before step `at` (step 0: its initial state). */
function rewind(h: Held, at: number): void {
  let best = 0;
  for (const n of h.snapshots.keys()) if (n <= at && n > best) best = n;
  if (best === 0) {
    h.pg.reset();
    return;
  }
  // The history holds every step (historyLimit is the last step), so its first `best` entries are the snapshot's.
  const history = h.pg.history.slice(0, best);
  h.pg = createPlayground(h.options, { ...h.snapshots.get(best)!, config: h.pg.config, history });
}

export interface AdvanceRequest {
  /** Each run's options, and how many steps of its stats the page already has (at most `goal`). */
  runs: { options: PlaygroundOptions; have: number }[];
  /** The step the runs are going to: a run past it goes back. */
  goal: number;
  /** Train every run to this step at most (laggards first, so the runs stay in lockstep). */
  to: number;
  /** Stop training after this long (ms); null: no limit. */
  ms: number | null;
  /** Ownership maps wanted now (run indices). */
  grids: number[];
}

export interface RunAdvance {
  /** The run's step. */
  steps: number;
  /** Its stats after the page's `have` (empty if the run is not past it). */
  stats: StepStats[];
  /** Its ownership map at `steps`, if asked for or at the goal. */
  grid: OwnershipGrid | null;
  /** Its evaluation at `steps`, at the goal only. */
  evaluation: EvalStats | null;
}

/** Train the runs toward the goal for a bounded time; what the page lacks of each. */
export function advance(q: AdvanceRequest): RunAdvance[] {
  const t0 = performance.now();
  const timeUp = () => q.ms !== null && performance.now() - t0 > q.ms;
  const hs = q.runs.map((r) => heldOf(r.options));
  hs.forEach((h, i) => {
    if (h.pg.steps > q.goal) rewind(h, Math.min(q.goal, q.runs[i].have));
  });
  // Catch up to what the page has (after a rewind, or a run this worker no longer kept), then on to `to`.
  const target = hs.map((_, i) => Math.max(q.runs[i].have, Math.min(q.to, q.goal)));
  for (;;) {
    let min = Infinity;
    hs.forEach((h, i) => { if (h.pg.steps < target[i]) min = Math.min(min, h.pg.steps); });
    if (min === Infinity || timeUp()) break;
    hs.forEach((h, i) => { if (h.pg.steps === min && h.pg.steps < target[i]) step(h); });
  }
  const atGoal = hs.every((h) => h.pg.steps === q.goal);
  return hs.map((h, i) => {
    const { pg } = h;
    const have = q.runs[i].have;
    const current = pg.steps >= have;
    return {
      steps: pg.steps,
      stats: pg.steps > have ? pg.history.slice(have) : [],
      grid: current && (atGoal || q.grids.includes(i)) ? pg.ownershipGrid(GRID) : null,
      evaluation: atGoal ? pg.evaluate() : null,
    };
  });
}

export const jobs = { advance };
