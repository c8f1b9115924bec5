// Lesson 1: the KV cache. Decode with and without a cache on the engine, count the work of every
// step as the engine does it, and size the cache of MHA, GQA, MQA and MLA for the tiny model and
// the published DeepSeek-V2/V3 configs.
import type { BarChartData, LineChartData, StatsData, TableData } from '$components/charts/types';
import type { Backend } from '$kernels/backend';
import { kvCacheTable } from '$engine/memory';
import type { Model } from '$engine/model';
import { cell, type Notebook } from '../_kit/types';
import { EngineWorker } from '../_kit/engine-worker';
import { memoPer } from '../_kit/memo';
import { Ahead, along } from '../_kit/prefetch';
import { type DecodeRun, jobs } from './jobs';
import { REAL_CONFIGS, formatTokens } from '../_kit/models';
import { type LessonModel, lessonModel } from '../_kit/shipped';
import { TEXT_EXAMPLES, promptTokens, visibleText } from '../_kit/tokens';

export const meta = {
  slug: 'kv-cache',
  title: 'The KV cache',
  summary: 'Why decoding keeps every past key and value, what that saves per step, and what it costs in memory for MHA, GQA, MQA and MLA.',
  order: 1,
};

/**
 * The decode runs compute in the lesson's Web Worker (jobs.ts, _kit/engine-worker.ts): three
 * decoders over the prompt (one recomputing every step) took 60-130 ms per prompt-length move on
 * the main thread. Meanwhile the figures keep their previous picture, marked as computing.
 */
const engine = new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek KV cache' }), jobs);

/**
 * The runs around the last ones asked (one more or one less character of the prompt, one more or
 * one less token) are computed ahead in the worker (_kit/prefetch.ts), along the slider that moved,
 * so a drag finds each step's runs ready. Per model and text: the same request a move would send.
 */
type At = { n: number; steps: number };
const PROMPT = { min: 2, max: 40 }, STEPS = { min: 1, max: 20 };
const ahead = memoPer<Model, Ahead<At, DecodeRun[]>>(2);
function decodeRuns(model: Model, text: string, n: number, steps: number): Promise<DecodeRun[]> {
  const runs = ahead(model, text, () => new Ahead((at: At) => engine.run('decode', { model, prompt: promptTokens(text, at.n).ids, steps: at.steps }), {
    id: (at) => `${at.n}/${at.steps}`,
    around: (at, from) => {
      const alongN = along(PROMPT.min, PROMPT.max)(at.n, from?.n ?? null).map((x) => ({ n: x, steps: at.steps }));
      const alongSteps = along(STEPS.min, STEPS.max)(at.steps, from?.steps ?? null).map((x) => ({ n: at.n, steps: x }));
      return from && from.n !== at.n ? alongN : from && from.steps !== at.steps ? alongSteps : [...alongSteps.slice(0, 2), ...alongN.slice(0, 2)];
    },
    enabled: () => typeof Worker !== 'undefined' && !engine.failure,
  }));
  return runs.get({ n, steps });
}

const BYTES: Record<string, number> = { bf16: 2, fp32: 4, fp8: 1 };


