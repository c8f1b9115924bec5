// Lesson: speculation with token trees. A new lesson rather than an extension of lesson 7
// (speculative-decoding): that one builds the exact accept/resample rule on a chain; this one keeps
// the rule and changes what is drafted (a tree from Medusa heads beside DeepSeek's MTP chain), how it
// is verified (one pass with a tree attention mask) and which rule accepts (exact, greedy, typical).
// Every figure is a count or a probability that follows from the controls and the seed (no timing
// on the page): the wall-clock side is `npm run bench`'s drafters table.
import type { BarChartData, HeatmapData, LineChartData, TableData } from '$components/charts/types';
import type { AcceptRule } from '$engine/tree';
import { typicalThresholdAt } from '$engine/tree';
import { IdleJobs } from '../_kit/idle-jobs';
import { Lru, keptJob } from '../_kit/memo';
import { Ahead, rangeInput, stepsAround } from '../_kit/prefetch';
import { cell, type Notebook } from '../_kit/types';
import { TEXT_EXAMPLES, promptTokens } from '../_kit/tokens';
import { EngineWorker } from '../_kit/engine-worker';
import {
  type DrafterRow, NEW_TOKENS, RULE_RUNS, type RuleComparison, type Setup, type SweepPoint, type TreeFigureData,
  exactRuleAt, joinDrafterRows, setup, treeForward, treeStep,
} from './compute';
import { jobs } from './jobs';
import TreeView from './TreeView.svelte';

// The drafter runs, the sweep and the rule comparison run in the lesson's Web Worker (jobs.ts).
const engine = new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek speculation trees' }), jobs);

// A slider move used to wait for the worker's answer (the drafters: 50-450 ms under load), and
// every move ran the drawn step's forward on the page. The drawn step now keeps its forward per tree
// size (runs.ts treeForward; the other controls only re-decide on its logits) with the neighbouring
// sizes' forwards done while the page is idle, and the worker's answers for the values next to the
// slider that moved are computed ahead, one job at a time after the picture's own (_kit/prefetch.ts).
// The drafters come in two parts (runs.ts drafterRows): a γ move asks the worker only for the
// chain rows, a tree size move only for the tree's. γ has four values: while the worker has nothing
// else to do, it computes the chain's runs at the other three (chainAhead), one run at a time, so a
// γ move finds them even right after another slider moved, and a real request waits for one run at most.

/** Jobs of this lesson in the worker, not yet answered (the work done while it is idle not counted). */
let inFlight = 0;
/** When one was last asked for or answered (performance.now()). */
let lastJobAt = 0;
/** engine.run, counted in `inFlight`: chainAhead starts a run only when none is in flight. */
function run<K extends keyof typeof jobs & string>(kind: K, request: Parameters<(typeof jobs)[K]>[0]): Promise<ReturnType<(typeof jobs)[K]>> {
  inFlight++;
  lastJobAt = performance.now();
  return engine.run(kind, request).finally(() => { inFlight--; lastJobAt = performance.now(); chainAhead.poke(); }) as Promise<ReturnType<(typeof jobs)[K]>>;
}
/**
 * How long the worker must have had no job before work for later starts: during a drag the next
 * move comes within tens of milliseconds of the last answer, and would wait for that work's run.
 */
const QUIET_MS = 150;

/** Work ahead in the worker only (never on the page's own thread). */
const inWorker = () => typeof Worker !== 'undefined' && engine.failure === null;
/** The values next to `value` on slider `name` (_kit/prefetch.ts stepsAround). */
const near = (name: string, value: number, towards: 1 | -1, ahead: number): number[] =>
  stepsAround(rangeInput(notebook.inputs, name), value, towards, ahead);

const setupIds = new WeakMap<Setup, number>();
let setupCount = 0;
const idOfSetup = (s: Setup) => { let n = setupIds.get(s); if (n === undefined) setupIds.set(s, (n = ++setupCount)); return n; };

/** A job's request: the setup, the prompt, and the sliders it reads. */
interface Asked { s: Setup; ids: number[]; knobs: Record<string, number> }
const idOfAsked = (a: Asked) => `${idOfSetup(a.s)}|${a.ids.join(',')}|${Object.entries(a.knobs).map(([k, v]) => `${k}=${v}`).join('|')}`;
/**
 * A worker job kept per request, with the requests for the next values of the slider that moved
 * computed ahead (three steps the way it went, one back) when it is one of `follow` (the sliders
 * beside the job's figures); before any move, `first`'s next values (default `follow[0]`; null:
 * none). The worker runs one job at a time, so work ahead for sliders whose figures are elsewhere
 * would only delay the next answer.
 */
