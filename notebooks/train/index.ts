// Lesson: train nanoseek in the browser and watch it learn. The settings (inputs, in the URL) pick
// a run; the run trains in Web Workers (worker.ts, helper.ts) with the engine's trainer
// (src/engine/train), and the page draws what the workers report (run.ts keeps it, live.ts streams each figure's
// value, views.ts makes chart data). The controls that are actions, not state (start, pause,
// step once, reset, download, load) are in Panel.svelte.
import type { HeatmapData } from '$components/charts/types';
import { cell, type Notebook } from '../_kit/types';
import { chooseSecond, type LiveFrame, type Runs, runsFor, stream } from './live';
import Panel from './Panel.svelte';
import Samples from './Samples.svelte';
import type { RunView } from './run';
import { type ShippedCurve, shippedCurve } from './shipped-curve';
import { ARITH_WINDOWS, type Balancing, BIAS_LOAD_DECAY, type CorpusMix, EVAL_SEQ, LESSON_DEFAULTS, settingsFrom, GAMMA_FALL_FROM, GAMMA_FALL_TO, MIN_LR_RATIO, type RunSettings, SAMPLE_PROMPT, SCHEDULE_CHARS, VAL_WINDOWS, WARMUP_STEPS, SAMPLE_TEMPERATURE, SEQ_LEN, SIZES } from './settings';
import { biasChart, bpcChart, compareTable, gammaChart, liftChart, liftHeatmap, loadHeatmap, lrChart, maxVioChart, mtpChart, runStats, tokensPerStepChart } from './views';
import { maxVio } from '$engine/train/eval';

export const meta = {
  slug: 'train',
  title: 'Train nanoseek in your browser',
  summary: 'Train a DeepSeek-V3-shaped model on children\'s stories in this page and watch it learn: bits per character fall, samples turn into words, the router balances and specialises, and the MTP module\'s drafts start to be accepted.',
  order: 8,
};

const pow10 = (v: number) => {
  const x = 10 ** v;
  return x >= 0.01 ? String(Number(x.toPrecision(2))) : x.toExponential(1).replace('e-', 'e−');
};

/** A view of one run, recomputed only when that run's snapshot changes (when and how often: live.ts stream). */
function ofRun<T>(f: (r: RunView) => T, which: 'a' | 'b' = 'a'): (frame: LiveFrame) => T | null {
  let last: RunView | null = null;
  let value: T | null = null;
  return (frame) => {
    const r = frame.views[which];
    if (!r) return null;
    if (r !== last) { value = f(r); last = r; }
    return value;
  };
}

/** The panel's frame: the same object until a run's view changes (a new one re-renders the panel). */
function panelView(): (frame: LiveFrame) => LiveFrame {
  let last: LiveFrame | null = null;
  return (frame) => {
    if (!last || last.runs !== frame.runs || last.views.a !== frame.views.a || last.views.b !== frame.views.b) last = frame;
    return last;
  };
}

/** The stats view: its run's counters and the settings as the inputs are now. */
function statsMemo() {
  let last: { r: RunView; s: RunSettings; value: ReturnType<typeof runStats> } | null = null;
  return (frame: LiveFrame, s: RunSettings) => {
    const r = frame.views.a;
    if (!last || last.r !== r || last.s !== s) last = { r, s, value: runStats(r, s) };
    return last.value;
  };
}

/** A run view that also draws the shipped model's curve (memo on both). */
function withCurve<T>(f: (r: RunView, c: ShippedCurve | null) => T) {
  let curve: ShippedCurve | null = null;
  let inner = ofRun((r) => f(r, curve), 'a');
  return (frame: LiveFrame, c: ShippedCurve | null) => {
    if (c !== curve) { curve = c; inner = ofRun((r) => f(r, curve), 'a'); }
    return inner(frame);
  };
}

