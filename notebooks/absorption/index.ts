// Lesson 3: absorbing W_UK into the query (and W_UV into the output). The engine runs one decode
// step on its three MLA paths (full-cache, decompressed, absorbed) and without a cache; the lesson
// compares their outputs live, draws one head's matrices and their absorbed products, prices each
// path per decode step as the context grows (tiny model and DeepSeek-V3), and shows why RoPE on the
// compressed key would break absorption while decoupled RoPE keeps it exact.
import type { HeatmapData, LineChartData, ShapeDiagramData, StatsData, TableData } from '$components/charts/types';
import ShapeDiagram from '$components/charts/ShapeDiagram.svelte';
import type { Backend } from '$kernels/backend';
import { type CountingBackend, countingBackend } from '$kernels/counting';
import { type HeadMatrices, type RopeAbsorption, headMatrices, maxAbsDiff, ropeAbsorption } from '$engine/absorption';
import type { AttentionPath, KVCache } from '$engine/cache';
import { type DeepSeekConfig, qkHeadDim } from '$engine/config';
import { decodeCost } from '$engine/cost';
import { type ForwardResult, type LayerTrace, type Model, argmaxRow } from '$engine/model';
import { cell, type Notebook } from '../_kit/types';
import { REAL_CONFIGS, formatTokens, tinyConfig } from '../_kit/models';
import { type LessonModel, SHIPPED_CONFIG, lessonModel } from '../_kit/shipped';
import { TEXT_EXAMPLES, glyphs, promptTokens, visibleText } from '../_kit/tokens';

export const meta = {
  slug: 'absorption',
  title: 'Absorbing W_UK into W_Q (and W_UV into W_O)',
  summary: 'Three ways to run one MLA decode step give the same answer; the absorbed one attends over the compressed cache directly. What it costs per step, and why it needs decoupled RoPE.',
  order: 3,
};

/** The lesson's model shape: the shipped trained model's (the tiny one before it is shipped). */
const TINY = SHIPPED_CONFIG ?? tinyConfig();
const V3 = REAL_CONFIGS[1];
/** The order paths are shown in: the plain one first, then the two that cache only c_KV and k^R. */
const PATHS: readonly AttentionPath[] = ['full-cache', 'decompressed', 'absorbed'];
const PATH_LABEL: Record<AttentionPath | 'recompute', string> = {
  recompute: 'full recompute (no cache)',
  'full-cache': 'full-cache (K, V per head)',
  decompressed: 'decompressed (c_KV, rebuild K, V)',
  absorbed: 'absorbed (c_KV, latent query)',
};
/** Bytes per cached number: the engine caches float32; DeepSeek-V3 is priced in BF16. */
const TINY_BYTES = 4;
const V3_BYTES = 2;

// ------------------------------------------------------------------ one decode step, every path

interface PathRun {
  path: AttentionPath;
  /** Logits of the decode step [vocab]. */
  logits: Float32Array;
  trace: LayerTrace[];
  /** Multiply-adds the engine counted for the decode step alone. */
  macs: number;
  /** The cache after the step, copied (the live cache is reused by the next step). */
  cacheBytes: number;
  elementsPerToken: number;
  /** Latent paths: per layer, the cached c_KV [context, d_c] and k^R [context, d_h^R]. */
  ckv: Float32Array[];
  kPe: Float32Array[];
}

interface DecodeStep {
  tokens: number[];
  /** Tokens the decode step attends over (itself included). */
  context: number;
  runs: PathRun[];
  /** The full recompute without a cache: last row of logits and the trace of every position. */
  full: { logits: Float32Array; trace: LayerTrace[] };
}

/**
 * One live cache per path, kept between slider moves. The prompt of length n is a prefix of the
 * prompt of length n + 1 (promptTokens repeats a short text), so a new length rolls a cache back (KVCache.truncate, as
 * speculative decoding does) or runs only the missing prompt tokens through that path, instead of
 * prefilling from scratch. The prefill always runs in chunks aligned to positions 0, 8, 16, ...,
 * so a cache's contents depend only on the prompt, never on the order the slider visited lengths
 * in: a shared link shows the same rounding-level differences as the page it came from.
 */
const CHUNK = 8;
interface PathState {
  counter: CountingBackend;
  model: Model;
  cache: KVCache;
  /** Tokens of the cache's whole aligned chunks (what a later step may keep), in order. */
  tokens: number[];
}
const pathStates = new WeakMap<Model, Map<AttentionPath, PathState>>();

function stateOf(model: Model, path: AttentionPath): PathState {
  let perModel = pathStates.get(model);
  if (!perModel) pathStates.set(model, (perModel = new Map()));
  let st = perModel.get(path);
  if (!st) {
    const counter = countingBackend(model.backend);
    const counted = model.withBackend(counter);
    st = { counter, model: counted, cache: counted.createCache(path), tokens: [] };
    perModel.set(path, st);
  }
  return st;
}

/** Bring `path`'s cache to all but the last token, then decode the last token, counting its work. */
function decodeOn(model: Model, tokens: number[], path: AttentionPath): PathRun {
  const st = stateOf(model, path);
  const prefix = tokens.length - 1;
  let keep = 0;
  while (keep < Math.min(prefix, st.tokens.length) && st.tokens[keep] === tokens[keep]) keep++;
  keep -= keep % CHUNK;
  st.tokens = []; // until the step succeeds, trust nothing in the cache
  st.cache.truncate(keep);
  for (let s = keep; s < prefix; s += CHUNK) st.model.forward(tokens.slice(s, Math.min(s + CHUNK, prefix)), { cache: st.cache });
  st.counter.reset();
  const out = st.model.forward(tokens.slice(prefix), { cache: st.cache, trace: true });
  const macs = st.counter.macs;
  st.tokens = tokens.slice(0, prefix - (prefix % CHUNK));
  const latent = path !== 'full-cache', n = tokens.length;
  return {
    path, logits: out.logits, trace: out.trace!, macs,
    cacheBytes: st.cache.bytes,
    elementsPerToken: st.cache.layers[0].elementsPerToken,
    ckv: latent ? st.cache.layers.map((l) => l.ckv.view(n).slice()) : [],
    kPe: latent ? st.cache.layers.map((l) => l.kPe.view(n).slice()) : [],
  };
}