function ahead<V>(job: (a: Asked) => Promise<V>, follow: string[], first: string | null = follow[0] ?? null): Ahead<Asked, V> {
  return new Ahead<Asked, V>(job, {
    id: idOfAsked,
    size: 64,
    enabled: inWorker,
    around: (at, from) => {
      const same = from !== null && from.s === at.s && from.ids.join(',') === at.ids.join(',');
      const moved = same ? Object.keys(at.knobs).find((k) => at.knobs[k] !== from!.knobs[k]) : undefined;
      const name = from === null ? first : moved;
      if (!name || !follow.includes(name)) return [];
      const dir = moved && at.knobs[name]! < from!.knobs[name]! ? -1 : 1;
      return near(name, at.knobs[name]!, dir, moved ? 3 : 1).map((v) => ({ ...at, knobs: { ...at.knobs, [name]: v } }));
    },
  });
}

const rowsOf = (part: 'tree' | 'chain', size: string) => (a: Asked) =>
  run('drafterRows', { ...a.s, ids: a.ids, part, size: a.knobs[size]!, temperature: a.knobs.temperature!, epsilon: a.knobs.epsilon!, delta: a.knobs.delta!, seed: a.knobs.seed! });
const treeRows = ahead(rowsOf('tree', 'treeSize'), ['treeSize', 'temperature']);
/** Chain rows chainAt had the worker compute while it was idle, by request. */
const chainKept = new Lru<Promise<DrafterRow[]>>(32);
// Before any move nothing: chainAt computes the other γ values while the worker is idle.
const chainRows = ahead((a) => chainKept.peek(idOfAsked(a)) ?? rowsOf('chain', 'gamma')(a), ['gamma', 'temperature'], null);
// The sweep (six tree sizes) is kept, not computed ahead: at 0.3-0.8 s of the worker it would hold up the answers a move waits for.
const sweeps = ahead((a) => run('sweep', { ...a.s, ids: a.ids, temperature: a.knobs.temperature!, seed: a.knobs.seed! }), []);
const ruleRuns = ahead((a) => run('rules', { ...a.s, ids: a.ids, treeSize: a.knobs.treeSize!, temperature: a.knobs.temperature!, epsilon: a.knobs.epsilon!, delta: a.knobs.delta!, seed: a.knobs.seed! }), ['epsilon', 'delta']);

/** The requests of the tree rows and the rules (the same sliders), and of the sweep. */
const treeAsked = (s: Setup, ids: number[], n: number, t: number, e: number, d: number, seed: number): Asked => ({ s, ids, knobs: { treeSize: n, temperature: t, epsilon: e, delta: d, seed } });
const sweepAsked = (s: Setup, ids: number[], t: number, seed: number): Asked => ({ s, ids, knobs: { temperature: t, seed } });

/**
 * On a new setup or prompt the worker's jobs are asked for with the drawn step, which is on screen
 * and computes first: the cells that ask for them are below it and wait until it is drawn, and the
 * first figures wait for the worker. Their cells then find the same requests kept. Not on other
 * moves: during a drag only what is on screen computes (the runtime's priority).
 */
let askedFor: { s: Setup; ids: number[] } | null = null;
function askEarly(s: Setup, ids: number[], n: number, t: number, e: number, d: number, seed: number): void {
  if (askedFor?.s === s && askedFor.ids === ids) return;
  askedFor = { s, ids };
  if (!inWorker()) return;
  void treeRows.get(treeAsked(s, ids, n, t, e, d, seed)).catch(() => {});
  void sweeps.get(sweepAsked(s, ids, t, seed)).catch(() => {});
  void ruleRuns.get(treeAsked(s, ids, n, t, e, d, seed)).catch(() => {});
}

// Worker jobs for later, one at a time: none while a job of the lesson is in flight (run() pokes it
// when one is answered), and only QUIET_MS after the last.
const chainAhead = new IdleJobs({ holdOff: () => (inFlight > 0 ? null : lastJobAt + QUIET_MS - performance.now()) });
/** Chain runs chainAhead has had computed (by request, drafter and rule): asking again would only cost a round trip. */
const chainDone = new Set<string>();
let lastGamma: number | null = null;
/**
 * Queue the chain's runs at every other γ value, nearest first (the way γ last moved first), each value's runs one job at a time, then its rows (from the worker's memo: no run) kept
 * for chainRows, so a move to it needs no worker at all.
 */