const views = {
  bpc: withCurve(bpcChart),
  stats: statsMemo(),
  samples: ofRun((r) => ({ prompt: SAMPLE_PROMPT, temperature: SAMPLE_TEMPERATURE, samples: r.history.samples }), 'a'),
  load: ofRun(loadHeatmap, 'a'),
  maxVio: ofRun(maxVioChart, 'a'),
  bias: ofRun(biasChart, 'a'),
  liftMap: ofRun(liftHeatmap, 'a'),
  lift: ofRun(liftChart, 'a'),
  mtp: withCurve(mtpChart),
  tps: ofRun(tokensPerStepChart, 'a'),
  loadA: ofRun(loadHeatmap, 'a'),
  loadB: ofRun(loadHeatmap, 'b'),
  scope: ofRun((r) => ({
    chars: r.history.evals.map((e) => e.chars),
    val_bpc: r.history.evals.map((e) => e.valBpc),
    greedy: r.history.evals.map((e) => e.greedy ?? 0),
    sampled: r.history.evals.map((e) => e.sampled ?? 0),
    train_bpc: r.history.steps.map((s) => s.bpc),
    maxvio: r.history.steps.map((s) => (s.load[0] ? maxVio(s.load[0]) : 0)),
    maxvio_heldout: r.history.evals.map((e) => Math.max(0, ...e.maxVio)),
    step: r.step,
  }), 'a'),
};

let compareMemo: { a: RunView; b: RunView | null; other: Balancing; value: ReturnType<typeof compareTable> } | null = null;
function compareView(frame: LiveFrame, other: Balancing) {
  const { a, b } = frame.views;
  if (!compareMemo || compareMemo.a !== a || compareMemo.b !== b || compareMemo.other !== other) compareMemo = { a, b, other, value: compareTable(a, b, other) };
  return compareMemo.value;
}

/** The second run's load; without one, the same grid hatched (the figure keeps its kind, so it never re-mounts). */
let offMemo: { a: RunView; value: HeatmapData } | null = null;
function loadBView(frame: LiveFrame): HeatmapData {
  const b = views.loadB(frame);
  if (b) return b;
  const a = frame.views.a;
  if (offMemo?.a.settings !== a.settings) {
    const grid = loadHeatmap({ ...a, history: { ...a.history, steps: [] } });
    offMemo = { a, value: { ...grid, dimmed: { cells: grid.dimmed?.cells ?? [], label: 'no second run: turn on "Train a second run" above' } } };
  }
  return offMemo.value;
}

