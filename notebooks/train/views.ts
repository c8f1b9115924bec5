// What the training lesson draws of a run: chart data only, every number read from the run's
// history (what the trainer worker measured) or from the reference constants (reference.ts).
// Long runs are shown in bins (a bin's value is the mean over its steps), so a frame stays cheap.
import type { HeatmapData, LineChartData, Series, StatsData, TableData } from '$components/charts/types';
import { type DeepSeekConfig, isMoeLayer } from '$engine/config';
import { maxVio } from '$engine/train/eval';
import { trainLayout } from '$engine/train/params';
import { lrAt } from '$engine/train/schedule';
import { TWIN_CURVES, TWIN_MAXVIO, TWIN_MTP, V3_ACCEPTANCE } from './reference';
import type { RunView } from './run';
import type { ShippedCurve } from './shipped-curve';
import { GAMMA_FALL_FROM, GAMMA_FALL_TO, MIN_LR_RATIO, type RunSettings, biasGammaAt, SCHEDULE_CHARS, type StepPoint, WARMUP_STEPS, charsPerStep, configOf, shapeFamily } from './settings';

const MAX_POINTS = 100;
const MAX_COLS = 50;
/** The left end of the characters axis (log scale). */
const X0 = 1000;

/** The MoE layers of a run's model (names as the trainer reports them), from its config. */
export function moeLayerNames(cfg: DeepSeekConfig): string[] {
  const out: string[] = [];
  for (let l = 0; l < cfg.num_hidden_layers + cfg.num_nextn_predict_layers; l++) if (isMoeLayer(cfg, l)) out.push(`model.layers.${l}.mlp`);
  return out;
}

function layersOf(run: RunView): string[] {
  return run.history.layers.length > 0 ? run.history.layers : moeLayerNames(configOf(run.settings));
}

export function layerLabel(prefix: string, cfg: DeepSeekConfig): string {
  const l = Number(prefix.split('.')[2]);
  return l >= cfg.num_hidden_layers ? `MTP (layer ${l})` : `layer ${l}`;
}

/** Mean of f over bins of steps; x is the bin's last characters-seen. */
function binned(steps: readonly StepPoint[], f: (s: StepPoint) => number | null): { x: number; y: number }[] {
  const size = Math.max(1, Math.ceil(steps.length / MAX_POINTS));
  const out: { x: number; y: number }[] = [];
  for (let start = 0; start < steps.length; start += size) {
    const end = Math.min(steps.length, start + size);
    let sum = 0, n = 0;
    for (let i = start; i < end; i++) {
      const v = f(steps[i]!);
      if (v !== null && Number.isFinite(v)) { sum += v; n++; }
    }
    if (n > 0) out.push({ x: Math.max(X0, steps[end - 1]!.chars), y: sum / n });
  }
  return out;
}

function binNote(run: RunView): string {
  const size = Math.ceil(run.history.steps.length / MAX_POINTS);
  return size > 1 ? ` (mean of every ${size} recorded steps)` : '';
}

/** A horizontal reference line across the characters axis. */
function hline(name: string, y: number, run: RunView): Series {
  return { name, points: [{ x: X0, y }, { x: Math.max(2e6, run.chars * 1.5), y }], style: 'dashed' };
}

/** Train and validation bits per character against characters seen, with the shipped model's and the twin's curves. */
export function bpcChart(run: RunView, shipped: ShippedCurve | null = null): LineChartData {
  const family = shapeFamily(run.settings.size);
  const evals = run.history.evals.filter((e) => e.chars > 0);
  const series: Series[] = [
    { name: `training batches${binNote(run)}`, points: binned(run.history.steps, (s) => s.bpc) },
    { name: 'held-out stories (validation)', points: evals.map((e) => ({ x: Math.max(X0, e.chars), y: e.valBpc })) },
  ];
  if (run.history.untrained) series.push(hline(`untrained model (step 0): ${run.history.untrained.valBpc.toFixed(2)}`, run.history.untrained.valBpc, run));
  if (shipped) {
    series.push({ name: `reference: the shipped model ${shipped.name} (its training log, batch of ${shipped.charsPerStep} characters)`, points: shipped.points.filter((p) => p.chars > 0).map((p) => ({ x: p.chars, y: p.bpc })), style: 'dashed' });
  }
  for (const c of TWIN_CURVES.filter((t) => t.shape === family)) {
    series.push({ name: `reference: ${c.name}`, points: c.points.map((p) => ({ x: p.chars, y: (p.lo + p.hi) / 2 })), style: 'dashed' });
  }
  return { kind: 'line', series: series.filter((s) => s.points.length > 0), xLabel: 'characters seen (log scale)', yLabel: 'bits per character', xScale: 'log', xFormat: 'si' };
}