function chainAt(at: Asked): void {
  const g = at.knobs.gamma!;
  const towards = lastGamma !== null && g < lastGamma ? -1 : 1;
  lastGamma = g;
  if (!inWorker()) return;
  const work: (() => Promise<unknown>)[] = [];
  const { min, max, step } = rangeInput(notebook.inputs, 'gamma');
  const others = Array.from({ length: Math.round((max - min) / step) + 1 }, (_, i) => min + i * step).filter((v) => v !== g)
    .sort((a, b) => Math.abs(a - g) - Math.abs(b - g) || (b - a) * towards);
  for (const gamma of others) {
    const other: Asked = { ...at, knobs: { ...at.knobs, gamma } };
    const id = idOfAsked(other);
    if (chainKept.has(id)) continue;
    const k = other.knobs;
    for (const drafter of at.s.small ? (['mtp', 'small'] as const) : (['mtp'] as const)) {
      for (const rule of ['exact', 'typical'] as const) {
        const done = `${id}|${drafter}|${rule}`;
        if (chainDone.has(done)) continue;
        work.push(() => engine.run('chainRun', { ...at.s, ids: at.ids, drafter, gamma, rule, temperature: k.temperature!, epsilon: k.epsilon!, delta: k.delta!, seed: k.seed! }).then(() => {
          if (chainDone.size > 4096) chainDone.clear();
          chainDone.add(done);
        }));
      }
    }
    work.push(() => keptJob(chainKept, id, () => engine.run('drafterRows', { ...at.s, ids: at.ids, part: 'chain', size: gamma, temperature: k.temperature!, epsilon: k.epsilon!, delta: k.delta!, seed: k.seed! })));
  }
  chainAhead.replace(work);
}

/** The drawn step's forwards at the tree sizes next to the current one, done when the page is idle. */
const forwardsAhead = new IdleJobs();
let lastTreeSize: number | null = null;
function stepAhead(s: Setup, ids: number[], n: number): void {
  const towards = lastTreeSize !== null && n < lastTreeSize ? -1 : 1;
  lastTreeSize = n;
  forwardsAhead.replace(near('treeSize', n, towards, 2).map((m) => () => treeForward(s, ids, m)));
}

export const meta = {
  slug: 'speculation-trees',
  title: 'Speculation with token trees: Medusa heads, MTP and typical acceptance',
  summary: 'The shipped model drafts with DeepSeek\'s MTP chain or with Medusa heads building a tree of candidates, verified in one pass under a tree attention mask; the exact rule keeps the model\'s distribution, typical acceptance trades it for longer accepted runs.',
  order: 13,
};

const PROMPT_LEN = 48;
const fmt = (x: number, d = 2) => x.toFixed(d);
/** The threshold figure's log axis starts here (p = 0 happens at T = 0). */
const P_FLOOR = 1e-6;

function maskHeatmap(v: TreeFigureData): HeatmapData {
  const T = v.nodes.length + 1;
  const labels = [`root ${v.root}`, ...v.nodes.map((nd, i) => `${i + 1} ${nd.label}`)];
  return {
    kind: 'heatmap', rows: T, cols: T, values: Float32Array.from(v.mask), rowLabels: labels, colLabels: labels,
    rowTitle: 'query (node)', colTitle: 'key (node)', scale: 'sequential', domain: [0, 1], valueLabel: '1 = attends',
  };
}

