// Lesson 5: load balancing without an auxiliary loss. Three copies of a small MoE (the engine's
// playground: src/engine/playground/) train live in the page on the same seeded task, data and
// initial weights: no balancing, an auxiliary balance loss, and DeepSeek-V3's bias update. The
// views show each expert's load per step, MaxVio, the task loss, the biases, which expert owns
// which region of the input square, and the tokens a capacity factor drops. How training runs in
// a notebook of pure cells (a generator pulled once per animation frame) is in live.ts.
import type { BalanceOptions } from '$engine/playground';
import { cell, type Notebook } from '../_kit/types';
import { END_STEP, type Frame, type Run, type Shared, newClock, randomRoutingMaxVio, runOf, train } from './live';
import { biasChart, dropChart, formulaScope, lossChart, loadHeatmap, maxVioChart, ownershipHeatmap, perFrame, status, summaryTable } from './views';

// Each view remembers its last chart: between new Frames the page redraws nothing (views.ts).
const views = {
  status: perFrame(status, (f) => [f.goal, f.runTo, f.playing, f.pausedAt, f.done, f.speed, f.measured]),
  load: perFrame(loadHeatmap, (f) => [f.goal]),
  maxVio: perFrame(maxVioChart),
  loss: perFrame(lossChart),
  bias: perFrame(biasChart),
  ownership: perFrame(ownershipHeatmap),
  drop: perFrame(dropChart),
  summary: perFrame(summaryTable, (f) => [f.done]),
  scope: perFrame(formulaScope),
};

export const meta = {
  slug: 'load-balancing',
  title: 'Load balancing without an auxiliary loss',
  summary: 'Three small MoEs train live in the page on the same data: no balancing, an auxiliary balance loss, and DeepSeek-V3\'s bias update. Watch each expert\'s load, MaxVio, the loss, the biases and who owns which region.',
  order: 5,
};

/** Points per training batch (the playground's default), for the noise-floor simulation. */
const BATCH = 128;

const pow10 = (v: number) => {
  const x = 10 ** v;
  return x >= 0.01 ? String(Number(x.toPrecision(2))) : x.toExponential(1).replace('e-', 'e−');
};