/** Tokens routed to each expert per step, one block of rows per MoE layer, time along x. */
export function loadHeatmap(run: RunView): HeatmapData {
  const cfg = configOf(run.settings);
  const layers = layersOf(run);
  const E = cfg.n_routed_experts ?? 0;
  const steps = run.history.steps;
  const size = Math.max(1, Math.ceil(steps.length / MAX_COLS));
  const cols = Math.max(1, Math.ceil(steps.length / size));
  const rows = layers.length * E;
  const values = new Float64Array(rows * cols);
  const dimmed: [number, number][] = [];
  let max = 0;
  layers.forEach((_, b) => {
    for (let c = 0; c < cols; c++) {
      const start = c * size, end = Math.min(steps.length, (c + 1) * size);
      for (let e = 0; e < E; e++) {
        if (start >= end) { dimmed.push([b * E + e, c]); continue; }
        let sum = 0;
        for (let i = start; i < end; i++) sum += steps[i]!.load[b]?.[e] ?? 0;
        const v = sum / (end - start);
        values[(b * E + e) * cols + c] = v;
        max = Math.max(max, v);
      }
    }
  });
  const tokens = charsPerStep(run.settings);
  const even = (tokens * (cfg.num_experts_per_tok ?? 1)) / Math.max(1, E);
  return {
    kind: 'heatmap', rows, cols, values,
    rowLabels: layers.flatMap((l) => Array.from({ length: E }, (_, e) => `${layerLabel(l, cfg)} · expert ${e}`)),
    colLabels: Array.from({ length: cols }, (_, c) => String(steps[Math.min(steps.length, (c + 1) * size) - 1]?.step ?? 0)),
    rowTitle: 'MoE layer · routed expert',
    colTitle: size > 1 ? `training step (each column: the mean of ${size} recorded steps, labelled by its last)` : 'training step',
    scale: 'sequential',
    domain: [0, Math.max(max, 2 * even)],
    dimmed: dimmed.length > 0 ? { cells: dimmed, label: 'not trained yet' } : undefined,
    valueLabel: `tokens per step (even: T·K/E = ${even.toFixed(0)})`,
    digits: 0,
  };
}

/**
 * MaxVio per MoE layer: of the model as it stands on held-out text mixed as the training text is
 * (each evaluation; worker.ts measure), and of each training batch (binned), with the twin's and the
 * untrained figures.
 */
export function maxVioChart(run: RunView): LineChartData {
  const cfg = configOf(run.settings);
  const layers = layersOf(run);
  const evals = run.history.evals.filter((e) => e.chars > 0);
  const series: Series[] = layers.flatMap((l, b) => [
    { name: `${layerLabel(l, cfg)}, held-out text (each evaluation)`, points: evals.filter((e) => e.maxVio[b] !== undefined).map((e) => ({ x: Math.max(X0, e.chars), y: e.maxVio[b]! })) },
    { name: `${layerLabel(l, cfg)}, each training batch${binNote(run)}`, points: binned(run.history.steps, (s) => (s.load[b] ? maxVio(s.load[b]!) : null)), style: 'points' as const },
  ]);
  series.push(hline(`reference: twin with bias balancing, trained, held-out (${TWIN_MAXVIO.bias[0]}–${TWIN_MAXVIO.bias[1]})`, TWIN_MAXVIO.bias[1], run));
  if (run.history.untrained) {
    const u = Math.max(...run.history.untrained.maxVio, 0);
    series.push(hline(`this model untrained, held-out text (${u.toFixed(2)})`, u, run));
  }
  return { kind: 'line', series: series.filter((s) => s.points.length > 0), xLabel: 'characters seen (log scale)', yLabel: 'MaxVio (max load / mean − 1)', xScale: 'log', xFormat: 'si' };
}