export const notebook: Notebook = {
  inputs: [
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: LESSON_DEFAULTS.seed, help: 'Picks the initial weights and the order of the training rows: the same seed and settings give the same run.' },
    { kind: 'select', name: 'size', label: 'Model size', value: SIZES[0].value, options: SIZES.map((s) => ({ value: s.value, label: s.label })) },
    { kind: 'range', name: 'log_lr', label: 'Peak learning rate', min: -3.5, max: -1.5, step: 0.25, value: LESSON_DEFAULTS.log_lr, format: pow10, help: `AdamW's peak learning rate (the slider moves log10 of it): ${WARMUP_STEPS} warm-up steps, then a cosine to ${MIN_LR_RATIO * 100}% at ${SCHEDULE_CHARS / 1e6}M characters.` },
    { kind: 'range', name: 'batch', label: 'Batch', min: 2, max: 32, step: 1, value: LESSON_DEFAULTS.batch, log2: true, unit: 'rows', help: `Rows of ${SEQ_LEN} characters per step. Small batches learn faster per character early on.` },
    { kind: 'select', name: 'corpus', label: 'Corpus', value: LESSON_DEFAULTS.corpus, options: [{ value: 'mix', label: 'stories + arithmetic (17%)' }, { value: 'stories', label: 'stories only' }], help: 'Four children\'s books; the mix adds lines like 38+61=99 between passages.' },
    { kind: 'select', name: 'balancing', label: 'Load balancing', value: LESSON_DEFAULTS.balancing, options: [{ value: 'bias', label: 'bias (DeepSeek-V3)' }, { value: 'aux', label: 'auxiliary loss' }, { value: 'none', label: 'none' }] },
    { kind: 'range', name: 'log_gamma', label: 'Bias update speed γ', min: -4, max: -1, step: 0.5, value: LESSON_DEFAULTS.log_gamma, format: pow10, help: 'How far each routing bias moves per step with bias balancing, for the first 150k characters (the slider moves log10 γ; then it falls, below). DeepSeek-V3 used 0.001 over far more steps than a few minutes here take; with 0.001 from the start, the load summed over 50 batches took several times as many steps to even out here as with 0.01 (measured before the update read an averaged load).' },
    { kind: 'range', name: 'log_gamma_end', label: 'γ falls to', min: -5, max: -1, step: 0.5, value: LESSON_DEFAULTS.log_gamma_end, format: pow10, help: `γ from ${GAMMA_FALL_TO / 1e6}M characters on (the slider moves its log10): from ${GAMMA_FALL_FROM / 1000}k characters, γ falls by the same factor per character to this value at ${GAMMA_FALL_TO / 1e6}M, and stays there. At or above the starting γ, γ stays constant. The smaller it is, the less the biases jitter late in the run, and the more slowly they follow the router.` },
    { kind: 'range', name: 'log_alpha', label: 'Auxiliary-loss weight α', min: -4, max: -1, step: 0.5, value: LESSON_DEFAULTS.log_alpha, format: pow10, help: 'Weight of the sequence-wise balance loss with auxiliary-loss balancing (the slider moves log10 α).' },
    { kind: 'toggle', name: 'mtp', label: 'Multi-token prediction (one MTP module)', value: LESSON_DEFAULTS.mtp },
    { kind: 'range', name: 'mtp_lambda', label: 'MTP loss weight λ', min: 0.05, max: 1, step: 0.05, value: LESSON_DEFAULTS.mtp_lambda },
    { kind: 'toggle', name: 'compare', label: 'Train a second run with other balancing', value: false, help: 'Same seed, data order and initial weights; only the balancing differs. The two runs share the cores (one thread each).' },
    { kind: 'select', name: 'compare_balancing', label: 'Second run\'s balancing', value: 'none', options: [{ value: 'none', label: 'none' }, { value: 'aux', label: 'auxiliary loss' }, { value: 'bias', label: 'bias (DeepSeek-V3)' }] },
  ],
  cells: [
    cell('settings', ['seed', 'size', 'log_lr', 'batch', 'corpus', 'balancing', 'log_gamma', 'log_gamma_end', 'log_alpha', 'mtp', 'mtp_lambda'],
      (seed: number, size: string, log_lr: number, batch: number, corpus: CorpusMix, balancing: Balancing, log_gamma: number, log_gamma_end: number, log_alpha: number, mtp: boolean, mtp_lambda: number): RunSettings =>
        settingsFrom({ seed, size, log_lr, batch, corpus, balancing, log_gamma, log_gamma_end, log_alpha, mtp, mtp_lambda }), { kind: 'derived', detail: 'the run\'s settings' }),
    cell('runs', ['settings', 'compare'], (s: RunSettings, compare: boolean): Runs => runsFor(s, compare),
      { kind: 'engine', detail: 'trainer workers running src/engine/train (rowsGradient, optimizerStep, trainStep)' }),
    // Run B is chosen here, not in `runs`: every figure reads `runs`, and the second run's balancing
    // moving (with no second run, or only B changing) need not restart them all (live.ts Runs).
    cell('secondRun', ['runs', 'compare_balancing'], (runs: Runs, other: Balancing) => chooseSecond(runs, other)?.label ?? 'no second run',
      { kind: 'engine', detail: 'run B: a trainer worker with the other balancing, when comparing' }),
    // Each figure's cell streams its own value (live.ts): it recomputes, on its turn and while on
    // screen, when a run reports something, and yields only a changed value.
    cell('panel', ['runs'], (runs: Runs) => stream(runs, panelView()), { kind: 'engine', detail: 'the run\'s step counter and status' }),
    cell('statsView', ['runs', 'settings'], (runs: Runs, s: RunSettings) => stream(runs, (f) => views.stats(f, s), { cell: 'statsView' }), { kind: 'derived', detail: 'the settings and the last evaluation' }),
    cell('shippedCurve', [], () => shippedCurve(), { kind: 'engine', detail: 'the shipped model\'s training log (static/models/)' }),
    cell('bpcView', ['runs', 'shippedCurve'], (runs: Runs, c: ShippedCurve | null) => stream(runs, (f) => views.bpc(f, c), { cell: 'bpcView' }), { kind: 'engine', detail: `training batches' main loss / ln 2; held-out: evaluateWindows on ${VAL_WINDOWS} fixed windows of ${EVAL_SEQ} characters; dashed: reference figures (the shipped model's training log; PyTorch twin, anchors README)` }),
    cell('samplesView', ['runs'], (runs: Runs) => stream(runs, (f) => views.samples(f), { cell: 'samplesView', every: 3, phase: 0 }), { kind: 'engine', detail: 'generate() with the run\'s weights every 200 steps' }),
    cell('loadView', ['runs'], (runs: Runs) => stream(runs, (f) => views.load(f), { cell: 'loadView', every: 3, phase: 0 }), { kind: 'engine', detail: 'tokens per routed expert on each training batch, as the engine\'s router chose' }),
    cell('maxVioView', ['runs'], (runs: Runs) => stream(runs, (f) => views.maxVio(f), { cell: 'maxVioView', every: 3, phase: 1 }), { kind: 'engine', detail: 'MaxVio on the held-out windows (evaluateWindows loads, prose and arithmetic weighted by the corpus\'s arithmetic share) and of each training batch; dashed: reference figures' }),
    cell('biasView', ['runs'], (runs: Runs) => stream(runs, (f) => views.bias(f), { cell: 'biasView', every: 3, phase: 1 }), { kind: 'engine', detail: 'e_score_correction_bias after each step' }),
    cell('liftMapView', ['runs'], (runs: Runs) => stream(runs, (f) => views.liftMap(f), { cell: 'liftMapView', every: 3, phase: 2 }), { kind: 'engine', detail: `top-k slot shares on ${ARITH_WINDOWS} windows of held-out arithmetic over those on the ${ARITH_WINDOWS} and ${VAL_WINDOWS} windows of held-out prose together` }),
    cell('liftView', ['runs'], (runs: Runs) => stream(runs, (f) => views.lift(f), { cell: 'liftView', every: 3, phase: 2 }), { kind: 'engine', detail: 'the largest lift of each MoE layer at each evaluation; dashed: the same model untrained' }),
    cell('mtpView', ['runs', 'shippedCurve'], (runs: Runs, c: ShippedCurve | null) => stream(runs, (f) => views.mtp(f, c), { cell: 'mtpView', every: 3, phase: 2 }), { kind: 'engine', detail: 'evaluateWindows on the held-out stories; dashed: reference figures (PyTorch twin)' }),
    cell('tpsView', ['runs'], (runs: Runs) => stream(runs, (f) => views.tps(f), { cell: 'tpsView', every: 3, phase: 1 }), { kind: 'derived', detail: '1 + acceptance of the one MTP draft per step; dashed: DeepSeek-V3 report §5.4.3' }),
    cell('compareView', ['runs', 'compare_balancing'], (runs: Runs, other: Balancing) => stream(runs, (f) => compareView(f, other), { cell: 'compareView', every: 3, phase: 2 }), { kind: 'engine', detail: 'the two runs\' last evaluations and their last 50 training batches' }),
    cell('loadAView', ['runs'], (runs: Runs) => stream(runs, (f) => views.loadA(f), { cell: 'loadAView', every: 3, phase: 0 }), { kind: 'engine', detail: 'run A: tokens per routed expert per training batch' }),
    cell('loadBView', ['runs'], (runs: Runs) => stream(runs, (f) => loadBView(f), { cell: 'loadBView', every: 3, phase: 1 }), { kind: 'engine', detail: 'run B: tokens per routed expert per training batch' }),
    cell('gammaView', ['settings'], (s: RunSettings) => gammaChart(s), { kind: 'derived', detail: 'biasGammaAt (notebooks/train/settings.ts) at these settings' }),
    cell('lrView', ['settings'], (s: RunSettings) => lrChart(s), { kind: 'engine', detail: 'lrAt (src/engine/train/schedule.ts) at these settings' }),
    cell('scope', ['runs'], (runs: Runs) => stream(runs, (f) => views.scope(f), { every: 3, phase: 2 }), { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'Press Start: a DeepSeek-V3-shaped model learns from random weights in this page, and its bits per character fall from 7 toward 2 within minutes.',
    view: { cell: 'panel', title: 'The run', component: Panel as never },
    controls: ['seed', 'size', 'log_lr', 'batch', 'corpus'],
    note: 'Trains in background threads (Web Workers) with the engine\'s own trainer. The curve, samples, load balance, experts and MTP drafts follow below and update while it trains.',
  },
  sections: [
    {
      id: 'train',
      title: 'Train it here',
      prose: 'The run above trains here, from random weights. Its bits per character, on training batches and on held-out text, against characters seen:',
      views: [
        { cell: 'bpcView', title: 'Bits per character against characters seen', caption: `Lower is better: 7 bits is a uniform guess over 128 characters; an untrained model is a little worse than that (its random logits are confidently wrong). The held-out curve is measured on the same ${(VAL_WINDOWS * (EVAL_SEQ - 1)).toLocaleString('en-US')} characters each time. Dashed lines are reference figures, not this run: the shipped model as the engine trained it (its training log; d 96, 3 layers, batches of 16 × 129), and this project's PyTorch twin of the same shapes on the same data (anchors README).` },
        { cell: 'statsView', title: 'This run' },
      ],
      after: `Bits per character is the cross-entropy of the next character in base 2. Within a few hundred steps the model learns which characters are common. Then it learns spaces and short words, then spelling. The gap between the training batches and the held-out text shows how much it memorises.

The other lessons run a nanoseek trained ahead of time (the shipped model). This page trains one from random weights while you watch. The model is DeepSeek-V3 in small: multi-head latent attention with decoupled RoPE, DeepSeekMoE (16 routed experts in 4 groups, top-4, one shared expert, a sigmoid router), and one multi-token-prediction (MTP) module. It reads one character per token (the 128 ASCII codes) from four children's books of the 19th and early 20th century, with a held-out tenth it never trains on.

Training runs in background threads (Web Workers) with the engine's own trainer, the same code as \`npm run engine -- train\`: forward, backward through every op, AdamW, the routing-bias update. On a machine with more than two cores, two threads each take half of every batch and their gradients are added; on two cores one thread trains, so the page keeps a core to itself. This page only draws, so it stays smooth while the model trains. Training pauses when you switch tabs and goes on when you come back. The run is saved in this browser every few seconds, so a reload continues it.

The settings are in the link: the same link trains the same run, step for step. Changing a setting starts another run; going back to the old settings finds the old one again.`,
    },
    {
      id: 'samples',
      title: 'What it writes',
      prose: 'Every 200 steps the trainer writes a sample: the same prompt, the same temperature and the same random seed, so only the model changes between samples. Scroll back to see it go from noise to letter frequencies, to words, to something like sentences.',
      views: [{ cell: 'samplesView', title: 'Samples, newest first', component: Samples as never }],
    },
    {
      id: 'balance',
      title: 'Load balancing while it learns',
      prose: `Each MoE layer sends every token to 4 of its 16 routed experts. The *load* of an expert is how many tokens it got in a batch; MaxVio is $\\max_i \\mathrm{Load}_i / \\overline{\\mathrm{Load}} - 1$ (0 is perfectly even). With **bias** balancing (DeepSeek-V3), each expert has a bias $b_i$ that only affects which experts are chosen. After every step, $b_i$ moves by $\\gamma$ toward evening the load: up if the expert got less than the mean, down if it got more (here, its load averaged over the recent batches: below). With the **auxiliary loss**, $\\alpha$ times a sequence-wise balance loss is added to the objective. With **none**, the router follows the data.

How MaxVio is measured matters at this scale. A training batch here is 512 characters, so each expert expects only 128 of the batch's 2,048 top-4 slots, and a few lines of arithmetic in a batch crowd the experts that take digits. So a single batch's MaxVio (the dots) stays high even when the load summed over many batches is close to even: it is the long-run load the bias update evens out. The lines measure the model as it stands, on held-out text mixed as the training text is: the prose windows and the arithmetic windows, each expert's share weighted by the corpus's arithmetic share. On the prose alone, the experts that arithmetic uses would idle and the others would look overloaded, which is not the load the bias balances.

DeepSeek-V3 takes the sign of each expert's load on a batch of millions of tokens. On one batch of 512 characters an expert's load is lopsided: an expert that takes digits gets little in most batches and a crowd in the few that hold arithmetic lines. The sign of one such batch's load calls it underloaded most of the time even when it is overloaded on average, so the biases would settle where the typical batch is even, not the long-run load (in one run here, an expert 10% overloaded on average was over the mean in as many batches as under). So here the update reads each expert's load averaged over the recent batches: each step keeps ${Math.round(BIAS_LOAD_DECAY * 100)}% of the average and adds ${Math.round((1 - BIAS_LOAD_DECAY) * 100)}% of the new batch's load. That stands in for DeepSeek-V3's large batch; the bias still moves by $\\pm\\gamma$ by the sign of the load.

Each bias moves by a full $\\gamma$ every step, so the biases keep jittering around the even point, the more so the larger $\\gamma$ is, and a snapshot of the model is less even than the long-run load. So $\\gamma$ falls as the run goes on. For the first 150,000 characters it is **Bias update speed γ**, so the biases catch up with the untrained router quickly; then it falls by the same factor with every character, to **γ falls to** at 1 million characters, and stays there (the last figure of this section). With the two equal, $\\gamma$ is constant. Because the update reads the averaged load, whose sign is right far more often than one batch's, a small end value still keeps up with the router. DeepSeek-V3 lowered its $\\gamma$ too: 0.001 for most of its training, 0 for the last 500B tokens.`,
      controls: ['balancing', 'log_gamma', 'log_gamma_end', 'log_alpha'],
      views: [
        { cell: 'loadView', title: 'Expert load per training step, per MoE layer', caption: 'One row per expert, time to the right. An even load gives every row the same colour.' },
        { cell: 'maxVioView', title: 'MaxVio: the model on held-out text, and each training batch', caption: 'An untrained router is already uneven: it sorts tokens by the current character. Lines: the worst-to-mean load of each MoE layer on the held-out windows, at each evaluation. Dots: each training batch (512 characters), which chance alone keeps well above the held-out figure.' },
        { cell: 'biasView', title: 'The routing biases moving', caption: 'e_score_correction_bias of the first MoE layer after each step: each moves by ±γ per step, so the lines are straight while one expert stays over- or under-loaded.' },
        { cell: 'gammaView', title: 'γ against characters seen', caption: 'The step size of the bias update at these settings: how far every bias moves per step.' },
      ],
    },
    {
      id: 'specialise',
      title: 'Experts specialise',
      prose: `Do experts specialise? With the arithmetic mix we can ask: what share of the top-4 slots does an expert get on held-out arithmetic lines, compared with its share on all the held-out text (a quarter of it arithmetic)? That ratio is the *lift* $P(\\text{expert} \\mid \\text{arithmetic}) / P(\\text{expert})$: 1 is no preference, and 4 is the most it can be here (an expert that only arithmetic uses). An untrained router already has lift, because it routes by the current character and digits are different characters. The question is how far training moves it from that. The twin puts 13–25% of arithmetic's slots on single experts (6.25% would be even).`,
      views: [
        { cell: 'liftMapView', title: 'Lift per expert: now and untrained', caption: 'Bright cells are experts that arithmetic uses far more than prose. Compare each layer\'s two rows: the untrained row is the same model at step 0.' },
        { cell: 'liftView', title: 'The largest lift of each layer over training' },
      ],
    },
    {
      id: 'mtp',
      title: 'The MTP module learns to draft',
      prose: `The MTP module predicts the token after next. At inference it can draft that token, and the main model verifies it one step later (speculative decoding). *Greedy agreement* is how often its draft for $t+2$ equals the main model's own choice at $t+1$. *Sampled acceptance* $\\sum_x \\min(p(x), q(x))$ is the chance that a sampled draft is accepted. An untrained module agrees about 1 time in 100. With one draft per step, decoding yields $1 + a$ tokens per step at acceptance $a$.`,
      controls: ['mtp', 'mtp_lambda'],
      views: [
        { cell: 'mtpView', title: 'MTP greedy agreement and sampled acceptance', caption: 'Measured on the held-out stories. Early on, agreement jumps because both heads predict the commonest characters (space, e); it means more once the main model predicts well. Dashed: this project\'s PyTorch twin after its full training (reference, not this run).' },
        { cell: 'tpsView', title: 'Tokens per step speculative decoding would get', caption: 'Dashed: DeepSeek-V3 accepts its MTP module\'s second token 85–90% of the time (technical report §5.4.3).' },
      ],
    },
    {
      id: 'compare',
      title: 'Side by side: two balancing strategies',
      prose: 'DeepSeek-V3\'s report compares balancing strategies on the same data and model. Here you can run that comparison at small scale. Turn on the second run: it has the same seed, the same initial weights and the same data order, and only the balancing differs. Both runs start, pause and step together. They share the two cores, one thread each, so each trains at about half speed.',
      controls: ['compare', 'compare_balancing'],
      views: [
        { cell: 'compareView', title: 'The two runs' },
        { cell: 'loadAView', title: 'Run A: expert load per step' },
        { cell: 'loadBView', title: 'Run B: expert load per step' },
      ],
    },
    {
      id: 'checkpoint',
      title: 'The schedule, and the model you keep',
      prose: `The learning rate warms up linearly for 50 steps, then follows a cosine down to 10% of its peak over the first million characters, and stays there, as $\\gamma$ reaches its end value at the same point. A reader's run reaches it in about five minutes on a two-core laptop; the short schedule is for that. Both ends are there for a reason: at the peak learning rate, every step's update of the router's weights, in answer to one small batch, moves the expert loads more than the biases can follow.

The result is a real checkpoint. **Download** gives one \`.tar\` file holding \`config.json\`, \`model.safetensors\` and \`tokenizer.json\`. The engine's command line reads it directly (\`npm run -s engine -- generate --model nanoseek-….tar …\`), and \`tar xf\` unpacks it into a model folder. **Load a checkpoint** takes such a file back (pick it, or drop it on the box above). **Use this model in the other lessons** makes the other pages use it instead of their own, with a note at the top of each and a button to go back.`,
      views: [{ cell: 'lrView', title: 'Learning rate per step' }],
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'val_bpc[end]',
    examples: ['val_bpc[end]', 'min(val_bpc)', 'mean(train_bpc[end-49:end])', '1 + sampled[end]', 'maxvio_heldout[end]'],
    descriptions: {
      chars: 'characters seen at each evaluation',
      val_bpc: 'held-out bits per character at each evaluation',
      greedy: 'MTP greedy agreement at each evaluation',
      sampled: 'MTP sampled acceptance at each evaluation',
      train_bpc: 'bits per character of each training batch',
      maxvio: 'MaxVio of the first MoE layer on each training batch',
      maxvio_heldout: 'MaxVio of the worst MoE layer on the held-out text at each evaluation',
      step: 'steps taken',
    },
  },
};