/** The typical threshold against the entropy at the parent, with every tree node placed on it. */
function thresholdChart(v: TreeFigureData, vocab: number): LineChartData {
  const hMax = Math.log(vocab);
  const grid = Array.from({ length: 61 }, (_, i) => (i / 60) * hMax);
  const pass = v.nodes.filter((n) => n.p > n.threshold), fail = v.nodes.filter((n) => !(n.p > n.threshold));
  const y = (p: number) => Math.max(P_FLOOR, p);
  return {
    kind: 'line',
    xLabel: 'entropy H(p) of the target at the parent (nats)',
    yLabel: 'probability (log scale; p < 10⁻⁶ drawn at 10⁻⁶)',
    yScale: 'log',
    series: [
      { name: `threshold τ = min(ε, δ·e^(−H)), ε = ${v.epsilon}, δ = ${v.delta}`, points: grid.map((x) => ({ x, y: y(typicalThresholdAt(x, v.epsilon, v.delta)) })), style: 'line' },
      { name: `δ·e^(−H) alone`, points: grid.map((x) => ({ x, y: y(v.delta * Math.exp(-x)) })), style: 'dashed' },
      { name: `tree nodes that pass (p above τ): ${pass.length}`, points: pass.map((n) => ({ x: n.h, y: y(n.p) })), style: 'points' },
      { name: `tree nodes that fail: ${fail.length}`, points: fail.map((n) => ({ x: n.h, y: y(n.p) })), style: 'points' },
    ],
    // ε is the threshold where δ·e^(−H) > ε, i.e. H < ln(δ/ε) (never when δ ≤ ε).
    markers: v.delta > v.epsilon ? [{ x: Math.min(hMax, Math.log(v.delta / v.epsilon)), label: 'H = ln(δ/ε)' }] : [],
  };
}

