// What the linear-attention lesson draws: chart data only, every number from the engine
// (src/engine/linear): mixing matrices, errors, entropies, decode costs, swapped-layer bits.
import type { BarChartData, HeatmapData, LineChartData, Series, StatsData, TableData } from '$components/charts/types';
import type { DeepSeekConfig } from '$engine/config';
import {
  ARCHITECTURES, type Architecture, type AssociativityCheck, type CostOptions, type SwapResult,
  crossover, layerDecodeCost, maxAbsDiff, relativeError, rowEntropies, stateBytes, stepFlops, variantLabel, variantStateNumbers,
} from '$engine/linear';
import type { Compared } from './compute';

/** Short names for the composite heatmap's blocks. */
const SHORT: Record<string, string> = { softmax: 'softmax', linear: 'linear', performer: 'Performer', normalised: 'normalised', chunked: 'chunked', block: 'block' };

/**
 * The five mixing matrices side by side (one T x T block each, a dimmed column between), each
 * weight as a multiple of an even spread: (i + 1) |w_ij| / sum_j |w_ij|, so 1 is "every earlier
 * token alike" in every row (raw weights would make row 0's weight of 1 swamp the rest). A row that
 * is not a distribution (TransNormer's) is measured by its magnitudes, like the entropies.
 */
export function mapsHeatmap(c: Compared): HeatmapData {
  const T = c.head.T, n = c.results.length, cols = n * T + (n - 1);
  const values = new Float64Array(T * cols);
  const colLabels: string[] = [];
  c.results.forEach((r, b) => {
    const w = r.weights!;
    const off = b * (T + 1);
    for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += Math.abs(w[i * T + j]);
      for (let j = 0; j <= i; j++) values[i * cols + off + j] = sum > 0 ? ((i + 1) * Math.abs(w[i * T + j])) / sum : 0;
    }
    for (let j = 0; j < T; j++) colLabels.push(j === 0 ? `${SHORT[c.variants[b].kind]} 0` : String(j));
    if (b < n - 1) colLabels.push('|');
  });
  const dimmed = maskedCells(T, n);
  return {
    kind: 'heatmap', rows: T, cols, values, colLabels, rowLabels: c.labels.map((ch, i) => `${i} ${ch}`),
    rowTitle: 'query token i', colTitle: 'key token j, one block per attention: softmax | linear (elu+1) | Performer | normalised | chunked',
    scale: 'sequential', domain: [0, 4], valueLabel: 'weight of v_j in output i, x (i+1): 1 = even spread (4 and above: top colour)',
    dimmed: { cells: dimmed, label: 'future tokens (masked) and gaps between blocks' },
    digits: 3,
  };
}

const masked = new Map<string, [number, number][]>();
/** The maps' hatched cells: each block's future tokens and the gaps between blocks (the same list for the same T, up to 10,000 cells at T = 64). */
function maskedCells(T: number, n: number): [number, number][] {
  const key = `${T}/${n}`;
  let cells = masked.get(key);
  if (!cells) {
    cells = [];
    for (let b = 0; b < n; b++) {
      const off = b * (T + 1);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) cells.push([i, off + j]);
      if (b < n - 1) for (let i = 0; i < T; i++) cells.push([i, off + T]);
    }
    masked.set(key, cells);
  }
  return cells;
}

function meanRowTV(a: Float64Array, b: Float64Array, T: number): number {
  let total = 0;
  for (let i = 0; i < T; i++) {
    let sa = 0, sb = 0;
    for (let j = 0; j <= i; j++) { sa += Math.abs(a[i * T + j]); sb += Math.abs(b[i * T + j]); }
    let tv = 0;
    for (let j = 0; j <= i; j++) tv += Math.abs((sa > 0 ? Math.abs(a[i * T + j]) / sa : 0) - (sb > 0 ? Math.abs(b[i * T + j]) / sb : 0));
    total += tv / 2;
  }
  return total / T;
}

const mean = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + v, 0) / x.length;

