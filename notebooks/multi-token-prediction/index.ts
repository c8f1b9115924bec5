// Lesson 6: multi-token prediction (DeepSeek-V3 §2.2). The engine runs the main model over a prompt
// and then a causal chain of MTP modules (Model.mtpForward): module k reads the previous depth's
// state at position i and the embedding of t_{i+k} and predicts t_{i+k+1}. The lesson draws which
// token each depth reads and predicts, contrasts it with Meta's parallel heads, counts the extra
// training targets and computes each depth's cross-entropy, shows the MTP module's distributions
// and how often its guess equals the main model's own, and makes one greedy draft as speculative
// decoding would.
import type { BarChartData, HeatmapData, MtpChainData, StatsData, TableData } from '$components/charts/types';
import MtpChain from '$components/charts/MtpChain.svelte';
import type { Backend } from '$kernels/backend';
import { initModel } from '$engine/init';
import { parseConfig } from '$engine/config';
import { type ForwardResult, type Model, argmaxRow, rowOf } from '$engine/model';
import { samplingDistribution } from '$engine/sampling';
import { acceptanceProbability } from '$engine/speculate';
import { IdleJobs } from '../_kit/idle-jobs';
import { memoPer } from '../_kit/memo';
import { stepsAround } from '../_kit/prefetch';
import { cell, type Notebook, type RangeInput } from '../_kit/types';
import { ModelCache } from '../_kit/model-cache';
import { TINY_RAW } from '../_kit/models';
import { type LessonModel, SHIPPED_RAW, lessonModel } from '../_kit/shipped';
import { ARITHMETIC, PROSE, TEXT_EXAMPLES, glyph, promptTokens, visibleText } from '../_kit/tokens';

export const meta = {
  slug: 'multi-token-prediction',
  title: 'Multi-token prediction',
  summary: 'DeepSeek-V3 trains each position to predict the token after next through a causal chain of MTP modules, not parallel heads. Which token each depth reads and predicts, the extra targets per sequence, and the MTP module\'s guesses next to the main model\'s.',
  order: 6,
};

/** MTP modules the page's model has; the depth slider uses the first D of them. */
const D_MAX = 4;
const V = TINY_RAW.vocab_size;
/** DeepSeek-V3 §4.2: the MTP loss weight. */
const LAMBDAS: Record<string, { value: number; label: string }> = {
  '0.3': { value: 0.3, label: 'λ = 0.3 (first 10T training tokens)' },
  '0.1': { value: 0.1, label: 'λ = 0.1 (remaining 4.8T tokens)' },
};
const V3_PAPER = 'DeepSeek-AI, DeepSeek-V3 Technical Report (arXiv:2412.19437)';
const V3_URL = 'https://arxiv.org/abs/2412.19437';

// ------------------------------------------------------------------ the engine runs

/**
 * The page's models: the shipped trained one (one MTP module, as DeepSeek-V3) or, for the depth
 * slider's deeper chains, its shape with D_MAX modules and seeded random weights.
 */
const models = new ModelCache(2);
const RANDOM_SEED = 1;
async function pageModel(weights: string, backend: Backend): Promise<LessonModel> {
  if (weights === 'trained') return lessonModel('trained', backend);
  const raw = { ...(SHIPPED_RAW ?? TINY_RAW), num_nextn_predict_layers: D_MAX };
  const model = models.get(`random/${RANDOM_SEED}`, () => initModel(parseConfig(raw, { file: 'the page model' }), { seed: RANDOM_SEED }), backend, true);
  return { model, trained: false, name: `the same shape with ${D_MAX} MTP modules and seeded random weights (seed ${RANDOM_SEED})` };
}

/** Characters of each example text the prose-against-arithmetic table reads. */
const COMPARE_T = 96;

/** Glyph of a token id (space ␣, newline ↵), for tables. */
const g = (id: number | null): string => (id === null ? '—' : glyph(id));

/** One MTP depth k (1-based) over positions i = 1..rows (1-based, as in the paper). */
interface Depth {
  k: number;
  rows: number;
  /** Token id whose embedding row i reads: t_{i+k} (depth 1, row T: the main model's greedy token). */
  reads: number[];
  /** argmax of row i: the guess of t_{i+k+1}. */
  guess: number[];
  logits: Float32Array;
  /** The module's block output h^k [rows, d]: the next depth's input. */
  hidden: Float32Array;
}

/** The main model over the sequence (and one decode step on its greedy next token). */
interface MainRun {
  T: number;
  /** t_1..t_T (index 0 holds t_1). */
  tokens: number[];
  main: ForwardResult;
  /** argmax of the main model's row i: its guess of t_{i+1}. */
  mainGuess: number[];
  /** The main model's greedy t_{T+1}, and its logits at position T+1 after reading it (the guess of t_{T+2}). */
  greedy: number;
  afterGreedy: Float32Array;
}

/** The main run and the first D depths of the MTP chain on it. */
interface Run extends MainRun {
  depths: Depth[];
}

function mainRun(model: Model, tokens: number[]): MainRun {
  const T = tokens.length;
  const cache = model.createCache();
  const main = model.forward(tokens, { cache });
  const mainGuess = Array.from({ length: T }, (_, i) => argmaxRow(main.logits, i, V));
  const greedy = mainGuess[T - 1];
  const afterGreedy = model.forward([greedy], { cache }).logits;
  return { T, tokens, main, mainGuess, greedy, afterGreedy };
}

// A main run is kept per model and token sequence: a temperature move re-read the two example texts'
// forwards (96 tokens each, ~20 ms of the page) and a length slider moved back re-ran one. The
// lengths next to the current one are run while the page is idle, so a drag finds them ready.
const mainRuns = memoPer<Model, MainRun>(48);
const keptMainRun = (model: Model, tokens: number[]): MainRun => mainRuns(model, tokens.join(','), () => mainRun(model, tokens));

const lengthsAhead = new IdleJobs();
let lastLength: number | null = null;
function runAhead(model: Model, text: string, T: number, D: number): void {
  const towards = lastLength !== null && T < lastLength ? -1 : 1;
  lastLength = T;
  const slider = notebook.inputs.find((i): i is RangeInput => i.name === 'promptLength' && i.kind === 'range')!;
  lengthsAhead.replace(stepsAround(slider, T, towards, 2).map((n) => () => runChain(model, keptMainRun(model, promptTokens(text, n).ids), D)));
}