function decodeStep(model: Model, tokens: number[]): DecodeStep {
  const V = model.config.vocab_size, n = tokens.length;
  const runs = PATHS.map((p) => decodeOn(model, tokens, p));
  const full = model.forward(tokens, { trace: true });
  return { tokens, context: n, runs, full: { logits: full.logits.slice((n - 1) * V, n * V), trace: full.trace! } };
}

/** Logits of the step by name: 'recompute' or a path. */
function logitsOf(step: DecodeStep, name: AttentionPath | 'recompute'): Float32Array {
  return name === 'recompute' ? step.full.logits : step.runs.find((r) => r.path === name)!.logits;
}

const sci = (v: number) => (v === 0 ? '0' : v.toExponential(1));

// ------------------------------------------------------------------ matrices

function matrixMap(values: ArrayLike<number>, rows: number, cols: number, rowTitle: string, colTitle: string, valueLabel: string): HeatmapData {
  return { kind: 'heatmap', rows, cols, values: Array.from(values), rowTitle, colTitle, scale: 'diverging', valueLabel, digits: 3 };
}

/** A row-major matrix as nested arrays (what mathjs reads as a matrix). */
function nested(a: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => a[r * cols + c]));
}

// ------------------------------------------------------------------ cost as the context grows

const CONTEXTS = Array.from({ length: 14 }, (_, i) => 16 * 2 ** i); // 16 .. 131072

function costChart(cfg: DeepSeekConfig, measure: 'bytes' | 'flops', bytes: number, context: number, who: string): LineChartData {
  return {
    kind: 'line',
    xLabel: 'context (tokens attended over)',
    yLabel: measure === 'bytes' ? `${who}: KV cache, all layers (${bytes === 4 ? 'FP32' : 'BF16'})` : `${who}: attention FLOPs per decode step`,
    xScale: 'log',
    yScale: 'log',
    yFormat: measure === 'bytes' ? 'bytes' : 'si',
    markers: [{ x: context, label: formatTokens(context) }],
    series: PATHS.map((path) => ({
      name: path,
      style: path === 'absorbed' ? 'line' : 'dashed',
      points: CONTEXTS.map((x) => {
        const c = decodeCost(cfg, path, x, bytes);
        return { x, y: measure === 'bytes' ? c.cacheBytes : c.attentionFlops };
      }),
    })),
  };
}

// ------------------------------------------------------------------ RoPE

/** Mean over the queries t >= j of a [T, T] grid, for each key position j. */
function meanByKey(grid: Float64Array, T: number, abs = false): { x: number; y: number }[] {
  return Array.from({ length: T }, (_, j) => {
    let s = 0;
    for (let t = j; t < T; t++) s += abs ? Math.abs(grid[t * T + j]) : grid[t * T + j];
    return { x: j, y: s / (T - j) };
  });
}

/** A causal [T, T] grid of errors; `top` fixes the colour scale (so two grids can share one). */
function causalGrid(grid: Float64Array, T: number, valueLabel: string, top?: number): HeatmapData {
  const masked: [number, number][] = [];
  for (let t = 0; t < T; t++) for (let j = t + 1; j < T; j++) masked.push([t, j]);
  return {
    kind: 'heatmap', rows: T, cols: T, values: Array.from(grid), scale: 'sequential', valueLabel, digits: 2,
    ...(top !== undefined ? { domain: [0, top > 0 ? top : 1] as [number, number] } : {}),
    rowTitle: 'query position t', colTitle: 'key position j',
    dimmed: { cells: masked, label: 'masked: the query cannot see key j > t' },
  };
}

// ------------------------------------------------------------------ the notebook