export const notebook: Notebook = {
  inputs: [
    { kind: 'text', name: 'text', label: 'Your text (the prompt)', value: TEXT_EXAMPLES[0]!.value, maxLength: 512, examples: TEXT_EXAMPLES, help: `Its first ${PROMPT_LEN} characters are the prompt.` },
    { kind: 'range', name: 'treeSize', label: 'Medusa tree nodes', min: 1, max: 32, step: 1, value: 12, help: 'Size of the sparse tree grown from the heads\' measured top-k accuracies.' },
    { kind: 'select', name: 'rule', label: 'Accept rule (the drawn tree)', value: 'exact', options: [{ value: 'exact', label: 'exact (keeps the distribution)' }, { value: 'greedy', label: 'greedy (argmax)' }, { value: 'typical', label: 'typical acceptance' }], help: 'Which rule decides the drawn tree step.' },
    { kind: 'range', name: 'temperature', label: 'Temperature T', min: 0, max: 1.5, step: 0.1, value: 1, help: 'p = softmax(logits / T); 0 is greedy (p one-hot).' },
    { kind: 'range', name: 'epsilon', label: 'Typical ε', min: 0.01, max: 0.5, step: 0.01, value: 0.09, help: 'Typical acceptance accepts x when p(x) > min(ε, δ·exp(−H(p))): ε caps the threshold where the target is sure.' },
    { kind: 'range', name: 'delta', label: 'Typical δ', min: 0.01, max: 1, step: 0.01, value: 0.3, help: 'Scales the entropy-dependent part of the threshold δ·exp(−H(p)).' },
    { kind: 'range', name: 'gamma', label: 'Chain length γ (MTP, small model)', min: 1, max: 4, step: 1, value: 2, help: 'Tokens the MTP module (chained on its own output state) and the small draft model draft per step.' },
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Seeds every random draw of the rules.' },
  ],
  cells: [
    // The worker loads its module and kernels while the page fetches the model (the first figures wait for its answers).
    cell('setup', ['backend'], (b) => { engine.warm(); return setup(b); }, { kind: 'engine', detail: 'the kit\'s lessonModel and medusa.safetensors beside it' }),
    cell('ids', ['text'], (text: string) => promptTokens(text, PROMPT_LEN).ids, { kind: 'derived', detail: 'one character per token' }),
    cell('step', ['setup', 'ids', 'treeSize', 'temperature', 'rule', 'seed', 'epsilon', 'delta'],
      (s: Setup, ids: number[], n: number, t: number, rule: AcceptRule, seed: number, e: number, d: number) => {
        askEarly(s, ids, n, t, e, d, seed);
        const v = treeStep(s, ids, n, t, rule, seed, e, d);
        stepAhead(s, ids, n);
        return v;
      },
      { kind: 'engine', detail: 'MedusaDrafter.propose, then verifyTree: one forward over the tree with its mask, the rule\'s decisions' }),
    cell('maskView', ['step'], (v: TreeFigureData) => maskHeatmap(v), { kind: 'engine', detail: 'treeMask: ancestors and self' }),
    cell('thresholdView', ['step', 'setup'], (v: TreeFigureData, s: Setup) => thresholdChart(v, s.model.config.vocab_size),
      { kind: 'engine', detail: 'p and H(p) of the target at each node\'s parent; typicalThresholdAt from the engine' }),
    cell('drafters', ['setup', 'ids', 'treeSize', 'gamma', 'temperature', 'epsilon', 'delta', 'seed'],
      async (s: Setup, ids: number[], n: number, g: number, t: number, e: number, d: number, seed: number) => {
        const chain: Asked = { s, ids, knobs: { gamma: g, temperature: t, epsilon: e, delta: d, seed } };
        const rows = joinDrafterRows(...await Promise.all([treeRows.get(treeAsked(s, ids, n, t, e, d, seed)), chainRows.get(chain)]));
        chainAt(chain);
        return rows;
      },
      { kind: 'engine', detail: `speculateTree over ${NEW_TOKENS} new tokens per drafter and rule` }),
    cell('drafterBars', ['drafters', 'temperature', 'epsilon', 'delta'], (rows: DrafterRow[], t: number, e: number, d: number): BarChartData => ({
      kind: 'bar',
      categories: rows.map((r) => r.drafter),
      series: [
        { name: `${exactRuleAt(t)} rule, T = ${t}`, values: rows.map((r) => r.exact.tokensPerStep) },
        { name: `typical, ε = ${e}, δ = ${d}`, values: rows.map((r) => r.typical.tokensPerStep) },
      ],
      yLabel: 'tokens written per verification step',
    }), { kind: 'derived' }),
    cell('drafterTable', ['drafters', 'temperature'], (rows: DrafterRow[], t: number): TableData => ({
      kind: 'table',
      columns: [
        { key: 'drafter', label: 'drafter' }, { key: 'nodes', label: 'nodes / step', align: 'right' },
        { key: 'tps', label: `tok / step (${exactRuleAt(t)})`, align: 'right' }, { key: 'passes', label: 'target passes', align: 'right' },
        { key: 'ppt', label: 'positions / token', align: 'right' }, { key: 'ttps', label: 'tok / step (typical)', align: 'right' },
      ],
      rows: rows.map((r) => ({
        drafter: r.drafter, nodes: r.nodes, tps: fmt(r.exact.tokensPerStep), passes: 1 + r.exact.steps,
        ppt: fmt(r.exact.positionsPerToken), ttps: fmt(r.typical.tokensPerStep),
      })),
      caption: `${rows.some((r) => r.drafter.startsWith('small model')) ? '' : 'The small draft model is not available here, so its row is missing. '}Target passes: for ${NEW_TOKENS} tokens, the prompt's prefill included. Positions / token: the root and every drafted node of each step, per token written. Tok / step: tokens written per verification step.`,
    }), { kind: 'derived' }),
    cell('depthView', ['drafters', 'temperature'], (rows: DrafterRow[], t: number): LineChartData => ({
      kind: 'line',
      xLabel: 'draft depth k (the k-th drafted token of a step)',
      xIntegers: true,
      yLabel: 'accepted at depth k / judged at depth k',
      series: rows.filter((r) => r.exact.depth.length > 0).map((r) => ({
        name: `${r.drafter}: ${r.exact.depth.map((d) => `${d.accepted}/${d.tried}`).join(', ')}`,
        points: r.exact.depth.filter((d) => d.tried > 0).map((d) => ({ x: d.depth, y: d.rate })),
        style: 'line' as const,
      })),
      markers: [],
    }), { kind: 'engine', detail: `speculateTree's depthAcceptance, ${exactRuleAt(1)} rule (greedy at T = 0), ${NEW_TOKENS} new tokens` }),
    cell('sweep', ['setup', 'ids', 'temperature', 'seed'], (s: Setup, ids: number[], t: number, seed: number) => sweeps.get(sweepAsked(s, ids, t, seed)),
      { kind: 'engine', detail: `speculateTree with the Medusa drafter at each tree size, ${NEW_TOKENS} new tokens` }),
    cell('sweepChart', ['sweep', 'treeSize', 'temperature'], (pts: SweepPoint[], n: number, t: number): LineChartData => ({
      kind: 'line',
      xLabel: 'Medusa tree nodes (log scale)',
      xScale: 'log',
      yLabel: 'per verification step / per token written (log scale)',
      yScale: 'log',
      series: [
        { name: `tokens written per verification step (${exactRuleAt(t)} rule, T = ${t})`, points: pts.map((p) => ({ x: p.nodes, y: p.counts.tokensPerStep })), style: 'line' },
        { name: 'positions scored per token written', points: pts.map((p) => ({ x: p.nodes, y: p.counts.positionsPerToken })), style: 'dashed' },
      ],
      markers: [{ x: n, label: `${n} nodes` }],
    }), { kind: 'derived' }),
    cell('rules', ['setup', 'ids', 'treeSize', 'temperature', 'epsilon', 'delta', 'seed'],
      (s: Setup, ids: number[], n: number, t: number, e: number, d: number, seed: number) =>
        ruleRuns.get(treeAsked(s, ids, n, t, e, d, seed)),
      { kind: 'engine', detail: `${RULE_RUNS} runs of acceptPath per rule on one verification's logits` }),
    cell('rulesTable', ['rules'], (rows: RuleComparison[]): TableData => ({
      kind: 'table',
      columns: [{ key: 'rule', label: 'rule' }, { key: 'acc', label: 'mean accepted length', align: 'right' }, { key: 'tv', label: 'TV distance of the first token to p', align: 'right' }],
      rows: rows.map((r) => ({ rule: r.rule, acc: Number.isFinite(r.meanAccepted) ? fmt(r.meanAccepted, 3) : '', tv: fmt(r.tv, 4) })),
    }), { kind: 'derived' }),
    cell('scope', ['step', 'drafters', 'rules'], (v: TreeFigureData, rows: DrafterRow[], rules: RuleComparison[]) => ({
      p: v.nodes.map((n) => n.p),
      H: v.nodes.map((n) => n.h),
      tau: v.nodes.map((n) => n.threshold),
      epsilon: v.epsilon,
      delta: v.delta,
      mask: { rows: v.nodes.length + 1, cols: v.nodes.length + 1, data: Float32Array.from(v.mask) },
      accepted: v.accepted,
      tokens_per_step: rows.map((r) => r.exact.tokensPerStep),
      depth1_acceptance: rows.map((r) => r.exact.depth[0]?.rate ?? 0),
      typical_tokens_per_step: rows.map((r) => r.typical.tokensPerStep),
      tv: rules.map((r) => r.tv),
    }), { kind: 'derived' }),
  ],
  lead: {
    takeaway: 'Medusa heads guess several tokens ahead; their top guesses form a tree, the model scores every node in one pass, and one path of it is kept.',
    view: { cell: 'step', title: 'The drafted tree and the rule\'s decision on each node', component: TreeView },
    controls: ['text', 'treeSize', 'rule'],
    note: 'The shipped trained model with its Medusa heads (medusa.safetensors), right after the first 48 characters of your text.',
  },
  sections: [
    {
      id: 'tree', title: 'One tree, one pass',
      prose: `Medusa (Cai et al. 2024) puts $K$ extra heads on the model's final hidden state $h_t$: head $k$ guesses token $t+k+1$ as $\\mathrm{lm\\_head}\\big(h_t + \\mathrm{SiLU}(W_k h_t + b_k)\\big)$, trained with the trunk frozen. Their top choices form a **tree**: depth $k$ holds head $k$'s candidates, and the sparse tree keeps the paths whose measured accuracies multiply to the most. Every node sits at position (prompt length + depth) and attends to the prompt, its ancestors and itself, never to its siblings: the **tree attention mask**. One forward pass then gives every node the logits a plain forward over its own path would give (the engine's property test checks this), and only the accepted path's latents stay in the cache.

The rule walks from the root: it tries the children of the current node in order, follows the first it accepts, and when none is accepted (or the path reaches a leaf) writes one more token itself, so a step always writes at least one.`,
      controls: ['treeSize', 'rule', 'temperature', 'seed'],
      views: [
        { cell: 'step', title: 'The drafted tree and the rule\'s decision on each node', component: TreeView, caption: 'p is the target\'s probability of the node\'s token at its parent. Thick filled boxes and edges ✓: the accepted path; dashed ✗: tried and rejected; dotted: never tried; double border: the token written after the path (★ bonus when the path reached a leaf, ↻ a replacement otherwise).' },
        { cell: 'maskView', title: 'Tree attention mask', caption: 'Row: the query node; column: the key node. The prompt (not drawn) is visible to every node.' },
      ],
    },
    {
      id: 'drafters', title: 'Drafters side by side',
      prose: `DeepSeek-V3's MTP module drafts a **chain**: each token from the module's own state, one extra block on the model (*self* speculation, as the Medusa heads are). The **small draft model** is *independent* speculation: a separate, narrower DeepSeek-V3 trained by the same trainer on the same stories, which reads only the tokens and runs its own cache. Medusa drafts a **tree**: more candidates per step, so more tokens accepted per verification, but the target scores every node. Each drafter runs on the same prompt for ${NEW_TOKENS} new tokens under the rule that keeps the model's distribution (exact; greedy at $T = 0$) and under typical acceptance.

A chain's $k$-th draft only counts if the $k - 1$ before it were accepted, and it is guessed from further away; the chart of acceptance per depth shows how fast each drafter's guesses fall off.

Tokens per verification step is what a large model served from a GPU turns into speed: there a pass over 1 position or 30 costs about the same, because reading the weights dominates. On this tiny model every scored position is paid in arithmetic, and a drafter's own passes (the MTP block, the heads, the small model's whole forward per drafted token) are not free either, so the column *positions / token* is the cost side. The wall-clock and CPU speed-up of each drafter, measured on the shipped model in Node and in headless Chromium, are tables of \`npm run bench -- --drafters\` and \`npm run bench:browser -- --drafters\`.`,
      controls: ['gamma', 'treeSize', 'temperature'],
      views: [
        { cell: 'drafterBars', title: 'Tokens written per verification step' },
        { cell: 'drafterTable', title: 'Steps, passes and positions scored' },
        { cell: 'depthView', title: 'Acceptance per draft depth', caption: 'Of the steps in which the rule judged a drafted token at depth k (all shallower ones accepted), the share in which it accepted one there; the legend gives accepted/judged per depth. A Medusa tree offers several candidates at a depth, where a chain offers one.' },
        { cell: 'sweepChart', title: 'A bigger tree: more tokens per step, more positions scored', caption: 'The Medusa drafter at 1 to 32 nodes (the sparse tree adds the next most likely path each time). Compare how fast tokens per step grow with how fast the positions the target scores per token written grow.' },
      ],
    },
    {
      id: 'typical', title: 'Typical acceptance against the exact rule',
      prose: `The exact rule tries each child $x$ with probability $r(x)/q(x)$ (a top-$k$ pick has $q$ one-hot) and, when it rejects, removes it from what is left, $r \\leftarrow \\mathrm{norm}(\\max(0, r - q))$, starting from $r = p$; the emitted token is then distributed exactly as $p$. Medusa's **typical acceptance** takes the first child with
$$p(x) > \\tau = \\min\\big(\\epsilon,\\ \\delta\\, e^{-H(p)}\\big),$$
where $H(p)$ is the target's entropy at the parent. Where the target is unsure ($H$ large) the threshold falls and almost any plausible guess passes; where it is sure, $\\epsilon$ caps it. Longer accepted runs, but no longer the model's distribution: below, both rules run ${RULE_RUNS} times on the same logits, and the first token's histogram is compared with $p$.`,
      controls: ['epsilon', 'delta', 'temperature', 'seed'],
      views: [
        { cell: 'thresholdView', title: 'The typical threshold, and the tree\'s nodes against it', caption: 'Each point is a node of the tree above: its p at the parent against the parent\'s entropy. Nodes above the solid line pass the typical test. Left of the marker (H = ln(δ/ε)) the threshold is ε; right of it δ·e^(−H).' },
        { cell: 'rulesTable', title: 'Accepted length and distance to the target', caption: 'The exact rule\'s distance stays at the noise floor of as many samples from p; typical acceptance moves away, most at high temperature and low thresholds.' },
      ],
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'p - tau',
    examples: [
      'p - tau',
      'min(epsilon, delta * exp(-H[1]))',
      'sum(mask)',
      'typical_tokens_per_step - tokens_per_step',
      'depth1_acceptance',
      'tv',
    ],
    descriptions: {
      p: 'p(token) of each tree node under the target at its parent',
      H: 'entropy (nats) of the target at each node\'s parent',
      tau: 'typical threshold min(ε, δ·exp(−H)) at each node\'s parent',
      epsilon: 'typical ε', delta: 'typical δ',
      mask: 'tree attention mask over [root, nodes] (1: attends)',
      accepted: 'tokens accepted from the drawn tree',
      tokens_per_step: 'tokens per verification step, exact (greedy at T = 0), one per drafter row of the table',
      depth1_acceptance: 'share of judged first drafts accepted, per drafter row (0 for no drafting)',
      typical_tokens_per_step: 'tokens per verification step under typical acceptance, one per drafter row of the table',
      tv: 'TV distance of the first token to p: exact, typical, noise floor',
    },
  },
};