/** Depths computed so far for a main run: moving the depth slider runs at most the missing modules. */
const chains = new WeakMap<MainRun, Depth[]>();

/**
 * The MTP chain on a main run, depths 1..D. Depth k at position i reads h^{k-1}_i (the main
 * model's state after model.norm for k = 1) and Emb(t_{i+k}), and predicts t_{i+k+1}. Depth k runs
 * the rows whose input token is known, i = 1..T-k; depth 1 also runs row T on the main model's
 * greedy t_{T+1} (the golden reference's convention, and the first draft of speculative decoding).
 * Each module's block is causal, so dropping later rows changes no earlier one.
 */
function runChain(model: Model, run: MainRun, D: number): Run {
  const { T, tokens } = run;
  const d = model.config.hidden_size;
  const depths = chains.get(run) ?? [];
  chains.set(run, depths);
  for (let k = depths.length + 1; k <= D; k++) {
    const prev = k === 1 ? run.main.hidden : depths[k - 2].hidden;
    const rows = k === 1 ? T : T - k;
    const reads = k === 1 ? [...tokens.slice(1), run.greedy] : tokens.slice(k, k + rows);
    const out = model.mtpForward(k - 1, prev.slice(0, rows * d), reads);
    depths.push({ k, rows, reads, logits: out.logits, hidden: out.hidden, guess: Array.from({ length: rows }, (_, i) => argmaxRow(out.logits, i, V)) });
  }
  return { ...run, depths: depths.slice(0, D) };
}

/** The token at 1-based position j of the prompt, or null past its end. */
const tok = (run: Run, j: number): number | null => (j >= 1 && j <= run.T ? run.tokens[j - 1] : null);

/** -log p(target) of a logits row at temperature 1, in nats. */
function crossEntropy(logits: Float32Array, row: number, target: number): number {
  const r = rowOf(logits, row, V);
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, r[j]);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(r[j] - max);
  return Math.log(s) + max - r[target];
}

/** Number of training targets in a sequence of T tokens with D MTP modules: Σ_{k=0}^{D} (T-1-k). */
function targetCount(T: number, D: number): number {
  let n = 0;
  for (let k = 0; k <= D; k++) n += Math.max(0, T - 1 - k);
  return n;
}

/** Per depth: mean cross-entropy over its known targets, how many, and the argmax hits. */
interface DepthLoss { k: number; targets: number; loss: number; hits: number }
function depthLosses(run: Run): DepthLoss[] {
  const out: DepthLoss[] = [];
  const { T } = run;
  let s = 0, hits = 0;
  for (let i = 1; i <= T - 1; i++) {
    const t = tok(run, i + 1)!;
    s += crossEntropy(run.main.logits, i - 1, t);
    if (run.mainGuess[i - 1] === t) hits++;
  }
  out.push({ k: 0, targets: T - 1, loss: s / (T - 1), hits });
  for (const dep of run.depths) {
    let s2 = 0, h2 = 0;
    const n = T - 1 - dep.k;
    for (let i = 1; i <= n; i++) {
      const t = tok(run, i + dep.k + 1)!;
      s2 += crossEntropy(dep.logits, i - 1, t);
      if (dep.guess[i - 1] === t) h2++;
    }
    out.push({ k: dep.k, targets: n, loss: n > 0 ? s2 / n : 0, hits: h2 });
  }
  return out;
}

/** Depth k's guess of t_{i+k+1} against the main model's own guess of it, made at position i+k. */
function agreement(run: Run, dep: Depth): { agree: number; n: number } {
  let agree = 0, n = 0;
  for (let i = 1; i <= run.T - dep.k; i++) {
    n++;
    if (dep.guess[i - 1] === run.mainGuess[i + dep.k - 1]) agree++;
  }
  return { agree, n };
}

/** The main model's logits row that predicts the same token as MTP depth 1 at position i (t_{i+2}). */
function mainRowForDepth1(run: Run, i: number): ArrayLike<number> {
  return i < run.T ? rowOf(run.main.logits, i, V) : run.afterGreedy;
}

/**
 * A colour-scale maximum rounded up to two significant digits: the legend stays put when a backend
 * with a different summation order moves the largest value in its ninth digit.
 */
function niceMax(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i]);
  if (!(m > 0)) return 1;
  const step = 10 ** (Math.floor(Math.log10(m)) - 1);
  return Math.ceil(m / step) * step;
}

const pct = (x: number) => `${(100 * x).toFixed(x === 0 || x === 1 ? 0 : 1)}%`;

// ------------------------------------------------------------------ the notebook

