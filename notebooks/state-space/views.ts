// What the state-space lesson draws: chart data from the engine's HiPPO-LegS state and recall.
import type { HeatmapData, LineChartData, StatsData } from '$components/charts/types';
import { type LegsMethod, legsMatrices, legsRecall, legsRecallErrorFrom, legsStream, rootMeanSquare } from '$engine/linear';
import { memoPer } from '../_kit/memo';

// The streams of the current signal, per state size and discretisation: moving t, or sweeping N,
// then recalls from states already computed instead of streaming the signal again.
const streams = memoPer<Float64Array, Float64Array>(12);
/** legsStream(signal, N, method), kept while the signal is (at most 12 per signal). */
export function streamOf(signal: Float64Array, N: number, method: LegsMethod): Float64Array {
  return streams(signal, `${N}/${method}`, () => legsStream(signal, N, method));
}
const recallError = (signal: Float64Array, t: number, N: number, method: LegsMethod) => legsRecallErrorFrom(signal, streamOf(signal, N, method), N, t);

export interface Streamed {
  signal: Float64Array;
  /** Samples streamed in so far. */
  t: number;
  N: number;
  method: LegsMethod;
  /** State after each sample [L, N]. */
  states: Float64Array;
}

export function recallChart(s: Streamed): LineChartData {
  const c = s.states.subarray((s.t - 1) * s.N, s.t * s.N);
  const rec = legsRecall(c, s.t);
  const L = s.signal.length;
  return {
    kind: 'line',
    series: [
      { name: 'the signal (streamed in up to t)', points: Array.from({ length: s.t }, (_, i) => ({ x: i, y: s.signal[i] })) },
      { name: `recalled from ${s.N} numbers at t`, points: Array.from(rec, (y, i) => ({ x: i, y })) },
      ...(s.t < L ? [{ name: 'not yet seen', style: 'dashed' as const, points: Array.from({ length: L - s.t }, (_, i) => ({ x: s.t + i, y: s.signal[s.t + i] })) }] : []),
    ],
    xLabel: 'sample', yLabel: 'value', xIntegers: true,
    markers: [{ x: s.t, label: `t = ${s.t}` }],
  };
}

export function recallStats(s: Streamed): StatsData {
  return {
    kind: 'stats',
    items: [
      { label: 'samples seen', value: s.t },
      { label: 'numbers in the state', value: s.N, note: `${s.N * 4} bytes in FP32, whatever t is` },
      { label: 'RMS error of the recalled past', value: rootMeanSquare(legsRecallErrorFrom(s.signal, s.states, s.N, s.t)), digits: 3 },
    ],
  };
}

/** The state c_n(k) over time, at most 128 columns (a column is the state after the last sample of its bin). */
export function stateHeatmap(s: Streamed): HeatmapData {
  const L = s.signal.length, cols = Math.min(128, L), N = s.N;
  const values = new Float64Array(N * cols);
  const colLabels: string[] = [];
  const later: [number, number][] = [];
  for (let c = 0; c < cols; c++) {
    const k = Math.min(L, Math.round(((c + 1) * L) / cols)) - 1;
    colLabels.push(String(k + 1));
    if (k + 1 > s.t) for (let n = 0; n < N; n++) later.push([n, c]);
    for (let n = 0; n < N; n++) values[n * cols + c] = s.states[k * N + n];
  }
  return {
    kind: 'heatmap', rows: N, cols, values, colLabels,
    rowLabels: Array.from({ length: N }, (_, n) => `c${n}`),
    rowTitle: 'coefficient n', colTitle: 'samples streamed in', scale: 'diverging', valueLabel: 'c_n', digits: 3,
    ...(later.length ? { dimmed: { cells: later, label: 'after the moment t' } } : {}),
  };
}

/** RMS error of the recalled past at t for each state size (moving N only moves the chart's marker: see errorByN). */
export function rmsByN(signal: Float64Array, t: number, Ns: number[], method: LegsMethod): number[] {
  return Ns.map((n) => rootMeanSquare(recallError(signal, t, n, method)));
}

export function errorByN(Ns: number[], rms: number[], N: number): LineChartData {
  return {
    kind: 'line',
    series: [{ name: 'RMS error of the recalled past', points: Ns.map((n, i) => ({ x: n, y: Math.max(1e-12, rms[i]) })) }],
    xLabel: 'state size N (numbers)', yLabel: 'RMS error', xScale: 'log', yScale: 'log',
    markers: [{ x: N, label: `N = ${N}` }],
  };
}

/** Mean |error| by how far back the sample is (t - 1 - i), in up to 32 bins, for N/2, N and 2N. */
export function errorByLag(signal: Float64Array, t: number, N: number, method: LegsMethod): LineChartData {
  const bins = Math.min(32, t);
  const series = [Math.max(1, Math.floor(N / 2)), N, Math.min(128, 2 * N)]
    .filter((n, i, a) => a.indexOf(n) === i)
    .map((n) => {
      const e = recallError(signal, t, n, method);
      const sum = new Float64Array(bins), count = new Float64Array(bins);
      for (let i = 0; i < t; i++) {
        const lag = t - 1 - i, b = Math.min(bins - 1, Math.floor((lag * bins) / t));
        sum[b] += e[i]; count[b]++;
      }
      return {
        name: `N = ${n}`, style: (n === N ? 'line' : 'dashed') as 'line' | 'dashed',
        points: Array.from(sum, (s, b) => ({ x: Math.round(((b + 0.5) * t) / bins), y: count[b] ? s / count[b] : 0 })),
      };
    });
  return { kind: 'line', series, xLabel: 'how far back (samples before t)', yLabel: 'mean |error|' };
}

export function matrixHeatmap(N: number): HeatmapData {
  const n = Math.min(N, 10);
  const { A } = legsMatrices(n);
  return {
    kind: 'heatmap', rows: n, cols: n, values: A, scale: 'sequential',
    rowLabels: Array.from({ length: n }, (_, i) => String(i)), colLabels: Array.from({ length: n }, (_, i) => String(i)),
    rowTitle: 'n', colTitle: 'k', valueLabel: 'A_nk', digits: 2, showValues: true,
  };
}