export const notebook: Notebook = {
  inputs: [
    { kind: 'select', name: 'weights', label: 'Weights', value: 'trained', options: [{ value: 'trained', label: 'trained (shipped model)' }, { value: 'random', label: 'random (same shape, seeded)' }], help: 'The equality of the three paths holds for any weights: switch to random ones and it still holds.' },
    { kind: 'text', name: 'text', label: 'Your text (the prompt)', value: TEXT_EXAMPLES[0].value, maxLength: 512, examples: TEXT_EXAMPLES, help: 'The first tokens of this text are the decode step\'s context and the RoPE check\'s positions; one character per token.' },
    { kind: 'range', name: 'promptLength', label: 'Tokens in the decode step\'s context', min: 2, max: 64, step: 1, value: 12, unit: 'tokens', help: 'The first tokens are prefilled into each path\'s cache; the last one is the decode step.' },
    { kind: 'range', name: 'layer', label: 'Layer', min: 0, max: TINY.num_hidden_layers - 1, step: 1, value: 0, help: 'Which decoder layer\'s matrices and attention are shown.' },
    { kind: 'range', name: 'head', label: 'Head', min: 0, max: TINY.num_attention_heads - 1, step: 1, value: 0, help: 'Which attention head\'s matrices and attention are shown.' },
    { kind: 'range', name: 'context', label: 'Context length', min: 16, max: 131072, step: 1, value: 4096, log2: true, unit: 'tokens', format: formatTokens, help: 'Tokens a decode step attends over, for the cost curves.' },
    { kind: 'range', name: 'positions', label: 'Positions in the RoPE check', min: 2, max: 48, step: 1, value: 24, unit: 'tokens', help: 'Length of the prompt whose query/key scores are compared under RoPE.' },
  ],
  cells: [
    cell('lm', ['weights', 'backend'], (weights: 'trained' | 'random', backend: Backend) => lessonModel(weights, backend), { kind: 'engine', detail: 'the shipped trained model (kit/shipped.ts), or its shape with seeded random weights' }),
    cell('model', ['lm'], (lm: LessonModel) => lm.model, { kind: 'engine' }),
    cell('prompt', ['promptLength', 'text'], (n: number, text: string) => promptTokens(text, n).ids, { kind: 'derived', detail: 'the reader\'s text, one ASCII character per token' }),
    cell('step', ['model', 'prompt'], (model: Model, prompt: number[]) => decodeStep(model, prompt), { kind: 'engine', detail: 'one cache per path, prefill then one decode step; multiply-adds counted' }),

    // Section: one decode step, three ways.
    cell('logitDiff', ['step'], (step: DecodeStep): LineChartData => ({
      kind: 'line',
      xLabel: 'vocabulary entry (ASCII code)',
      yLabel: 'logit minus the full recompute\'s',
      series: PATHS.map((p) => {
        const a = logitsOf(step, p), b = step.full.logits;
        return { name: p, style: p === 'absorbed' ? 'line' : p === 'decompressed' ? 'dashed' : 'points', points: Array.from(a, (v, x) => ({ x, y: v - b[x] })) };
      }),
    }), { kind: 'engine', detail: 'last-step logits of each path and of model.forward(allTokens)' }),
    cell('diffTable', ['step'], (step: DecodeStep): TableData => {
      const names = ['recompute', ...PATHS] as const;
      return {
        kind: 'table',
        caption: `max |difference| of the decode step's ${step.full.logits.length} logits, every pair`,
        columns: [{ key: 'name', label: '' }, ...names.map((n) => ({ key: n, label: n === 'recompute' ? 'recompute' : n, align: 'right' as const }))],
        rows: names.map((a) => ({ name: PATH_LABEL[a], ...Object.fromEntries(names.map((b) => [b, a === b ? '—' : sci(maxAbsDiff(logitsOf(step, a), logitsOf(step, b)))])) })),
      };
    }, { kind: 'engine' }),
    cell('stepStats', ['step', 'lm'], (step: DecodeStep, lm: LessonModel): StatsData => {
      const names = ['recompute', ...PATHS] as const;
      const V = step.full.logits.length;
      const picks = names.map((n) => argmaxRow(logitsOf(step, n), 0, V));
      let worst = 0;
      for (const a of names) for (const b of names) worst = Math.max(worst, maxAbsDiff(logitsOf(step, a), logitsOf(step, b)));
      const scale = step.full.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      return {
        kind: 'stats',
        items: [
          { label: 'Largest difference between any two of the four paths, relative to the largest |logit|', value: scale > 0 ? worst / scale : worst, format: 'sci', digits: 1, note: `${sci(worst)} against logits up to ${scale.toFixed(2)}: float32 rounding, the paths add the same products in different orders` },
          { label: 'Next character (argmax) on every path', value: picks.every((p) => p === picks[0]) ? `"${glyphs([picks[0]])[0]}" on all four` : `differs: ${glyphs(picks).join(', ')}` },
          { label: 'Context of the decode step', value: visibleText(step.tokens), note: `${step.context - 1} characters prefilled into each cache, then 1 decoded` },
          { label: 'Model', value: lm.trained ? 'trained' : 'random weights', note: lm.name },
        ],
      };
    }, { kind: 'engine' }),

    // Section: the matrices.
    cell('absorbShapes', ['model', 'prompt'], (model: Model, prompt: number[]): ShapeDiagramData => {
      const cfg = model.config;
      const T = prompt.length, d = cfg.hidden_size, dc = cfg.kv_lora_rank, dq = cfg.q_lora_rank ?? cfg.hidden_size, dh = cfg.qk_nope_head_dim, dv = cfg.v_head_dim;
      const qName = cfg.q_lora_rank === null ? 'h' : 'c^Q', qDim = cfg.q_lora_rank === null ? 'd' : "d_c'";
      return {
        kind: 'shapes',
        rows: [
          { label: 'Decompressed, every step: rebuild each cached key of the head', terms: [
            { name: 'K^C', rows: T, cols: dh, rowDim: 'T', colDim: 'd_h', tone: 'act' }, { op: '=' },
            { name: 'c_KV', rows: T, cols: dc, rowDim: 'T', colDim: 'd_c', tone: 'cache' }, { op: '·' },
            { name: 'W_UKᵀ', rows: dc, cols: dh, rowDim: 'd_c', colDim: 'd_h', tone: 'weight' },
          ], note: `then scores = q^C · K^Cᵀ: the d_c × d_h product is paid for all T cached tokens, every step` },
          { label: 'Absorbed, once from the weights', terms: [
            { name: 'W_UQᵀ W_UK', rows: dq, cols: dc, rowDim: qDim, colDim: 'd_c', tone: 'absorbed' }, { op: '=' },
            { name: 'W_UQᵀ', rows: dq, cols: dh, rowDim: qDim, colDim: 'd_h', tone: 'weight' }, { op: '·' },
            { name: 'W_UK', rows: dh, cols: dc, rowDim: 'd_h', colDim: 'd_c', tone: 'weight' },
          ] },
          { label: 'Absorbed, every step: score the cache directly', terms: [
            { name: 'scores', rows: 1, cols: T, rowDim: '1', colDim: 'T', tone: 'act' }, { op: '=' },
            { name: qName, rows: 1, cols: dq, rowDim: '1', colDim: qDim, tone: 'act' }, { op: '·' },
            { name: 'W_UQᵀ W_UK', rows: dq, cols: dc, rowDim: qDim, colDim: 'd_c', tone: 'absorbed' }, { op: '·' },
            { name: 'c_KVᵀ', rows: dc, cols: T, rowDim: 'd_c', colDim: 'T', tone: 'cache' },
          ] },
          { label: 'And the value side: the head writes the output from latents', terms: [
            { name: 'o', rows: d, cols: 1, rowDim: 'd', colDim: '1', tone: 'act' }, { op: '=' },
            { name: 'W_O W_UV', rows: d, cols: dc, rowDim: 'd', colDim: 'd_c', tone: 'absorbed' }, { op: '·' },
            { name: 'Σ a_j c_KV,j', rows: dc, cols: 1, rowDim: 'd_c', colDim: '1', tone: 'act' },
          ], note: `W_O's columns of this head (d × d_v = ${d} × ${dv}) times W_UV (d_v × d_c)` },
        ],
      };
    }, { kind: 'derived', detail: 'the shapes of the loaded model\'s config and the prompt length' }),
    cell('mats', ['model', 'layer', 'head'], (model: Model, layer: number, head: number) => headMatrices(model, layer, head), { kind: 'engine', detail: 'headMatrices: q_b_proj, kv_b_proj, o_proj slices and their float64 products' }),
    cell('wuqMap', ['mats'], (m: HeadMatrices) => matrixMap(m.wUQ, TINY.qk_nope_head_dim, m.queryInput, 'row of q^C (d_h)', 'query latent c^Q dim (d_c\')', 'weight'), { kind: 'engine', detail: 'q_b_proj rows of this head\'s q^C' }),
    cell('wukMap', ['mats'], (m: HeadMatrices) => matrixMap(m.wUK, TINY.qk_nope_head_dim, TINY.kv_lora_rank, 'row of k^C (d_h)', 'c_KV dim (d_c)', 'weight'), { kind: 'engine', detail: 'kv_b_proj rows of this head\'s k^C' }),
    cell('wqkMap', ['mats'], (m: HeadMatrices) => matrixMap(m.absorbedQK, m.queryInput, TINY.kv_lora_rank, 'query latent c^Q dim (d_c\')', 'c_KV dim (d_c)', 'W_UQ^T W_UK'), { kind: 'derived', detail: 'product of the two engine matrices above' }),
    cell('wuvMap', ['mats'], (m: HeadMatrices) => matrixMap(m.wUV, TINY.v_head_dim, TINY.kv_lora_rank, 'row of v^C (d_v)', 'c_KV dim (d_c)', 'weight'), { kind: 'engine', detail: 'kv_b_proj rows of this head\'s v^C' }),
    cell('wovMap', ['mats'], (m: HeadMatrices) => matrixMap(m.absorbedOV, TINY.hidden_size, TINY.kv_lora_rank, 'output dim (d)', 'c_KV dim (d_c)', 'W_O W_UV'), { kind: 'derived', detail: 'this head\'s o_proj columns times W_UV' }),
    cell('headAttention', ['step', 'layer', 'head'], (step: DecodeStep, layer: number, head: number): HeatmapData => {
      const N = step.context, T = N;
      const rows = [step.full.trace[layer].attention.weights.subarray((head * T + T - 1) * N, (head * T + T) * N)];
      for (const r of step.runs) rows.push(r.trace[layer].attention.weights.subarray(head * N, (head + 1) * N));
      const values: number[] = [];
      for (const r of rows) values.push(...r);
      return {
        kind: 'heatmap', rows: rows.length, cols: N, values, scale: 'sequential', domain: [0, Math.max(...values)], valueLabel: 'attention weight', digits: 3,
        rowLabels: ['recompute', ...PATHS], colLabels: glyphs(step.tokens),
        rowTitle: 'path', colTitle: 'key (the character at position j)',
      };
    }, { kind: 'engine', detail: 'softmax weights in each path\'s trace' }),
    cell('mergeTable', ['model'], (model: Model): TableData => {
      const rows = [{ name: 'nanoseek (this page)', cfg: model.config }, { name: V3.name, cfg: V3.config }].flatMap(({ name, cfg }) => {
        const qIn = cfg.q_lora_rank ?? cfg.hidden_size, nope = cfg.qk_nope_head_dim, dc = cfg.kv_lora_rank, dv = cfg.v_head_dim, d = cfg.hidden_size;
        return [
          { model: name, side: 'query: W_UQ, then W_UK^T', two: nope * qIn + nope * dc, merged: qIn * dc },
          { model: name, side: 'output: W_UV, then W_O', two: dv * dc + d * dv, merged: d * dc },
        ].map((r) => ({ ...r, ratio: r.merged / r.two }));
      });
      return {
        kind: 'table',
        caption: 'Weights per head (= multiply-adds per token): two products in a row, or one precomputed matrix',
        columns: [
          { key: 'model', label: 'Model' },
          { key: 'side', label: 'Side' },
          { key: 'two', label: 'Two products', align: 'right', format: 'plain' },
          { key: 'merged', label: 'Merged matrix', align: 'right', format: 'plain' },
          { key: 'ratio', label: 'Merged / two', align: 'right', format: 'ratio' },
        ],
        rows,
      };
    }, { kind: 'derived', detail: 'matrix shapes from each config.json' }),

    // Section: cost per decode step.
    cell('countTable', ['step'], (step: DecodeStep): TableData => ({
      kind: 'table',
      caption: `Multiply-adds of this decode step (context ${step.context}): counted by the engine as it ran, and decodeCost's attention part; cache as the engine holds it (FP32)`,
      columns: [
        { key: 'path', label: 'Path' },
        { key: 'elements', label: 'Cached / token / layer', align: 'right', format: 'plain' },
        { key: 'bytes', label: 'Cache', align: 'right', format: 'bytes' },
        { key: 'counted', label: 'Counted (step)', align: 'right', format: 'plain' },
        { key: 'predicted', label: 'decodeCost (attention)', align: 'right', format: 'plain' },
        { key: 'rest', label: 'Difference', align: 'right', format: 'plain' },
      ],
      rows: step.runs.map((r) => {
        const c = decodeCost(TINY, r.path, step.context);
        return { path: r.path, elements: r.elementsPerToken, bytes: r.cacheBytes, counted: r.macs, predicted: c.attentionFlops / 2, rest: r.macs - c.attentionFlops / 2 };
      }),
    }), { kind: 'engine', detail: 'countingBackend tallies of the step; decodeCost from the dims' }),
    cell('tinyBytes', ['context'], (context: number) => costChart(TINY, 'bytes', TINY_BYTES, context, 'nanoseek'), { kind: 'derived', detail: 'decodeCost, tiny config, FP32 as the engine caches' }),
    cell('tinyFlops', ['context'], (context: number) => costChart(TINY, 'flops', TINY_BYTES, context, 'nanoseek'), { kind: 'derived', detail: 'decodeCost, tiny config' }),
    cell('v3Bytes', ['context'], (context: number) => costChart(V3.config, 'bytes', V3_BYTES, context, V3.name), { kind: 'derived', detail: `decodeCost, ${V3.source}, BF16 cache` }),
    cell('v3Flops', ['context'], (context: number) => costChart(V3.config, 'flops', V3_BYTES, context, V3.name), { kind: 'derived', detail: `decodeCost, ${V3.source}` }),
    cell('costTable', ['context'], (context: number): TableData => {
      const rows = [{ name: 'nanoseek (FP32)', cfg: TINY, bytes: TINY_BYTES }, { name: `${V3.name} (BF16)`, cfg: V3.config, bytes: V3_BYTES }].flatMap(({ name, cfg, bytes }) => {
        const full = decodeCost(cfg, 'full-cache', context, bytes);
        return PATHS.map((path) => {
          const c = decodeCost(cfg, path, context, bytes);
          return {
            model: name, path,
            cache: c.cacheBytes,
            cacheVsFull: c.cacheBytes / full.cacheBytes,
            flops: c.attentionFlops,
            flopsVsFull: c.attentionFlops / full.attentionFlops,
            intensity: (2 * c.macsPerCachedTokenPerLayer) / (c.cacheElementsPerTokenPerLayer * bytes),
          };
        });
      });
      return {
        kind: 'table',
        caption: `One decode step at ${formatTokens(context)} tokens of context, every layer. FLOPs / cache byte: the context-dependent FLOPs per byte of cache the step reads.`,
        columns: [
          { key: 'model', label: 'Model' },
          { key: 'path', label: 'Path' },
          { key: 'cache', label: 'KV cache', align: 'right', format: 'bytes' },
          { key: 'cacheVsFull', label: 'vs full-cache', align: 'right', format: 'ratio' },
          { key: 'flops', label: 'Attn FLOPs', align: 'right', format: 'si' },
          { key: 'flopsVsFull', label: 'vs full-cache', align: 'right', format: 'ratio' },
          { key: 'intensity', label: 'FLOPs / cache byte', align: 'right', format: 'plain' },
        ],
        rows,
      };
    }, { kind: 'derived', detail: 'decodeCost for each config.json' }),
    cell('costStats', ['context'], (context: number): StatsData => {
      const at = (p: AttentionPath) => decodeCost(V3.config, p, context, V3_BYTES);
      const full = at('full-cache'), dec = at('decompressed'), abs = at('absorbed');
      return {
        kind: 'stats',
        items: [
          { label: `${V3.name}, absorbed: cache smaller than full-cache by`, value: full.cacheBytes / abs.cacheBytes, digits: 3, unit: 'x', note: `${V3.config.num_attention_heads} x (${qkHeadDim(V3.config)} + ${V3.config.v_head_dim}) vs ${V3.config.kv_lora_rank} + ${V3.config.qk_rope_head_dim} numbers per token per layer` },
          { label: `${V3.name}, absorbed: attention FLOPs, times full-cache`, value: abs.attentionFlops / full.attentionFlops, digits: 3, unit: 'x' },
          { label: `${V3.name}, decompressed: attention FLOPs, times absorbed`, value: dec.attentionFlops / abs.attentionFlops, digits: 3, unit: 'x', note: 'rebuilding every cached token\'s K and V at every step' },
          { label: `${V3.name}, absorbed cache at ${formatTokens(context)} tokens`, value: abs.cacheBytes, format: 'bytes' },
        ],
      };
    }, { kind: 'derived', detail: `decodeCost, ${V3.source}` }),

    // Section: RoPE.
    cell('ropePrompt', ['positions', 'text'], (n: number, text: string) => promptTokens(text, n).ids, { kind: 'derived', detail: 'the reader\'s text, one ASCII character per token' }),
    cell('ropeForward', ['model', 'ropePrompt'], (model: Model, tokens: number[]) => model.forward(tokens, { trace: true }), { kind: 'engine', detail: 'full forward with trace (q, c_KV, k^R of every position)' }),
    cell('rope', ['model', 'ropePrompt', 'ropeForward', 'layer', 'head'], (model: Model, tokens: number[], fwd: ForwardResult, layer: number, head: number) =>
      ropeAbsorption(model, tokens, layer, head, fwd.trace!), { kind: 'engine', detail: 'ropeAbsorption on the traced activations (float64)' }),
    cell('coupledMap', ['rope'], (r: RopeAbsorption) => causalGrid(r.coupledError, r.tokens, '|exact - absorbed| (RoPE on k^C)', r.maxCoupledError), { kind: 'engine', detail: 'ropeAbsorption coupledError' }),
    cell('ropeByKey', ['rope'], (r: RopeAbsorption): LineChartData => ({
      kind: 'line',
      xLabel: 'key position j',
      yLabel: 'mean over queries t >= j',
      series: [
        { name: 'RoPE on k^C, absorbed anyway: |error|', points: meanByKey(r.coupledError, r.tokens) },
        { name: 'decoupled RoPE, absorbed: |error|', points: meanByKey(r.decoupledError, r.tokens), style: 'dashed' },
        { name: '|score| itself (RoPE on k^C, exact), for scale', points: meanByKey(r.coupledExact, r.tokens, true), style: 'points' },
      ],
    }), { kind: 'derived', detail: 'means of ropeAbsorption grids' }),
    cell('decoupledMap', ['rope'], (r: RopeAbsorption) => causalGrid(r.decoupledError, r.tokens, '|exact - absorbed| (decoupled RoPE, same colour scale)', r.maxCoupledError), { kind: 'engine', detail: 'ropeAbsorption decoupledError' }),
    cell('ropeStats', ['rope'], (r: RopeAbsorption): StatsData => {
      const T = r.tokens;
      let atKey0 = 0, scoreMax = 0;
      for (let t = 0; t < T; t++) {
        atKey0 = Math.max(atKey0, r.coupledError[t * T]);
        for (let j = 0; j <= t; j++) scoreMax = Math.max(scoreMax, Math.abs(r.decoupledExact[t * T + j]));
      }
      return {
        kind: 'stats',
        items: [
          { label: 'RoPE on k^C, absorbed anyway: largest |error|', value: r.maxCoupledError, digits: 3 },
          { label: '... at key position 0 (R_0 = I)', value: atKey0, format: 'sci', digits: 2 },
          { label: 'Decoupled RoPE, absorbed: largest |error|', value: r.maxDecoupledError, format: 'sci', digits: 2, note: 'float64 rounding' },
          { label: 'Largest |score| (decoupled, exact), for scale', value: scoreMax, digits: 3 },
        ],
      };
    }, { kind: 'engine' }),

    // The formula box's names.
    cell('scopeMatrices', ['mats'], (m: HeadMatrices) => {
      const cfg = TINY, nope = cfg.qk_nope_head_dim, dc = cfg.kv_lora_rank;
      return {
        Wuq: nested(m.wUQ, nope, m.queryInput),
        Wuk: nested(m.wUK, nope, dc),
        Wqk: nested(m.absorbedQK, m.queryInput, dc),
        Wuv: nested(m.wUV, cfg.v_head_dim, dc),
        Wo: nested(m.wO, cfg.hidden_size, cfg.v_head_dim),
        Wov: nested(m.absorbedOV, cfg.hidden_size, dc),
      };
    }, { kind: 'engine', detail: 'headMatrices' }),
    cell('scopeVectors', ['step', 'layer', 'head'], (step: DecodeStep, layer: number, head: number) => {
      const cfg = TINY, qk = qkHeadDim(cfg), nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank;
      const abs = step.runs.find((r) => r.path === 'absorbed')!;
      const tr = abs.trace[layer].attention, N = step.context;
      return {
        qc: Array.from(tr.q.subarray(head * qk, head * qk + nope)),
        qr: Array.from(tr.q.subarray(head * qk + nope, (head + 1) * qk)),
        qlat: Array.from(tr.qLatent!.subarray(head * dc, (head + 1) * dc)),
        c: nested(abs.ckv[layer], N, dc),
        kR: nested(abs.kPe[layer], N, dr),
        w: Array.from(tr.weights.subarray(head * N, (head + 1) * N)),
        scale: 1 / Math.sqrt(qk),
        heads: cfg.num_attention_heads,
      };
    }, { kind: 'engine', detail: 'the absorbed path\'s trace and cache at the decode step' }),
    cell('scope', ['scopeMatrices', 'scopeVectors'], (a: object, b: object) => ({ ...a, ...b }), { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'Full-cache, decompressed and absorbed attention put the same weights on every key: absorption moves W_UK into the query and never rebuilds a key.',
    view: { cell: 'headAttention', title: 'One head\'s attention in the decode step, on every path', caption: 'One row per path: the last character\'s softmax weights over the keys (your text). The four rows are equal to float32 rounding.' },
    controls: ['text', 'weights'],
    note: 'Runs the shipped trained model; the Weights switch shows the equality holds for random weights too (it is algebra, not training).',
  },
  sections: [
    {
      id: 'paths',
      title: 'One decode step, three ways',
      prose: `Multi-head latent attention (DeepSeek-V2 §2.1.2) caches one compressed vector per token instead of a key and a value per head. For token $j$ with hidden state $h_j$ and each head $i$:

$$c_j^{KV} = W^{DKV} h_j, \\qquad k_{j,i}^{C} = W_i^{UK} c_j^{KV}, \\qquad v_{j,i}^{C} = W_i^{UV} c_j^{KV},$$

and the query comes from its own latent, $c_t^{Q} = W^{DQ} h_t$, $q_{t,i}^{C} = W_i^{UQ} c_t^{Q}$. In the model on this page $d_c = ${TINY.kv_lora_rank}$, $d_c' = ${TINY.q_lora_rank}$, $d_h = ${TINY.qk_nope_head_dim}$ and $n_h = ${TINY.num_attention_heads}$.

The engine can run a decode step three ways:

- **full-cache**: cache every head's $k_{j,i}$ and $v_{j,i}$, as plain multi-head attention does;
- **decompressed**: cache only $c_j^{KV}$ (and the shared rotary key $k_j^R$), and rebuild every $k_{j,i}^C$, $v_{j,i}^C$ from it at every step;
- **absorbed**: cache the same $c_j^{KV}$ and $k_j^R$, but never rebuild keys: move $W_i^{UK}$ to the query and $W_i^{UV}$ to the output.

Below, the same prompt goes through all three (one cache each: the first tokens prefilled, the last one decoded) and through \`model.forward\` over all tokens with no cache at all. Move the sliders: the comparison is recomputed live.`,
      controls: ['weights', 'text', 'promptLength'],
      views: [
        { cell: 'stepStats', title: 'Same answer on every path', caption: 'The largest difference between the paths, measured against the size of the logits themselves: rounding, about a millionth. With random weights (the Weights select) it is just as small: the equality is algebra, not training.' },
        { cell: 'diffTable', title: 'Every pair of paths, max |difference|' },
        { cell: 'logitDiff', title: 'The decode step\'s logits, each path minus the full recompute', caption: 'Float32 rounding noise, one point per vocabulary entry; a path may even match the recompute bit for bit.' },
        { cell: 'countTable', title: 'Same answer, different work: counted by the engine versus predicted' },
      ],
      after: 'The three paths compute the same function. They differ in what they keep in memory and in how many multiplications each step takes. The last table counts the multiply-adds the engine actually did in this step on each path, next to what the cost model `decodeCost` predicts for attention; the difference is the work outside attention (norms, MLP or MoE, `lm_head`), the same on every path. The rest of this page is about that trade.',
    },
    {
      id: 'absorb',
      title: 'Moving W_UK to the query side, and W_UV to the output side',
      prose: `The score of query $t$ and key $j$ in head $i$ has a compressed part and a rotary part (§2.1.3):

$$q_{t,i}^\\top k_{j,i} = q_{t,i}^{C\\top} k_{j,i}^{C} + q_{t,i}^{R\\top} k_{j}^{R}.$$

The compressed part is a product of three things, and a product can be grouped either way:

$$q_{t,i}^{C\\top} k_{j,i}^{C} = q_{t,i}^{C\\top} \\big(W_i^{UK} c_j^{KV}\\big) = \\big(W_i^{UK\\top} q_{t,i}^{C}\\big)^{\\top} c_j^{KV} = c_t^{Q\\top} \\big(W_i^{UQ\\top} W_i^{UK}\\big)\\, c_j^{KV}.$$

So the query can be carried into latent space once per step, $\\tilde q_{t,i} = W_i^{UK\\top} q_{t,i}^C$ (a $d_c$-vector), and scored against the cached $c_j^{KV}$ directly: the keys $k_{j,i}^C$ never exist. "$W^{UK}$ is absorbed into $W^{UQ}$." The values go the same way: the head's output $W_i^{O} \\sum_j a_{t,j}\\, W_i^{UV} c_j^{KV} = \\big(W_i^{O} W_i^{UV}\\big) \\sum_j a_{t,j}\\, c_j^{KV}$, a weighted sum of cached latents lifted once.

Pick a layer and a head: these are that head's matrices in the engine's weights (slices of \`q_b_proj\`, \`kv_b_proj\` and \`o_proj\`), and their absorbed products.`,
      controls: ['layer', 'head'],
      views: [
        { cell: 'absorbShapes', title: 'The same score, grouped two ways: matrix shapes to scale', caption: 'The engine\'s matrices for the chosen layer and head are in the formula box (Wuq, Wuk, Wqk, ...); their shapes, not their values, are the point: absorbing trades the T rows of rebuilt keys for one small matrix.', component: ShapeDiagram },
        { cell: 'headAttention', title: 'This head\'s attention in the decode step, on every path', caption: 'One row per path: the last token\'s softmax weights over the keys. The absorbed path scored c_KV directly and put the same weights.' },
        { cell: 'mergeTable', title: 'Absorb by regrouping, not by merging' },
      ],
      after: `A note on the word "absorb": neither the engine nor DeepSeek's own inference code (\`inference/model.py\` in the [DeepSeek-V3 repository](https://github.com/deepseek-ai/DeepSeek-V3), where the decode step computes \`q_nope\` times the $W^{UK}$ slice of \`wkv_b\`) multiplies $W^{UQ\\top} W^{UK}$ into one matrix. Merged, it would be $d_c' \\times d_c$ per head, larger than the two factors together (the table), so the query is multiplied by $W^{UQ}$ and then by $W^{UK\\top}$ at run time. What absorption buys is not fewer weights: it is never materialising a key or value per cached token.`,
    },
    {
      id: 'cost',
      title: 'What each path costs per decode step',
      prose: `Per decode step and layer, the attention's multiply-adds are a fixed part (the projections of the new token) plus a part per cached token:

- full-cache: $n_h (d_h + d_h^R + d_v)$ per cached token (scores and weighted sum over cached K, V), and it caches the same number of values;
- decompressed: $d_c\\, n_h (d_h + d_v)$ more per cached token, to rebuild its keys and values every step;
- absorbed: $n_h (d_c + d_h^R) + n_h d_c$ per cached token (scores over $[c^{KV}; k^R]$, weighted sum of $c^{KV}$), while caching only $d_c + d_h^R$ values.

So the absorbed path does **more** multiply-adds per cached token than the full cache whenever $2 d_c > d_h + d_v$ (in DeepSeek-V3, $2 \\cdot ${V3.config.kv_lora_rank} > ${V3.config.qk_nope_head_dim} + ${V3.config.v_head_dim}$), in exchange for a cache $n_h(d_h + d_h^R + d_v) / (d_c + d_h^R)$ times smaller. These are the counts \`decodeCost\` makes (the first section's table checks them against the engine's own tally). Slide the context:`,
      controls: ['context'],
      views: [
        { cell: 'tinyBytes', title: 'nanoseek: cache against context', caption: 'decompressed and absorbed cache the same latents, so their lines coincide.' },
        { cell: 'tinyFlops', title: 'nanoseek: attention FLOPs per decode step' },
        { cell: 'v3Bytes', title: 'DeepSeek-V3 dims: cache against context' },
        { cell: 'v3Flops', title: 'DeepSeek-V3 dims: attention FLOPs per decode step' },
        { cell: 'costTable', title: 'At the chosen context' },
        { cell: 'costStats', title: 'The trade, for DeepSeek-V3' },
      ],
      after: `Why the trade is a good one: one decode step reads the whole cache from memory once, and does only a few FLOPs per byte it reads (last column). A GPU can do far more arithmetic per byte than that, so at long context a decode step waits on memory, not on arithmetic; a cache tens of times smaller is a step that reads tens of times fewer bytes, and the extra multiply-adds of the absorbed path fall in time the GPU would otherwise spend waiting. The decompressed path shows the opposite mistake: a small cache, but millions of multiply-adds per cached token.`,
    },
    {
      id: 'rope',
      title: 'Why RoPE on the compressed key breaks absorption',
      prose: `Rotary position embedding (RoPE) rotates a query at position $t$ by $R_t$ and a key at position $j$ by $R_j$, so that their dot product depends on $j - t$. Suppose it were applied to the compressed keys as in a plain transformer: $k_{j,i}^C = R_j W_i^{UK} c_j^{KV}$. Then

$$\\big(R_t q_{t,i}^C\\big)^{\\top} R_j W_i^{UK} c_j^{KV} = q_{t,i}^{C\\top} R_{j-t}\\, W_i^{UK} c_j^{KV}:$$

a rotation that depends on the key's position sits between $W_i^{UK}$ and $c_j^{KV}$. Matrix products do not commute, so $W_i^{UK}$ cannot be moved onto the query side as one fixed matrix; the latent query would have to be rotated back for every cached key, which is the work of rebuilding the keys (the decompressed path). DeepSeek-V2 §2.1.3 says exactly this, and concludes that keys would have to be recomputed for all prefix tokens.

To see it in numbers, the engine's activations for a prompt are taken through a hypothetical variant with RoPE on $q^C$ and $k^C$ (\`ropeAbsorption\`), and the absorbed score is computed anyway, from the cached $c_j^{KV}$, where the key's rotation cannot be applied. The layer and head are the ones chosen above.`,
      controls: ['positions'],
      after: `Why the error does not simply keep growing: RoPE rotates its pairs at different speeds, $\\theta_k = ${TINY.rope_theta}^{-2k/d_h}$ radians per position (pair $k$). The fastest pair turns by one radian per position, so the error is already large at key 1; after that the fast pairs wrap around while the slow ones keep drifting, and the error stays at the size of the scores themselves. Only key 0, which RoPE does not rotate, is exact.`,
      views: [
        { cell: 'coupledMap', title: 'RoPE on k^C: |exact score - absorbed score|, query t x key j', caption: 'Column 0 is zero (R_0 is the identity): the error appears as soon as the key has been rotated.' },
        { cell: 'ropeByKey', title: 'Error by key position, against the size of the scores' },
      ],
    },
    {
      id: 'decoupled',
      title: 'Decoupled RoPE restores exactness',
      prose: `DeepSeek's fix (DeepSeek-V2 §2.1.3) keeps RoPE off $c^{KV}$ altogether and carries position in separate, small vectors: a rotary query per head and **one** rotary key shared by all heads,

$$q_{t,i}^{R} = \\mathrm{RoPE}\\big(W_i^{QR} c_t^{Q}\\big), \\qquad k_{t}^{R} = \\mathrm{RoPE}\\big(W^{KR} h_t\\big), \\qquad q_{t,i} = [q_{t,i}^{C}; q_{t,i}^{R}], \\quad k_{t,i} = [k_{t,i}^{C}; k_{t}^{R}].$$

The rotation touches only $k^R$, which is cached as is ($d_h^R = ${TINY.qk_rope_head_dim}$ numbers per token here, ${V3.config.qk_rope_head_dim} in DeepSeek-V3), and nothing position-dependent lies between $W_i^{UK}$ and $c_j^{KV}$. The absorbed score $\\big(W_i^{UK\\top} q_{t,i}^C\\big)^\\top c_j^{KV} + q_{t,i}^{R\\top} k_j^R$ is the exact one, at every position.`,
      views: [
        { cell: 'decoupledMap', title: 'Decoupled RoPE: |exact score - absorbed score|', caption: 'On the coupled map\'s colour scale: every cell is at the bottom. The errors are of order 1e-15 (the stats below), the rounding of float64 arithmetic.' },
        { cell: 'ropeStats', title: 'Coupled against decoupled' },
      ],
      after: 'The scale of the score is $1/\\sqrt{d_h + d_h^R}$, which the grids leave out (it multiplies both sides equally).',
    },
    {
      id: 'notes',
      title: 'Honest notes',
      prose: `- The page runs the shipped trained model by default; the *Weights* select swaps in random weights of the same shape. The identities checked here hold for both: they do not depend on training.
- Each path's cache is filled in chunks of 8 prompt tokens and kept between slider moves (whole chunks only), so moving the prompt length costs a chunk and a decode step, and the numbers depend only on the prompt, not on the slider's history.
- The engine stores float32; the paths add the same products in different orders, hence differences around $10^{-7}$. The RoPE grids are computed in float64 from the engine's float32 activations, hence $10^{-15}$.
- Rounding depends on the kernels: the engine runs on the page's measured backend (shown at the bottom of the page; it can be switched), and another backend gives other digits at the same, rounding, scale. The differences between paths stay at float32 rounding on every backend.
- "RoPE on $k^C$" is a variant built for the demonstration from this model's own $q^C$ and $c^{KV}$; no DeepSeek model has such weights. RoPE pairs are interleaved, as in DeepSeek-V3's code.
- The cost curves count attention only (\`decodeCost\`): projections, scores and weighted sums. The MLP/MoE and the output layer cost the same on every path. FLOPs and bytes are not time: real kernels (and batching many sequences) change how each turns into milliseconds.
- DeepSeek-V3 is priced with a BF16 cache (2 bytes per number); nanoseek with the engine's float32. Its curves extend past its ${TINY.max_position_embeddings.toLocaleString('en-US')} positions: there they are arithmetic on its dims, not runs.
- DeepSeek-V3 also compresses the query ($d_c' = ${V3.config.q_lora_rank}$) to save activation memory in training; that latent is not cached.`,
    },
  ],
  formula: {
    cell: 'scope',
    initial: "max(abs(Wuk' * qc - qlat))",
    examples: [
      "max(abs(Wuk' * qc - qlat))",
      "max(abs(c * (Wuk' * qc) - c * qlat))",
      "max(abs(Wuq' * Wuk - Wqk))",
      "max(abs(Wo * Wuv - Wov))",
      '(c * qlat + kR * qr) * scale',
      'max(abs(map((c * qlat + kR * qr) * scale, exp) / sum(map((c * qlat + kR * qr) * scale, exp)) - w))',
      'size(Wqk)',
    ],
    descriptions: {
      Wuq: 'W_UQ of the chosen layer and head: d_h x d_c\' (its q^C rows of q_b_proj)',
      Wuk: 'W_UK of the head: d_h x d_c (its k^C rows of kv_b_proj)',
      Wqk: 'W_UQ\' W_UK, the absorbed query-key matrix: d_c\' x d_c',
      Wuv: 'W_UV of the head: d_v x d_c',
      Wo: 'the head\'s columns of o_proj: d x d_v',
      Wov: 'W_O W_UV, the absorbed output matrix: d x d_c',
      qc: 'q^C of the decoded token for this head (d_h), from the absorbed path\'s trace',
      qr: 'q^R of the decoded token for this head, after RoPE (d_h^R)',
      qlat: 'the absorbed (latent) query the engine computed, W_UK\' q^C (d_c), trace qLatent',
      c: 'the cached c_KV rows of this layer, one per token (context x d_c)',
      kR: 'the cached, rotated k^R rows of this layer (context x d_h^R)',
      w: 'the head\'s attention weights of the decoded token (context)',
      scale: '1 / sqrt(d_h + d_h^R), the score scale',
      heads: 'n_h, heads per layer',
    },
  },
};
