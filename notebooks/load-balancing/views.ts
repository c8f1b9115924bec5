// What the load-balancing lesson draws of a training Frame (live.ts): chart data only, every
// number read from the runs' own step stats, ownership maps and evaluations. Long runs are shown
// in bins (a bin's value is the mean over its steps) so a frame stays cheap to draw.
import type { HeatmapData, LineChartData, Series, StatsData, TableData } from '$components/charts/types';
import { capacityFor, overflow, type StepStats } from '$engine/playground';
import type { Frame, RunFrame } from './live';

/** Columns of the load heatmap and points of a line series, at most. */
const MAX_COLS = 50;
const MAX_POINTS = 150;

/**
 * A view of a Frame, remembered for the last inputs it was asked about: the runs (RunFrame objects
 * are reused while a run has not changed, live.ts), the extra arguments, and what `key` picks of
 * the Frame. While training animates, the training cell yields the same Frame between new ones,
 * and a slider that leaves the runs as they were (speed, say) makes a Frame with the same runs:
 * the view then returns the same chart object, and the page has nothing to redraw.
 */
export function perFrame<A extends unknown[], T>(view: (frame: Frame, ...rest: A) => T, key: (frame: Frame) => unknown[] = () => []): (frame: Frame, ...rest: A) => T {
  let last: unknown[] | null = null;
  let lastValue: T;
  return (frame, ...rest) => {
    const deps = [...frame.runs, ...rest, ...key(frame)];
    if (!last || last.length !== deps.length || deps.some((v, i) => v !== last![i])) {
      lastValue = view(frame, ...rest);
      last = deps;
    }
    return lastValue;
  };
}

const SHORT: Record<string, string> = { none: 'none', aux: 'aux', bias: 'bias' };

function lastStep(frame: Frame): number {
  return Math.max(0, ...frame.runs.map((r) => r.steps));
}

/** Mean of f over each bin of `size` steps of a run's history; x is the bin's last step. */
function binned(history: readonly StepStats[], size: number, f: (s: StepStats) => number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let start = 0; start < history.length; start += size) {
    const end = Math.min(history.length, start + size);
    let sum = 0;
    for (let i = start; i < end; i++) sum += f(history[i]);
    out.push({ x: history[end - 1].step, y: sum / (end - start) });
  }
  return out;
}

function binSize(frame: Frame, max: number): number {
  return Math.max(1, Math.ceil(lastStep(frame) / max));
}

function perRun(frame: Frame, f: (s: StepStats) => number, style?: Series['style']): Series[] {
  const size = binSize(frame, MAX_POINTS);
  return frame.runs.map((r) => ({ name: r.label, points: binned(r.history, size, f), ...(style ? { style } : {}) }));
}

function averagedNote(frame: Frame): string {
  const size = binSize(frame, MAX_POINTS);
  return size > 1 ? ` (mean of every ${size} steps)` : '';
}

/** Tokens routed to each expert per step, for the three runs as blocks of rows (time along x). */
export function loadHeatmap(frame: Frame): HeatmapData {
  // Time axis up to the goal, so the grid keeps its size and fills from the left while training.
  const M = Math.max(1, frame.goal, lastStep(frame));
  const size = Math.max(1, Math.ceil(M / MAX_COLS));
  const cols = Math.ceil(M / size);
  const E = frame.runs[0].experts;
  const rows = frame.runs.length * E;
  const values = new Float64Array(rows * cols);
  const dimmed: [number, number][] = [];
  let max = 0;
  frame.runs.forEach((r, b) => {
    for (let c = 0; c < cols; c++) {
      const start = c * size, end = Math.min(r.history.length, (c + 1) * size);
      if (start >= end) {
        for (let e = 0; e < E; e++) dimmed.push([b * E + e, c]);
        continue;
      }
      for (let e = 0; e < E; e++) {
        let sum = 0;
        for (let i = start; i < end; i++) sum += r.history[i].load[e];
        const v = sum / (end - start);
        values[(b * E + e) * cols + c] = v;
        max = Math.max(max, v);
      }
    }
  });
  const r0 = frame.runs[0];
  const balanced = (r0.tokens * r0.topk) / E;
  return {
    kind: 'heatmap',
    rows,
    cols,
    values,
    rowLabels: frame.runs.flatMap((r) => Array.from({ length: E }, (_, e) => `${SHORT[r.strategy]} · expert ${e}`)),
    colLabels: Array.from({ length: cols }, (_, c) => String(c * size + 1)),
    rowTitle: 'run · expert',
    colTitle: size > 1 ? `training step (each column: ${size} steps)` : 'training step',
    scale: 'sequential',
    domain: [0, Math.max(max, 2 * balanced)],
    dimmed: dimmed.length > 0 ? { cells: dimmed, label: 'not trained yet' } : undefined,
    valueLabel: `tokens routed per step (even: T·K/E = ${balanced})`,
    digits: 1,
  };
}

