// Lesson 2: latent KV compression. The engine decodes a prompt one token at a time into an MLA
// latent cache; the page draws the cache's own rows (c_KV and k^R) as they arrive, rebuilds every
// head's keys and values from c_KV and checks them against a full K/V cache fed the same tokens,
// compares the logits of the three decode paths, and sizes the cache at long context.
import type { HeatmapData, LineChartData, RopeDialsData, ShapeDiagramData, StatsData, TableData } from '$components/charts/types';
import RopeDials from '$components/charts/RopeDials.svelte';
import ShapeDiagram from '$components/charts/ShapeDiagram.svelte';
import type { Backend } from '$kernels/backend';
import type { AttentionPath, KVCache } from '$engine/cache';
import { type DeepSeekConfig, isMoeLayer, parseConfig } from '$engine/config';
import { decodeCost } from '$engine/cost';
import { initModel } from '$engine/init';
import { kvBHead } from '$engine/weights';
import { kvCacheTable } from '$engine/memory';
import { type Model, argmaxRow } from '$engine/model';
import { cell, type Notebook } from '../_kit/types';
import { ModelCache } from '../_kit/model-cache';
import { REAL_CONFIGS, TINY_RAW, formatTokens, tinyConfig } from '../_kit/models';
import { type LessonModel, SHIPPED_CONFIG, SHIPPED_RAW, lessonModel } from '../_kit/shipped';
import { TEXT_EXAMPLES, glyph, promptTokens } from '../_kit/tokens';

export const meta = {
  slug: 'latent-kv',
  title: 'Latent KV compression',
  summary: 'MLA caches one small latent vector c_KV per token (plus a shared rotary key) and rebuilds every head\'s keys and values from it: watch the engine\'s cache fill, check the rebuild is exact, and size it at long context.',
  order: 2,
};

/** Tokens of the prompt decoded into the cache (the `step` slider's range). */
const PROMPT = 16;
/** The page's model shape: the shipped trained model's (the tiny one before it is shipped). */
const RAW: Record<string, unknown> = SHIPPED_RAW ?? { ...TINY_RAW };
const BASE = SHIPPED_CONFIG ?? tinyConfig();
const LAYERS = BASE.num_hidden_layers;
/** A config of the page's shape with the sliders' widths. */
const shapeOf = (dc: number, dr: number) => parseConfig({ ...RAW, kv_lora_rank: dc, qk_rope_head_dim: dr }, { file: 'the page model' });
/** Bytes per cached number in the at-scale figures (BF16, as DeepSeek-V3 serves its cache). */
const BF16 = 2;

// initModel draws every tensor from its own seeded stream (~25 ms for the tiny model): keep the
// models of recent settings (enough for a whole sweep of one dims slider), and each one's decoded
// runs, so going back to a setting is instant. The key holds every input a model depends on;
// weights and caches are only read after they are made, so sharing them is safe.
const models = new ModelCache(18);
const RANDOM_SEED = 1;
/**
 * The trained model at its own widths (the sliders' defaults); at any other width a model of that
 * shape with seeded random weights (no trained model has it), and the page says so.
 */
async function pageModel(dc: number, dr: number, backend: Backend): Promise<LessonModel> {
  if (dc === BASE.kv_lora_rank && dr === BASE.qk_rope_head_dim) {
    const lm = await lessonModel('trained', backend);
    if (lm.model.config.kv_lora_rank === dc && lm.model.config.qk_rope_head_dim === dr) return lm;
  }
  const model = models.get(`${dc}/${dr}`, () => initModel(shapeOf(dc, dr), { seed: RANDOM_SEED }), backend, true);
  return { model, trained: false, name: `random weights at d_c = ${dc}, d_h^R = ${dr} (only the shipped widths ${BASE.kv_lora_rank}, ${BASE.qk_rope_head_dim} are trained)` };
}

/** The three paths' runs of a model over a prompt, memoised while the model is. */
const runMemo = new WeakMap<Model, Runs>();
function runsOf(model: Model, prompt: number[]): Runs {
  const hit = runMemo.get(model);
  if (hit && hit.prompt.join() === prompt.join()) return hit;
  const runs: Runs = {
    model,
    prompt,
    absorbed: decode(model, prompt, 'absorbed'),
    decompressed: decode(model, prompt, 'decompressed'),
    full: decode(model, prompt, 'full-cache'),
  };
  runMemo.set(model, runs);
  return runs;
}

/** One decode path fed the prompt one token per forward call, as generation does. */
interface PathRun {
  path: AttentionPath;
  cache: KVCache;
  /** Logits of each step [vocab]: after token 1, 2, ... of the prompt. */
  logits: Float32Array[];
}

interface Runs {
  model: Model;
  prompt: number[];
  absorbed: PathRun;
  decompressed: PathRun;
  full: PathRun;
}

function decode(model: Model, prompt: number[], path: AttentionPath): PathRun {
  const cache = model.createCache(path);
  const logits = prompt.map((t) => model.forward([t], { cache }).logits);
  return { path, cache, logits };
}