/** e_score_correction_bias of each expert of the first MoE layer, after each step. */
export function biasChart(run: RunView): LineChartData {
  const cfg = configOf(run.settings);
  const layers = layersOf(run);
  const E = cfg.n_routed_experts ?? 0;
  const steps = run.history.steps;
  const size = Math.max(1, Math.ceil(steps.length / MAX_POINTS));
  const series: Series[] = Array.from({ length: E }, (_, i) => ({ name: `b_${i}`, points: [] as { x: number; y: number }[], style: i >= 8 ? 'dashed' : 'line' }));
  for (let start = 0; start < steps.length; start += size) {
    const s = steps[Math.min(steps.length, start + size) - 1]!;
    for (let i = 0; i < E; i++) series[i]!.points.push({ x: s.step, y: s.bias[0]?.[i] ?? 0 });
  }
  if (steps.length === 0) for (const s of series) s.points.push({ x: 0, y: 0 });
  return { kind: 'line', series, xLabel: 'training step', yLabel: `bias b_i, ${layers[0] ? layerLabel(layers[0], cfg) : 'first MoE layer'}`, xIntegers: true };
}

/** Lift P(expert | arithmetic) / P(expert | prose) per expert: trained now, and the same model untrained. */
export function liftHeatmap(run: RunView): HeatmapData {
  const cfg = configOf(run.settings);
  const layers = layersOf(run);
  const E = cfg.n_routed_experts ?? 0;
  const now = run.history.evals.at(-1);
  const u = run.history.untrained;
  const rows = layers.length * 2;
  const values = new Float64Array(rows * E);
  const dimmed: [number, number][] = [];
  let max = 1;
  layers.forEach((l, b) => {
    for (const [k, src] of [[0, now?.lift[b]], [1, u?.lift[b]]] as const) {
      for (let e = 0; e < E; e++) {
        const v = src?.[e];
        if (v === undefined) { dimmed.push([2 * b + k, e]); continue; }
        values[(2 * b + k) * E + e] = v;
        max = Math.max(max, v);
      }
    }
  });
  return {
    kind: 'heatmap', rows, cols: E, values,
    rowLabels: layers.flatMap((l) => [`${layerLabel(l, cfg)} · now`, `${layerLabel(l, cfg)} · untrained`]),
    colLabels: Array.from({ length: E }, (_, e) => String(e)),
    rowTitle: 'MoE layer · model', colTitle: `routed expert (now: step ${now?.step ?? 0})`,
    scale: 'sequential', domain: [0, max],
    dimmed: dimmed.length > 0 ? { cells: dimmed, label: 'not measured yet' } : undefined,
    valueLabel: 'lift P(expert | arithmetic) / P(expert)', digits: 2,
  };
}

/** The largest lift of each layer over training, against the untrained router's. */
export function liftChart(run: RunView): LineChartData {
  const cfg = configOf(run.settings);
  const layers = layersOf(run);
  const series: Series[] = [];
  layers.forEach((l, b) => {
    series.push({ name: `${layerLabel(l, cfg)}: largest lift`, points: run.history.evals.filter((e) => e.lift[b]?.length).map((e) => ({ x: e.step, y: Math.max(...e.lift[b]!) })) });
    const u = run.history.untrained?.lift[b];
    if (u?.length) series.push({ name: `${layerLabel(l, cfg)}: untrained router (${Math.max(...u).toFixed(2)})`, points: [{ x: 0, y: Math.max(...u) }, { x: Math.max(1, run.step), y: Math.max(...u) }], style: 'dashed' });
  });
  if (series.every((s) => s.points.length === 0)) series.push({ name: 'even (lift 1)', points: [{ x: 0, y: 1 }, { x: 1, y: 1 }], style: 'dashed' });
  return { kind: 'line', series: series.filter((s) => s.points.length > 0), xLabel: 'training step', yLabel: 'largest lift of one expert on arithmetic', xIntegers: true };
}