export const notebook: Notebook = {
  pure: true,
  inputs: [
    { kind: 'text', name: 'text', label: 'Your text (the prompt)', value: 'Once upon a time, there was a little', maxLength: 512, examples: [{ label: 'story', value: 'Once upon a time, there was a little' }, ...TEXT_EXAMPLES], help: 'The model continues the first characters of this text (one character per token).' },
    { kind: 'range', name: 'promptLength', label: 'Prompt length', ...PROMPT, step: 1, value: 36, unit: 'characters' },
    { kind: 'range', name: 'newTokens', label: 'Tokens to generate', ...STEPS, step: 1, value: 10, unit: 'tokens' },
    { kind: 'range', name: 'context', label: 'Context length', min: 256, max: 131072, step: 1, value: 32768, log2: true, unit: 'tokens', format: formatTokens },
    { kind: 'select', name: 'precision', label: 'Cache precision', value: 'bf16', options: [{ value: 'fp32', label: 'FP32 (4 bytes)' }, { value: 'bf16', label: 'BF16 (2 bytes)' }, { value: 'fp8', label: 'FP8 (1 byte)' }] },
  ],
  cells: [
    cell('lm', ['backend'], (backend: Backend) => lessonModel('trained', backend), { kind: 'engine', detail: 'the shipped trained model (kit/shipped.ts)' }),
    cell('model', ['lm'], (lm: LessonModel) => lm.model, { kind: 'engine' }),
    cell('prompt', ['promptLength', 'text'], (n: number, text: string) => promptTokens(text, n).ids, { kind: 'derived', detail: 'the reader\'s text, one ASCII character per token' }),
    cell('runs', ['model', 'text', 'promptLength', 'newTokens'], (model: Model, text: string, n: number, steps: number): Promise<DecodeRun[]> => decodeRuns(model, text, n, steps),
    { kind: 'engine', detail: 'one decoder per mode (in the lesson\'s worker), run as far as the slider asks and kept to go further; multiply-adds counted as the engine runs' }),
    cell('workChart', ['runs'], (runs: DecodeRun[]): LineChartData => ({
      kind: 'line',
      xLabel: 'decode step (0 = prefill)',
      xIntegers: true,
      yLabel: 'multiply-adds in the step',
      yScale: 'log',
      yFormat: 'si',
      series: runs.map((r) => ({
        name: r.mode === 'recompute' ? 'no cache: recompute everything' : r.mode === 'full-cache' ? 'K/V cache (MHA-style)' : 'latent cache (MLA, absorbed)',
        points: r.macs.map((y, x) => ({ x, y })),
        style: r.mode === 'recompute' ? 'dashed' : 'line',
      })),
    }), { kind: 'engine', detail: 'counted multiply-adds' }),
    cell('decodeStats', ['runs', 'prompt', 'lm'], (runs: DecodeRun[], prompt: number[], lm: LessonModel): StatsData => {
      const [none, full, latent] = runs;
      const total = (r: DecodeRun) => r.macs.slice(1).reduce((a, b) => a + b, 0);
      const same = none.tokens.every((t, i) => t === full.tokens[i] && t === latent.tokens[i]);
      return {
        kind: 'stats',
        items: [
          { label: 'What the model wrote (greedy), after the prompt', value: visibleText(none.tokens), note: `prompt "${visibleText(prompt)}"; ${lm.name}` },
          { label: 'Same characters with and without the cache', value: same ? 'yes' : 'NO' },
          { label: 'Work after the prefill, no cache', value: total(none), format: 'si', unit: 'multiply-adds' },
          { label: 'Work after the prefill, with the cache', value: total(full), format: 'si', unit: 'multiply-adds' },
          { label: 'Saved by caching', value: total(none) / Math.max(1, total(full)), digits: 3, unit: 'x less work' },
          { label: 'Latent cache (MLA, absorbed) against the K/V cache, work after the prefill', value: total(latent) / Math.max(1, total(full)), digits: 3, unit: 'x', note: total(latent) > total(full) ? 'more work: see "Where the latent cache costs more" below' : 'less work at this length' },
        ],
      };
    }, { kind: 'engine' }),
    cell('cacheStats', ['runs', 'model'], (runs: DecodeRun[], model: Model): StatsData => {
      const cfg = model.config;
      const [, full, latent] = runs;
      const n = full.cacheBytes.length;
      const perTokenFull = full.cacheBytes[n - 1] - full.cacheBytes[n - 2 < 0 ? 0 : n - 2];
      const perTokenLatent = latent.cacheBytes[n - 1] - latent.cacheBytes[n - 2 < 0 ? 0 : n - 2];
      return {
        kind: 'stats',
        items: [
          { label: 'Engine K/V cache, bytes per token (FP32, all layers)', value: perTokenFull, format: 'bytes', note: `n_h (d_h + d_h^R + d_v) x ${cfg.num_hidden_layers} layers x 4 B` },
          { label: 'Engine latent cache, bytes per token', value: perTokenLatent, format: 'bytes', note: `(d_c + d_h^R) x ${cfg.num_hidden_layers} layers x 4 B` },
          { label: 'Cache after the last step (latent)', value: latent.cacheBytes[n - 1], format: 'bytes' },
        ],
      };
    }, { kind: 'engine', detail: 'the cache objects\' own byte counts' }),
    cell('memoryRows', ['context', 'precision', 'model'], (context: number, precision: string, model: Model) => {
      const models = [{ name: 'nanoseek (this page)', config: model.config }, ...REAL_CONFIGS];
      return models.flatMap((m) => kvCacheTable(m.config, { context, bytesPerElement: BYTES[precision], gqaGroups: m.config.num_attention_heads >= 16 ? [8] : [2] })
        .map((r) => ({ model: m.name, ...r })));
    }, { kind: 'derived', detail: 'cache formulas applied to each config.json' }),
    cell('memoryTable', ['memoryRows', 'context'], (rows: Record<string, string | number>[], context: number): TableData => ({
      kind: 'table',
      caption: `KV cache at ${formatTokens(context)} tokens, every layer of each model`,
      columns: [
        { key: 'model', label: 'Model' },
        { key: 'scheme', label: 'Scheme' },
        { key: 'formula', label: 'Numbers per token per layer' },
        { key: 'elementsPerTokenPerLayer', label: 'Count', align: 'right', format: 'plain' },
        { key: 'bytesPerToken', label: 'Bytes per token', align: 'right', format: 'bytes' },
        { key: 'totalBytes', label: 'Whole cache', align: 'right', format: 'bytes' },
        { key: 'ratioToMla', label: 'vs MLA', align: 'right', format: 'ratio' },
      ],
      rows,
    }), { kind: 'derived' }),
    cell('memoryBars', ['memoryRows', 'context'], (rows: { model: string; scheme: string; totalBytes: number }[], context: number): BarChartData => {
      const schemes = ['MHA', 'GQA-8', 'MQA', 'MLA'];
      const models = REAL_CONFIGS.map((m) => m.name);
      return {
        kind: 'bar',
        categories: schemes,
        series: models.map((name) => ({ name, values: schemes.map((s) => rows.find((r) => r.model === name && r.scheme === s)?.totalBytes ?? 0) })),
        yLabel: `cache at ${formatTokens(context)} tokens`,
        yScale: 'log',
        yFormat: 'bytes',
        highlight: { category: 'MLA', label: 'what DeepSeek-V2/V3 cache' },
      };
    }, { kind: 'derived' }),
    cell('growth', ['precision', 'context'], (precision: string, context: number): LineChartData => {
      const v3 = REAL_CONFIGS[1].config;
      const xs = Array.from({ length: 10 }, (_, i) => 256 * 2 ** i).concat([262144, 524288]).filter((x) => x <= 131072);
      const series = (['MHA', 'GQA-8', 'MQA', 'MLA'] as const).map((scheme) => ({
        name: scheme,
        points: xs.map((x) => ({ x, y: kvCacheTable(v3, { context: x, bytesPerElement: BYTES[precision] }).find((r) => r.scheme === scheme)!.totalBytes })),
        style: (scheme === 'MLA' ? 'line' : 'dashed') as 'line' | 'dashed',
      }));
      return { kind: 'line', series, xLabel: 'context (tokens)', yLabel: 'DeepSeek-V3 KV cache', xScale: 'log', yScale: 'log', yFormat: 'bytes', markers: [{ x: context, label: formatTokens(context) }] };
    }, { kind: 'derived', detail: 'DeepSeek-V3 config.json' }),
    cell('scope', ['runs', 'memoryRows'], (runs: DecodeRun[], rows: { model: string; scheme: string; elementsPerTokenPerLayer: number }[]) => ({
      macs_recompute: runs[0].macs,
      macs_cache: runs[1].macs,
      macs_latent: runs[2].macs,
      v3_mha: rows.find((r) => r.model === 'DeepSeek-V3' && r.scheme === 'MHA')?.elementsPerTokenPerLayer ?? 0,
      v3_mla: rows.find((r) => r.model === 'DeepSeek-V3' && r.scheme === 'MLA')?.elementsPerTokenPerLayer ?? 0,
    }), { kind: 'derived' }),
  ],
  lead: {
    takeaway: 'With a KV cache each new token costs about one token of work; without one, every step redoes the whole text so far.',
    view: { cell: 'workChart', title: 'Multiply-adds per decode step: no cache, K/V cache, latent (MLA) cache', caption: 'Counted by the engine while the model continues your text. Step 0 is the prefill (the whole prompt).' },
    controls: ['text', 'newTokens'],
    note: 'Runs the shipped trained model, one character per token. What it wrote, the explanation and the memory figures follow below.',
  },
  sections: [
    {
      id: 'decoding',
      title: 'Decoding one token at a time',
      prose: `A language model writes one token per step: it reads the whole sequence so far and predicts the next token. At step $t$ attention needs the keys and values of **every** earlier token,
$$\\mathrm{softmax}\\!\\Big(\\frac{q_t K_{1:t}^\\top}{\\sqrt{d}}\\Big) V_{1:t}.$$
Without a cache the model recomputes $K_{1:t}$ and $V_{1:t}$ from scratch at every step. With a cache it keeps them, and each step only runs the one new token.

Below, the engine decodes the same prompt three ways: recomputing everything, caching K and V per head (what plain multi-head attention caches), and caching MLA's latent vectors. Each step's multiply-adds are **counted** while the engine runs.`,
      controls: ['text', 'promptLength', 'newTokens'],
      views: [
        { cell: 'workChart', title: 'Work per decode step', caption: 'Step 0 is the prefill (the whole prompt). Without a cache every later step repeats it and then some; with a cache each step costs about one token.' },
        { cell: 'decodeStats', title: 'Same answer, less work' },
      ],
      after: `The cache changes nothing in the output (the characters are identical) and almost everything in the cost. The price is memory: every past token's keys and values stay resident.

**Where the latent cache costs more.** On this small model the absorbed MLA step does *more* multiply-adds per past token than the K/V cache. With the latent cache each head scores its query against the whole cached $c^{KV}$ (width $d_c$) plus the rotary key ($d_h^R$), and sums latents of width $d_c$ before $W^{UV}$: about $n_h (2 d_c + d_h^R)$ per past token. A K/V cache scores $d_h + d_h^R$ and sums $d_v$: $n_h (d_h + d_h^R + d_v)$. Here $d_c = 32$ is wider than $d_h = 16$ and $d_v = 12$, so absorption trades memory for arithmetic. MLA's gain is the cache's size (and the memory traffic of reading it), which dominates decoding at long contexts; lesson 3 (absorption) prices both as the context grows.`,
    },
    {
      id: 'memory',
      title: 'What the cache holds, in bytes',
      prose: `Per token and per layer, multi-head attention (MHA) caches a key and a value for each of $n_h$ heads: $n_h (d_h + d_h^R) + n_h d_v$ numbers. Grouped-query attention (GQA) shares each key/value head among a group of query heads, multi-query attention (MQA) keeps a single one. DeepSeek's multi-head latent attention (MLA) caches one compressed vector $c^{KV}$ of width $d_c$ and one shared rotary key of width $d_h^R$: $d_c + d_h^R$ numbers, whatever the number of heads.`,
      views: [{ cell: 'cacheStats', title: 'The engine\'s own caches (this page\'s model, FP32)' }],
    },
    {
      id: 'scale',
      title: 'At the scale of DeepSeek-V3',
      prose: 'The same formulas, applied to the published config.json files of DeepSeek-V2 and DeepSeek-V3. Slide the context towards 128K tokens: for DeepSeek-V3 in BF16 an MHA cache would need hundreds of GiB, MLA\'s a few GiB.',
      controls: ['context', 'precision'],
      views: [
        { cell: 'memoryBars', title: 'Whole KV cache by scheme (log scale)' },
        { cell: 'growth', title: 'DeepSeek-V3: cache size against context (log-log)' },
        { cell: 'memoryTable', title: 'Every scheme, every model' },
      ],
      after: 'GQA-8 here means 8 key/value heads. MQA is smaller still, but it gives every head the same key and value; MLA keeps per-head keys and values (rebuilt from $c^{KV}$) at a cache size close to MQA\'s.',
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'sum(macs_recompute) / sum(macs_cache)',
    examples: ['sum(macs_recompute) / sum(macs_cache)', 'macs_recompute - macs_cache', 'v3_mha / v3_mla', 'max(macs_latent)'],
    descriptions: {
      macs_recompute: 'multiply-adds of each step without a cache',
      macs_cache: 'multiply-adds of each step with a K/V cache',
      macs_latent: 'multiply-adds of each step with the latent (absorbed) cache',
      v3_mha: 'DeepSeek-V3 MHA cache, numbers per token per layer',
      v3_mla: 'DeepSeek-V3 MLA cache, numbers per token per layer',
    },
  },
};
