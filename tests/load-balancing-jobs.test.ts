// The load-balancing lesson trains its three playgrounds in a Web Worker (notebooks/load-balancing/
// jobs.ts) and the page keeps a copy of their stats. The numbers the page draws must be the
// engine's own: the same as a playground trained in one go from step 0, also when the worker
// answers in pieces, and when it goes back to an earlier step from a snapshot and trains on.
import { describe, expect, it } from 'vitest';
import { createPlayground, type PlaygroundOptions } from '../src/engine/playground/index.js';
import { advance, GRID, SNAPSHOT_EVERY } from '../notebooks/load-balancing/jobs.js';

const options = (strategy: 'none' | 'aux' | 'bias', seed: number): PlaygroundOptions => ({
  seed, task: { skew: 1.5 }, router: { n_routed_experts: 4, num_experts_per_tok: 2 }, capacityFactor: null,
  balance: strategy === 'bias' ? { strategy, biasGamma: 0.01 } : strategy === 'aux' ? { strategy, auxAlpha: 0.1 } : { strategy }, historyLimit: 2000,
});

/** A playground trained from step 0 to `steps` in one go: what the page must show. */
function fresh(o: PlaygroundOptions, steps: number) {
  const pg = createPlayground(o);
  pg.run(steps);
  return { history: pg.history, evaluation: pg.evaluate(), grid: pg.ownershipGrid(GRID) };
}

describe('load-balancing jobs: advance', () => {
  it('answers with the stats the page lacks, in lockstep, up to `to`', () => {
    const runs = [options('none', 11), options('bias', 11)];
    const a = advance({ runs: runs.map((o) => ({ options: o, have: 0 })), goal: 40, to: 15, ms: null, grids: [] });
    expect(a.map((r) => r.steps)).toEqual([15, 15]);
    expect(a[1].stats.map((s) => s.step)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    // Not at the goal: no evaluation, and no map unless asked for.
    expect(a.every((r) => r.evaluation === null && r.grid === null)).toBe(true);
    const b = advance({ runs: runs.map((o) => ({ options: o, have: 15 })), goal: 40, to: 40, ms: null, grids: [] });
    expect(b[0].stats[0].step).toBe(16);
    const want = fresh(runs[1], 40);
    expect([...a[1].stats, ...b[1].stats]).toEqual(want.history);
    // At the goal: the evaluation and the map at that step.
    expect(b[1].evaluation).toEqual(want.evaluation);
    expect(b[1].grid).toEqual(want.grid);
  });

  it('goes back to an earlier step (from a snapshot) and trains on to the same numbers', () => {
    const o = options('aux', 12);
    const far = 2 * SNAPSHOT_EVERY + 20;
    advance({ runs: [{ options: o, have: 0 }], goal: far, to: far, ms: null, grids: [] });
    // The page goes back to a step between two snapshots: it has that step's stats already.
    const back = SNAPSHOT_EVERY + 7;
    const a = advance({ runs: [{ options: o, have: back }], goal: back, to: back, ms: null, grids: [] });
    expect(a[0].steps).toBe(back);
    expect(a[0].stats).toEqual([]);
    expect(a[0].evaluation).toEqual(fresh(o, back).evaluation);
    // And forward again.
    const b = advance({ runs: [{ options: o, have: back }], goal: far, to: far, ms: null, grids: [] });
    const want = fresh(o, far);
    expect(b[0].stats).toEqual(want.history.slice(back));
    expect(b[0].evaluation).toEqual(want.evaluation);
    expect(b[0].grid).toEqual(want.grid);
  });

  it('stops when its time is up and the page keeps what it has', () => {
    const o = options('bias', 13);
    const a = advance({ runs: [{ options: o, have: 0 }], goal: 30, to: 30, ms: 0, grids: [0] });
    expect(a[0].steps).toBeLessThan(30);
    expect(a[0].stats.length).toBe(a[0].steps);
    // The map asked for is at the run's step.
    const pg = createPlayground(o);
    pg.run(a[0].steps);
    expect(a[0].grid).toEqual(pg.ownershipGrid(GRID));
  });
});
