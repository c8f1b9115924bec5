// Lesson 4: expert routing. The tiny DeepSeek-V3 runs a prompt with `trace: true`; the lesson keeps
// the router logits u_t · e_i its MoE layer computed and routes them again with the engine's own
// `route()` for every slider setting (top-k, groups, bias, scoring, scaling), so only a change of
// architecture (E, seed) re-initialises the model. It shows the scores, the bias-corrected choice
// scores, the kept groups and chosen experts, the gate weights, why a token chose what it chose,
// node-limited traffic, and DeepSeekMoE's fine-grained segmentation as real models with m x E experts.
// This file is the assembly: inputs, cells and prose; engine.ts does the engine work, views.ts draws.
import type { Backend } from '$kernels/backend';
import type { Model } from '$engine/model';
import { cell, type Notebook } from '../_kit/types';
import { EngineWorker } from '../_kit/engine-worker';
import { Ahead, along } from '../_kit/prefetch';
import { jobs } from './jobs';
import { REAL_CONFIGS } from '../_kit/models';
import { type LessonModel, SHIPPED_CONFIG, lessonModel } from '../_kit/shipped';
import { tinyConfig } from '../_kit/models';
import { TEXT_EXAMPLES, promptTokens } from '../_kit/tokens';
import { LIFT_CHARS, MAX_PROMPT, biasChoice, captured, learnedBias, liftMap, pageModel, routings, sweep } from './engine';
import { binomial, log10Big, routerChoice } from './helpers';
import {
  biasStats, biasSweep, choiceMap, combosChart, explainTable, groupStats, layerStats, loadBars, nodeBars, nodeMap, nodeStats, routerStats,
  scope, scoresMap, segLoad, segMap, segTable, weightsMap,
} from './views';

export const meta = {
  slug: 'expert-routing',
  title: 'Expert routing',
  summary: 'DeepSeekMoE\'s router as DeepSeek-V3 runs it: sigmoid affinities, a bias that only chooses, group (node) limits, gate weights, shared experts, and fine-grained segmentation, on the engine\'s own MoE layer.',
  order: 4,
};

const BASE = SHIPPED_CONFIG ?? tinyConfig();

/**
 * What the seed changes computes in the lesson's Web Worker (jobs.ts, _kit/engine-worker.ts): the
 * untrained lift map (a seeded model, then two forwards of LIFT_CHARS characters: ~100 ms per seed
 * move on the main thread) and the segmented models (25-50 ms); meanwhile a figure keeps its
 * previous picture, marked as computing. The worker computes the lift maps of the seeds next to
 * the last one ahead (_kit/prefetch.ts), so a drag over the seed finds each map ready.
 * (The trained map computes once, on the page: it may be the reader's own model from the train lesson.)
 */
const engine = new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek expert routing' }), jobs);
const lifts = new Ahead((seed: number) => engine.run('lift', { seed }), { around: along(0, 99), enabled: () => typeof Worker !== 'undefined' && !engine.failure });
const V3 = REAL_CONFIGS.find((c) => c.name === 'DeepSeek-V3')!.config;
const V2 = REAL_CONFIGS.find((c) => c.name === 'DeepSeek-V2')!.config;
/** A big integer as TeX scientific notation: 4.1 \\times 10^{14}. */
const sciTex = (x: bigint) => { const l = log10Big(x), e = Math.floor(l); return `${(10 ** (l - e)).toFixed(1)} \\times 10^{${e}}`; };

