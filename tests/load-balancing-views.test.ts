// The load-balancing lesson's token-dropping figure at its defaults (no capacity, DeepSeek-V3's
// setting): it was three lines at zero (an empty chart). It now shows what a capacity factor of 1.0
// would drop from the same recorded routing, counted by the engine's overflow(), which is exactly
// what the engine drops when that capacity is set.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityFor, createPlayground, overflow, type StepStats } from '../src/engine/playground/index.js';
import type { Frame, RunFrame } from '../notebooks/load-balancing/live.js';
import { dropChart } from '../notebooks/load-balancing/views.js';

function step(step: number, load: number[], dropped = 0): StepStats {
  return { step, loss: 1, balanceLoss: 0, accuracy: null, load, maxVio: 0, dropped, bias: load.map(() => 0) };
}

function frame(loads: number[][][]): Frame {
  const runs: RunFrame[] = loads.map((hist, r) => ({
    strategy: (['none', 'aux', 'bias'] as const)[r], label: `run ${r}`, steps: hist.length,
    history: hist.map((l, i) => step(i + 1, l)), tokens: 16, experts: 4, topk: 2,
    grid: null, gridStep: 0, evaluation: null, clusters: [],
  }));
  return { runs, goal: 3, runTo: 3, playing: false, pausedAt: null, done: true, speed: 120, measured: null };
}

describe('token-dropping chart at no capacity', () => {
  // T·K = 32 routed pairs over 4 experts: capacity at factor 1.0 is 8 per expert.
  const skewed = [[20, 8, 4, 0], [16, 8, 8, 0], [12, 12, 4, 4]];
  const even = [[8, 8, 8, 8], [8, 8, 8, 8], [8, 8, 8, 8]];

  it('is not empty: the unbalanced run shows what factor 1.0 would drop', () => {
    const chart = dropChart(frame([skewed, even, even]), null);
    const runs = chart.series.filter((s) => !s.name.startsWith('all routed pairs'));
    expect(runs).toHaveLength(3);
    expect(runs[0].points.map((p) => p.y)).toEqual([12, 8, 8]);
    expect(runs[1].points.every((p) => p.y === 0)).toBe(true);
    expect(chart.xLabel).toContain('nothing dropped');
  });

  it('with a capacity it shows what was dropped', () => {
    const f = frame([skewed, even, even]);
    f.runs[0].history = f.runs[0].history.map((s) => ({ ...s, dropped: 5 }));
    const chart = dropChart(f, 1);
    expect(chart.series[0].points.every((p) => p.y === 5)).toBe(true);
  });
});

describe('overflow', () => {
  it('equals what the engine drops at that capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.constantFrom(0.5, 1, 1.25, 2), (seed, cf) => {
        const p = createPlayground({ seed, capacityFactor: cf });
        const s = p.step();
        const cap = capacityFor(cf, 128, 2, 8)!;
        expect(overflow(s.load, cap)).toBe(s.dropped);
      }),
      { numRuns: 8 },
    );
  });
  it('no capacity, no number', () => {
    expect(capacityFor(null, 128, 2, 8)).toBeNull();
    expect(capacityFor(1, 128, 2, 8)).toBe(32);
  });
});