/** Error of each attention against softmax, its mean row entropy, and the state it decodes with. */
export function errorTable(c: Compared): TableData {
  const T = c.head.T, soft = c.results[0];
  const uniform = mean(Float64Array.from({ length: T }, (_, i) => Math.log2(i + 1)));
  return {
    kind: 'table',
    columns: [
      { key: 'variant', label: 'attention' },
      { key: 'err', label: 'output error', align: 'right' },
      { key: 'tv', label: 'row distance', align: 'right' },
      { key: 'entropy', label: 'entropy (bits)', align: 'right' },
      { key: 'state', label: 'state', align: 'right' },
      { key: 'rec', label: 'max |par − rec|', align: 'right' },
    ],
    rows: c.results.map((r, b) => ({
      variant: variantLabel(c.variants[b]),
      err: b === 0 ? '0 (reference)' : relativeError(r.out, soft.out).toFixed(3),
      tv: b === 0 ? '0 (reference)' : meanRowTV(r.weights!, soft.weights!, T).toFixed(3),
      entropy: mean(rowEntropies(r.weights!, T)).toFixed(2),
      state: variantStateNumbers(c.variants[b], T, c.head.dk, c.head.dv),
      rec: b === 0 ? 'no fixed state' : maxAbsDiff(r.out, c.recurrent[b]).toExponential(1),
    })),
    caption: `A row spread evenly over all earlier tokens would have ${uniform.toFixed(2)} bits on average at this length.`,
  };
}

/** Entropy of each row, per attention, against the even spread log2(i+1). */
export function entropyChart(c: Compared): LineChartData {
  const T = c.head.T;
  const series: Series[] = c.results.map((r, b) => ({
    name: variantLabel(c.variants[b]),
    points: Array.from(rowEntropies(r.weights!, T), (y, i) => ({ x: i, y })),
  }));
  series.push({ name: 'even spread, log2(i+1)', style: 'dashed', points: Array.from({ length: T }, (_, i) => ({ x: i, y: Math.log2(i + 1) })) });
  return { kind: 'line', series, xLabel: 'query token i', yLabel: 'row entropy (bits)', xIntegers: true };
}

export function performerChart(ms: number[], orth: number[], iid: number[], m: number): LineChartData {
  return {
    kind: 'line',
    series: [
      { name: 'orthogonal random features (FAVOR+)', points: ms.map((x, i) => ({ x, y: orth[i] })) },
      { name: 'i.i.d. Gaussian features', style: 'dashed', points: ms.map((x, i) => ({ x, y: iid[i] })) },
    ],
    xLabel: 'random features m', yLabel: 'output error vs softmax (relative)', xScale: 'log', yScale: 'log',
    markers: [{ x: m, label: `m = ${m}` }],
  };
}

export function normStats(n: { qMean: number; qMax: number; kMean: number; kMax: number }): StatsData {
  return {
    kind: 'stats',
    items: [
      { label: 'mean |q| · s^½', value: n.qMean, digits: 2, note: `largest ${n.qMax.toFixed(2)}` },
      { label: 'mean |k| · s^½', value: n.kMean, digits: 2, note: `largest ${n.kMax.toFixed(2)}` },
      { label: 'exp(|q + k|²) at the means, aligned', value: Math.exp((n.qMean + n.kMean) ** 2), format: 'sci', digits: 1, note: 'how the variance of one feature scales' },
    ],
  };
}

export function associativityStats(a: AssociativityCheck): StatsData {
  return {
    kind: 'stats',
    items: [
      { label: 'max |(QKᵀ)V − Q(KᵀV)|', value: a.maxDifference, format: 'sci', digits: 2, note: `entries up to ${a.maxEntry.toFixed(1)}` },
      { label: '(QKᵀ)V multiply-adds', value: a.macsLeft, format: 'si' },
      { label: 'Q(KᵀV) multiply-adds', value: a.macsRight, format: 'si' },
      { label: 'exp on q and k separately, bracket moved: error vs softmax', value: a.softmaxMovedError, digits: 3, note: 'not a rounding error: a different attention' },
    ],
  };
}

const LABEL: Record<Architecture, string> = { MHA: 'MHA', GQA: 'GQA', MQA: 'MQA', MLA: 'MLA (absorbed)', linear: 'linear attention', SSM: 'SSM (Mamba-style)' };

/** Contexts on a log axis from 1 to `max`. */
function contexts(max: number): number[] {
  const out: number[] = [];
  for (let L = 1; L <= max; L *= 2) out.push(L);
  return out;
}

export function flopsChart(cfg: DeepSeekConfig, o: CostOptions, maxContext: number): LineChartData {
  const L = contexts(maxContext);
  return {
    kind: 'line',
    series: ARCHITECTURES.map((a) => {
      const c = layerDecodeCost(cfg, a, o);
      return { name: LABEL[a], style: c.macsPerToken === 0 ? 'dashed' : 'line', points: L.map((x) => ({ x, y: stepFlops(c, x) })) };
    }),
    xLabel: 'context (tokens)', yLabel: 'FLOPs per decode step, one layer', xScale: 'log', yScale: 'log', yFormat: 'si', xFormat: 'si',
  };
}

