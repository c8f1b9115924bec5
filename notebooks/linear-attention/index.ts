// Lesson: memory that does not grow. The same q, k, v from one head of the model, mixed by softmax
// attention and by four attentions whose decoding state has a fixed size (linear attention,
// Performer, TransNormer's normalised attention, FLASH's chunked attention); the associativity
// that makes them linear; what a decode step costs against MHA, GQA, MQA and MLA as the context
// grows; and what the model loses when one layer's attention is swapped without retraining.
// Engine work is in compute.ts (src/engine/linear does the math), chart data in views.ts.
import { DEFAULT_COST_OPTIONS, associativityCheck, scaledNorms, softmaxAttention, type CostOptions, type HeadQKV, type VariantSpec } from '$engine/linear';
import { IdleJobs, type Job } from '../_kit/idle-jobs';
import { rangeInput, stepsAround } from '../_kit/prefetch';
import { cell, type InputSpec, type Notebook } from '../_kit/types';
import { REAL_CONFIGS, TINY_RAW, tinyConfig } from '../_kit/models';
import { SHIPPED_CONFIG, SHIPPED_NAME } from '../_kit/shipped';
import { type Compared, type LessonModel, type PlacedSwap, background, compare, fiveVariants, headOf, lessonModel, lessonTokens, mapsWork, swapOne } from './compute';
import { type MeasuredRecord, measuredSwapTable, staleness, swapSummary } from './measured';
import measuredJson from './measured.json';
import {
  associativityStats, bytesChart, normStats, crossoverTable, entropyChart, errorTable, flopsChart, mapsHeatmap, performerChart, swapChart, swapTable,
} from './views';

export const meta = {
  slug: 'linear-attention',
  title: 'Memory that does not grow: linear attention against MLA',
  summary: 'One head\'s own q, k and v mixed five ways: softmax, linear attention, Performer, TransNormer\'s normalised attention and FLASH\'s chunks. Their maps, errors and row entropies, the associativity that makes them linear, the decode cost against MHA, GQA, MQA and MLA as the context grows, and what swapping one layer costs the model.',
  order: 9,
};

// The page runs the shipped model when there is one: its layers and heads are offered.
const LAYERS = SHIPPED_CONFIG?.num_hidden_layers ?? Number(TINY_RAW.num_hidden_layers);
const HEADS = SHIPPED_CONFIG?.num_attention_heads ?? Number(TINY_RAW.num_attention_heads);
/** Tokens the swapped-layer evaluation runs over: one fixed passage (the seed moves only Performer's features there), so the seed slider costs one swapped forward, not seven. */
const SWAP_TOKENS = 128;
const SWAP_PROMPT = lessonTokens(SWAP_TOKENS, 0);
/** The context slider's largest T: one traced forward over this many tokens serves every T. */
const MAX_T = 64;
/** Feature counts of the Performer error curve, and draws per point. */
const PERFORMER_MS = [4, 8, 16, 32, 64, 128, 256, 512];
const PERFORMER_DRAWS = 3;
/** The cost charts run to 2^20 tokens. */
const MAX_CONTEXT = 2 ** 20;

/** This model's widths for the cost charts: the shipped model's when there is one, else the tiny one's. */
const tiny = SHIPPED_CONFIG ?? tinyConfig();

// The closing note's swapped-layer figures (scripts/linear-swap.ts), shown only for the model they
// were measured on: the model card's bits per character tells a replaced model apart at build time.
const cards = import.meta.glob('../../static/models/nanoseek-*/figures.json', { eager: true, import: 'default' }) as Record<string, { trained?: { stories?: { bits_per_char?: number } } }>;
const cardBits = Object.entries(cards).find(([f]) => f.split('/').at(-2) === SHIPPED_NAME)?.[1].trained?.stories?.bits_per_char ?? null;
const MEASURED = measuredJson as MeasuredRecord;
const STALE = staleness(MEASURED, SHIPPED_NAME, cardBits);

/** The swapped-layer variants that no slider changes, by cell name. */
const SWAP_FIXED: [string, VariantSpec][] = [
  ['swapSoftmax', { kind: 'softmax' }],
  ['swapLinear', { kind: 'linear', phi: 'elu1' }],
  ['swapRelu', { kind: 'linear', phi: 'relu' }],
  ['swapNormalised', { kind: 'normalised', phi: 'elu1' }],
];
const v3 = REAL_CONFIGS.find((c) => c.name === 'DeepSeek-V3')!.config;