/** MTP greedy agreement and sampled acceptance on held-out stories, with the twin's end figures. */
export function mtpChart(run: RunView, shipped: ShippedCurve | null = null): LineChartData {
  if (!run.settings.mtp) return { kind: 'line', series: [{ name: 'no MTP module (MTP is off)', points: [{ x: X0, y: 0 }, { x: 2e6, y: 0 }], style: 'dashed' }], xLabel: 'characters seen (log scale)', yLabel: 'fraction', xScale: 'log', xFormat: 'si' };
  const twin = TWIN_MTP[shapeFamily(run.settings.size)];
  const evals = run.history.evals.filter((e) => e.chars > 0);
  const series: Series[] = [
    { name: 'greedy agreement (held out)', points: evals.filter((e) => e.greedy !== null).map((e) => ({ x: e.chars, y: e.greedy! })) },
    { name: 'sampled acceptance Σ min(p, q) (held out)', points: evals.filter((e) => e.sampled !== null).map((e) => ({ x: e.chars, y: e.sampled! })) },
    { name: `greedy agreement, training batches${binNote(run)}`, points: binned(run.history.steps, (s) => s.mtpAgree), style: 'points' },
    ...(shipped ? [{ name: `reference: the shipped model ${shipped.name}, greedy agreement (its training log)`, points: shipped.points.filter((p) => p.chars > 0 && p.greedy !== null).map((p) => ({ x: p.chars, y: p.greedy! })), style: 'dashed' as const }] : []),
    hline(`reference: twin trained, greedy (${twin.greedy[0]}–${twin.greedy[1]})`, twin.greedy[0], run),
    hline(`reference: twin trained, sampled (${twin.sampled[0]}–${twin.sampled[1]})`, twin.sampled[0], run),
  ];
  return { kind: 'line', series: series.filter((s) => s.points.length > 0), xLabel: 'characters seen (log scale)', yLabel: 'fraction of drafts accepted', xScale: 'log', xFormat: 'si' };
}

/** Tokens per decoding step with one MTP draft accepted with probability a: 1 + a. */
export function tokensPerStepChart(run: RunView): LineChartData {
  const evals = run.history.evals.filter((e) => e.chars > 0 && e.sampled !== null);
  const series: Series[] = [
    { name: 'sampling: 1 + sampled acceptance', points: evals.map((e) => ({ x: e.chars, y: 1 + e.sampled! })) },
    { name: 'greedy: 1 + greedy agreement', points: evals.map((e) => ({ x: e.chars, y: 1 + (e.greedy ?? 0) })) },
    hline(`reference: DeepSeek-V3, second token accepted ${V3_ACCEPTANCE.lo * 100}–${V3_ACCEPTANCE.hi * 100}% (1 + a)`, 1 + V3_ACCEPTANCE.lo, run),
    hline('no drafts: 1 token per step', 1, run),
  ];
  return { kind: 'line', series: series.filter((s) => s.points.length > 0), xLabel: 'characters seen (log scale)', yLabel: 'tokens per decoding step (expected)', xScale: 'log', xFormat: 'si' };
}

/** The learning rate schedule of these settings (what the run steps through). */
export function lrChart(s: RunSettings): LineChartData {
  const total = Math.max(WARMUP_STEPS + 1, Math.round(SCHEDULE_CHARS / charsPerStep(s)));
  const n = 120, points: { x: number; y: number }[] = [];
  for (let i = 0; i <= n; i++) {
    const step = Math.max(1, Math.round((i / n) * total * 1.1));
    points.push({ x: step, y: lrAt(step, { lr: s.lr, warmup: WARMUP_STEPS, total, minLrRatio: MIN_LR_RATIO }) });
  }
  return { kind: 'line', series: [{ name: `peak ${s.lr.toPrecision(2)}, ${WARMUP_STEPS} warm-up steps, cosine to ${MIN_LR_RATIO * 100}% at step ${total}`, points }], xLabel: 'training step', yLabel: 'learning rate', xIntegers: true };
}