/** MaxVio of each step's batch, per run, with the noise floor of uniformly random routing. */
export function maxVioChart(frame: Frame, noise: number): LineChartData {
  const M = Math.max(1, lastStep(frame));
  return {
    kind: 'line',
    series: [
      ...perRun(frame, (s) => s.maxVio),
      { name: 'uniformly random routing (batch noise)', points: [{ x: 1, y: noise }, { x: M, y: noise }], style: 'dashed' },
    ],
    xLabel: 'training step',
    yLabel: `MaxVio of the step's batch${averagedNote(frame)}`,
  };
}

/** The task loss (cross-entropy, without any balance loss) per run. */
export function lossChart(frame: Frame): LineChartData {
  return {
    kind: 'line',
    series: perRun(frame, (s) => s.loss),
    xLabel: 'training step',
    yLabel: `task loss (cross-entropy)${averagedNote(frame)}`,
    yScale: 'log',
  };
}

/** The bias run's e_score_correction_bias b_i after each step. */
export function biasChart(frame: Frame): LineChartData {
  const run = frame.runs.find((r) => r.strategy === 'bias')!;
  const size = binSize(frame, MAX_POINTS);
  const E = run.experts;
  const series: Series[] = Array.from({ length: E }, (_, i) => ({
    name: `b_${i} (expert ${i})`,
    points: [] as { x: number; y: number }[],
    // Six colours and symbols: the 7th expert on is dashed so no two experts look alike.
    style: i >= 6 ? 'dashed' : 'line',
  }));
  for (let start = 0; start < run.history.length; start += size) {
    const s = run.history[Math.min(run.history.length, start + size) - 1];
    for (let i = 0; i < E; i++) series[i].points.push({ x: s.step, y: s.bias[i] });
  }
  return { kind: 'line', series, xLabel: 'training step', yLabel: 'bias b_i (after the step\'s update)' };
}

/**
 * (token, expert) pairs the capacity dropped per step, per run, against all T·K routed pairs. With no
 * capacity (DeepSeek-V3) nothing is dropped, so the chart shows what a capacity factor of 1.0 would
 * have dropped from the same routing (the engine's overflow of each step's recorded load), rather
 * than three lines at zero.
 */
export function dropChart(frame: Frame, capacity: number | null): LineChartData {
  const r0 = frame.runs[0];
  const all = r0.tokens * r0.topk;
  const M = Math.max(1, lastStep(frame));
  const wouldBe = capacity === null ? capacityFor(1, r0.tokens, r0.topk, r0.experts) : null;
  const runs = wouldBe === null ? perRun(frame, (s) => s.dropped) : perRun(frame, (s) => overflow(s.load, wouldBe)).map((s) => ({ ...s, name: `${s.name}: would drop at factor 1.0` }));
  return {
    kind: 'line',
    series: [...runs, { name: `all routed pairs (T·K = ${all})`, points: [{ x: 1, y: all }, { x: M, y: all }], style: 'dashed' }],
    xLabel: `training step${wouldBe !== null ? ` (no capacity: nothing dropped; shown, what a capacity of ${wouldBe} per expert, factor 1.0, would drop)` : ''}`,
    yLabel: `pairs ${wouldBe !== null ? 'a factor 1.0 would drop' : 'dropped'} per step${averagedNote(frame)}`,
  };
}

/** The three ownership maps side by side (one blank column between them), cluster centres outlined. */
export function ownershipHeatmap(frame: Frame): HeatmapData {
  const withGrid = frame.runs.find((r) => r.grid);
  const n = withGrid?.grid?.n ?? 24;
  const extent = withGrid?.grid?.extent ?? 1.25;
  const E = frame.runs[0].experts;
  const blocks = frame.runs.length;
  const cols = blocks * n + (blocks - 1);
  const values = new Float64Array(n * cols);
  const dimmed: [number, number][] = [];
  const marks: [number, number][] = [];
  const cellOf = (v: number) => Math.min(n - 1, Math.max(0, Math.floor(((v + extent) / (2 * extent)) * n)));
  frame.runs.forEach((r, b) => {
    const c0 = b * (n + 1);
    if (b > 0) for (let row = 0; row < n; row++) dimmed.push([row, c0 - 1]);
    for (let iy = 0; iy < n; iy++) {
      const row = n - 1 - iy; // y grows upwards
      for (let ix = 0; ix < n; ix++) {
        if (r.grid) values[row * cols + c0 + ix] = r.grid.owner[iy * n + ix];
        else dimmed.push([row, c0 + ix]);
      }
    }
    for (const c of r.clusters) marks.push([n - 1 - cellOf(c.center[1]), c0 + cellOf(c.center[0])]);
  });
  const coord = (i: number) => (-extent + ((i + 0.5) * 2 * extent) / n).toFixed(1);
  return {
    kind: 'heatmap',
    rows: n,
    cols,
    values,
    rowLabels: Array.from({ length: n }, (_, row) => coord(n - 1 - row)),
    colLabels: Array.from({ length: cols }, (_, c) => (c % (n + 1) === n ? '' : coord(c % (n + 1)))),
    rowTitle: 'y',
    colTitle: `x · left to right: ${frame.runs.map((r) => r.label).join(' | ')}`,
    // Which expert is a category, not an amount: one colour per expert (no order implied).
    scale: 'categorical',
    domain: [0, Math.max(1, E - 1)],
    marks: { cells: marks, label: 'centre of a data cluster' },
    dimmed: dimmed.length > 0 ? { cells: dimmed, label: 'between the maps (or not computed yet)' } : undefined,
    valueLabel: 'expert chosen first (index)',
    digits: 0,
  };
}