const matrix = (data: Float64Array, rows: number, cols: number) => ({ rows, cols, data: Float32Array.from(data) });

const inputs: InputSpec[] = [
  { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Picks where the prompt of the maps starts in the text and Performer\'s random features (the model, and the passage of the swapped-layer section, stay the same): the same seed gives the same numbers everywhere.' },
  { kind: 'range', name: 'tokens', label: 'Context T', min: 8, max: MAX_T, step: 8, value: 32, unit: 'tokens', help: 'Length of the prompt whose q, k, v the attentions mix.' },
  { kind: 'select', name: 'layer', label: 'Decoder layer', value: String(LAYERS - 1), options: Array.from({ length: LAYERS }, (_, l) => ({ value: String(l), label: `layer ${l}` })), help: 'The layer whose q, k, v are taken (and, below, whose attention is swapped).' },
  { kind: 'range', name: 'head', label: 'Head', min: 0, max: HEADS - 1, step: 1, value: 0, help: 'The attention head whose q, k, v are taken.' },
  { kind: 'range', name: 'features', label: 'Performer features m', min: 4, max: 1024, step: 1, log2: true, value: 64, unit: 'features', help: 'Random features of Performer\'s estimate of exp(q·k); its state per head is m × (d_v + 1) numbers.' },
  { kind: 'range', name: 'chunk', label: 'Chunk length C (FLASH)', min: 2, max: 32, step: 1, log2: true, value: 8, unit: 'tokens', help: 'Quadratic attention inside each chunk of C tokens, linear attention across chunks.' },
  { kind: 'select', name: 'widths', label: 'Widths for the cost charts', value: 'v3', options: [{ value: 'tiny', label: `this model (d ${tiny.hidden_size}, ${tiny.num_attention_heads} heads)` }, { value: 'v3', label: 'DeepSeek-V3 (d 7168, 128 heads)' }] },
  { kind: 'select', name: 'kv_heads', label: 'GQA: key-value heads', value: '8', options: ['2', '4', '8', '16'].map((v) => ({ value: v, label: `${v} (capped at n_h)` })), help: 'Query heads share this many key-value heads in the GQA line (MHA has n_h, MQA one).' },
  { kind: 'select', name: 'precision', label: 'Bytes per number', value: '2', options: [{ value: '4', label: 'FP32 (4 bytes)' }, { value: '2', label: 'BF16 (2 bytes)' }, { value: '1', label: 'FP8 (1 byte)' }] },
  { kind: 'range', name: 'ssm_state', label: 'SSM state per channel N', min: 4, max: 128, step: 1, log2: true, value: 16, unit: 'numbers', help: 'State numbers per channel of the SSM line (Mamba uses 16, with 2d channels).' },
];

// Work ahead for the maps: a step of seed, T, head, m or C on the page costs a traced forward (seed)
// and the five attentions' two forms at the new setting, on the main thread before the maps can
// update. Done for every setting one step away while the page is idle (the slider last moved
// first, in the direction it moved), the next step of a drag finds them in the memo.
const MAPS_SLIDERS = ['seed', 'tokens', 'features', 'chunk', 'head'] as const;
type MapsValues = Record<(typeof MAPS_SLIDERS)[number], number>;
const ahead = new IdleJobs();
let lastMaps: MapsValues | null = null;
function workAhead(lm: LessonModel, layer: number, now: MapsValues): void {
  const before = lastMaps;
  lastMaps = now;
  const moved = before ? MAPS_SLIDERS.find((n) => before[n] !== now[n]) : undefined;
  const jobs: Job[] = [];
  for (const name of moved ? [moved, ...MAPS_SLIDERS.filter((n) => n !== moved)] : MAPS_SLIDERS) {
    for (const v of stepsAround(rangeInput(inputs, name), now[name], moved === name && now[name] < before![name] ? -1 : 1)) {
      const s = { ...now, [name]: v };
      jobs.push(...mapsWork(lm, { prompt: lessonTokens(MAX_T, s.seed), layer, head: s.head, T: s.tokens, features: s.features, chunk: s.chunk, seed: s.seed }));
    }
  }
  ahead.replace(jobs);
}