export const notebook: Notebook = {
  inputs: [
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Picks the cluster layout, the initial weights, the feature map and every batch: the same seed gives the same runs everywhere.' },
    { kind: 'range', name: 'skew', label: 'Data skew (Zipf exponent)', min: 0, max: 2.5, step: 0.25, value: 1.5, help: 'Cluster k is drawn with probability proportional to (k + 1)^-skew; 0 makes every cluster equally likely.' },
    { kind: 'select', name: 'experts', label: 'Routed experts N_r', value: '8', options: [{ value: '4', label: '4 experts' }, { value: '8', label: '8 experts' }, { value: '12', label: '12 experts' }] },
    { kind: 'range', name: 'topk', label: 'Experts per token K_r', min: 1, max: 3, step: 1, value: 2, unit: 'experts', help: 'With 1 expert and weights normalised over the chosen, the gate weight is always 1: the task gives the router no gradient.' },
    { kind: 'range', name: 'steps', label: 'Train to step', min: 0, max: END_STEP, step: 10, value: 300, unit: 'steps', help: 'The runs train (animated) to this step and stop; lower it to go back to that step. The link holds it.' },
    { kind: 'toggle', name: 'playing', label: 'Play (keep training)', value: false, help: `On: the runs keep training to step ${END_STEP}. Off again: they pause where they are.` },
    { kind: 'range', name: 'speed', label: 'Speed', min: 30, max: 600, step: 30, value: 120, unit: 'steps/s', help: 'Training steps per second for each run while animating (if the machine keeps up: the runs train in a Web Worker).' },
    { kind: 'range', name: 'log_alpha', label: 'Auxiliary-loss weight α', min: -3, max: 0, step: 0.25, value: -1, format: pow10, help: 'Weight of the batch-wise balance loss in the auxiliary-loss run (the slider moves log10 α).' },
    { kind: 'range', name: 'log_gamma', label: 'Bias update speed γ', min: -4, max: -1, step: 0.25, value: -2, format: pow10, help: 'How far each bias moves after each step in the bias-update run (the slider moves log10 γ). DeepSeek-V3 used 0.001.' },
    { kind: 'select', name: 'seq_alpha', label: 'Sequence-wise loss α (bias run)', value: '0', options: [{ value: '0', label: 'off' }, { value: '0.0001', label: '0.0001 (DeepSeek-V3)' }, { value: '0.01', label: '0.01' }, { value: '0.1', label: '0.1' }], help: 'The complementary sequence-wise balance loss, added to the bias-update run as in DeepSeek-V3 (a "sequence" is 16 consecutive points of the batch).' },
    { kind: 'select', name: 'capacity', label: 'Capacity factor (token dropping)', value: 'none', options: [{ value: 'none', label: 'none: drop nothing (DeepSeek-V3)' }, { value: '1', label: '1.0' }, { value: '1.25', label: '1.25' }, { value: '2', label: '2.0' }], help: 'Each expert runs at most ceil(factor · T · K / E) tokens per batch; the rest are dropped for it. Applies to all three runs.' },
  ],
  cells: [
    cell('shared', ['seed', 'skew', 'experts', 'topk', 'capacity'], (seed: number, skew: number, experts: string, topk: number, capacity: string): Shared => ({
      seed, skew, experts: Number(experts), topk, capacity: capacity === 'none' ? null : Number(capacity),
    }), { kind: 'derived', detail: 'the settings the three runs share' }),
    cell('runNone', ['shared'], (shared: Shared): Run => runOf('none', shared), { kind: 'engine', detail: 'playground: task loss only' }),
    cell('runAux', ['shared', 'log_alpha'], (shared: Shared, logAlpha: number): Run => runOf('aux', shared, { auxAlpha: 10 ** logAlpha }), { kind: 'engine', detail: 'playground: task loss + α Σ f_i P_i' }),
    cell('runBias', ['shared', 'log_gamma', 'seq_alpha'], (shared: Shared, logGamma: number, seqAlpha: string): Run => {
      const balance: Partial<BalanceOptions> = { biasGamma: 10 ** logGamma, seqAlpha: Number(seqAlpha) };
      return runOf('bias', shared, balance);
    }, { kind: 'engine', detail: 'playground: bias update (+ sequence-wise loss when on)' }),
    // Where play was paused, kept for this page (a cell with no inputs runs once).
    cell('clock', [], () => newClock(), { kind: 'derived', detail: 'play/pause state of this page' }),
    // Trains the three runs toward the step (animated in a page: a generator pulled once per frame).
    cell('training', ['runNone', 'runAux', 'runBias', 'clock', 'steps', 'playing', 'speed'],
      (none: Run, aux: Run, bias: Run, clock: ReturnType<typeof newClock>, steps: number, playing: boolean, speed: number) =>
        train([none, aux, bias], clock, steps, playing, speed),
      { kind: 'engine', detail: 'three playgrounds trained in lockstep, same seed and batches' }),
    cell('noise', ['experts', 'topk'], (experts: string, topk: number): number => randomRoutingMaxVio(Number(experts), topk, BATCH, 7),
      { kind: 'derived', detail: 'simulated: batches routed uniformly at random' }),
    cell('statusView', ['training'], (f: Frame) => views.status(f), { kind: 'engine', detail: 'the runs\' step counters and the task\'s cluster frequencies' }),
    cell('loadView', ['training'], (f: Frame) => views.load(f), { kind: 'engine', detail: 'tokens routed to each expert, per step, as the engine\'s router chose' }),
    cell('maxVioView', ['training', 'noise'], (f: Frame, noise: number) => views.maxVio(f, noise), { kind: 'engine', detail: 'MaxVio of each step\'s batch; the dashed line is simulated' }),
    cell('lossView', ['training'], (f: Frame) => views.loss(f), { kind: 'engine', detail: 'task loss of each step\'s batch, before the update' }),
    cell('biasView', ['training'], (f: Frame) => views.bias(f), { kind: 'engine', detail: 'e_score_correction_bias after each step' }),
    cell('ownershipView', ['training'], (f: Frame) => views.ownership(f), { kind: 'engine', detail: 'the router\'s first choice on a 24 x 24 grid (biased scores), cluster centres from the task' }),
    cell('dropView', ['training', 'capacity'], (f: Frame, capacity: string) => views.drop(f, capacity === 'none' ? null : Number(capacity)), { kind: 'engine', detail: 'pairs the capacity dropped, counted by the engine' }),
    cell('summaryView', ['training'], (f: Frame) => views.summary(f), { kind: 'engine', detail: 'evaluate(): 1,024 fixed points, no update' }),
    cell('scope', ['training'], (f: Frame) => views.scope(f), { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'Without balancing a few experts take most tokens; an auxiliary loss or DeepSeek-V3\'s bias update spreads them out.',
    view: { cell: 'loadView', title: 'Expert load per step: each run is a block of rows', caption: 'One row per expert, time to the right. Move Train to step, or press Play to train the three runs live.' },
    controls: ['steps', 'playing'],
    note: 'A small MoE trained live in the page on a toy task (not the language model): three runs, same data, different balancing.',
  },
  sections: [
    {
      id: 'setup',
      title: 'Three routers, one task, trained in this page',
      prose: `A mixture-of-experts layer sends each token to $K_r$ of its $N_r$ routed experts. DeepSeek-V3 scores expert $i$ for token $t$ with a sigmoid affinity $s_{i,t} = \\mathrm{Sigmoid}(\\mathbf{u}_t^{\\top} \\mathbf{e}_i)$ and keeps the $K_r$ highest. Nothing in that rule spreads tokens evenly. An expert that gets tokens gets gradient, gets better at them and gets chosen more; when experts sit on different devices, every step waits for the busiest one, and the idle experts are wasted parameters.

This page trains three copies of a small MoE **live, in your browser**, with the engine's router and hand-written gradients (\`src/engine/playground/\`). The task: 2-D points drawn from six Gaussian clusters, one class per cluster. The clusters' frequencies follow a Zipf law (the skew below), so a router that follows the data sends most tokens to the few experts that own the frequent clusters. Each expert is a SwiGLU FFN of width 8 on the point plus 8 fixed random Fourier features. The router uses sigmoid scores, top-$K_r$, and gate weights normalised over the chosen experts. Each step is one Adam update on a batch of $T = 128$ points.

The three runs share the seed, the data (step $n$ sees the same batch in every run) and the initial weights. They differ only in how they balance:

- **no balancing**: the task loss alone;
- **auxiliary loss**: the task loss plus $\\alpha \\sum_i f_i P_i$ on each batch;
- **bias update (V3)**: no extra loss. A per-expert bias $b_i$, nudged after every step, changes which experts are chosen.

The runs train when the page opens, up to *Train to step*. A setting restarts only the runs it affects. The same settings always end on the same picture, so a link reproduces what you see. The slider is also the step and reset buttons: an arrow key trains 10 more steps, Home goes back to step 0. *Play* keeps training to step ${END_STEP}. Switching it off pauses the runs, but a paused step is not in the link.`,
      controls: ['seed', 'skew', 'experts', 'topk', 'steps', 'playing', 'speed'],
      views: [
        { cell: 'statusView', title: 'Training' },
        { cell: 'loadView', title: 'Expert load per step: each run is a block of rows', caption: 'One row per expert, time to the right. Evenly spread, every row would have the same colour (T·K/E tokens). Without balancing a few rows stay bright; both balancing runs even out, the bias run fastest.' },
      ],
      after: 'The imbalance is there from the first step, because the router follows the skewed data. With no balancing it persists, and over these steps it usually grows a little. This is the rich-get-richer effect, not the runaway collapse onto one expert that large models can show.',
    },
    {
      id: 'maxvio',
      title: 'Measuring balance: MaxVio',
      prose: `Count the tokens each expert receives in a batch: $\\mathrm{Load}_i$. Its mean over the experts is $\\overline{\\mathrm{Load}} = T K_r / N_r$. The auxiliary-loss-free paper (Wang et al., 2024, [arXiv:2408.15664](https://arxiv.org/abs/2408.15664)) measures imbalance as the maximal violation:
$$\\mathrm{MaxVio} = \\frac{\\max_i \\mathrm{Load}_i - \\overline{\\mathrm{Load}}}{\\overline{\\mathrm{Load}}}.$$
A MaxVio of 0 is a perfectly even load; 1 means the busiest expert gets twice its share and sets the pace of the step.

One batch's MaxVio never reaches 0. Even a router that picks experts uniformly at random leaves some experts a few tokens above the mean. The dashed line is that floor, simulated for this $T$, $K_r$ and $N_r$.`,
      views: [
        { cell: 'maxVioView', title: 'MaxVio per step, one line per run', caption: 'The dashed line is the mean MaxVio of batches routed uniformly at random: a perfectly balanced router\'s batches scatter around it. Both balancing runs fall toward it, the bias run (γ = 0.01) usually within about 50 steps and the auxiliary loss (α = 0.1) within about 100 to 200, then hover a little above it.' },
      ],
    },
    {
      id: 'aux',
      title: 'The auxiliary balance loss',
      prose: `The usual fix adds a loss that is smallest when the load is even. Switch Transformer ([Fedus et al., 2021](https://arxiv.org/abs/2101.03961)) and GShard ([Lepikhin et al., 2021](https://arxiv.org/abs/2006.16668)) train with one. DeepSeekMoE and DeepSeek-V2 use an expert-level version, and DeepSeek-V3 writes it (eqs. 17–20) as
$$\\mathcal{L}_{\\mathrm{Bal}} = \\alpha \\sum_{i=1}^{N_r} f_i P_i, \\qquad f_i = \\frac{N_r}{K_r T} \\sum_{t=1}^{T} \\mathbb{1}\\big(s_{i,t} \\in \\mathrm{Topk}(\\{s_{j,t}\\}, K_r)\\big), \\qquad P_i = \\frac{1}{T} \\sum_{t=1}^{T} s'_{i,t},$$
with $s'_{i,t} = s_{i,t} / \\sum_j s_{j,t}$. $f_i$ counts expert $i$'s tokens (1 when it has exactly its share) and carries no gradient. The gradient flows through $P_i$: every token's affinity to an overloaded expert is pushed down. With an even load the loss equals $\\alpha$. This engine sums over the whole batch, so this is a *batch-wise* auxiliary loss.

Why look for something else? DeepSeek-V3's report says that "too large an auxiliary loss will impair the model performance" (§2.1.2, citing Wang et al., 2024). The balance gradient trains the same router weights the task trains, and pulls them toward evenness rather than toward what the task needs. In its ablation (§4.5.2), replacing the auxiliary losses of two baseline MoE models (15.7B parameters trained on 1.33T tokens, 228.7B on 578B tokens) with the bias update improved most benchmarks. These are the paper's measurements, on language models at that scale.`,
      controls: ['log_alpha'],
      views: [
        { cell: 'lossView', title: 'Task loss per step, one line per run', caption: 'The cross-entropy of the task only (the balance loss is not included). The three runs reach about the same loss.' },
      ],
      after: 'This toy does **not** show that cost: every run reaches about the same loss here, and about the same accuracy (97 to 99% on the evaluation set, depending on the seed; see the table below). The task is easy for any routing. The paper itself (§4.5.3) found that a batch-wise auxiliary loss, like this one, matches the auxiliary-loss-free method when both reach similar batch balance: validation losses of 2.253 for both, against 2.258 for a sequence-wise loss, on its 1B MoE. What this page shows is the dynamics: α sets how fast the balance comes. At 0.01 the load barely evens out in 300 steps; at 1 it evens out about as fast as with the bias, still at the same accuracy.',
    },
    {
      id: 'bias',
      title: 'Auxiliary-loss-free balancing: a bias that only chooses',
      prose: `DeepSeek-V3 (§2.1.2) adds a bias $b_i$ per expert to the affinity **only to choose** the top $K_r$:
$$g'_{i,t} = \\begin{cases} s_{i,t}, & s_{i,t} + b_i \\in \\mathrm{Topk}(\\{s_{j,t} + b_j \\mid 1 \\leqslant j \\leqslant N_r\\}, K_r), \\\\ 0, & \\text{otherwise.} \\end{cases}$$
"Note that the bias term is only used for routing": the gate value that multiplies the expert's output still comes from the original $s_{i,t}$. The bias gets no gradient. The paper instead monitors the expert load on the whole batch of each step, and "at the end of each step, we will decrease the bias term by $\\gamma$ if its corresponding expert is overloaded, and increase it by $\\gamma$ if its corresponding expert is underloaded":
$$b_i \\leftarrow b_i + \\gamma \\,\\mathrm{sign}\\big(\\overline{\\mathrm{Load}} - \\mathrm{Load}_i\\big).$$
DeepSeek-V3 set the bias update speed $\\gamma = 0.001$ for its first 14.3T tokens and 0 for the last 500B (§4.2). This page starts at $\\gamma = 0.01$: the toy runs only hundreds of steps. The engine stores the bias as \`mlp.gate.e_score_correction_bias\`, the name it has in DeepSeek-V3's checkpoints.`,
      controls: ['log_gamma'],
      views: [
        { cell: 'biasView', title: 'The bias run\'s b_i after each step', caption: 'Overloaded experts\' biases go down, underloaded ones go up, by γ a step. The biases never settle exactly: each step\'s sign follows that batch\'s load, so they jitter around values where the loads cross the mean.' },
      ],
      after: 'γ trades speed for steadiness. Every step moves every bias by a full γ, whichever way that batch\'s load points. At 0.01 the load evens out within about 50 steps and then jitters. At 0.003 it takes one or two hundred steps and settles closer to the dashed line. At DeepSeek-V3\'s 0.001 it takes several hundred: play to step 2,000 to see it. At 0.03 and above, each move of γ is large against the gaps between sigmoid scores, the load flips between experts from one step to the next, and MaxVio stays well above the line. At 0.0001 a bias can move at most 0.2 in 2,000 steps, and the load is still uneven at the end. The other two runs do not move when γ does: only the bias run restarts.',
    },
    {
      id: 'sequence',
      title: 'The complementary sequence-wise loss',
      prose: `DeepSeek-V3 does not drop the balance loss entirely. It keeps $\\mathcal{L}_{\\mathrm{Bal}}$ (eqs. 17–20 above) computed **per sequence**, with $T$ the tokens of one sequence, and a tiny weight, $\\alpha = 0.0001$, "to avoid extreme imbalance within any single sequence" (§4.2). Batch-wise balance (the bias update) allows one sequence to lean on a few experts as long as the batch evens out. The sequence-wise loss keeps that lean from becoming extreme.

The selector adds this loss to the bias run, as in DeepSeek-V3. A "sequence" here is 16 consecutive points of a batch. Those points are drawn independently, so this toy's sequences have no topic or domain of their own. The sequence-wise loss therefore acts as a noisier batch-wise loss. The paper's argument for batch-wise balance is that per-sequence balance would stop experts from specialising by domain (§4.5.3), and that needs sequences that differ, which this task does not have.`,
      controls: ['seq_alpha'],
      views: [
        { cell: 'summaryView', title: 'Where the three runs end up', caption: 'MaxVio on a fixed evaluation set is steadier than a batch\'s (compare the MaxVio chart). Balance changes a lot between runs; accuracy and loss hardly change. With the sequence-wise loss on, the bias run\'s balance loss is that loss.' },
      ],
    },
    {
      id: 'ownership',
      title: 'Which expert owns which region',
      prose: 'For every cell of a 24 × 24 grid over the input square, the router\'s **first** choice: the expert with the highest $s_{i,t} + b_i$. It uses the bias, because the bias decides the choice. Squares outline the centres of the six data clusters. Without balancing, the frequent clusters, and so most tokens, fall to a few experts. Balancing moves the borders: an overloaded expert\'s region shrinks until its share of the *data* (not of the square) is fair.',
      views: [
        { cell: 'ownershipView', title: 'First-choice expert over the input square: no balancing | auxiliary loss | bias update', caption: 'Colour is the expert index. Much of the square holds no data; what matters is who owns the outlined cluster centres and the points around them.' },
      ],
    },
    {
      id: 'dropping',
      title: 'Dropping tokens: the capacity factor',
      prose: `Before balance was good enough, MoE training capped each expert at a capacity $C = \\lceil \\mathrm{cf} \\cdot T K_r / N_r \\rceil$ tokens per batch (Switch Transformer, GShard). DeepSeek-V2 dropped, during training, the lowest-affinity tokens of each overloaded device. A token routed to a full expert is dropped for that expert: it skips that expert's computation. Here the engine drops, for each full expert, the tokens that come later in the batch, and their other experts still run. DeepSeek-V3 drops none: "due to the effective load balancing strategy, DeepSeek-V3 keeps a good load balance during its full training. Therefore, DeepSeek-V3 does not drop any tokens during training", and none in inference either (§2.1.2).

Pick a capacity factor: it applies to all three runs. The unbalanced run drops the most, step after step. Once the balancing runs even out they drop far fewer, and at 2.0 none at all.`,
      controls: ['capacity'],
      views: [
        { cell: 'dropView', title: '(token, expert) pairs dropped per step', caption: 'The dashed line is every routed pair of a step (T·K). With no capacity, the DeepSeek-V3 setting, no run drops anything: the lines then show what a capacity factor of 1.0 would have dropped from the same routing.' },
      ],
    },
    {
      id: 'limits',
      title: 'What this toy can and cannot show',
      prose: `- **Balance: yes.** The three runs see identical data and start from identical weights, so the differences in load, MaxVio and biases come from the balancing alone.
- **Quality: no difference here.** All three reach about the same accuracy, 97 to 99% depending on the seed. The paper's finding that the auxiliary loss costs quality comes from language models at scale. Here the task is easy, and the auxiliary loss is batch-wise, the variant the paper found as good as the bias.
- **Collapse: mild.** The imbalance comes from skewed data and persists. It does not run away to one expert within these steps.
- **Top-1 routing** (*Experts per token* = 1): with weights normalised over the chosen, the single gate weight is always 1. The task loss then gives the router no gradient at all. The router never learns from the task, and only the auxiliary loss (or the bias) moves its choices.
- **Scale:** $\\gamma$ is 10× DeepSeek-V3's, for steps that are few and batches of 128 points. V3 routes each token to 8 of 256 experts, restricted to at most 4 nodes.`,
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'max(load_bias[end, :]) / mean(load_bias[end, :]) - 1',
    examples: [
      'max(load_bias[end, :]) / mean(load_bias[end, :]) - 1',
      'maxvio_bias[end]',
      'mean(maxvio_none[end-49:end]) / mean(maxvio_bias[end-49:end])',
      'mean(load_none, 1)',
      'sum(load_aux[end, :]) == T * K',
      'mean(loss_aux[end-49:end]) - mean(loss_bias[end-49:end])',
      'bias',
    ],
    descriptions: {
      load_none: 'tokens routed to each expert, steps x experts (no balancing)',
      load_aux: 'tokens routed to each expert, steps x experts (auxiliary loss)',
      load_bias: 'tokens routed to each expert, steps x experts (bias update)',
      maxvio_none: 'MaxVio of each step\'s batch (no balancing)',
      maxvio_aux: 'MaxVio of each step\'s batch (auxiliary loss)',
      maxvio_bias: 'MaxVio of each step\'s batch (bias update)',
      loss_none: 'task loss of each step (no balancing)',
      loss_aux: 'task loss of each step (auxiliary loss)',
      loss_bias: 'task loss of each step (bias update)',
      dropped_none: '(token, expert) pairs dropped each step (no balancing)',
      dropped_aux: '(token, expert) pairs dropped each step (auxiliary loss)',
      dropped_bias: '(token, expert) pairs dropped each step (bias update)',
      biases: 'the bias run\'s b_i after each step, steps x experts',
      bias: 'the bias run\'s b_i now',
      T: 'points per batch',
      K: 'experts per token K_r',
      E: 'routed experts N_r',
    },
  },
};