export const notebook: Notebook = {
  inputs: [
    { kind: 'select', name: 'weights', label: 'Weights', value: 'trained', options: [{ value: 'trained', label: 'trained (shipped model, 1 MTP module)' }, { value: 'random', label: `random (same shape, ${D_MAX} MTP modules)` }], help: 'The shipped model was trained with one MTP module, as DeepSeek-V3. Random weights show deeper chains, and what an untrained module guesses.' },
    { kind: 'text', name: 'text', label: 'Your text', value: TEXT_EXAMPLES[0].value, maxLength: 512, examples: TEXT_EXAMPLES, help: 'The sequence the main model and the MTP modules read: its first T characters.' },
    { kind: 'range', name: 'promptLength', label: 'Sequence length T', min: 6, max: 32, step: 1, value: 12, unit: 'characters', help: 'Length of the token sequence the main model and the MTP modules read.' },
    { kind: 'range', name: 'depth', label: 'MTP depth D', min: 1, max: D_MAX, step: 1, value: 2, unit: 'modules', help: 'Number of MTP modules chained after the main model (DeepSeek-V3 uses D = 1).'},
    { kind: 'range', name: 'position', label: 'Position i', min: 1, max: 32, step: 1, value: 3, help: 'The position shown in detail (clamped to the sequence length T).', maxFrom: (v) => Number(v.promptLength) },
    { kind: 'range', name: 'temperature', label: 'Temperature τ', min: 0, max: 2, step: 0.05, value: 1, help: 'Softmax temperature for the shown distributions (0 = one-hot on the argmax).' },
    { kind: 'select', name: 'lambda', label: 'MTP loss weight λ', value: '0.3', options: Object.entries(LAMBDAS).map(([value, l]) => ({ value, label: l.label })), help: 'DeepSeek-V3\'s published weight of the MTP loss, by training phase.' },
  ],
  cells: [
    cell('lm', ['weights', 'backend'], pageModel, { kind: 'engine', detail: `the shipped trained model, or its shape with num_nextn_predict_layers = ${D_MAX} and seeded random weights` }),
    cell('model', ['lm'], (lm: LessonModel) => lm.model, { kind: 'engine' }),
    cell('prompt', ['promptLength', 'text'], (n: number, text: string) => promptTokens(text, n).ids, { kind: 'derived', detail: 'the reader\'s text, one ASCII character per token' }),
    cell('depthUsed', ['depth', 'model'], (D: number, model: Model) => Math.min(D, model.config.num_nextn_predict_layers), { kind: 'derived', detail: 'the depth, clamped to the modules the model has' }),
    cell('mainRun', ['model', 'prompt'], (model: Model, prompt: number[]) => keptMainRun(model, prompt), { kind: 'engine', detail: 'model.forward over the sequence with a KV cache, then one decode step on its greedy next token' }),
    cell('run', ['model', 'mainRun', 'depthUsed'], (model: Model, main: MainRun, D: number) => runChain(model, main, D), { kind: 'engine', detail: 'model.mtpForward(k − 1) for k = 1..D, each on the previous module\'s output' }),
    // Shows nothing: runs the chain at the neighbouring lengths while the page is idle (runAhead above).
    cell('ahead', ['model', 'text', 'promptLength', 'depthUsed'], (model: Model, text: string, T: number, D: number) => {
      runAhead(model, text, T, D);
      return null;
    }, { kind: 'engine', detail: 'the main run and the chain one length step away, computed while the page is idle' }),
    cell('pos', ['position', 'prompt'], (position: number, prompt: number[]) => Math.min(position, prompt.length), { kind: 'derived', detail: 'position clamped to T' }),

    // Section: parallel heads versus the causal chain.
    cell('focusTable', ['run', 'depthUsed', 'pos'], (run: Run, D: number, i: number): TableData => {
      const rows: Record<string, string>[] = [];
      for (let k = 0; k <= D; k++) {
        const target = tok(run, i + k + 1);
        const dep = k > 0 ? run.depths[k - 1] : null;
        const readsTok = k > 0 ? tok(run, i + k) : null;
        const greedyRead = k === 1 && i === run.T;
        const known = k === 0 || readsTok !== null || greedyRead;
        const guess = k === 0 ? run.mainGuess[i - 1] : known ? dep!.guess[i - 1] : null;
        rows.push({
          depth: k === 0 ? 'main (k = 0)' : `k = ${k}`,
          predicts: `t${sub(i + k + 1)}`,
          meta: `z${sub(i)} → head ${k + 1}`,
          deepseek: k === 0 ? `t₁..t${sub(i)} → h${sub(i)}` : greedyRead ? `h${sup(k - 1)}${sub(i)}, Emb(ŷ${sub(run.T + 1)}=${g(run.greedy)})` : readsTok !== null ? `h${sup(k - 1)}${sub(i)}, Emb(t${sub(i + k)}=${g(readsTok)})` : `t${sub(i + k)} past the sequence`,
          guess: g(guess),
          truth: target === null ? 'past T' : `${g(target)}${guess === target ? ' ✓' : ''}`,
        });
      }
      return {
        kind: 'table',
        caption: `Position i = ${i} of T = ${run.T}. Meta's heads all read the trunk's state z${sub(i)}; DeepSeek's module k reads the previous depth's state and the embedding of tᵢ₊ₖ.`,
        columns: [
          { key: 'depth', label: 'Depth' },
          { key: 'predicts', label: 'Predicts' },
          { key: 'meta', label: 'Meta head reads' },
          { key: 'deepseek', label: 'DeepSeek module reads' },
          { key: 'guess', label: 'Argmax', align: 'right' },
          { key: 'truth', label: 'True', align: 'right' },
        ],
        rows,
      };
    }, { kind: 'engine', detail: 'argmax of model.forward and model.mtpForward logits; token ids of the prompt' }),

    // Section: the chain as the engine runs it.
    cell('chainTable', ['run', 'depthUsed'], (run: Run, D: number): TableData => {
      const rows = Array.from({ length: run.T }, (_, r) => {
        const i = r + 1;
        const row: Record<string, string | number> = {
          i,
          t: g(run.tokens[r]),
          main: `${g(run.tokens[r])} → ${g(run.mainGuess[r])}${tok(run, i + 1) === run.mainGuess[r] ? ' ✓' : ''}`,
        };
        for (let k = 1; k <= D; k++) {
          const dep = run.depths[k - 1];
          const target = tok(run, i + k + 1);
          if (i <= run.T - k) row[`d${k}`] = `${g(dep.reads[r])} → ${g(dep.guess[r])}${target === dep.guess[r] ? ' ✓' : target === null ? ' (past T)' : ''}`;
          else if (k === 1 && i === run.T) row[`d${k}`] = `[ŷ ${g(dep.reads[r])}] → ${g(dep.guess[r])} (draft)`;
          else row[`d${k}`] = '';
        }
        return row;
      });
      return {
        kind: 'table',
        caption: 'Each cell: the token the depth reads (its embedding) → its argmax guess of the token after it (✓ when the guess is the true token; past T when that token lies beyond the sequence). Empty cells: the input token tᵢ₊ₖ lies past the sequence, so the row is left out.',
        columns: [
          { key: 'i', label: 'i', align: 'right' },
          { key: 't', label: 'tᵢ', align: 'right' },
          { key: 'main', label: 'main (tᵢ → tᵢ₊₁)' },
          ...Array.from({ length: D }, (_, j) => ({ key: `d${j + 1}`, label: `depth ${j + 1} (tᵢ₊${sub(j + 1)} → tᵢ₊${sub(j + 2)})` })),
        ],
        rows,
      };
    }, { kind: 'engine', detail: 'argmax of each module\'s logits; the input ids the engine was given' }),
    cell('chainDiagram', ['model', 'prompt', 'pos', 'depthUsed'], (model: Model, prompt: number[], pos: number, D: number): MtpChainData => {
      const w = model.weights, m = w.mtp[0];
      const same = (a: Float32Array, b: Float32Array) => a === b || (a.length === b.length && a.every((x, j) => x === b[j]));
      return {
        kind: 'mtp-chain', position: pos, tokens: prompt.map(glyph), depth: D, hidden: model.config.hidden_size,
        sharedEmbedding: !m || !m.embed || same(m.embed, w.embed), sharedHead: !m || same(m.head, w.lmHead),
      };
    }, { kind: 'engine', detail: 'the depth the model has, the reader\'s characters; sharing checked on the weights' }),
    cell('moduleStats', ['model', 'depthUsed', 'lm'], (model: Model, D: number, lm: LessonModel): StatsData => {
      const d = model.config.hidden_size;
      const size = (xs: (Float32Array | null | undefined)[]) => xs.reduce((s, x) => s + (x?.length ?? 0), 0);
      const layerSize = (l: Model['weights']['layers'][number]) => size([l.inputNorm, l.postAttentionNorm, ...Object.values(l.attn)])
        + (l.mlp ? size([l.mlp.gate, l.mlp.up, l.mlp.down]) : 0)
        + (l.moe ? size([l.moe.gate, l.moe.bias, ...l.moe.experts.flatMap((e) => [e.gate, e.up, e.down]), ...(l.moe.shared ? [l.moe.shared.gate, l.moe.shared.up, l.moe.shared.down] : [])]) : 0);
      const w = model.weights;
      const mainParams = size([w.embed, w.norm]) + (w.lmHead === w.embed ? 0 : w.lmHead.length) + w.layers.reduce((s, l) => s + layerSize(l), 0);
      const m = w.mtp[0];
      const own = size([m.enorm, m.hnorm, m.ehProj, m.headNorm]) + layerSize(m.layer);
      const sameHead = m.head === w.lmHead || (m.head.length === w.lmHead.length && m.head.every((x, j) => x === w.lmHead[j]));
      const head = sameHead ? 0 : m.head.length;
      return {
        kind: 'stats',
        items: [
          { label: 'eh_proj M_k', value: `${d} x ${2 * d}`, note: 'maps [RMSNorm(Emb) ; RMSNorm(h)] back to width d' },
          { label: 'One module: its own weights', value: own, format: 'si', unit: 'params', note: `enorm, hnorm, eh_proj, one decoder block (${model.isMoe(model.config.num_hidden_layers) ? 'DeepSeekMoE' : 'dense MLP'}), shared_head.norm` },
          { label: 'shared_head.head (V x d): own params', value: head, format: 'si', unit: 'params', note: sameHead ? `none: the output head is lm_head itself, shared as in the paper${m.embed === w.embed ? ' (and so is the embedding)' : ''}` : 'the paper shares OutHead with the main model; this model holds a separate copy' },
          { label: 'MTP modules in this model', value: model.config.num_nextn_predict_layers, note: `${lm.name}${lm.trained ? '; deeper chains: switch Weights to random' : ''}` },
          { label: `${D} module${D > 1 ? 's' : ''} against the main model`, value: (D * (own + head)) / mainParams, format: 'percent', note: `main model: ${mainParams.toLocaleString('en-US')} params (${model.config.num_hidden_layers} layers)` },
        ],
      };
    }, { kind: 'engine', detail: 'sizes of the bound weight tensors' }),

    // Section: training signal.
    cell('targetsChart', ['prompt', 'depth'], (prompt: number[], D: number): BarChartData => {
      const T = prompt.length;
      const Ds = Array.from({ length: D_MAX + 1 }, (_, k) => k);
      return {
        kind: 'bar',
        categories: Ds.map((k) => (k === 0 ? 'D = 0 (next token only)' : `D = ${k}`)),
        series: [
          { name: 'next-token targets: T − 1', values: Ds.map(() => T - 1) },
          { name: 'all targets: Σₖ₌₀ᴰ (T − 1 − k)', values: Ds.map((k) => targetCount(T, k)) },
        ],
        yLabel: `prediction targets in one sequence of T = ${T} tokens`,
        yIntegers: true,
        highlight: { category: `D = ${D}`, label: 'the depth chosen above' },
      };
    }, { kind: 'derived', detail: 'the count Σₖ₌₀ᴰ (T − 1 − k)' }),
    cell('targetStats', ['prompt', 'depth'], (prompt: number[], D: number): StatsData => {
      const T = prompt.length, n = targetCount(T, D);
      return {
        kind: 'stats',
        items: [
          { label: 'Targets with next-token prediction only', value: T - 1, note: 'T − 1' },
          { label: `Targets with D = ${D}`, value: n, note: `(D+1)(T−1) − D(D+1)/2 = ${D + 1}·${T - 1} − ${(D * (D + 1)) / 2}` },
          { label: 'Ratio', value: n / (T - 1), digits: 3, unit: '×', note: `tends to D + 1 = ${D + 1} as T grows` },
          { label: 'Same ratio at T = 4096 (DeepSeek-V3 pre-training length)', value: targetCount(4096, D) / 4095, digits: 4, unit: '×' },
        ],
      };
    }, { kind: 'derived' }),
    cell('losses', ['run'], (run: Run) => depthLosses(run), { kind: 'engine', detail: 'cross-entropy of the engine\'s logits against the sequence' }),
    cell('lossMap', ['run', 'depthUsed'], (run: Run, D: number): HeatmapData => {
      const cols = run.T - 1;
      const values: number[] = [];
      const dimmed: [number, number][] = [];
      const marks: [number, number][] = [];
      for (let k = 0; k <= D; k++) {
        const logits = k === 0 ? run.main.logits : run.depths[k - 1].logits;
        const guess = k === 0 ? run.mainGuess : run.depths[k - 1].guess;
        for (let i = 1; i <= cols; i++) {
          const target = tok(run, i + k + 1);
          if (target === null) { values.push(0); dimmed.push([k, i - 1]); continue; }
          values.push(crossEntropy(logits, i - 1, target));
          if (guess[i - 1] === target) marks.push([k, i - 1]);
        }
      }
      return {
        kind: 'heatmap', rows: D + 1, cols, values, scale: 'sequential', digits: 2, domain: [0, niceMax(values)],
        rowLabels: ['main (k = 0)', ...Array.from({ length: D }, (_, k) => `depth ${k + 1}`)],
        colLabels: Array.from({ length: cols }, (_, i) => String(i + 1)),
        rowTitle: 'depth k', colTitle: 'position i (predicting tᵢ₊ₖ₊₁)',
        valueLabel: 'cross-entropy −log P(true token), nats',
        dimmed: { cells: dimmed, label: 'no target: tᵢ₊ₖ₊₁ lies past the sequence' },
        marks: { cells: marks, label: 'argmax equals the true token' },
      };
    }, { kind: 'engine', detail: 'per-position cross-entropy of the engine\'s logits' }),
    cell('lossTable', ['losses', 'depthUsed', 'lambda'], (losses: DepthLoss[], D: number, lam: string): TableData => {
      const lambda = LAMBDAS[lam].value;
      const used = losses.slice(1, D + 1);
      const lMtp = (lambda / D) * used.reduce((s, l) => s + l.loss, 0);
      const fmt = (x: number) => x.toFixed(3);
      return {
        kind: 'table',
        caption: `Mean cross-entropy over each depth's own targets (the paper divides by T instead). A uniform guess scores ln V = ${Math.log(V).toFixed(3)} nats.`,
        columns: [
          { key: 'loss', label: 'Loss' },
          { key: 'targets', label: 'Targets', align: 'right' },
          { key: 'value', label: 'Value (nats)', align: 'right' },
          { key: 'weight', label: 'Weight in the total', align: 'right' },
        ],
        rows: [
          { loss: 'L_main (next token)', targets: losses[0].targets, value: fmt(losses[0].loss), weight: '1' },
          ...used.map((l) => ({ loss: `L${sup(l.k)}_MTP (depth ${l.k})`, targets: l.targets, value: fmt(l.loss), weight: `λ/D = ${(lambda / D).toFixed(3)}` })),
          { loss: 'L_MTP = (λ/D) Σₖ Lᵏ_MTP', targets: used.reduce((s, l) => s + l.targets, 0), value: fmt(lMtp), weight: '1' },
          { loss: 'L_main + L_MTP (what training minimises)', targets: losses[0].targets + used.reduce((s, l) => s + l.targets, 0), value: fmt(losses[0].loss + lMtp), weight: '' },
        ],
      };
    }, { kind: 'derived', detail: 'engine cross-entropies; λ as published (DeepSeek-V3 §4.2)' }),

    // Section: the MTP module's guesses next to the main model's.
    cell('probs', ['run', 'temperature'], (run: Run, temperature: number) => {
      const dep = run.depths[0];
      const q = Array.from({ length: run.T }, (_, r) => samplingDistribution(rowOf(dep.logits, r, V), { temperature }));
      const p = Array.from({ length: run.T }, (_, r) => samplingDistribution(mainRowForDepth1(run, r + 1), { temperature }));
      return { q, p };
    }, { kind: 'engine', detail: 'softmax(logits / τ) of MTP depth 1 at i and of the main model at i+1' }),
    cell('probMap', ['run', 'probs'], (run: Run, pr: { q: Float64Array[] }): HeatmapData => {
      const values: number[] = [];
      for (const row of pr.q) values.push(...row);
      const marks: [number, number][] = [];
      for (let r = 0; r < run.T; r++) marks.push([r, r + 1 < run.T ? run.mainGuess[r + 1] : argmaxRow(run.afterGreedy, 0, V)]);
      return {
        kind: 'heatmap', rows: run.T, cols: V, values, scale: 'sequential', digits: 3, domain: [0, niceMax(values)],
        rowLabels: Array.from({ length: run.T }, (_, r) => (r + 1 === run.T ? `${r + 1} ${g(run.tokens[r])} (reads ŷ)` : `${r + 1} ${g(run.tokens[r])}`)),
        colLabels: Array.from({ length: V }, (_, j) => glyph(j)),
        rowTitle: 'position i', colTitle: 'character (guess of tᵢ₊₂)',
        valueLabel: 'MTP depth-1 probability of the token',
        marks: { cells: marks, label: 'the main model\'s own greedy guess of tᵢ₊₂ (its argmax at i + 1)' },
      };
    }, { kind: 'engine' }),
    cell('topTable', ['run', 'probs', 'pos'], (run: Run, pr: { p: Float64Array[]; q: Float64Array[] }, i: number): TableData => {
      // Ranked by logit (the same order as the probabilities at any τ > 0, and still meaningful at τ = 0).
      const top = (logits: ArrayLike<number>, probs: Float64Array) => Array.from({ length: V }, (_, j) => j)
        .sort((a, b) => logits[b] - logits[a] || a - b).slice(0, 5).map((j) => [probs[j], j] as const);
      const q = top(rowOf(run.depths[0].logits, i - 1, V), pr.q[i - 1]), p = top(mainRowForDepth1(run, i), pr.p[i - 1]);
      const target = tok(run, i + 2);
      const star = (j: number) => (j === target ? ' (true)' : '');
      return {
        kind: 'table',
        caption: `Both columns predict t${sub(i + 2)}${target === null ? ' (past the sequence)' : ` = ${g(target)}`}. The MTP module reads h${sub(i)} and ${i === run.T ? `the greedy ŷ${sub(i + 1)} = ${g(run.greedy)}` : `t${sub(i + 1)} = ${g(tok(run, i + 1))}`}; the main model reads ${i === run.T ? `t₁..t${sub(i)} and ŷ${sub(i + 1)}` : `t₁..t${sub(i + 1)}`}.`,
        columns: [
          { key: 'rank', label: 'Rank', align: 'right' },
          { key: 'mtp', label: `MTP depth 1 at i = ${i}`, align: 'right' },
          { key: 'q', label: 'probability', align: 'right', format: 'percent' },
          { key: 'main', label: `main model at i + 1 = ${i + 1}`, align: 'right' },
          { key: 'p', label: 'probability', align: 'right', format: 'percent' },
        ],
        rows: q.map(([qv, qj], r) => ({ rank: r + 1, mtp: `${g(qj)}${star(qj)}`, q: qv, main: `${g(p[r][1])}${star(p[r][1])}`, p: p[r][0] })),
      };
    }, { kind: 'engine' }),
    cell('agreeStats', ['run', 'probs', 'temperature'], (run: Run, pr: { p: Float64Array[]; q: Float64Array[] }, temperature: number): StatsData => {
      const a = agreement(run, run.depths[0]);
      let alpha = 0;
      for (let r = 0; r < run.T - 1; r++) alpha += acceptanceProbability(pr.p[r], pr.q[r]);
      alpha /= run.T - 1;
      return {
        kind: 'stats',
        items: [
          { label: 'MTP depth-1 argmax = main model\'s argmax of tᵢ₊₂', value: a.agree / a.n, format: 'percent', note: `${a.agree} of ${a.n} positions i = 1..${run.T - 1}` },
          { label: 'Chance for two unrelated guesses, 1/V', value: 1 / V, format: 'percent', note: `V = ${V}` },
          { label: `Mean α = Σₓ min(p, q) at τ = ${temperature}`, value: alpha, format: 'percent', note: 'the chance a token sampled from the MTP module is accepted (next lesson); at τ = 0 it is the argmax agreement' },
        ],
      };
    }, { kind: 'engine' }),
    cell('textCompare', ['model', 'temperature'], (model: Model, temperature: number): TableData => {
      const rows = [{ label: 'prose (held-out stories)', text: PROSE }, { label: 'arithmetic (the corpus\'s sums)', text: ARITHMETIC }].map(({ label, text }) => {
        const run = runChain(model, keptMainRun(model, promptTokens(text, COMPARE_T).ids), 1);
        const a = agreement(run, run.depths[0]);
        let alpha = 0;
        for (let r = 0; r < run.T - 1; r++) {
          const q = samplingDistribution(rowOf(run.depths[0].logits, r, V), { temperature });
          const p = samplingDistribution(mainRowForDepth1(run, r + 1), { temperature });
          alpha += acceptanceProbability(p, q);
        }
        return { text: label, n: a.n, agree: a.agree / a.n, alpha: alpha / (run.T - 1) };
      });
      return {
        kind: 'table',
        caption: `The first ${COMPARE_T} characters of each example text. Greedy agreement: MTP depth 1's argmax equals the main model's. α: the chance a token sampled from the module at τ = ${temperature} is accepted.`,
        columns: [
          { key: 'text', label: 'Text' },
          { key: 'n', label: 'Positions', align: 'right' },
          { key: 'agree', label: 'Greedy agreement', align: 'right', format: 'percent' },
          { key: 'alpha', label: 'Sampled acceptance α', align: 'right', format: 'percent' },
        ],
        rows,
      };
    }, { kind: 'engine', detail: 'model.forward and model.mtpForward(0) on each example text' }),
    cell('publishedStats', [], (): StatsData => ({
      kind: 'stats',
      items: [
        { label: 'DeepSeek-V3: acceptance rate of the second token', value: '85% – 90%', note: 'across generation topics, MTP as the drafter (§5.4.3)' },
        { label: 'DeepSeek-V3: decoding speed with MTP drafting', value: '1.8x', note: 'tokens per second (§5.4.3)' },
      ],
    }), { kind: 'published', citation: `${V3_PAPER}, §5.4.3`, url: V3_URL }),
    cell('agreeTable', ['run', 'losses'], (run: Run, losses: DepthLoss[]): TableData => ({
      kind: 'table',
      caption: `Depth k at position i against the main model at i + k: both predict tᵢ₊ₖ₊₁ from t₁ … tᵢ₊ₖ. Chance for unrelated guesses: 1/V = ${pct(1 / V)}.`,
      columns: [
        { key: 'depth', label: 'Depth' },
        { key: 'n', label: 'Positions compared', align: 'right' },
        { key: 'agree', label: 'Agrees with the main model', align: 'right' },
        { key: 'agreeRate', label: 'Rate', align: 'right', format: 'percent' },
        { key: 'hits', label: 'Equals the true token', align: 'right' },
        { key: 'hitRate', label: 'Rate', align: 'right', format: 'percent' },
      ],
      rows: [
        { depth: 'main (k = 0)', n: '—', agree: '—', agreeRate: '—', hits: `${losses[0].hits} of ${losses[0].targets}`, hitRate: losses[0].hits / losses[0].targets },
        ...run.depths.map((dep) => {
          const a = agreement(run, dep), l = losses[dep.k];
          return { depth: `k = ${dep.k}`, n: a.n, agree: a.agree, agreeRate: a.agree / a.n, hits: `${l.hits} of ${l.targets}`, hitRate: l.targets > 0 ? l.hits / l.targets : 0 };
        }),
      ],
    }), { kind: 'engine', detail: 'argmax comparisons over the positions each depth covers' }),

    // Section: inference.
    cell('draftStats', ['run'], (run: Run): StatsData => {
      const T = run.T, dep = run.depths[0];
      const draft = dep.guess[T - 1];
      const target = argmaxRow(run.afterGreedy, 0, V);
      return {
        kind: 'stats',
        items: [
          { label: `Main model's greedy t${sub(T + 1)}`, value: g(run.greedy), note: `argmax of its row T = ${T}, after "${visibleText(run.tokens)}"` },
          { label: `MTP draft of t${sub(T + 2)}`, value: g(draft), note: `module 1 at i = ${T}: reads h${sub(T)} and Emb(${g(run.greedy)})` },
          { label: `Main model's own t${sub(T + 2)}`, value: g(target), note: `one decode step on ${g(run.greedy)} with the KV cache` },
          { label: 'Greedy verification', value: draft === target ? 'accepted' : 'rejected', note: draft === target ? 'two tokens from one main-model step' : `the main model's ${g(target)} is kept` },
        ],
      };
    }, { kind: 'engine', detail: 'model.forward with a cache, then model.mtpForward(0) on the last row' }),

    cell('scope', ['run', 'model'], (run: Run, model: Model) => ({
      logits_main: { rows: run.T, cols: V, data: run.main.logits },
      logits_mtp: { rows: run.T, cols: V, data: run.depths[0].logits },
      h: { rows: run.T, cols: model.config.hidden_size, data: run.main.hidden },
      h1: { rows: run.T, cols: model.config.hidden_size, data: run.depths[0].hidden },
      eh: { rows: model.config.hidden_size, cols: 2 * model.config.hidden_size, data: model.weights.mtp[0].ehProj },
      tokens: run.tokens,
      guess_main: run.mainGuess,
      guess_mtp: run.depths[0].guess,
      T: run.T,
      V,
    }), { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'The MTP module guesses the character after next; trained with the model, it mostly agrees with what the model itself will say.',
    view: { cell: 'textCompare', title: 'MTP depth 1 against the main model: greedy agreement and sampled acceptance, prose and arithmetic' },
    controls: ['weights'],
    note: 'Runs the shipped trained model (one MTP module, as DeepSeek-V3); switch Weights to random to see an untrained module.',
  },
  sections: [
    {
      id: 'idea',
      title: 'Predicting more than the next token',
      prose: `A language model is trained to predict the next token: position $i$ of a sequence $t_1, \\dots, t_T$ gets one target, $t_{i+1}$. **Multi-token prediction** (MTP) gives each position more targets, $t_{i+2}, t_{i+3}, \\dots$, so every sequence carries a denser training signal and the model is pushed to plan a little ahead.

[Gloeckle et al. (2024)](https://arxiv.org/abs/2404.19737) do it with **parallel heads**: a shared trunk turns $t_{1:i}$ into one state $z_i$, and $n$ independent heads each read that same $z_i$ to predict $t_{i+1}, \\dots, t_{i+n}$, $P(t_{i+k} \\mid t_{1:i}) = \\mathrm{softmax}(f_u(f_{h_k}(z_i)))$. Head $k$ never sees $t_{i+1}, \\dots, t_{i+k-1}$: it must guess several tokens at once.

DeepSeek-V3 (§2.2) instead predicts the extra tokens **sequentially**, to "keep the complete causal chain at each prediction depth": module $k$ reads the previous depth's state at position $i$ *and the embedding of the true token* $t_{i+k}$, so when it predicts $t_{i+k+1}$ it has seen every token before it, as the main model does.

The table runs the shipped trained model (one character per token, $V = ${V}$) on your text and follows one position $i$ down the depths. The text, the length $T$ and the position set here hold for the whole page; the depth $D$ is set in the next section. The *Weights* select swaps in random weights of the same shape, with ${D_MAX} MTP modules instead of the trained one.`,
      controls: ['weights', 'text', 'promptLength', 'position'],
      views: [{ cell: 'focusTable', title: 'One position, every depth: what each scheme reads' }],
      after: 'The engine has no parallel heads, so only DeepSeek\'s column has guesses; Meta\'s column says what such a head would read. With trained weights the ✓ marks are the model\'s real hits; with random weights they are luck.',
    },
    {
      id: 'module',
      title: 'An MTP module, equation by equation',
      prose: `DeepSeek-V3 chains $D$ modules after the main model. Module $k$ has its own projection $M_k \\in \\mathbb{R}^{d \\times 2d}$ and its own Transformer block $\\mathrm{TRM}_k$; the embedding $\\mathrm{Emb}$ and output head $\\mathrm{OutHead}$ are shared with the main model. For $k = 1$, $h^0_i$ is the main model's final state (here, as in the golden reference, after \`model.norm\`):
$$h'^{k}_i = M_k \\big[\\mathrm{RMSNorm}(h^{k-1}_i) ;\\ \\mathrm{RMSNorm}(\\mathrm{Emb}(t_{i+k}))\\big]$$
$$h^{k}_{1:T-k} = \\mathrm{TRM}_k\\big(h'^{k}_{1:T-k}\\big)$$
$$P^{k}_{i+k+1} = \\mathrm{OutHead}(h^{k}_i)$$
The block is causal, like the main model's layers: $h^k_i$ attends to $h'^k_1, \\dots, h'^k_i$. The paper writes the hidden state first in the concatenation; the released weights and the serving engines put the embedding first, $x_i = \\texttt{eh\\_proj}([\\texttt{enorm}(\\mathrm{Emb}(t_{i+k})) ; \\texttt{hnorm}(h^{k-1}_i)])$, and so does this engine (\`Model.mtpForward\`). Only the order of $M_k$'s columns differs.

In the engine, module $k$ is decoder layer \`model.layers.{num_hidden_layers + k − 1}\` with \`enorm\`, \`hnorm\`, \`eh_proj\`, \`shared_head.norm\` and \`shared_head.head\`. Its output $h^k$ (the block's output, before \`shared_head.norm\`) is module $k+1$'s input. The shipped model was trained with one module, as DeepSeek-V3 ($D = 1$); with *random* weights the page's model has \`num_nextn_predict_layers\` $= ${D_MAX}$ and the slider uses the first $D$ modules (the seeded initialisation draws the modules in order, so they are the very weights a model built with \`num_nextn_predict_layers\` $= D$ gets). On the trained model the tables stop at depth 1.`,
      controls: ['depth'],
      views: [
        { cell: 'chainDiagram', title: 'The causal chain at position i: what each depth reads and predicts', component: MtpChain },
        { cell: 'chainTable', title: 'The causal chain: what each depth reads and guesses, at every position', caption: 'Read down a depth column: row i reads the token k rows below it in the tᵢ column. Depth 1\'s last row reads the main model\'s greedy next token ŷ: that row exists only at inference.' },
        { cell: 'moduleStats', title: 'What one module costs' },
      ],
      after: `At scale the modules are small beside the main model: DeepSeek-V3 uses $D = 1$, and its released checkpoint holds 671B main-model parameters and 14B for the MTP module ([DeepSeek-V3 README](https://github.com/deepseek-ai/DeepSeek-V3)). In this small model one MoE block is a large share of the whole, so the percentage here is much higher.`,
    },
    {
      id: 'signal',
      title: 'More targets per sequence, and the MTP loss',
      prose: `With $T$ tokens, next-token prediction has $T - 1$ targets ($t_2, \\dots, t_T$). Depth $k$ predicts $t_{i+k+1}$, which exists for $i = 1, \\dots, T-1-k$, so $D$ modules add $T - 2, T - 3, \\dots, T - 1 - D$ targets:
$$N(T, D) = \\sum_{k=0}^{D} (T - 1 - k) = (D + 1)(T - 1) - \\frac{D(D+1)}{2}.$$
(The paper counts an input of $T$ tokens plus the label $t_{T+1}$, so its $T$ is this page's $T - 1$.) Each depth's cross-entropy over its own targets,
$$\\mathcal{L}^k_{\\mathrm{MTP}} = \\mathrm{CrossEntropy}\\big(P^k_{2+k:T+1},\\, t_{2+k:T+1}\\big) = -\\frac{1}{T} \\sum_{i=2+k}^{T+1} \\log P^k_i[t_i]\\quad\\text{(paper's } T\\text{)},$$
is averaged over the depths and weighted by $\\lambda$: $\\mathcal{L}_{\\mathrm{MTP}} = \\frac{\\lambda}{D} \\sum_{k=1}^{D} \\mathcal{L}^k_{\\mathrm{MTP}}$, added to the main loss. DeepSeek-V3 trained with $\\lambda = 0.3$ for the first 10T tokens and $\\lambda = 0.1$ for the remaining 4.8T (§4.2). The figures follow $T$ and $D$ set above.`,
      controls: ['lambda'],
      views: [
        { cell: 'targetsChart', title: 'Prediction targets in one sequence, by MTP depth' },
        { cell: 'targetStats', title: 'The count' },
        { cell: 'lossMap', title: 'Every target the engine is scored on: cross-entropy per depth and position', caption: 'Hatched cells have no target: the staircase is why depth k has T − 1 − k targets. An untrained model scores about ln V everywhere.' },
        { cell: 'lossTable', title: 'The losses of this sequence' },
      ],
      after: 'More targets are not free: every depth is one more Transformer block in the forward and backward pass. The paper\'s ablations (§4.5.1) report that MTP improves the main model on most benchmarks at the same inference cost, since the modules can be dropped after training.',
    },
    {
      id: 'guesses',
      title: 'What the MTP module predicts, next to the main model',
      prose: `At position $i$, MTP depth 1 reads $h_i$ and $t_{i+1}$ and predicts $t_{i+2}$. The main model predicts the same token one position later: its row $i+1$ reads $t_1, \\dots, t_{i+1}$. Both condition on the same prefix, so a well-trained MTP module should mostly agree with the main model's own greedy guess. The agreement below is the fraction of positions $i = 1, \\dots, T-1$ where the MTP module's argmax at $i$ equals the main model's argmax at $i + 1$; the top-5 table follows the position $i$ chosen in the first section.

**Trained against untrained.** The shipped module was trained with the main model (MTP loss weight 0.3) and shares its output head, so on prose it agrees with the main model's greedy guess most of the time; switch *Weights* to random and agreement falls to about chance, $1/V \\approx ${(100 / V).toFixed(1)}\\%$. The table below compares prose with arithmetic on the same model (the corpus has both). DeepSeek-V3 reports its own module's acceptance (below, published).`,
      controls: ['temperature'],
      views: [
        { cell: 'probMap', title: 'MTP depth 1: distribution over the next-next token at each position', caption: 'Outlined: the main model\'s own guess of the same token. Lower τ sharpens each row toward its argmax; τ = 0 leaves one cell per row.' },
        { cell: 'topTable', title: 'Top 5 at position i: MTP module against the main model' },
        { cell: 'agreeStats', title: 'How often the MTP guess is the main model\'s guess' },
        { cell: 'textCompare', title: 'Prose against arithmetic: greedy agreement and sampled acceptance' },
        { cell: 'agreeTable', title: 'Every depth: agreement with the main model, and accuracy' },
        { cell: 'publishedStats', title: 'Published: DeepSeek-V3 with its trained MTP module' },
      ],
      after: 'With *random* weights the mean $\\alpha$ at $\\tau = 1$ is high for a bad reason: an untrained model\'s distributions are nearly flat, and two flat distributions overlap a lot even when they are unrelated. Lower $\\tau$ and $\\alpha$ falls to the argmax agreement. A trained MTP module is useful as a drafter because its distribution is both sharp and close to the main model\'s.',
    },
    {
      id: 'inference',
      title: 'At inference: drop the modules, or draft with them',
      prose: `MTP is a training objective: "during inference, we can directly discard the MTP modules and the main model can function independently and normally" (§2.2). Or the module can **draft**: after the main model picks $t_{T+1}$, module 1 reads $h_T$ and $\\mathrm{Emb}(t_{T+1})$ and guesses $t_{T+2}$ at the cost of one small block; the main model's next step checks that guess and, when it agrees, two tokens come out of one main-model step. That is speculative decoding, the next lesson. DeepSeek-V3 reports that 85–90% of second-token guesses are accepted, for 1.8 times the tokens per second (§5.4.3).

Below, the engine does one greedy draft on the sequence set at the top of the page.`,
      views: [{ cell: 'draftStats', title: 'One draft from the MTP module, checked by the main model' }],
      after: 'With the trained module the draft is often accepted; with random weights about one time in V. Speculative decoding never changes the output: a rejected draft costs time, not correctness.',
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'sum(guess_mtp[1:T-1] == guess_main[2:T]) / (T - 1)',
    examples: [
      'sum(guess_mtp[1:T-1] == guess_main[2:T]) / (T - 1)',
      'max(abs(logits_mtp[1, :]))',
      'max(softmax(logits_mtp[1, :]))',
      'mean(guess_mtp[1:T-2] == tokens[3:T])',
      'size(eh)',
      'norm(h[1, :]) / sqrt(size(h)[2])',
    ],
    descriptions: {
      logits_main: 'main model logits (T x V); row i predicts tᵢ₊₁',
      logits_mtp: 'MTP depth-1 logits (T x V); row i predicts tᵢ₊₂ (row T reads the main model\'s greedy next token)',
      h: 'main model final states after model.norm (T x d): the MTP input h⁰',
      h1: 'MTP module 1 block output h¹ (T x d): module 2\'s input',
      eh: 'eh_proj weight M_1 (d x 2d): columns 1..d read enorm(Emb), d+1..2d read hnorm(h)',
      tokens: 'the sequence t₁ … t_T (token ids)',
      guess_main: 'argmax of each row of logits_main',
      guess_mtp: 'argmax of each row of logits_mtp',
      T: 'sequence length',
      V: 'vocabulary size',
    },
  },
};

/** Subscript / superscript digits for table text. */
function sub(n: number): string {
  return String(n).replace(/\d/g, (c) => '₀₁₂₃₄₅₆₇₈₉'[Number(c)]);
}
function sup(n: number): string {
  return String(n).replace(/\d/g, (c) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(c)]);
}