export const notebook: Notebook = {
  inputs,
  cells: [
    cell('lm', ['backend'], (backend) => lessonModel(backend), { kind: 'engine', detail: 'the reader\'s trained model if chosen, else initModel: the tiny DeepSeek-V3 with seeded weights' }),
    cell('prompt', ['seed'], (seed: number) => lessonTokens(MAX_T, seed), { kind: 'derived', detail: `${MAX_T} characters of a stories excerpt, one token each` }),
    cell('qkv', ['lm', 'prompt', 'layer', 'head', 'tokens'], (lm: LessonModel, prompt: number[], layer: string, head: number, T: number) => headOf(lm, prompt, Number(layer), head, T),
      { kind: 'engine', detail: 'model.forward trace: q with RoPE, k = [W_UK c_KV ; k^R], v = W_UV c_KV' }),
    cell('compared', ['qkv', 'features', 'chunk', 'seed', 'head', 'prompt'], (h: HeadQKV, m: number, C: number, seed: number, head: number, prompt: number[]) => compare(h, fiveVariants(m, C, seed), head, prompt.slice(0, h.T)),
      { kind: 'engine', detail: 'src/engine/linear: five attentions on the same q, k, v (float64)' }),
    cell('mapsView', ['compared'], (c: Compared) => mapsHeatmap(c), { kind: 'engine', detail: 'each attention\'s T x T mixing matrix' }),
    // Shows nothing: queues the maps' work at the neighbouring settings (workAhead above).
    cell('ahead', ['lm', 'seed', 'tokens', 'layer', 'head', 'features', 'chunk'], (lm: LessonModel, seed: number, T: number, layer: string, head: number, m: number, C: number) => {
      workAhead(lm, Number(layer), { seed, tokens: T, head, features: m, chunk: C });
      return null;
    }, { kind: 'engine', detail: 'the maps\' engine work one slider step away, computed while the page is idle' }),
    cell('errorView', ['compared'], (c: Compared) => errorTable(c), { kind: 'engine', detail: 'errors against the exact softmax attention, row entropies' }),
    cell('entropyView', ['compared'], (c: Compared) => entropyChart(c), { kind: 'engine', detail: 'entropy of each row of each mixing matrix' }),
    cell('exactOut', ['qkv'], (h: HeadQKV) => softmaxAttention(h).out, { kind: 'engine', detail: 'exact causal softmax attention (float64)' }),
    // Two cells (orthogonal, i.i.d.): each a bounded task.
    // In the lesson's Web Worker (jobs.ts): 48 Performer runs each, up to m = 512.
    cell('performerOrth', ['qkv', 'seed', 'exactOut'], (h: HeadQKV, seed: number, exact: Float64Array) => background.run('performerCurve', { head: h, ms: PERFORMER_MS, draws: PERFORMER_DRAWS, seed, orthogonal: true, exact }),
      { kind: 'engine', detail: `Performer (orthogonal features) at m = 4..512, mean of ${PERFORMER_DRAWS} seeded draws each` }),
    cell('performerIid', ['qkv', 'seed', 'exactOut'], (h: HeadQKV, seed: number, exact: Float64Array) => background.run('performerCurve', { head: h, ms: PERFORMER_MS, draws: PERFORMER_DRAWS, seed, orthogonal: false, exact }),
      { kind: 'engine', detail: `Performer (i.i.d. features) at m = 4..512, mean of ${PERFORMER_DRAWS} seeded draws each` }),
    cell('performerView', ['performerOrth', 'performerIid', 'features'], (orth: number[], iid: number[], m: number) => performerChart(PERFORMER_MS, orth, iid, m),
      { kind: 'engine', detail: 'relative error of the output against softmax attention' }),
    cell('normView', ['qkv'], (h: HeadQKV) => normStats(scaledNorms(h)), { kind: 'engine', detail: 'norms of the head\'s q and k rows' }),
    cell('assoc', ['qkv'], (h: HeadQKV) => associativityCheck(h), { kind: 'engine', detail: 'both bracketings in float64 on the head\'s q, k, v' }),
    cell('assocView', ['assoc'], (a: ReturnType<typeof associativityCheck>) => associativityStats(a), { kind: 'engine' }),
    cell('costOptions', ['kv_heads', 'ssm_state'], (g: string, N: number): CostOptions => ({ gqaGroups: Number(g), ssmExpand: 2, ssmState: N }), { kind: 'derived' }),
    cell('flopsView', ['widths', 'costOptions'], (w: string, o: CostOptions) => flopsChart(w === 'v3' ? v3 : tiny, o, MAX_CONTEXT),
      { kind: 'derived', detail: 'multiply-adds counted from the config\'s dims (src/engine/linear/decode-cost.ts)' }),
    cell('bytesView', ['widths', 'costOptions', 'precision'], (w: string, o: CostOptions, b: string) => bytesChart(w === 'v3' ? v3 : tiny, o, Number(b), MAX_CONTEXT),
      { kind: 'derived', detail: 'cache or state size from the config\'s dims' }),
    cell('crossoverView', ['costOptions'], (o: CostOptions) => crossoverTable([{ name: 'this model', config: tiny }, { name: 'DeepSeek-V3', config: v3 }], o),
      { kind: 'derived', detail: 'from deepseek-v3.json and the tiny config' }),
    // One cell per variant (each a forward over the prompt, in the lesson's Web Worker: see
    // jobs.ts), and the m and C sliders recompute only the variants they change.
    ...SWAP_FIXED.map(([name, v]) => cell(name, ['lm', 'layer'], (lm: LessonModel, layer: string) => swapOne(lm, SWAP_PROMPT, Number(layer), v),
      { kind: 'engine', detail: `model.forward with replaceAttention over ${SWAP_TOKENS} characters, next-character cross-entropy` })),
    cell('swapPerformer', ['lm', 'seed', 'layer', 'features'], (lm: LessonModel, seed: number, layer: string, m: number) => swapOne(lm, SWAP_PROMPT, Number(layer), { kind: 'performer', features: m, seed }),
      { kind: 'engine', detail: `model.forward with replaceAttention over ${SWAP_TOKENS} characters` }),
    cell('swapBlock', ['lm', 'layer', 'chunk'], (lm: LessonModel, layer: string, C: number) => swapOne(lm, SWAP_PROMPT, Number(layer), { kind: 'block', block: C }),
      { kind: 'engine', detail: `model.forward with replaceAttention over ${SWAP_TOKENS} characters` }),
    cell('swapChunked', ['lm', 'layer', 'chunk'], (lm: LessonModel, layer: string, C: number) => swapOne(lm, SWAP_PROMPT, Number(layer), { kind: 'chunked', chunk: C }),
      { kind: 'engine', detail: `model.forward with replaceAttention over ${SWAP_TOKENS} characters` }),
    cell('swap', [...SWAP_FIXED.map(([name]) => name), 'swapPerformer', 'swapBlock', 'swapChunked'], (a: PlacedSwap, b: PlacedSwap, c: PlacedSwap, d: PlacedSwap, e: PlacedSwap, f: PlacedSwap, g: PlacedSwap) => [a, b, c, d, e, f, g], { kind: 'engine' }),
    cell('swapView', ['swap'], (r: PlacedSwap[]) => swapChart(r, 'bits per character'), { kind: 'engine', detail: 'next-character cross-entropy of the model on the page' }),
    cell('swapTableView', ['swap', 'lm'], (r: PlacedSwap[], lm: LessonModel) => swapTable(r, 'bits per character', lm.name, background.failure), { kind: 'engine' }),
    cell('measuredSwaps', [], () => measuredSwapTable(MEASURED, STALE), { kind: 'published', citation: `measured for this lesson by ${MEASURED.command} (notebooks/linear-attention/measured.json): swappedLayerBits on ${MEASURED.model}, ${MEASURED.text}` }),
    cell('measuredSummary', [], () => swapSummary(MEASURED, STALE), { kind: 'published', citation: 'notebooks/linear-attention/measured.json' }),
    cell('closingCrossovers', [], () => crossoverTable([{ name: 'DeepSeek-V3', config: v3 }, { name: 'this model', config: tiny }], DEFAULT_COST_OPTIONS),
      { kind: 'derived', detail: 'src/engine/linear/decode-cost.ts on deepseek-v3.json and this model\'s config, default options' }),
    cell('scope', ['compared'], (c: Compared) => {
      const { T, dk, dv } = c.head;
      const names = ['A_softmax', 'A_linear', 'A_performer', 'A_norm', 'A_chunked'];
      const scope: Record<string, unknown> = { q: matrix(c.head.q, T, dk), k: matrix(c.head.k, T, dk), v: matrix(c.head.v, T, dv), s: c.head.scale, T };
      c.results.forEach((r, i) => { scope[names[i]] = matrix(r.weights!, T, T); scope[names[i].replace('A_', 'o_')] = matrix(r.out, T, dv); });
      return scope;
    }, { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'An attention cache grows with every token; linear attention and a state-space layer keep a state of fixed size. Where the lines cross is the context from which a fixed state is the smaller memory.',
    view: { cell: 'bytesView', title: 'Bytes kept per layer as the context grows: caches against fixed states', caption: 'From the widths alone (log scales). Solid lines grow with the context (MHA, GQA, MQA, MLA caches); dashed lines stay flat (linear attention\'s d_k x d_v per head, a state-space layer\'s N per channel).' },
    controls: ['widths'],
    note: 'Arithmetic on the model widths, no model run. Below, the same comparison on one head of the shipped trained model: what the fixed state costs in the attention itself.',
  },
  sections: [
    {
      id: 'five',
      title: 'One head, five attentions',
      prose: `Softmax attention mixes the values with weights $a_{ij} = \\exp(s\\, q_i \\cdot k_j) / \\sum_{j' \\le i} \\exp(s\\, q_i \\cdot k_{j'})$, $s = 1/\\sqrt{d_h + d_h^R}$. Decoding token $i$ needs every earlier key and value, so the cache grows with the context. MLA shrinks what is cached per token to $d_c + d_h^R$ numbers; the attentions on this page remove the growing cache altogether.

Here they all run on the **same** $q$, $k$, $v$: one head of one layer of the model, from a traced forward pass. The query has RoPE on its rope part; the key is $[W^{UK} c^{KV} ; k^R]$ and the value $W^{UV} c^{KV}$, decompressed from the latent cache exactly as the engine's decompressed decode path does.

- **linear (elu+1)** ([Katharopoulos et al., 2020](https://arxiv.org/abs/2006.16236)): $\\exp(q \\cdot k)$ becomes $\\phi(q) \\cdot \\phi(k)$ with $\\phi(x) = \\mathrm{elu}(x) + 1$, rows still divided by their sum.
- **Performer** ([Choromanski et al., 2021](https://arxiv.org/abs/2009.14794)): $\\phi(x) = \\exp(Wx - \\lVert x \\rVert^2/2)/\\sqrt{m}$ with $m$ random orthogonal rows $W$, so that $\\phi(q) \\cdot \\phi(k)$ estimates $\\exp(q \\cdot k)$ itself.
- **normalised** ([TransNormer](https://arxiv.org/abs/2210.10340)): no denominator; the output $\\sum_j (\\phi(q_i) \\cdot \\phi(k_j)) v_j$ is RMS-normalised instead.
- **chunked** ([FLASH](https://arxiv.org/abs/2202.10447)): squared ReLU of the score inside each chunk of $C$ tokens, linear attention (elu+1) to the earlier chunks. FLASH does not divide by the weights' sum; here each row is, because these $q$, $k$, $v$ were trained for a softmax (see the note at the end).`,
      controls: ['seed', 'tokens', 'layer', 'head', 'features', 'chunk'],
      views: [
        { cell: 'mapsView', title: 'Mixing matrices: softmax | linear (elu+1) | Performer | normalised | chunked', caption: 'Row i is how output i weighs the values v_0..v_i, as a multiple of an even spread (1: all earlier tokens alike; row 0 always has one token at 1). Softmax picks out a few tokens; elu+1 and the normalised attention are an almost even wash; Performer estimates softmax with a noise that grows with the lengths of q and k (see its section); the chunked map is sharp inside each chunk and flat before it.' },
        { cell: 'errorView', title: 'Each attention against softmax', caption: 'Output error: ‖o − o_softmax‖ / ‖o_softmax‖ (Frobenius). Row distance: mean total-variation distance between a row and softmax\'s row. Entropy: mean over rows. State: numbers a decoder keeps for this head after T tokens. max |par − rec|: each attention run again token by token through its state, against the parallel (T x T) form.' },
      ],
    },
    {
      id: 'dilution',
      title: 'Attention dilution, as numbers',
      prose: 'TransNormer names two reasons linear attention trained worse than softmax. The first is its denominator $\\phi(q_i) \\cdot \\sum_j \\phi(k_j)$: it can come arbitrarily close to zero, and the gradients through it are then unbounded; normalising the output instead removes the division. The second is **dilution**: the weights spread over the whole context instead of concentrating on a few nearby tokens. The entropy of a row measures it. An even spread over $i+1$ tokens has $\\log_2(i+1)$ bits, a row on one token has 0.',
      views: [
        { cell: 'entropyView', title: 'Entropy of each row', caption: 'elu+1 and the normalised attention sit on the dashed line of an even spread: the q·k differences are too small in elu+1\'s nearly linear range to make anything stand out. Softmax and the chunked attention stay below it. TransNormer\'s second fix is to keep softmax in diagonal blocks in the lower layers: locality by construction.' },
      ],
    },
    {
      id: 'performer',
      title: 'Performer: how many random features?',
      prose: `Performer's features are positive, so every estimated weight is positive and the row sums are safe to divide by. The estimate is unbiased for $\\exp(q \\cdot k)$, and its error falls like $1/\\sqrt{m}$, but the variance of one feature grows like $\\exp(\\lVert q + k \\rVert^2)$. So the length of this head's queries and keys decides how many features are enough. With lengths of a few units (below), the worst case $\\exp(\\lVert q + k \\rVert^2)$ is enormous, which is why the error here falls far more slowly than $1/\\sqrt{m}$, and for the longest heads hardly at all over this range of $m$. Orthogonal rows (FAVOR+) lower the variance in theory; with three draws per point the two curves here are within each other's noise.`,
      views: [
        { cell: 'normView', title: 'The lengths Performer has to cope with (this head)' },
        { cell: 'performerView', title: 'Performer\'s error against softmax attention as m grows', caption: 'Mean over three seeded draws of the features at each m. The state per head is m (d_v + 1) numbers; at m = 512 that is more than softmax\'s cache of these 32 tokens.' },
      ],
    },
    {
      id: 'associativity',
      title: 'Why it is linear: moving the bracket',
      prose: `Without softmax, attention is three matrix products, and matrix products associate:
$$(Q K^{\\top}) V = Q (K^{\\top} V).$$
The left side builds a $T \\times T$ matrix ($T^2 (d_k + d_v)$ multiply-adds); the right builds $K^{\\top} V$, a $d_k \\times d_v$ matrix, whatever $T$ is ($2 T d_k d_v$). With the causal mask the right side becomes a running sum, $S_i = S_{i-1} + \\phi(k_i) v_i^{\\top}$: an RNN whose state never grows. Every attention on this page is run both ways in the engine, and the tests check that the two agree to rounding.

Softmax puts $\\exp$ between the two products. $\\exp(q \\cdot k)$ is not $f(q) \\cdot g(k)$ for any finite $f$ and $g$, so the bracket cannot move; applying $\\exp$ to $q$ and $k$ separately and moving it anyway computes a different attention.`,
      views: [
        { cell: 'assocView', title: 'The identity on this head, checked live (float64, no mask)' },
      ],
    },
    {
      id: 'cost',
      title: 'Work and memory as the context grows',
      prose: 'One decode step of one layer. Attention that caches keys and values does work and keeps bytes in proportion to the context: MHA caches $n_h (d_k + d_v)$ numbers per token, GQA shares each cached key and value among a group of query heads, MQA keeps one, MLA keeps $d_c + d_h^R$ (576 in DeepSeek-V3). Linear attention keeps $S$ and $z$ per head, $n_h (d_k d_v + d_k)$ numbers, whatever the context. The SSM line is a Mamba-style layer with $2d$ channels of $N$ numbers each. The widths are this model\'s or DeepSeek-V3\'s (`static/configs/deepseek-v3.json`), and MLA\'s counts are the engine\'s for the absorbed decode path.',
      controls: ['widths', 'kv_heads', 'precision', 'ssm_state'],
      views: [
        { cell: 'flopsView', title: 'FLOPs per decode step, one layer', caption: 'Dashed: fixed-state layers. Solid lines rise once the per-token work outgrows the projections.' },
        { cell: 'bytesView', title: 'Bytes kept per layer', caption: 'MQA keeps the least per token (one key-value head: 320 numbers per token with V3\'s widths), MLA next (576). Linear attention\'s state is large (a d_k x d_v matrix per head) but flat.' },
        { cell: 'crossoverView', title: 'Crossover contexts' },
      ],
      after: 'With DeepSeek-V3\'s widths, MLA keeps 576 numbers per token per layer, while linear attention over its 128 heads of $d_k = 192$, $d_v = 128$ keeps about 3.2 million whatever the context: MLA\'s cache stays the smaller one up to about 5,500 tokens. The work crosses earlier, at about 2,900 tokens: linear attention updates and reads a $192 \\times 128$ matrix per head at every step, MLA\'s absorbed path spends about 139K multiply-adds per cached token. For GQA with 8 key-value heads the memory crossover is near 1,200 tokens; for MHA, under 100. Past a crossover the fixed state wins by as much as the context is long; before it, the cache is the cheaper memory.',
    },
    {
      id: 'swap',
      title: 'The honest trade: swap one layer, no retraining',
      prose: `The model's layer is run as it is, except that each head's softmax mixing is replaced by a variant on that layer's own $q$, $k$, $v$ (the projections, $W^O$, the other layers and the FFNs are unchanged). The measure is the next-character cross-entropy over ${SWAP_TOKENS} characters of a children's story (the stories corpus's validation text), one token per character.

**Which model:** ${SHIPPED_NAME ? `this page runs the shipped model (\`static/models/${SHIPPED_NAME}\`, trained on the stories), so the differences below measure what each variant costs a trained model in that layer. (Where its weights cannot be loaded, the same shape with seeded random weights stands in; the table names the model used.)` : 'this page runs the tiny DeepSeek-V3 with **seeded random weights**: its swaps show that the replacement reaches the output, not what a trained model loses.'} If you trained a model in the training lesson and chose *Use this model in the other lessons*, this page uses yours instead (the table names it).`,
      views: [
        { cell: 'swapView', title: 'Change in bits per character when the selected layer\'s attention is swapped', caption: 'Above 0: the swap made the model\'s predictions worse on this prompt; below 0, better.' },
        { cell: 'swapTableView', title: 'Swapped-layer cross-entropy (bits per character)' },
      ],
      after: 'None of these variants is what the papers train: each was trained with its own attention from the start (FLASH without a normaliser, TransNormer with a learned gain after the normalisation). Swapping after training tests only how close each comes to the softmax the weights were trained for.',
    },
    {
      id: 'closing',
      title: 'Closing note: what was measured',
      prose: `**Crossover contexts** (one layer, the same number format on both sides, GQA with 8 key-value heads, a Mamba-style SSM with $N = 16$): computed from the widths by src/engine/linear/decode-cost.ts, for DeepSeek-V3 (\`static/configs/deepseek-v3.json\`) and for this model. Past a crossover the fixed state wins by as much as the context is long; before it, the cache is the cheaper memory. At this model's small widths the crossovers come early: a fixed state costs little when the heads are narrow.

**Swapped-layer bits per character** on the shipped model, over more held-out text than a page should compute live, measured with \`nice -n 15 npx tsx scripts/linear-swap.ts\` (the record names the weights it was measured on; for another model the table says so instead of showing its numbers). The summary under it picks, per layer, the swap closest to softmax, the closest that keeps no softmax at all, and the furthest: compare the layers to see where the model reads its context. These are swaps into a model trained with softmax; each paper trains its attention from the start, and these numbers say nothing about how well that goes.`,
      views: [
        { cell: 'closingCrossovers', title: 'Crossover contexts (tokens), DeepSeek-V3 and this model' },
        { cell: 'measuredSwaps', title: 'Measured: bits per character with one layer swapped (shipped model, held-out stories)' },
        { cell: 'measuredSummary', title: 'Per layer: the closest and the furthest swap' },
      ],
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'max(abs((q * k\') * v - q * (k\' * v)))',
    examples: [
      'max(abs((q * k\') * v - q * (k\' * v)))',
      'sum(A_softmax[T, :])',
      'norm(o_performer - o_softmax, "fro") / norm(o_softmax, "fro")',
      'A_linear[5, 1:5]',
      'max(abs(A_softmax * v - o_softmax))',
    ],
    descriptions: {
      q: 'the head\'s queries, T x d_k (RoPE applied)',
      k: 'the head\'s keys [W_UK c_KV ; k^R], T x d_k',
      v: 'the head\'s values W_UV c_KV, T x d_v',
      s: 'score scale 1/sqrt(d_k)',
      T: 'tokens',
      A_softmax: 'softmax mixing matrix, T x T', A_linear: 'linear (elu+1) mixing matrix', A_performer: 'Performer mixing matrix', A_norm: 'normalised (TransNormer) mixing matrix', A_chunked: 'chunked (FLASH) mixing matrix',
      o_softmax: 'softmax output, T x d_v', o_linear: 'linear output', o_performer: 'Performer output', o_norm: 'normalised output', o_chunked: 'chunked output',
    },
  },
};