function stateText(frame: Frame): string {
  if (frame.playing) return frame.done ? `played to the end (step ${frame.goal})` : `playing to step ${frame.goal}`;
  if (frame.pausedAt !== null) return `paused at step ${frame.pausedAt} (the link holds step ${frame.runTo})`;
  return frame.done ? `trained to step ${frame.goal}` : `training to step ${frame.goal}…`;
}

/** Where the runs are, how long the chosen speed takes, and the task's skew as the engine drew it. */
export function status(frame: Frame): StatsData {
  const steps = Math.min(...frame.runs.map((r) => r.steps));
  const top = Math.max(...frame.runs[0].clusters.map((c) => c.frequency));
  const items: StatsData['items'] = [
    { label: 'Step', value: steps, note: stateText(frame) },
    { label: `Time from step 0 to ${frame.goal} at ${frame.speed} steps/s`, value: frame.goal / frame.speed, unit: 's', digits: 3, note: 'if the machine keeps up (the runs train in a Web Worker)' },
    { label: 'Most frequent cluster', value: top, format: 'percent', note: `of the points, of ${frame.runs[0].clusters.length} clusters` },
  ];
  if (frame.measured !== null) items.push({ label: 'Measured now', value: frame.measured, unit: 'steps/s per run', digits: 3 });
  return { kind: 'stats', items };
}

const meanLast = (h: readonly StepStats[], n: number, f: (s: StepStats) => number) => {
  const tail = h.slice(-n);
  return tail.length ? tail.reduce((a, s) => a + f(s), 0) / tail.length : 0;
};

/** Per run at its current step: balance and quality, on the step batches and on a fixed evaluation set. */
export function summaryTable(frame: Frame): TableData {
  const dash = '—';
  const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? dash : Number(v.toFixed(d)));
  return {
    kind: 'table',
    caption: `${frame.done ? `At step ${Math.min(...frame.runs.map((r) => r.steps))}. Eval: 1,024 fixed points, no update.` : 'Eval columns fill in when the runs stop.'} Balance loss: the last step; drops: mean of the last 50 steps.`,
    columns: [
      { key: 'run', label: 'Run' },
      { key: 'evalVio', label: 'MaxVio, eval', align: 'right' },
      { key: 'acc', label: 'Accuracy, eval', align: 'right', format: 'percent' },
      { key: 'loss', label: 'Task loss, eval', align: 'right' },
      { key: 'bal', label: 'Balance loss', align: 'right' },
      { key: 'dropped', label: 'Dropped / step', align: 'right' },
    ],
    rows: frame.runs.map((r: RunFrame) => ({
      run: r.label,
      evalVio: fmt(r.evaluation?.maxVio),
      acc: r.evaluation?.accuracy ?? dash,
      loss: fmt(r.evaluation?.loss),
      bal: r.history.length ? fmt(r.history[r.history.length - 1].balanceLoss, 4) : dash,
      dropped: r.history.length ? fmt(meanLast(r.history, 50, (s) => s.dropped), 1) : dash,
    })),
  };
}

/** The formula box's names: full histories (steps x experts) and per-step vectors. */
export function formulaScope(frame: Frame): Record<string, number | number[] | Float64Array | { rows: number; cols: number; data: Float64Array }> {
  const scope: Record<string, number | number[] | Float64Array | { rows: number; cols: number; data: Float64Array }> = {};
  const r0 = frame.runs[0];
  scope.T = r0.tokens;
  scope.K = r0.topk;
  scope.E = r0.experts;
  for (const r of frame.runs) {
    const h = r.history, E = r.experts;
    const load = new Float64Array(h.length * E);
    h.forEach((s, i) => load.set(s.load, i * E));
    scope[`load_${r.strategy}`] = { rows: h.length, cols: E, data: load };
    scope[`maxvio_${r.strategy}`] = Float64Array.from(h, (s) => s.maxVio);
    scope[`loss_${r.strategy}`] = Float64Array.from(h, (s) => s.loss);
    scope[`dropped_${r.strategy}`] = Float64Array.from(h, (s) => s.dropped);
    if (r.strategy === 'bias') {
      const biases = new Float64Array(h.length * E);
      h.forEach((s, i) => biases.set(s.bias, i * E));
      scope.biases = { rows: h.length, cols: E, data: biases };
      scope.bias = h.length ? Float64Array.from(h[h.length - 1].bias) : new Float64Array(E);
    }
  }
  return scope;
}