// ------------------------------------------------------------------ the notebook
export const notebook: Notebook = {
  pure: true,
  inputs: [
    { kind: 'select', name: 'weights', label: 'Weights', value: 'trained', options: [{ value: 'trained', label: 'trained (shipped model)' }, { value: 'random', label: 'random (same shape, seeded)' }], help: 'The router before and after training: the shipped model, or the same shape with seeded random weights.' },
    { kind: 'text', name: 'text', label: 'Your text (the prompt)', value: TEXT_EXAMPLES[0].value, maxLength: 512, examples: TEXT_EXAMPLES, help: 'Its first characters are routed, one row per character.' },
    { kind: 'range', name: 'seed', label: 'Seed of the random weights', min: 0, max: 99, step: 1, value: 1, help: 'Seeds the random models (Weights: random, another number of experts, and the segmented models).' },
    { kind: 'range', name: 'promptLength', label: 'Prompt length', min: 4, max: MAX_PROMPT, step: 1, value: 12, unit: 'tokens', help: 'Tokens run through the model; each is one row of the heatmaps.' },
    { kind: 'range', name: 'experts', label: 'Routed experts N_r (n_routed_experts)', min: 8, max: 64, step: 8, value: 16, unit: 'experts', help: 'A multiple of 8, so every group count divides it. The model is re-initialised with this many experts.' },
    { kind: 'range', name: 'topk', label: 'Experts per token K_r (num_experts_per_tok)', min: 1, max: 16, step: 1, value: 4, unit: 'experts', help: 'Routed experts each token runs; clamped to the experts of the kept groups.', maxFrom: (v) => { const E = Number(v.experts), G = Math.min(Number(v.n_group), E); return v.groupLimit ? Math.min(Number(v.topk_group), G) * (E / G) : E; } },
    { kind: 'range', name: 'routed_scaling_factor', label: 'Gate scale (routed_scaling_factor)', min: 0.5, max: 16, step: 0.5, value: 2.5, help: 'The chosen weights are multiplied by this (2.5 in DeepSeek-V3, 16 in DeepSeek-V2).' },
    { kind: 'toggle', name: 'normalise', label: 'Normalise the chosen weights (norm_topk_prob)', value: true, help: 'Divide the chosen experts\' scores by their sum (DeepSeek-V3: on; DeepSeek-V2: off).' },
    {
      kind: 'select', name: 'scoring', label: 'Scores (scoring_func)', value: 'sigmoid', help: 'DeepSeek-V3 scores each expert with a sigmoid and chooses with the bias; DeepSeek-V2 took a softmax over all experts and had no bias.',
      options: [{ value: 'sigmoid', label: 'sigmoid, bias, top-2 group score (DeepSeek-V3, noaux_tc)' }, { value: 'softmax', label: 'softmax, no bias, max group score (DeepSeek-V2, group_limited_greedy)' }],
    },
    { kind: 'toggle', name: 'useBias', label: 'Use the correction bias b (e_score_correction_bias)', value: true, help: 'Add b_i to the scores when choosing (DeepSeek-V3 only; the softmax router ignores it).' },
    { kind: 'range', name: 'expert', label: 'Expert whose bias you move (j)', min: 0, max: 63, step: 1, value: 0, help: 'Clamped to the last expert when the model has fewer.', maxFrom: (v) => Number(v.experts) - 1 },
    { kind: 'range', name: 'biasShift', label: 'Bias shift added to b_j', min: -1, max: 1, step: 0.01, value: 0, format: (v: number) => (v > 0 ? `+${v.toFixed(2)}` : v.toFixed(2).replace('-', '\u2212')), help: 'Added to the model\'s own b_j: positive draws tokens to expert j, negative pushes them away.' },
    { kind: 'toggle', name: 'groupLimit', label: 'Group limit (off: one group)', value: true, help: 'Route only inside the topk_group best groups. Off: every expert is eligible.' },
    { kind: 'range', name: 'n_group', label: 'Groups (n_group)', min: 1, max: 8, step: 1, value: 4, log2: true, unit: 'groups', help: 'Experts split into this many equal groups (nodes). Changes no weight.' },
    { kind: 'range', name: 'topk_group', label: 'Kept groups M (topk_group)', min: 1, max: 8, step: 1, value: 2, unit: 'groups', help: 'Groups each token may use; clamped to n_group.', maxFrom: (v) => Number(v.n_group) },
    { kind: 'range', name: 'token', label: 'Token to explain', min: 1, max: MAX_PROMPT, step: 1, value: 1, help: 'Position in the prompt; clamped to the prompt length.', maxFrom: (v) => Number(v.promptLength) },
    { kind: 'range', name: 'm', label: 'Segmentation factor m', min: 1, max: 8, step: 1, value: 4, log2: true, help: 'Each of 16 experts split into m experts of 1/m the width; top-2 becomes top-2m.' },
  ],
  cells: [
    cell('prompt', ['promptLength', 'text'], (n: number, text: string) => promptTokens(text, n).ids, { kind: 'derived', detail: 'the reader\'s text, one ASCII character per token' }),
    cell('lm', ['weights', 'seed', 'experts', 'backend'], pageModel,
      { kind: 'engine', detail: 'the shipped trained model at its 16 experts; otherwise its shape with n_routed_experts from the slider, seeded' }),
    cell('model', ['lm'], (lm: LessonModel) => lm.model, { kind: 'engine' }),
    cell('liftTrained', ['backend'], async (backend: Backend) => liftMap(await lessonModel('trained', backend)),
      { kind: 'engine', detail: `the first MoE layer's routing in model.forward(text) over ${LIFT_CHARS} characters of prose and of arithmetic` }),
    cell('liftRandom', ['seed'], (seed: number) => lifts.get(seed),
      { kind: 'engine', detail: 'the same, with seeded random weights of the same shape' }),
    cell('biasBars', ['backend'], async (backend: Backend) => learnedBias(await lessonModel('trained', backend)),
      { kind: 'engine', detail: 'mlp.gate.e_score_correction_bias of each MoE layer of the shipped model' }),
    cell('captured', ['model', 'prompt'], (model: Model, prompt: number[]) => captured(model, prompt),
      { kind: 'engine', detail: 'model.forward(prompt, { trace: true }), router logits u_t · e_i kept as the engine computed them' }),
    cell('choice', ['experts', 'topk', 'n_group', 'topk_group', 'routed_scaling_factor', 'normalise', 'scoring', 'groupLimit'],
      (E: number, topk: number, nGroup: number, topkGroup: number, scaling: number, normalise: boolean, scoring: 'sigmoid' | 'softmax', groupLimit: boolean) =>
        routerChoice({ E, topk, nGroup, topkGroup, scaling, normalise, scoring, groupLimit }),
      { kind: 'derived', detail: 'RouterSettings from the sliders, clamped as config validation requires' }),
    cell('expertIndex', ['expert', 'experts'], (expert: number, E: number) => Math.min(expert, E - 1), { kind: 'derived', detail: 'the expert slider, clamped to the experts the model has' }),
    cell('biasChoice', ['captured', 'useBias', 'expert', 'expertIndex', 'biasShift'], biasChoice, { kind: 'engine', detail: 'the model\'s mlp.gate.e_score_correction_bias, one entry shifted' }),
    cell('routings', ['captured', 'choice', 'biasChoice'], routings, { kind: 'engine', detail: 'route(logits, T, bias, settings), the engine\'s router' }),

    // ---------------------------------------------------------- the MoE layer
    cell('layerStats', ['captured', 'model'], layerStats, { kind: 'engine' }),

    // ---------------------------------------------------------- scores, choice, weights
    cell('scoresMap', ['routings', 'choice', 'captured'], scoresMap, { kind: 'engine', detail: 'Routing.scores, .experts, .groups from route()' }),
    cell('weightsMap', ['routings', 'choice', 'captured'], weightsMap, { kind: 'engine', detail: 'Routing.weights from route(); shared experts enter with weight 1 (moeForward)' }),
    cell('routerStats', ['routings', 'choice', 'captured', 'biasChoice'], routerStats, { kind: 'engine' }),

    // ---------------------------------------------------------- the bias
    cell('choiceMap', ['routings', 'choice', 'captured'], choiceMap, { kind: 'engine', detail: 'Routing.choiceScores from route()' }),
    cell('sweep', ['captured', 'choice', 'expertIndex', 'useBias'], sweep, { kind: 'engine', detail: 'route() on one token at a time, bisecting over the shifts of b_j' }),
    cell('biasSweep', ['sweep', 'biasShift'], biasSweep, { kind: 'engine', detail: 'route() on one token at a time, bisecting over the shifts of b_j' }),
    cell('loadBars', ['routings', 'choice', 'biasChoice'], loadBars, { kind: 'engine', detail: 'tokens per expert from route()' }),
    cell('biasStats', ['routings', 'choice', 'biasChoice'], biasStats, { kind: 'engine' }),

    // ---------------------------------------------------------- groups, token by token
    cell('tokenIndex', ['token', 'prompt'], (token: number, prompt: number[]) => Math.min(token, prompt.length) - 1, { kind: 'derived', detail: 'the token slider, clamped to the prompt' }),
    cell('explainTable', ['routings', 'choice', 'tokenIndex', 'captured'], explainTable, { kind: 'engine', detail: 'scores, kept groups, group scores, chosen experts and weights from route(); ranks derived from them' }),
    cell('groupStats', ['routings', 'choice', 'tokenIndex', 'token'], groupStats, { kind: 'engine' }),

    // ---------------------------------------------------------- nodes
    cell('nodeMap', ['routings', 'choice', 'captured'], nodeMap, { kind: 'engine', detail: 'route() with the group limit and with one group, chosen experts per node counted' }),
    cell('nodeBars', ['routings', 'choice'], nodeBars, { kind: 'engine', detail: 'distinct nodes per token, from route()' }),
    cell('nodeStats', ['routings', 'choice'], nodeStats, { kind: 'engine' }),

    // ---------------------------------------------------------- fine-grained segmentation
    cell('segRuns', ['seed'], (seed: number) => engine.run('seg', { seed }), { kind: 'engine', detail: 'initModel(tinyConfig({ n_routed_experts: 16m, num_experts_per_tok: 2m, moe_intermediate_size: 24/m })); the m = 1 model runs with trace, each model\'s router routes its u_t' }),
    cell('combosChart', ['m'], combosChart, { kind: 'derived', detail: 'exact binomial coefficients (BigInt)' }),
    cell('segTable', ['segRuns', 'm'], segTable, { kind: 'engine', detail: 'weights counted in each model, routing from its forward trace' }),
    cell('segMap', ['segRuns', 'm'], segMap, { kind: 'engine', detail: 'trace[1].routing of the segmented model' }),
    cell('segLoad', ['segRuns', 'm'], segLoad, { kind: 'engine', detail: 'tokens per expert from each model\'s routing' }),

    // ---------------------------------------------------------- formula scope
    cell('scope', ['routings', 'captured', 'biasChoice', 'choice'], scope, { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'A trained router sends different kinds of characters to different experts; an untrained one sorts them too, by accident.',
    view: { cell: 'liftTrained', title: 'Trained router: how much more (red) or less (blue) often each expert is chosen, by kind of character', caption: 'Log2 lift P(expert | row) / P(expert) in the first MoE layer, over prose and arithmetic. The untrained router\'s map is in the first section.' },
    note: 'Runs the shipped trained model; the Weights switch below routes your text with random weights of the same shape.',
  },
  sections: [
    {
      id: 'specialise',
      title: 'What each expert does',
      prose: `Each row is a kind of character, each column one of the routed experts of the first MoE layer; a cell is the **lift** $P(\\text{expert} \\mid \\text{row}) / P(\\text{expert})$ on a log2 scale: red, the expert is chosen more often for that kind of character than overall; blue, less. The counts come from routing ${LIFT_CHARS} characters of prose and ${LIFT_CHARS} of arithmetic through the model.

Compare the trained router (the map at the top of this page) with an untrained one (below). An untrained router already sorts by the *current character* (its input $u_t$ is mostly that character's embedding), so raw "top characters per expert" would mislead; the lift against the same counts in a random model shows what training added.`,
      controls: ['seed'],
      views: [
        { cell: 'liftRandom', title: 'Untrained (random weights, same shape): the same counts', caption: 'Also far from flat: a random router still sorts characters, by their random embeddings. Look for the differences, e.g. the prose and arithmetic rows.' },
      ],
    },
    {
      id: 'moe-layer',
      title: 'A DeepSeekMoE layer',
      prose: `From its fourth layer on, DeepSeek-V3 replaces the feed-forward network with DeepSeekMoE ([DeepSeek-V3 §2.1.2](https://arxiv.org/abs/2412.19437)). For the FFN input $u_t$ of token $t$, $N_s$ **shared** experts always run and $K_r$ of $N_r$ **routed** experts run, each scaled by a gate value $g_{i,t}$:

$$h'_t = u_t + \\sum_{i=1}^{N_s} \\mathrm{FFN}^{(s)}_i(u_t) + \\sum_{i=1}^{N_r} g_{i,t}\\, \\mathrm{FFN}^{(r)}_i(u_t).$$

Every expert is a small SwiGLU FFN. DeepSeek-V3 has $N_s = ${V3.n_shared_experts}$, $N_r = ${V3.n_routed_experts}$, $K_r = ${V3.num_experts_per_tok}$ experts of width ${V3.moe_intermediate_size} (its config.json). The model here (the shipped nanoseek) has $d = ${BASE.hidden_size}$, one dense layer, then ${BASE.num_hidden_layers - BASE.first_k_dense_replace} MoE layers with $N_s = ${BASE.n_shared_experts}$ and $N_r$ routed experts of width ${BASE.moe_intermediate_size}; the figures show the first MoE layer. (In the code $u_t$ is the RMSNorm of the residual stream and the residual added back is the stream itself.)

The engine runs the prompt through the model with \`model.forward(tokens, { trace: true })\`. The lesson keeps the router logits $u_t^\\top e_i$ exactly as the engine computed them inside that pass, and calls the engine's router, \`route(logits, tokens, bias, settings)\`, on them again whenever a slider below changes a routing setting. Only the number of experts and the seed re-initialise the model.`,
      controls: ['weights', 'text', 'promptLength', 'experts'],
      views: [{ cell: 'layerStats', title: 'The MoE layer of the tiny model', caption: 'The last line is the check that routing again from the captured logits is the model\'s own routing.' }],
    },
    {
      id: 'scores',
      title: 'Affinities, top-k and gate weights',
      prose: `Each routed expert $i$ has a centroid $e_i$, a row of \`mlp.gate.weight\`. DeepSeek-V3 scores token $t$ against each with a sigmoid, keeps the $K_r$ best, and normalises the kept scores:

$$s_{i,t} = \\mathrm{Sigmoid}(u_t^\\top e_i),$$

$$g'_{i,t} = \\begin{cases} s_{i,t}, & s_{i,t} + b_i \\in \\mathrm{Topk}(\\{ s_{j,t} + b_j \\mid 1 \\le j \\le N_r \\}, K_r), \\\\ 0, & \\text{otherwise,} \\end{cases}$$

$$g_{i,t} = \\frac{g'_{i,t}}{\\sum_{j=1}^{N_r} g'_{j,t}}.$$

The released code then multiplies $g_{i,t}$ by \`routed_scaling_factor\` (${V3.routed_scaling_factor} in DeepSeek-V3's config.json), so each token's gate weights add up to that factor, not to 1. DeepSeek-V2 instead took a softmax over all experts, $s_{i,t} = \\mathrm{Softmax}_i(u_t^\\top e_i)$, and used the top-$K_r$ scores unnormalised (its config: \`norm_topk_prob\` ${V2.norm_topk_prob}, \`routed_scaling_factor\` ${V2.routed_scaling_factor}). A sigmoid scores each expert on its own; a softmax makes all $N_r$ compete for one unit of mass, so its scores shrink as $N_r$ grows.

Outlined cells are the chosen experts; hatched ones sit in a group the token may not use (next sections). Hover or focus a cell (arrow keys move) to read its number.`,
      controls: ['topk', 'routed_scaling_factor', 'normalise', 'scoring'],
      views: [
        { cell: 'scoresMap', title: 'Scores s (tokens x routed experts), chosen experts outlined', caption: 'The engine\'s Routing.scores. A chosen cell is not always the largest of its row: the bias and the group limit also decide.' },
        { cell: 'weightsMap', title: 'Gate weights g, and the shared expert', caption: 'Zero where an expert was not chosen. The last column is the shared expert: no gate, weight 1, every token.' },
        { cell: 'routerStats', title: 'The router in effect' },
      ],
      after: 'The weights come from the unbiased scores $s_{i,t}$: the bias of the next section changes *which* experts run, never how much each one counts.',
    },
    {
      id: 'bias',
      title: 'The bias chooses, it does not weigh',
      prose: `DeepSeek-V3 balances its experts without an auxiliary loss: each routed expert carries a bias $b_i$ (\`e_score_correction_bias\`) that is added to its score only to choose, $s_{i,t} + b_i$ in the Topk above. During training $b_i$ is lowered by $\\gamma$ when expert $i$ is overloaded and raised when it is underloaded (lesson 5 trains this). The tiny model's $b$ is not trained: the engine initialises it uniformly in $[-0.05, 0.05]$.

Pick an expert $j$ and shift its bias. A positive shift pulls tokens to it, a negative one pushes them away, and the gate weights of the chosen experts still come from the unbiased $s$.`,
      controls: ['useBias', 'expert', 'biasShift'],
      views: [
        { cell: 'choiceMap', title: 'Choice scores c = s + b, chosen experts outlined', caption: 'Routing.choiceScores: what the router ranks. Column j moves as a whole when you shift b_j.' },
        { cell: 'biasSweep', title: 'Tokens sent to expert j as its bias shifts', caption: 'Counted with route() on the same logits at 41 shifts. With the group limit, the bias also lifts its group\'s score and can keep the group (dashed).' },
        { cell: 'loadBars', title: 'Tokens per expert', caption: 'The outlined expert is j. Tokens it gains come from other experts: each token still runs exactly K_r routed experts.' },
        { cell: 'biasStats', title: 'Expert j' },
        { cell: 'biasBars', title: 'The correction biases training learned', caption: 'DeepSeek-V3\'s auxiliary-loss-free balancing nudges b_i after every step: up for experts that got too few tokens, down for too many. Untrained, every b_i is 0.' },
      ],
    },
    {
      id: 'groups',
      title: 'Group-limited routing, one token at a time',
      prose: `DeepSeek-V3's code (\`topk_method: noaux_tc\`) does not pick the top $K_r$ among all experts at once. It splits the $N_r$ experts into \`n_group\` equal groups, scores each group by the sum of its two largest $s_{j,t} + b_j$, keeps the \`topk_group\` best groups, and takes the top $K_r$ inside them only. DeepSeek-V2 (\`group_limited_greedy\`) scored a group by its largest softmax score. DeepSeek-V3 uses ${V3.n_group} groups and keeps ${V3.topk_group}.

The table goes through every expert for one token, by choice score: its group's score, whether the group was kept, its rank among the eligible experts, and whether it made the top $K_r$. An expert with a high score can lose because its group lost.`,
      controls: ['groupLimit', 'n_group', 'topk_group', 'token'],
      views: [
        { cell: 'groupStats', title: 'The chosen token' },
        { cell: 'explainTable', title: 'Why each expert was or was not chosen' },
      ],
      after: 'Kept groups, chosen experts and weights are route()\'s. The group scores and ranks in the table are worked out here from route()\'s choice scores; the stat above checks they keep the same groups route() kept, for every token.',
    },
    {
      id: 'nodes',
      title: 'Node-limited routing: fewer nodes per token',
      prose: `Why groups? In training, DeepSeek-V3's experts are spread over many GPUs, and a token's hidden state must travel to every node that hosts one of its experts (over InfiniBand between nodes, NVLink inside one). Node-limited routing caps that: each token is sent to at most $M$ nodes, chosen by the sum of the highest $K_r/M$ affinities on each node (DeepSeek-V3 §2.1.2; $M = ${V3.topk_group}$, so with $K_r = ${V3.num_experts_per_tok}$ the top ${V3.num_experts_per_tok / V3.topk_group}). With one group per node that is exactly the group limit above: \`n_group\` nodes, \`topk_group\` $= M$. The engine sums the top two whatever the sliders, as DeepSeek-V3's code does.

Below, each group is a node. The same scores are routed twice by \`route()\`: with the group limit and without it (one group). A message is one token sent to one node; the charts count them.`,
      views: [
        { cell: 'nodeMap', title: 'Chosen experts per node: group-limited, then unrestricted', caption: 'Left, each token uses at most topk_group nodes (hatched: nodes it may not use); right, the same scores without the limit. Every outlined cell is one message.' },
        { cell: 'nodeBars', title: 'Nodes per token' },
        { cell: 'nodeStats', title: 'Messages and what the limit costs' },
      ],
      after: 'The limit trades a little affinity (the chosen scores add up to slightly less than the unrestricted best) for a hard bound on each token\'s cross-node traffic, which lets communication overlap with computation. The sliders of the previous section (groups, kept groups, top-k) change this picture too.',
    },
    {
      id: 'segmentation',
      title: 'Fine-grained experts and shared-expert isolation',
      prose: `DeepSeekMoE ([Dai et al., 2024](https://arxiv.org/abs/2401.06066)) makes experts small. **Fine-grained segmentation** splits each of $N$ experts into $m$ experts of $1/m$ the intermediate width and activates $mK$ instead of $K$: the same weights and the same work per token, but far more ways to combine experts, $\\binom{mN}{mK}$ instead of $\\binom{N}{K}$. The paper's example: $N = 16$ and top-2 give $\\binom{16}{2} = 120$ combinations; $m = 4$ gives $\\binom{64}{8} = 4{,}426{,}165{,}368$.

Here the engine builds each $m$ as a model of its own: $16m$ experts of width $24/m$, top-$2m$, the V3 router without group limit, the same seed and prompt. The table counts each model's weights and its routing of the prompt.`,
      controls: ['m'],
      views: [
        { cell: 'combosChart', title: 'Expert combinations a token can use (log scale)', caption: 'k = 10^3, M = 10^6, G = 10^9, T = 10^12, P = 10^15, E = 10^18. Splitting alone (dashed) adds little; splitting and activating m times as many is what multiplies the combinations.' },
        { cell: 'segTable', title: 'Same weights, same work, more combinations' },
        { cell: 'segMap', title: 'Scores of the segmented model (tokens x experts), chosen outlined' },
        { cell: 'segLoad', title: 'How the routing spreads over the experts', caption: 'Experts sorted by how many tokens they got, load over the mean (1 = even). A short prompt leaves many fine experts idle.' },
      ],
      after: `**Shared-expert isolation**, DeepSeekMoE's second idea, sets $K_s$ experts apart that every token runs, to hold common knowledge so the routed experts need not each keep a copy of it. To keep the work constant, the routed side then activates $mK - K_s$ of $mN - K_s$. DeepSeek-V3 keeps ${V3.n_shared_experts} shared expert next to ${V3.n_routed_experts} routed, ${V3.num_experts_per_tok} per token: $\\binom{${V3.n_routed_experts}}{${V3.num_experts_per_tok}} \\approx ${sciTex(binomial(V3.n_routed_experts!, V3.num_experts_per_tok))}$ combinations, before the group limit narrows them.`,
    },
    {
      id: 'limits',
      title: 'What the tiny model can and cannot show',
      prose: `Every score, choice and weight on this page is the engine's, computed the way DeepSeek-V3's code routes. But the tiny model is **untrained**: its centroids $e_i$ are random, so which expert a token prefers means nothing, no expert has specialised, and its bias is random noise rather than the outcome of load balancing. In a trained model the experts specialise (the DeepSeekMoE paper measures less redundancy among fine-grained experts than among coarse ones) and the bias is adjusted until every expert gets its share of tokens; lesson 5 (load balancing) trains a small MoE to show that part. What carries over unchanged is the mechanism: how scores, bias, groups, top-k and normalisation turn router logits into the experts that run and their weights, and what the group limit and fine-grained experts cost and buy.`,
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'sum(w[1, :])',
    examples: [
      'sum(w[1, :])',
      'max(abs(c - s))',
      'sum(chosen, 2)\'',
      'sum(chosen, 1)',
      'max(abs(sigmoid(u * Wg\') - s))',
      'max(abs(logits - u * Wg\'))',
      'sum(w .* chosen) / sum(chosen)',
    ],
    descriptions: {
      s: 'scores s = sigmoid (or softmax) of the router logits, tokens x routed experts',
      c: 'choice scores s + b (= s without bias), tokens x experts',
      w: 'gate weights g x routed_scaling_factor, zero where not chosen, tokens x experts',
      chosen: '1 where the expert was chosen for the token, else 0',
      bias: 'the bias route() used (b with b_j shifted; zeros when off)',
      b0: 'the model\'s own e_score_correction_bias',
      logits: 'router logits u_t · e_i as the engine computed them, tokens x experts',
      u: 'the MoE layer\'s input u_t, tokens x d',
      Wg: 'the gate weight (rows e_i), experts x d',
      rsf: 'routed_scaling_factor',
      K: 'experts per token in effect',
    },
  },
};