/** γ of the bias update against characters seen, at these settings (biasGammaAt). */
export function gammaChart(s: RunSettings): LineChartData {
  const n = 120, points: { x: number; y: number }[] = [];
  for (let i = 0; i <= n; i++) {
    const x = X0 * (3 * SCHEDULE_CHARS / X0) ** (i / n);
    points.push({ x, y: biasGammaAt(s, x) });
  }
  const end = Math.min(s.gamma, s.gammaEnd);
  const name = end < s.gamma
    ? `γ ${s.gamma} for ${GAMMA_FALL_FROM / 1000}k characters, falling to ${end} at ${GAMMA_FALL_TO / 1e6}M`
    : `γ constant at ${s.gamma}`;
  const series: Series[] = [{ name: s.balancing === 'bias' ? name : `${name} (not used: balancing is ${s.balancing === 'aux' ? 'the auxiliary loss' : 'off'})`, points }];
  const markers = end < s.gamma ? [{ x: GAMMA_FALL_FROM, label: 'the fall starts' }, { x: GAMMA_FALL_TO, label: 'γ falls to' }] : undefined;
  return { kind: 'line', series, markers, xLabel: 'characters seen (log scale)', yLabel: 'γ (bias step per training step)', xScale: 'log', yScale: 'log', xFormat: 'si' };
}

/** The settings (as the inputs are now; a setting the strategy does not use is marked so) and the run's counters. */
export function runStats(run: RunView, s: RunSettings): StatsData {
  const cfg = configOf(s);
  const last = run.history.evals.at(-1);
  return {
    kind: 'stats',
    items: [
      { label: 'parameters trained', value: run.history.params || paramCount(cfg), format: 'si' },
      { label: 'characters per step', value: charsPerStep(s), note: `${s.batch} rows × ${s.seqLen - 1} predicted` },
      { label: 'balancing', value: s.balancing === 'bias' ? 'bias update' : s.balancing === 'aux' ? 'auxiliary loss' : 'none' },
      { label: 'γ (bias update)', value: s.gamma, note: s.balancing === 'bias' ? undefined : 'not used by this strategy' },
      { label: 'γ falls to', value: Math.min(s.gamma, s.gammaEnd), note: s.balancing !== 'bias' ? 'not used by this strategy' : s.gammaEnd < s.gamma ? `at ${GAMMA_FALL_TO / 1e6}M characters; γ is ${biasGammaAt(s, run.chars).toPrecision(2)} now` : 'γ is constant' },
      { label: 'α (auxiliary loss)', value: s.alpha, note: s.balancing === 'aux' ? undefined : 'not used by this strategy' },
      { label: 'MTP', value: s.mtp ? `on, λ = ${s.mtpLambda}` : `off (λ = ${s.mtpLambda} unused)` },
      { label: 'corpus', value: s.corpus === 'mix' ? 'stories + arithmetic' : 'stories' },
      { label: 'seed', value: s.seed },
      { label: 'validation', value: last ? last.valBpc : '–', digits: 3, unit: last ? 'bits/char' : undefined, note: last ? `at step ${last.step}` : 'after the first evaluation' },
    ],
  };
}

function paramCount(cfg: DeepSeekConfig): number {
  return trainLayout(cfg).total;
}

/** Two runs, side by side in a table: the comparison's numbers. */
export function compareTable(a: RunView, b: RunView | null, other: RunSettings['balancing']): TableData {
  const row = (r: RunView) => {
    const e = r.history.evals.at(-1);
    const vio = e && e.maxVio.length ? Math.max(...e.maxVio) : NaN;
    return {
      run: r.label, balancing: r.settings.balancing, step: r.step,
      val: e ? e.valBpc.toFixed(3) : '–', maxvio: Number.isFinite(vio) ? vio.toFixed(3) : '–',
      greedy: e?.greedy != null ? e.greedy.toFixed(3) : '–',
    };
  };
  return {
    kind: 'table',
    columns: [
      { key: 'run', label: 'run' }, { key: 'balancing', label: 'balancing' }, { key: 'step', label: 'step', align: 'right' },
      { key: 'val', label: 'val. bits/char', align: 'right' }, { key: 'maxvio', label: 'MaxVio (held out)', align: 'right' },
      { key: 'greedy', label: 'MTP agreement', align: 'right' },
    ],
    rows: b ? [row(a), row(b)] : [row(a)],
    caption: b ? 'Same seed, same data order, same initial weights: only the balancing differs. MaxVio: the worst MoE layer at the last evaluation, on held-out text mixed as the training text is.' : `Turn on the comparison to train a second run beside this one, with ${other === 'bias' ? 'the bias update' : other === 'aux' ? 'the auxiliary loss' : 'no balancing'}.`,
  };
}