/** Every head's K^C and V^C for all prompt tokens of one layer, rebuilt and as the full cache holds them. */
interface Rebuilt {
  layer: number;
  /** c_KV rows of the latent cache [PROMPT, d_c], k^R rows [PROMPT, d_h^R]. */
  ckv: Float32Array;
  kr: Float32Array;
  /** W_UK,i c_KV for every head, heads side by side [PROMPT, n_h d_h]; W_UV,i c_KV [PROMPT, n_h d_v]. */
  kc: Float32Array;
  vc: Float32Array;
  /** The same, read from the full-cache path's per-head K (its d_h columns) and V. */
  kcFull: Float32Array;
  vcFull: Float32Array;
  /** The rotary columns of the full cache's keys, every head [n_h][PROMPT, d_h^R]. */
  krFull: Float32Array[];
}

function rebuild(runs: Runs, layer: number): Rebuilt {
  const cfg = runs.model.config, be = runs.model.backend;
  const nh = cfg.num_attention_heads, nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dv = cfg.v_head_dim, dc = cfg.kv_lora_rank;
  const qk = nope + dr, n = PROMPT;
  const lat = runs.absorbed.cache.layers[layer], full = runs.full.cache.layers[layer];
  // Copies: the rows may live in the backend's memory, whose views the next backend call can detach.
  const ckv = lat.ckv.view(n).slice(), kr = lat.kPe.view(n).slice();
  // The decompression the engine's decompressed path runs: [n, d_c] x kv_b_proj^T -> [n, n_h (d_h + d_v)].
  const kv = be.matmulT(ckv, runs.model.weights.layers[layer].attn.kvBProj, n, dc, nh * (nope + dv));
  const kc = new Float32Array(n * nh * nope), vc = new Float32Array(n * nh * dv);
  const kcFull = new Float32Array(n * nh * nope), vcFull = new Float32Array(n * nh * dv);
  const krFull: Float32Array[] = [];
  for (let h = 0; h < nh; h++) {
    const K = full.k[h].view(n).slice(), V = full.v[h].view(n).slice();
    const rope = new Float32Array(n * dr);
    for (let t = 0; t < n; t++) {
      const src = t * nh * (nope + dv) + h * (nope + dv);
      kc.set(kv.subarray(src, src + nope), t * nh * nope + h * nope);
      vc.set(kv.subarray(src + nope, src + nope + dv), t * nh * dv + h * dv);
      kcFull.set(K.subarray(t * qk, t * qk + nope), t * nh * nope + h * nope);
      vcFull.set(V.subarray(t * dv, (t + 1) * dv), t * nh * dv + h * dv);
      rope.set(K.subarray(t * qk + nope, (t + 1) * qk), t * dr);
    }
    krFull.push(rope);
  }
  return { layer, ckv, kr, kc, vc, kcFull, vcFull, krFull };
}

/** Largest |a_i - b_i| over the first `count` entries. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, count = a.length): number {
  let m = 0;
  for (let i = 0; i < count; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The first `rows` rows of a row-major [*, cols] matrix as number[][] (the formula scope's format). */
function rowsOf(a: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => a[r * cols + c]));
}

/**
 * A [PROMPT, cols] heatmap of cache rows: the rows decoded so far in colour, the newest outlined,
 * the rest dimmed (not in the cache yet). The colour domain is fixed by all PROMPT rows so colours
 * do not shift as rows arrive.
 */
function cacheHeatmap(all: Float32Array, cols: number, step: number, prompt: number[], colTitle: string, valueLabel: string): HeatmapData {
  const values = new Float32Array(PROMPT * cols);
  values.set(all.subarray(0, step * cols));
  const m = maxAbs(all) || 1;
  const future: [number, number][] = [];
  for (let r = step; r < PROMPT; r++) for (let c = 0; c < cols; c++) future.push([r, c]);
  return {
    kind: 'heatmap',
    rows: PROMPT,
    cols,
    values,
    rowLabels: prompt.map((id, t) => `${t + 1}: ${glyph(id)}`),
    rowTitle: 'token (position: character)',
    colTitle,
    scale: 'diverging',
    domain: [-m, m],
    marks: { cells: Array.from({ length: cols }, (_, c) => [step - 1, c] as [number, number]), label: `row appended at step ${step}` },
    dimmed: future.length ? { cells: future, label: 'not decoded yet' } : undefined,
    valueLabel,
    digits: 3,
  };
}

const dims = (cfg: DeepSeekConfig) => ({
  nh: cfg.num_attention_heads, dh: cfg.qk_nope_head_dim, dr: cfg.qk_rope_head_dim, dv: cfg.v_head_dim, dc: cfg.kv_lora_rank,
});

/** Characters of the reader's text whose latents the map projects. */
const MAP_CHARS = 256;