export function bytesChart(cfg: DeepSeekConfig, o: CostOptions, bytes: number, maxContext: number): LineChartData {
  const L = contexts(maxContext);
  return {
    kind: 'line',
    series: ARCHITECTURES.map((a) => {
      const c = layerDecodeCost(cfg, a, o);
      return { name: LABEL[a], style: c.elementsPerToken === 0 ? 'dashed' : 'line', points: L.map((x) => ({ x, y: stateBytes(c, x, bytes) })) };
    }),
    xLabel: 'context (tokens)', yLabel: 'bytes kept per layer', xScale: 'log', yScale: 'log', yFormat: 'bytes', xFormat: 'si',
  };
}

const fmtCtx = (n: number | null) => (n === null ? 'never' : n.toLocaleString('en-US'));

/** Contexts from which each caching attention costs more than each fixed-state layer. */
export function crossoverTable(configs: { name: string; config: DeepSeekConfig }[], o: CostOptions): TableData {
  const rows: Record<string, string | number>[] = [];
  for (const { name, config } of configs) for (const g of ['MHA', 'GQA', 'MQA', 'MLA'] as const) {
    const G = layerDecodeCost(config, g, o);
    const lin = layerDecodeCost(config, 'linear', o), ssm = layerDecodeCost(config, 'SSM', o);
    rows.push({
      model: name, arch: LABEL[g],
      linBytes: fmtCtx(crossover(G, lin, 'bytes')), linFlops: fmtCtx(crossover(G, lin, 'flops')),
      ssmBytes: fmtCtx(crossover(G, ssm, 'bytes')), ssmFlops: fmtCtx(crossover(G, ssm, 'flops')),
    });
  }
  return {
    kind: 'table',
    columns: [
      { key: 'model', label: 'widths' },
      { key: 'arch', label: 'cache' },
      { key: 'linBytes', label: 'bytes > linear', align: 'right' },
      { key: 'linFlops', label: 'FLOPs > linear', align: 'right' },
      { key: 'ssmBytes', label: 'bytes > SSM', align: 'right' },
      { key: 'ssmFlops', label: 'FLOPs > SSM', align: 'right' },
    ],
    rows,
    caption: 'The context (tokens) from which one layer of the caching attention keeps more bytes, or does more FLOPs per decode step, than one linear-attention or SSM layer. Same number format on both sides, so the bytes column does not depend on it.',
  };
}

/** A short name for a bar's axis label. */
function variantShort(v: SwapResult['variant']): string {
  switch (v.kind) {
    case 'softmax': return 'softmax';
    case 'linear': return v.phi === 'elu1' ? 'linear elu+1' : 'linear ReLU';
    case 'performer': return `Performer m=${v.features}`;
    case 'normalised': return 'TransNormer';
    case 'block': return `block b=${v.block}`;
    case 'chunked': return `FLASH C=${v.chunk}`;
  }
}

/** Change in cross-entropy against the unswapped model, per variant (softmax itself left out). */
export function swapChart(results: SwapResult[], unit: string): BarChartData {
  const base = results[0].bitsPerToken, rest = results.slice(1);
  return {
    kind: 'bar',
    categories: rest.map((r) => variantShort(r.variant)),
    series: [{ name: `change in ${unit}`, values: rest.map((r) => r.bitsPerToken - base) }],
    yLabel: `change in ${unit} (swapped − as is)`,
  };
}

/** `workerFailure`: why the lesson's worker failed, when these were computed on the page instead (said under the table). */
export function swapTable(results: (SwapResult & { where?: string })[], unit: string, modelName: string, workerFailure: string | null = null): TableData {
  const base = results[0].bitsPerToken;
  return {
    kind: 'table',
    columns: [
      { key: 'variant', label: `layer ${results[0].layer}'s attention` },
      { key: 'bits', label: unit, align: 'right' },
      { key: 'delta', label: 'change', align: 'right' },
    ],
    rows: results.map((r) => ({ variant: variantLabel(r.variant), bits: r.bitsPerToken.toFixed(3), delta: (r.bitsPerToken - base >= 0 ? '+' : '') + (r.bitsPerToken - base).toFixed(3) })),
    caption: `Model: ${modelName}. One token per character, so bits per token are bits per character.${results.some((r) => r.where === 'page') ? ` Computed on the page's main thread, which pauses while they run: the lesson's background worker failed (${workerFailure ?? 'no reason given'}).` : ''}`,
  };
}