const CLASSES = ['letter', 'space', 'punctuation', 'digit', 'newline and other'] as const;
function charClass(id: number): (typeof CLASSES)[number] {
  const ch = String.fromCharCode(id);
  if (/[A-Za-z]/.test(ch)) return 'letter';
  if (ch === ' ') return 'space';
  if (/[0-9]/.test(ch)) return 'digit';
  if (/[!-/:-@[-`{-~]/.test(ch)) return 'punctuation';
  return 'newline and other';
}

/** The top principal axis of centred rows X [n, m] orthogonal to `not` (power iteration). */
function principalAxis(X: Float64Array, n: number, m: number, not: Float64Array | null): Float64Array {
  let v = Float64Array.from({ length: m }, (_, j) => Math.sin(j + 1));
  for (let it = 0; it < 60; it++) {
    const w = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < m; j++) dot += X[i * m + j] * v[j];
      for (let j = 0; j < m; j++) w[j] += dot * X[i * m + j];
    }
    if (not) { let d = 0; for (let j = 0; j < m; j++) d += w[j] * not[j]; for (let j = 0; j < m; j++) w[j] -= d * not[j]; }
    let norm = 0;
    for (let j = 0; j < m; j++) norm += w[j] * w[j];
    norm = Math.sqrt(norm) || 1;
    v = w.map((x) => x / norm);
  }
  return v;
}

/**
 * The cache's c_KV rows of one layer for the reader's text, projected on their top two principal
 * axes, one series per character class: what the latent that MLA caches separates.
 */
function latentMap(model: Model, text: string, layer: number, lm: LessonModel): LineChartData {
  const ids = promptTokens(text, Math.min(MAP_CHARS, Math.max(2, text.length))).ids;
  const tr = model.forward(ids, { trace: true }).trace![layer].attention;
  const n = ids.length, m = model.config.kv_lora_rank;
  const X = new Float64Array(n * m);
  const mean = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) mean[j] += tr.ckv[i * m + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) X[i * m + j] = tr.ckv[i * m + j] - mean[j];
  const a = principalAxis(X, n, m, null), b = principalAxis(X, n, m, a);
  const proj = (i: number, v: Float64Array) => { let s = 0; for (let j = 0; j < m; j++) s += X[i * m + j] * v[j]; return s; };
  const series = CLASSES.map((c) => ({
    name: c,
    style: 'points' as const,
    points: ids.flatMap((id, i) => (charClass(id) === c ? [{ x: proj(i, a), y: proj(i, b) }] : [])),
  })).filter((s) => s.points.length > 0);
  return { kind: 'line', series, xLabel: `first principal axis of c_KV (layer ${layer}, ${n} characters; ${lm.trained ? 'trained' : 'random weights'})`, yLabel: 'second principal axis' };
}

export const notebook: Notebook = {
  inputs: [
    { kind: 'text', name: 'text', label: 'Your text', value: TEXT_EXAMPLES[0].value, maxLength: 512, examples: TEXT_EXAMPLES, help: `The first ${PROMPT} characters are decoded into the cache; the latent map reads up to ${MAP_CHARS}.` },
    { kind: 'range', name: 'kv_lora_rank', label: 'Latent width d_c (kv_lora_rank)', min: 4, max: 64, step: 4, value: BASE.kv_lora_rank, unit: 'dims', help: 'Width of the compressed vector c_KV cached per token; away from the trained width the model has random weights of that shape.' },
    { kind: 'range', name: 'qk_rope_head_dim', label: 'Rotary key width d_h^R (qk_rope_head_dim)', min: 0, max: 32, step: 2, value: BASE.qk_rope_head_dim, unit: 'dims', help: 'Width of the decoupled rotary key k^R, shared by all heads and cached beside c_KV; even, since RoPE rotates pairs.' },
    { kind: 'range', name: 'step', label: 'Tokens decoded so far', min: 1, max: PROMPT, step: 1, value: 6, unit: 'tokens', help: 'How many prompt tokens have gone through the model, one per decode step, into the cache.' },
    {
      kind: 'select', name: 'layer', label: 'Decoder layer', value: '0', help: 'Every decoder layer has its own cache; choose which one to draw.',
      options: Array.from({ length: LAYERS }, (_, l) => ({ value: String(l), label: `layer ${l} (${isMoeLayer(BASE, l) ? 'MoE' : 'dense MLP'})` })),
    },
    { kind: 'range', name: 'context', label: 'Context length', min: 256, max: 131072, step: 1, value: 32768, log2: true, unit: 'tokens', format: formatTokens, help: 'Tokens held in the cache for the at-scale memory figures.' },
  ],
  cells: [
    cell('config', ['kv_lora_rank', 'qk_rope_head_dim'], (dc: number, dr: number) => shapeOf(dc, dr),
      { kind: 'derived', detail: 'the shipped config.json with d_c and d_h^R from the sliders' }),
    cell('lm', ['kv_lora_rank', 'qk_rope_head_dim', 'backend'], pageModel,
      { kind: 'engine', detail: 'the shipped trained model at its widths; elsewhere initModel of that shape, seeded' }),
    cell('model', ['lm'], (lm: LessonModel) => lm.model, { kind: 'engine' }),
    cell('prompt', ['text'], (text: string) => promptTokens(text, PROMPT).ids, { kind: 'derived', detail: 'the reader\'s text, one ASCII character per token' }),
    cell('latentMap', ['model', 'text', 'layer', 'lm'], (model: Model, text: string, layer: string, lm: LessonModel) => latentMap(model, text, Number(layer), lm),
      { kind: 'engine', detail: 'model.forward(text, { trace: true }): the cached c_KV rows of the layer; their 2-D projection onto the top two principal axes (power iteration, float64)' }),
    cell('runs', ['model', 'prompt'], (model: Model, prompt: number[]): Runs => runsOf(model, prompt),
      { kind: 'engine', detail: 'the prompt decoded one token per step on each of the three attention paths' }),
    cell('rebuilt', ['runs', 'layer'], (runs: Runs, layer: string) => rebuild(runs, Number(layer)),
      { kind: 'engine', detail: 'kv_b_proj applied to the cached c_KV (the decompressed path\'s own matmul); the full cache\'s K and V' }),

    cell('cacheTable', ['runs'], (runs: Runs): TableData => {
      const { nh, dh, dr, dv, dc } = dims(runs.model.config);
      const per = (r: PathRun) => r.cache.layers[0].elementsPerToken;
      return {
        kind: 'table',
        caption: 'Numbers per token per layer on the page\'s model; the totals are read from the engine\'s three caches',
        columns: [
          { key: 'what', label: 'Tensor' },
          { key: 'count', label: 'Numbers', align: 'right' },
          { key: 'absorbed', label: 'Absorbed', align: 'right' },
          { key: 'decompressed', label: 'Decompressed', align: 'right' },
          { key: 'full', label: 'Full K/V cache', align: 'right' },
        ],
        rows: [
          { what: `c_KV: d_c = ${dc}`, count: dc, absorbed: 'cached', decompressed: 'cached', full: 'not kept' },
          { what: `k^R: d_h^R = ${dr}, shared`, count: dr, absorbed: 'cached', decompressed: 'cached', full: `cached x ${nh} heads` },
          { what: `K^C: n_h x d_h = ${nh} x ${dh}`, count: nh * dh, absorbed: 'never built', decompressed: 'rebuilt every step', full: 'cached' },
          { what: `V^C: n_h x d_v = ${nh} x ${dv}`, count: nh * dv, absorbed: 'never built', decompressed: 'rebuilt every step', full: 'cached' },
          { what: 'Cached in total', count: '', absorbed: per(runs.absorbed), decompressed: per(runs.decompressed), full: per(runs.full) },
        ],
      };
    }, { kind: 'engine', detail: 'totals: LayerCache.elementsPerToken of each path\'s cache' }),

    cell('ckvView', ['runs', 'rebuilt', 'step'], (runs: Runs, rb: Rebuilt, step: number): HeatmapData =>
      cacheHeatmap(rb.ckv, runs.model.config.kv_lora_rank, step, runs.prompt, `latent dimension (d_c = ${runs.model.config.kv_lora_rank})`, 'c_KV value'),
    { kind: 'engine', detail: 'cache.layers[layer].ckv, the absorbed path\'s cache' }),
    cell('krView', ['runs', 'rebuilt', 'step'], (runs: Runs, rb: Rebuilt, step: number): HeatmapData | StatsData => {
      const dr = runs.model.config.qk_rope_head_dim;
      if (dr === 0) {
        return { kind: 'stats', items: [{ label: 'k^R cached per token', value: 0, unit: 'numbers', note: 'd_h^R = 0: no rotary key, so attention gets no position signal at all' }] };
      }
      return cacheHeatmap(rb.kr, dr, step, runs.prompt, `rotary dimension (d_h^R = ${dr}), rotated by the token's position`, 'k^R value');
    }, { kind: 'engine', detail: 'cache.layers[layer].kPe, the absorbed path\'s cache' }),
    cell('krDials', ['runs', 'step', 'backend'], (runs: Runs, step: number, backend: Backend): RopeDialsData | StatsData => {
      const cfg = runs.model.config, dr = cfg.qk_rope_head_dim;
      if (dr === 0) return { kind: 'stats', items: [{ label: 'Rotary pairs', value: 0, note: 'd_h^R = 0: no rotary key' }] };
      // The engine's own rotation (the backend's rope, as mla.ts calls it) of a unit vector in every
      // pair, at positions 0..step-1: the angle each pair has turned to, read back with atan2.
      const unit = new Float32Array(step * dr);
      for (let i = 0; i < step * dr; i += 2) unit[i] = 1;
      const turned = backend.rope(unit, step, dr, Array.from({ length: step }, (_, p) => p), cfg.rope_theta);
      const pairs = Array.from({ length: dr / 2 }, (_, i) => ({ index: i, angles: Array.from({ length: step }, (_, p) => Math.atan2(turned[p * dr + 2 * i + 1], turned[p * dr + 2 * i])) }));
      return { kind: 'rope-dials', pairs, positions: step, labels: runs.prompt.slice(0, step).map(glyph) };
    }, { kind: 'engine', detail: 'the backend\'s rope (as mla.ts applies it to k^R) turning a unit vector in each pair, positions 0..step-1' }),
    cell('kvShapes', ['runs', 'step'], (runs: Runs, step: number): ShapeDiagramData => {
      const cfg = runs.model.config;
      const { nh, dh, dv, dc } = dims(cfg);
      const d = cfg.hidden_size, dr = cfg.qk_rope_head_dim, T = step;
      return {
        kind: 'shapes',
        rows: [
          { label: 'Compress each token once: the cached latent', terms: [
            { name: 'c_KV', rows: T, cols: dc, rowDim: 'T', colDim: 'd_c', tone: 'cache' }, { op: '=' },
            { name: 'h', rows: T, cols: d, rowDim: 'T', colDim: 'd', tone: 'act' }, { op: '·' },
            { name: 'W_DKV', rows: d, cols: dc, rowDim: 'd', colDim: 'd_c', tone: 'weight' },
          ] },
          { label: 'The decoupled rotary key, shared by the heads', terms: [
            { name: 'k^R', rows: T, cols: Math.max(dr, 0), rowDim: 'T', colDim: 'd_h^R', tone: 'cache' }, { op: '= RoPE(' },
            { name: 'h', rows: T, cols: d, rowDim: 'T', colDim: 'd', tone: 'act' }, { op: '·' },
            { name: 'W_KR', rows: d, cols: Math.max(dr, 0), rowDim: 'd', colDim: 'd_h^R', tone: 'weight' }, { op: ')' },
          ] },
          { label: 'Keys and values of every head, rebuilt from the cache (not cached)', terms: [
            { name: 'K^C', rows: T, cols: nh * dh, rowDim: 'T', colDim: 'n_h d_h', tone: 'act' }, { op: '=' },
            { name: 'c_KV', rows: T, cols: dc, rowDim: 'T', colDim: 'd_c', tone: 'cache' }, { op: '·' },
            { name: 'W_UK', rows: dc, cols: nh * dh, rowDim: 'd_c', colDim: 'n_h d_h', tone: 'weight' },
          ], note: `V likewise: c_KV · W_UV (d_c × n_h d_v = ${nh * dv}). Cached per token: ${dc} + ${dr} numbers, rebuilt: ${nh * (dh + dv)}.` },
        ],
      };
    }, { kind: 'derived', detail: 'the shapes of the loaded model\'s config, at the tokens decoded so far' }),
    cell('stepStats', ['runs', 'step', 'layer'], (runs: Runs, step: number, layer: string): StatsData => {
      const cfg = runs.model.config;
      const { nh, dh, dv, dc } = dims(cfg);
      const lat = runs.absorbed.cache, full = runs.full.cache;
      return {
        kind: 'stats',
        items: [
          { label: `Numbers in layer ${layer}'s latent cache`, value: step * lat.layers[Number(layer)].elementsPerToken, format: 'plain', note: `${step} tokens x (d_c + d_h^R)` },
          { label: 'Latent cache, all layers (FP32 as the engine keeps it)', value: step * lat.bytesPerToken, format: 'bytes' },
          { label: 'A full K/V cache of the same tokens', value: step * full.bytesPerToken, format: 'bytes' },
          { label: 'Rebuilt by the decompressed path at this step', value: step * nh * (dh + dv), format: 'plain', unit: 'numbers per layer', note: `K^C and V^C of ${step} tokens x ${nh} heads, costing ${step} x ${dc} x ${nh * (dh + dv)} multiply-adds` },
          { label: 'Keys and values the absorbed path builds', value: 0, format: 'plain', note: 'it scores and sums c_KV directly' },
        ],
      };
    }, { kind: 'engine', detail: 'byte counts of the engine\'s caches; rebuild sizes from the config' }),

    cell('keysView', ['runs', 'rebuilt', 'step'], (runs: Runs, rb: Rebuilt, step: number): HeatmapData => {
      const { nh, dh } = dims(runs.model.config);
      return cacheHeatmap(rb.kc, nh * dh, step, runs.prompt, `K^C of heads 1..${nh} side by side (d_h = ${dh} each)`, 'k^C value');
    }, { kind: 'engine', detail: 'kv_b_proj\'s W^UK rows times the cached c_KV' }),
    cell('exactStats', ['runs', 'rebuilt', 'step'], (runs: Runs, rb: Rebuilt, step: number): StatsData => {
      const { nh, dh, dr, dv } = dims(runs.model.config);
      const V = runs.model.config.vocab_size;
      const a = runs.absorbed.logits[step - 1], d = runs.decompressed.logits[step - 1], f = runs.full.logits[step - 1];
      const next = [a, d, f].map((l) => argmaxRow(l, 0, V));
      const krDiff = dr === 0 ? 0 : Math.max(...rb.krFull.map((k) => maxDiff(k, rb.kr, step * dr)));
      return {
        kind: 'stats',
        items: [
          { label: `max |K^C rebuilt from c_KV - K^C of the full cache| (layer ${rb.layer}, ${nh} heads)`, value: maxDiff(rb.kc, rb.kcFull, step * nh * dh), format: 'sci', digits: 2, note: `largest |K^C| ${maxAbs(rb.kcFull.subarray(0, step * nh * dh)).toFixed(2)}` },
          { label: 'max |V^C rebuilt - V^C of the full cache|', value: maxDiff(rb.vc, rb.vcFull, step * nh * dv), format: 'sci', digits: 2 },
          dr === 0
            ? { label: 'max |cached k^R - rotary part of every full-cache key|', value: 'none cached', note: 'd_h^R = 0: no rotary key' }
            : { label: 'max |cached k^R - rotary part of every full-cache key|', value: krDiff, format: 'sci', digits: 2 },
          { label: `max |logits, absorbed - full cache| at step ${step}`, value: maxDiff(a, f), format: 'sci', digits: 2, note: `largest |logit| ${maxAbs(f).toFixed(2)}` },
          { label: 'max |logits, decompressed - full cache|', value: maxDiff(d, f), format: 'sci', digits: 2 },
          { label: 'max |logits, absorbed - decompressed|', value: maxDiff(a, d), format: 'sci', digits: 2 },
          { label: 'Most likely next token', value: next.every((t) => t === next[0]) ? `id ${next[0]} on all three paths` : `differs: ${next.join(', ')}` },
        ],
      };
    }, { kind: 'engine', detail: 'the three caches and the logits of each decode step' }),

    cell('scaleRows', ['config', 'context'], (config: DeepSeekConfig, context: number) =>
      [{ name: 'nanoseek (this page)', config }, ...REAL_CONFIGS].map((m) => {
        const table = kvCacheTable(m.config, { context, bytesPerElement: BF16, gqaGroups: [] });
        const mha = table.find((r) => r.kind === 'MHA')!, mla = table.find((r) => r.kind === 'MLA')!;
        const { nh, dh, dr, dv, dc } = dims(m.config);
        return {
          model: m.name, dims: `${nh}, ${dh}, ${dr}, ${dv}, ${dc}`, layers: mla.layers,
          mha: mha.elementsPerTokenPerLayer, mla: mla.elementsPerTokenPerLayer, ratio: mha.ratioToMla,
          mhaBytes: mha.totalBytes, mlaBytes: mla.totalBytes,
          absorbedFlops: decodeCost(m.config, 'absorbed', context).attentionFlops,
          decompressedFlops: decodeCost(m.config, 'decompressed', context).attentionFlops,
        };
      }), { kind: 'derived', detail: 'kvCacheTable and decodeCost applied to each config.json' }),
    cell('scaleTable', ['scaleRows', 'context'], (rows: Record<string, string | number>[], context: number): TableData => ({
      kind: 'table',
      caption: `Numbers per token per layer: full K/V = n_h(d_h + d_h^R + d_v), latent = d_c + d_h^R. Whole caches at ${formatTokens(context)} tokens in BF16 (2 bytes a number), over each model's decoder layers (MTP module not counted).`,
      columns: [
        { key: 'model', label: 'Model' },
        { key: 'dims', label: 'n_h, d_h, d_h^R, d_v, d_c', align: 'right' },
        { key: 'mha', label: 'Full K/V', align: 'right', format: 'plain' },
        { key: 'mla', label: 'Latent', align: 'right', format: 'plain' },
        { key: 'ratio', label: 'Ratio', align: 'right', format: 'ratio' },
        { key: 'layers', label: 'Layers', align: 'right' },
        { key: 'mhaBytes', label: 'Full cache', align: 'right', format: 'bytes' },
        { key: 'mlaBytes', label: 'Latent cache', align: 'right', format: 'bytes' },
      ],
      rows,
    }), { kind: 'derived', detail: 'numbers per token per layer from each config.json' }),
    cell('rebuildTable', ['scaleRows', 'context'], (rows: Record<string, string | number>[], context: number): TableData => ({
      kind: 'table',
      caption: `Attention FLOPs of one decode step over ${formatTokens(context)} cached tokens, all decoder layers`,
      columns: [
        { key: 'model', label: 'Model' },
        { key: 'decompressedFlops', label: 'Decompressed: rebuild K, V every step', align: 'right', format: 'si' },
        { key: 'absorbedFlops', label: 'Absorbed: attend over c_KV', align: 'right', format: 'si' },
        { key: 'speedup', label: 'Decompressed / absorbed', align: 'right', format: 'ratio' },
      ],
      rows: rows.map((r) => ({ model: r.model, decompressedFlops: r.decompressedFlops, absorbedFlops: r.absorbedFlops, speedup: Number(r.decompressedFlops) / Number(r.absorbedFlops) })),
    }), { kind: 'derived', detail: 'decodeCost: the matmul shapes of each path in mla.ts' }),
    cell('memoryChart', ['config', 'context'], (config: DeepSeekConfig, context: number): LineChartData => {
      const xs = Array.from({ length: 10 }, (_, i) => 256 * 2 ** i);
      const v3 = REAL_CONFIGS.find((m) => m.name === 'DeepSeek-V3')!.config;
      const line = (cfg: DeepSeekConfig, kind: 'MHA' | 'MLA', name: string, style: 'line' | 'dashed') => ({
        name,
        style,
        points: xs.map((x) => ({ x, y: kvCacheTable(cfg, { context: x, bytesPerElement: BF16, gqaGroups: [] }).find((r) => r.kind === kind)!.totalBytes })),
      });
      return {
        kind: 'line',
        series: [
          line(v3, 'MHA', 'DeepSeek-V3, full K/V (MHA)', 'dashed'),
          line(v3, 'MLA', 'DeepSeek-V3, latent (MLA)', 'line'),
          line(config, 'MHA', 'nanoseek, full K/V (MHA)', 'dashed'),
          line(config, 'MLA', `nanoseek, latent (d_c ${config.kv_lora_rank} + d_h^R ${config.qk_rope_head_dim})`, 'line'),
        ],
        xLabel: 'context (tokens)',
        yLabel: 'KV cache, BF16, all layers',
        xScale: 'log',
        yScale: 'log',
        yFormat: 'bytes',
        markers: [{ x: context, label: formatTokens(context) }],
      };
    }, { kind: 'derived', detail: 'kvCacheTable on the tiny config and DeepSeek-V3\'s config.json' }),

    cell('scope', ['runs', 'rebuilt', 'step'], (runs: Runs, rb: Rebuilt, step: number) => {
      const { nh, dh, dr, dv, dc } = dims(runs.model.config);
      const kvB = runs.model.weights.layers[rb.layer].attn.kvBProj;
      const Wuk: number[][] = [], Wuv: number[][] = [];
      for (let h = 0; h < nh; h++) {
        const { wUK, wUV } = kvBHead(kvB, runs.model.config, h);
        Wuk.push(...rowsOf(wUK, dh, dc));
        Wuv.push(...rowsOf(wUV, dv, dc));
      }
      return {
        ckv: rowsOf(rb.ckv, step, dc),
        kr: rowsOf(rb.kr, step, dr),
        Wuk,
        Wuv,
        kc: rowsOf(rb.kcFull, step, nh * dh),
        vc: rowsOf(rb.vcFull, step, nh * dv),
        n_h: nh, d_h: dh, d_hR: dr, d_v: dv, d_c: dc,
      };
    }, { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'MLA caches one small latent c_KV per token (plus one shared rotary key) instead of every head\'s keys and values, and rebuilds them exactly.',
    view: { cell: 'ckvView', title: 'Cached c_KV rows of your text (tokens x d_c)', caption: 'The engine\'s cache for the chosen layer after the decoded steps; the outlined row arrived last.' },
    controls: ['text', 'step'],
    note: 'Runs the shipped trained model at its widths (d_c and d_h^R sliders below build random models of other shapes).',
  },
  sections: [
    {
      id: 'latent',
      title: 'One small vector per token',
      prose: `Multi-head attention caches, for every past token, a key and a value for each of the $n_h$ heads. Multi-head latent attention (MLA, [DeepSeek-V2 §2.1](https://arxiv.org/abs/2405.04434)) caches one compressed vector instead, and rebuilds the keys and values from it:

$$c_t^{KV} = W^{DKV} h_t, \\qquad k_t^{C} = W^{UK} c_t^{KV}, \\qquad v_t^{C} = W^{UV} c_t^{KV}.$$

$h_t \\in \\mathbb{R}^d$ is the token's hidden state, $c_t^{KV} \\in \\mathbb{R}^{d_c}$ the latent, and $W^{UK}$, $W^{UV}$ lift it to the keys and values of all heads at once ($n_h d_h$ and $n_h d_v$ numbers). Position enters through a separate, *decoupled* rotary key, computed from $h_t$ and shared by all heads:

$$k_t^{R} = \\mathrm{RoPE}(W^{KR} h_t), \\qquad k_{t,i} = [\\,k_{t,i}^{C};\\ k_t^{R}\\,].$$

Only $c_t^{KV}$ and $k_t^R$ are cached: $d_c + d_h^R$ numbers per token per layer, whatever the number of heads. In the engine (and in DeepSeek-V3's checkpoints) $W^{DKV}$ and $W^{KR}$ are stacked in one matrix, \`kv_a_proj_with_mqa\`, $c_t^{KV}$ passes an RMSNorm (\`kv_a_layernorm\`) before it is cached, and $W^{UK}$, $W^{UV}$ of every head are stacked in \`kv_b_proj\`.

The page runs the shipped trained model. The width sliders build a model of another shape, with random weights (no trained model has it); the table counts what each of the engine's three decode paths keeps and what it must rebuild.`,
      controls: ['text', 'kv_lora_rank', 'qk_rope_head_dim'],
      views: [
        { cell: 'cacheTable', title: 'Cached versus recomputed', caption: 'The absorbed and decompressed paths hold the same cache and differ in what they compute from it: the decompressed path rebuilds every head\'s keys and values from c_KV for every cached token at every step; the absorbed path folds W^UK into the query and applies W^UV after attention, so it never builds them. The full cache stores them, and the shared k^R once per head.' },
      ],
      after: 'Away from the trained widths the weights are random, so the sliders change shapes, memory and work, not quality. The paper\'s choice for DeepSeek-V2 is $d_c = 4 d_h$ and $d_h^R = d_h/2$, a cache the size of grouped-query attention with 2.25 groups, and reports it stronger than full multi-head attention.',
    },
    {
      id: 'filling',
      title: 'The cache, token by token',
      prose: 'The engine decodes the prompt one token per step, each step one `forward` call with the absorbed path\'s cache. Each step appends one row to every layer\'s cache: the new token\'s $c_t^{KV}$ and its $k_t^R$. Move the step slider and watch the rows arrive. A row never changes once written (causal attention: token $t$ never sees a later token), so the cache after step $n$ is the first $n$ rows drawn here.',
      controls: ['step', 'layer'],
      views: [
        { cell: 'ckvView', title: 'Cached c_KV rows (tokens x d_c)', caption: 'The engine\'s cache contents for the chosen layer. The outlined row was appended at this step; hatched rows are still to come.' },
        { cell: 'kvShapes', title: 'What is cached and what is rebuilt, to scale', component: ShapeDiagram },
        { cell: 'krDials', title: 'k^R: each rotary pair turns at its own frequency', caption: 'One dial per pair of k^R columns: each spoke is the angle the engine turned that pair to at one position. The first pair turns fastest; the last barely moves, so together they tell near positions from far ones.', component: RopeDials },
        { cell: 'krView', title: 'Cached k^R rows (tokens x d_h^R)', caption: 'The decoupled rotary key, already rotated by its position. Its first pair of columns turns fastest: the highest RoPE frequency.' },
        { cell: 'stepStats', title: 'What the cache holds at this step' },
        { cell: 'latentMap', title: 'What the cached latents separate: c_KV rows of your text, projected to 2-D, by character class', caption: 'Each dot is one character\'s cached c_KV in the chosen layer, placed on the two directions along which the rows vary most. In layer 0 a latent is computed from its own character alone (no attention has run yet), so every space lands on one dot, trained or not. In later layers (the layer select) it also carries the context, and the same character spreads out.' },
      ],
      after: 'The per-head keys and values are not in the cache. The decompressed path rebuilds them from every cached $c^{KV}$ at every step, work that grows with the context; the absorbed path never builds them at all (the next lesson shows how).',
    },
    {
      id: 'rebuild',
      title: 'Decompression gives the keys back exactly',
      prose: `Take the cached rows, multiply by each head's $W^{UK}_i$ (its rows of \`kv_b_proj\`), and compare with a full K/V cache that the engine filled by decoding the same tokens on the full-cache path, which stores every head's $k_{t,i} = [k^C_{t,i}; k^R_t]$ and $v^C_{t,i}$ as plain multi-head attention would:

$$k^C_{t,i} = W^{UK}_i\\, c_t^{KV}, \\qquad v^C_{t,i} = W^{UV}_i\\, c_t^{KV}.$$

Nothing is lost: the full-size keys and values are a fixed linear function of the small latent, so caching the latent is caching them. And because every path computes the same attention, the logits of the decode step agree across all three.`,
      controls: ['step', 'layer'],
      views: [
        { cell: 'keysView', title: 'K^C rebuilt from the cached c_KV (tokens x n_h d_h)', caption: 'Every head\'s keys, rebuilt from the rows above: more numbers than were cached, and fully determined by them.' },
        { cell: 'exactStats', title: 'Rebuilt against stored, and the three paths\' logits', caption: 'Differences are float32 rounding (about 1e-7 of the values\' size). In layer 0 the two caches see identical inputs; later layers inherit the rounding of the layers before.' },
      ],
      after: 'Low rank is the price: $W^{UK}$ has rank at most $d_c$, so all the heads\' keys of a token live in a $d_c$-dimensional subspace. That is a limit on what a *trained* model can express, which training at that width accepts; the decompression itself is exact.',
    },
    {
      id: 'scale',
      title: 'Compression ratio and memory at long context',
      prose: `Per token and per layer the compression is

$$\\frac{n_h\\,(d_h + d_h^R + d_v)}{d_c + d_h^R},$$

the full cache's keys (content and rotary parts, one per head) and values over the latent cache. The table applies it to the tiny model at the slider settings and to the published DeepSeek-V2 and DeepSeek-V3 configs, and sizes both caches at the chosen context.`,
      controls: ['context', 'kv_lora_rank', 'qk_rope_head_dim'],
      views: [
        { cell: 'scaleTable', title: 'Numbers per token per layer, and the whole cache' },
        { cell: 'memoryChart', title: 'Cache size against context (log-log)', caption: 'Both caches grow linearly with the context; the latent one is smaller by the compression ratio at every length.' },
        { cell: 'rebuildTable', title: 'Why not just rebuild? The cost of one decode step', caption: 'Rebuilding K and V of every cached token at every step multiplies the attention work; absorbing W^UK and W^UV avoids it (lesson 3).' },
      ],
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'max(abs(Wuk * ckv\' - kc\'))',
    examples: [
      'max(abs(Wuk * ckv\' - kc\'))',
      'max(abs(Wuv * ckv\' - vc\'))',
      'size(ckv)',
      'Wuk[1:d_h, :] * ckv[1, :]\'',
      'n_h * (d_h + d_hR + d_v) / (d_c + d_hR)',
      'sqrt(mean(ckv .^ 2))',
    ],
    descriptions: {
      ckv: 'cached c_KV rows of the chosen layer, tokens decoded so far x d_c',
      kr: 'cached k^R rows, tokens x d_h^R',
      Wuk: 'W^UK of every head stacked (kv_b_proj rows), n_h d_h x d_c',
      Wuv: 'W^UV of every head stacked, n_h d_v x d_c',
      kc: 'K^C of every head from the full K/V cache, tokens x n_h d_h',
      vc: 'V^C of every head from the full K/V cache, tokens x n_h d_v',
      n_h: 'attention heads',
      d_h: 'content key width per head (qk_nope_head_dim)',
      d_hR: 'rotary key width (qk_rope_head_dim)',
      d_v: 'value width per head (v_head_dim)',
      d_c: 'latent width (kv_lora_rank)',
    },
  },
};
