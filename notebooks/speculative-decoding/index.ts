// Lesson 7: speculative decoding. The engine's `speculate` drafts with DeepSeek-V3's MTP module, a
// noisy copy of the target or a hand-shaped q, verifies every draft with the target in one pass and
// accepts, rejects, resamples or adds a bonus token; the lesson draws each decision from the trace
// (p and q of every verified position), measures tokens per step against the draft length with the
// theory curve over it, and checks that the output keeps the target's distribution (and that a
// wrong resampling rule, written here as a labelled counterfactual, does not).
import type { BarChartData, LineChartData, StatsData } from '$components/charts/types';
import type { Backend } from '$kernels/backend';
import { countingBackend } from '$kernels/counting';
import { type Model, rowOf } from '$engine/model';
import { type SamplingOptions, samplingDistribution } from '$engine/sampling';
import { type SpeculateResult, acceptanceProbability, expectedTokensPerStep } from '$engine/speculate';
import { ModelCache } from '../_kit/model-cache';
import { lessonModel } from '../_kit/shipped';
import { TEXT_EXAMPLES, glyphs, visibleText } from '../_kit/tokens';
import { EngineWorker } from '../_kit/engine-worker';
import { cell, type Notebook } from '../_kit/types';
import Decisions from './Decisions.svelte';
import Timeline from './Timeline.svelte';
import {
  DRAFTER_LABEL, type DrafterChoice, type DrafterSetup, GAMMAS, type ModelChoice, NEW_TOKENS, PROMPT_CHARS, PROMPT_LENGTH,
  chiSquare, chiSquareCritical, runPrompt,
  mixWithUniform, samplingOf, targetModel,
} from './lab';
import { type Sweep, verification } from './sweep';
import { Lru, keptJob } from '../_kit/memo';
import { idOf } from './memo';
import { Ahead, rangeInput, stepsAround } from '../_kit/prefetch';
import { type OverlapBase, jobs } from './jobs';
import { type DecisionsData, type TimelineData, decisionsData, timelineData } from './views';

export const meta = {
  slug: 'speculative-decoding',
  title: 'Speculative decoding: draft, verify, accept',
  summary: 'A cheap drafter proposes tokens, the target checks them all in one pass and keeps or replaces each: watch every decision, measure tokens per step against the draft length, and see why the output is exactly the target\'s.',
  order: 7,
};

/** Draft length of the runs that measure every gamma at once (each step cut at gamma). */
const GAMMA_MAX = 8;
/** Runs (seeds) at GAMMA_MAX behind the tokens-per-step dots. */
const SWEEP_RUNS = 2;
/** Draws through the verification rule in the distribution check. */
const DRAWS = 2000;

// ------------------------------------------------------------------ memos (see memo.ts)

const baseModels = new ModelCache(6);
const runs = new Lru<Promise<SpeculateResult[]>>(40);
/** The sweep's counts (sweep.ts, computed in the worker) by setting. */
const sweeps = new Lru<Promise<Sweep>>(40);
/** The distribution check's draws by run, step, rule and seed. */
const drawsKept = new Lru<Promise<{ counts: number[]; accepted: number }>>(40);

/**
 * The runs, the drafters' overlap and the timings compute in the lesson's Web Worker (jobs.ts,
 * _kit/engine-worker.ts): 70-300 ms per sigma, seed, temperature or gamma move on the main thread
 * before. Meanwhile each figure keeps its previous picture, marked as computing.
 */
const engine = new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek speculative decoding' }), jobs);

async function boundModel(choice: ModelChoice, seed: number, backend: Backend): Promise<Model> {
  if (choice === 'trained') return (await lessonModel('trained', backend)).model;
  return baseModels.get(`${choice}/${seed}`, () => targetModel(choice, seed), backend, true);
}

/** Characters (␣ for a space) for a character model's ids; none for the 12-token model (ids shown). */
const CHARACTERS = glyphs(Array.from({ length: 128 }, (_, i) => i));
const labelsOf = (m: Model): string[] | undefined => (m.config.vocab_size === 128 ? CHARACTERS : undefined);

function drafterKey(s: DrafterSetup): string {
  return s.choice === 'noisy' ? `noisy/${s.sigma}` : s.choice === 'mix' ? `mix/${s.lambda}` : 'mtp';
}

function runsKey(setup: DrafterSetup, sampling: SamplingOptions, gamma: number, seed: number, count: number, text: string): string {
  return `${idOf(setup.target)}/${drafterKey(setup)}/${sampling.temperature}/${gamma}/${seed}/${count}/${text}`;
}

/** `count` traced speculate runs at one gamma (in the worker); run r starts from runPrompt(..., r) with rng seed seed * 101 + r. */
function speculateRuns(setup: DrafterSetup, sampling: SamplingOptions, gamma: number, seed: number, count: number, text: string): Promise<SpeculateResult[]> {
  return keptJob(runs, runsKey(setup, sampling, gamma, seed, count, text), () => engine.run('runs', { ...setup, sampling, gamma, seed, count, text }));
}

// A slider move that changes an on-screen figure's engine run used to wait for the worker (100-450 ms
// picture p95 under load). The run for the values next to the current ones is computed ahead, one job
// at a time after the picture's own, so a key press or a drag step usually finds its run made.

/** Work ahead only where the engine worker computes it (never on the page's own thread). */
const inWorker = () => typeof Worker !== 'undefined' && engine.failure === null;
/** The values next to `value` on slider `name` (_kit/prefetch.ts stepsAround). */
const near = (name: string, value: number, towards: 1 | -1, ahead: number): number[] =>
  stepsAround(rangeInput(notebook.inputs, name), value, towards, ahead);

/** A slider a key depends on: its value in a key, and the key with another value. */
interface Knob<K> { name: string; get: (k: K) => number; set: (k: K, v: number) => K }
/**
 * `around` for Ahead over several sliders: the one that moved between `from` and `at` first (two
 * steps the way it went, one back), then one step up of each other one, then one step down.
 */
function aroundKnobs<K>(knobs: (at: K) => Knob<K>[]) {
  return (at: K, from: K | null): K[] => {
    const list = knobs(at);
    const moved = from === null ? undefined : list.find((n) => n.get(from) !== n.get(at));
    const dir = moved && from !== null ? (moved.get(at) > moved.get(from) ? 1 : -1) : 1;
    const next = (n: Knob<K>) => near(n.name, n.get(at), n === moved ? dir : 1, n === moved ? 2 : 1).map((v) => n.set(at, v));
    // The others: every slider's step up (down at its top) before any second step.
    const others = list.filter((n) => n !== moved).map(next);
    return [...(moved ? next(moved) : []), ...others.map((l) => l[0]), ...others.map((l) => l[1])].filter((k) => k !== undefined);
  };
}

interface RunKey { model: ModelChoice; setup: DrafterSetup; sampling: SamplingOptions; gamma: number; seed: number; text: string }
/** The timeline's run, kept per setting, with the runs for the neighbouring values of its sliders computed ahead. */
const timelineRuns = new Ahead<RunKey, SpeculateResult[]>((k) => speculateRuns(k.setup, k.sampling, k.gamma, k.seed, 1, k.text), {
  id: (k) => `${idOf(k.setup.target)}/${drafterKey(k.setup)}/${k.sampling.temperature}/${k.gamma}/${k.seed}/${k.text}`,
  size: 80,
  enabled: inWorker,
  around: aroundKnobs<RunKey>((k) => [
    { name: 'gamma', get: (x) => x.gamma, set: (x, gamma) => ({ ...x, gamma }) },
    // A random target's weights depend on the seed: only the shipped model is the same across seeds.
    ...(k.model === 'trained' ? [{ name: 'seed', get: (x: RunKey) => x.seed, set: (x: RunKey, seed: number) => ({ ...x, seed }) }] : []),
    ...(k.sampling.temperature > 0 ? [{ name: 'temperature', get: (x: RunKey) => x.sampling.temperature, set: (x: RunKey, temperature: number) => ({ ...x, sampling: { ...x.sampling, temperature } }) }] : []),
    ...(k.setup.choice === 'noisy' ? [{ name: 'sigma', get: (x: RunKey) => x.setup.sigma, set: (x: RunKey, sigma: number) => ({ ...x, setup: { ...x.setup, sigma } }) }] : []),
    ...(k.setup.choice === 'mix' ? [{ name: 'mix', get: (x: RunKey) => x.setup.lambda, set: (x: RunKey, lambda: number) => ({ ...x, setup: { ...x.setup, lambda } }) }] : []),
  ]),
});

const ownTexts = new Lru<Promise<number[]>>(40);
const overlapBases = new Lru<Promise<OverlapBase>>(40);

interface NoisyKey { target: Model; sigma: number; seed: number; sampling: SamplingOptions; text: number[] }
/** The noisy copy's first-draft acceptance along the text (worker), kept per setting; the next sigmas of a drag computed ahead (a noisy copy costs ~50 ms to build). */
const noisyAlphas = new Ahead<NoisyKey, number[]>((k) => engine.run('overlapNoisy', k), {
  id: (k) => `${idOf(k.target.weights)}/${k.sigma}/${k.seed}/${k.sampling.temperature}/${k.text.join(',')}`,
  size: 60,
  enabled: inWorker,
  around: aroundKnobs<NoisyKey>(() => [{ name: 'sigma', get: (x) => x.sigma, set: (x, sigma) => ({ ...x, sigma }) }]),
});

// ------------------------------------------------------------------ derived numbers

interface Run {
  result: SpeculateResult;
  prompt: number[];
  gamma: number;
  drafter: string;
  /** How token ids are shown (characters), or undefined for ids. */
  labels?: string[];
}

const fmt = (x: number, d = 2) => x.toFixed(d);
/** A number as the slider readouts write it (en-US grouping), from one formatter (toLocaleString builds one per call). */
const numberText = ((nf) => (x: number) => nf.format(x))(new Intl.NumberFormat('en-US'));
/** Tokens as the run shows them: characters (␣ ↵) on a character model, ids on the 12-token one. */
const show = (run: Run, ids: number[]) => (run.labels ? visibleText(ids) : ids.join(' '));

/** The step the `step` slider points at, clamped to the run's steps. */
function pickStep(run: Run, step: number): { index: number; count: number } {
  const count = run.result.steps.length;
  return { index: Math.max(0, Math.min(count, step) - 1), count };
}

export const notebook: Notebook = {
  inputs: [
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 4, help: 'Seeds every random draw (and the random models\' weights): the same seed gives the same run everywhere.' },
    {
      kind: 'select', name: 'model', label: 'Target model', value: 'trained',
      help: 'The engine\'s DeepSeek-V3 (MLA, DeepSeekMoE, one MTP module): the shipped trained model, its shape with seeded random weights, or a small random one with a 12-token vocabulary (every bar readable).',
      options: [
        { value: 'trained', label: 'trained (shipped model, 128 characters)' },
        { value: 'random', label: 'random weights, same shape' },
        { value: 'small', label: 'small random: 12 tokens, d = 32' },
      ],
    },
    { kind: 'text', name: 'prompt', label: 'Your text (the prompts)', value: TEXT_EXAMPLES[0].value, maxLength: 512, examples: TEXT_EXAMPLES, help: `Each run starts from ${PROMPT_CHARS} characters of this text (the sweep's runs from different places in it). The 12-token model ignores it.` },
    {
      kind: 'select', name: 'drafter', label: 'Drafter', value: 'mtp',
      help: 'Who proposes the draft tokens: DeepSeek-V3\'s MTP module, a noisy copy of the target, or a hand-shaped q.',
      options: (['mtp', 'noisy', 'mix'] as const).map((value) => ({ value, label: DRAFTER_LABEL[value] })),
    },
    { kind: 'range', name: 'sigma', label: 'Noise σ on the copy\'s weights', min: 0, max: 1.5, step: 0.05, value: 0.2, unit: '× each tensor\'s RMS', help: 'The noisy-copy drafter is the target with Gaussian noise of this relative size on every weight: 0 is an exact copy.' },
    { kind: 'range', name: 'mix', label: 'Uniform share λ of the hand-shaped q', min: 0, max: 1, step: 0.05, value: 0.3, help: 'The hand-shaped drafter draws from q = (1 − λ) p + λ u: 0 is the target\'s own distribution, 1 is uniform.' },
    { kind: 'range', name: 'temperature', label: 'Temperature T', min: 0.1, max: 2, step: 0.1, value: 1, help: 'Sampled verification: p and q are softmax(logits / T). Ignored when greedy verification is on.' },
    { kind: 'toggle', name: 'greedy', label: 'Greedy verification (temperature 0)', value: false, help: 'Target and drafter take their argmax: a draft is accepted exactly when it is the target\'s own choice.' },
    { kind: 'range', name: 'gamma', label: 'Draft length γ', min: 1, max: 8, step: 1, value: 3, unit: 'tokens', help: 'How many tokens the drafter proposes before the target verifies them in one pass.' },
    { kind: 'range', name: 'step', label: 'Verification step to inspect', min: 1, max: NEW_TOKENS - 1, step: 1, value: 2, help: 'Which step of the run above to open (clamped to the steps the run has).' },
    { kind: 'range', name: 'cost', label: 'Drafter cost c', min: 0, max: 1, step: 0.01, value: 0.05, unit: '× a target pass', help: 'Time of one drafter pass relative to one target pass, for the walltime estimate.' },
    { kind: 'toggle', name: 'wrongRule', label: 'Counterfactual: after a rejection, resample from p (wrong)', value: false, help: 'Replace the residual norm(max(0, p − q)) by p itself, in a function written in this lesson (not the engine\'s rule).' },
  ],
  cells: [
    cell('target', ['model', 'seed', 'backend'], (model: ModelChoice, seed: number, backend: Backend) => boundModel(model, seed, backend),
      { kind: 'engine', detail: 'the shipped trained model, or DeepSeek-V3\'s architecture with seeded random weights' }),
    cell('setup', ['drafter', 'target', 'sigma', 'mix'], (choice: DrafterChoice, target: Model, sigma: number, lambda: number): DrafterSetup =>
      ({ choice, target, sigma, lambda }), { kind: 'derived' }),
    cell('sampling', ['greedy', 'temperature'], (greedy: boolean, temperature: number) => samplingOf(greedy, temperature), { kind: 'derived' }),

    // ---------------------------------------------------------------- the run on the timeline
    cell('run', ['setup', 'sampling', 'gamma', 'seed', 'prompt', 'model'], async (setup: DrafterSetup, sampling: SamplingOptions, gamma: number, seed: number, text: string, model: ModelChoice): Promise<Run> => {
      const results = await timelineRuns.get({ model, setup, sampling, gamma, seed, text });
      return {
        result: results[0],
        prompt: runPrompt(setup.target.config.vocab_size, seed, text),
        labels: labelsOf(setup.target),
        gamma,
        drafter: DRAFTER_LABEL[setup.choice],
      };
    }, { kind: 'engine', detail: 'speculate(target, prompt, { gamma, drafter, sampling, trace: true })' }),
    cell('plainGreedy', ['target', 'sampling', 'seed', 'prompt'], (target: Model, sampling: SamplingOptions, seed: number, text: string): Promise<number[]> | null =>
      sampling.temperature > 0 ? null : engine.run('generate', { target, prompt: runPrompt(target.config.vocab_size, seed, text), maxNewTokens: NEW_TOKENS }),
    { kind: 'engine', detail: 'generate (plain greedy decoding)' }),
    // The timeline is drawn twice (first screen and first section), each figure from its own cell:
    // the one off screen then redraws after the picture on screen (priority.ts) instead of in the
    // same task, which drew both (~1-2 ms each) before a move's picture.
    cell('leadTimeline', ['run', 'step'], (run: Run, step: number): TimelineData =>
      timelineData(run.result, run.prompt, run.gamma, run.drafter, pickStep(run, step).index, run.labels),
    { kind: 'engine', detail: 'speculate\'s trace: every decision {token, p, q, accepted}' }),
    cell('timeline', ['run', 'step'], (run: Run, step: number): TimelineData =>
      timelineData(run.result, run.prompt, run.gamma, run.drafter, pickStep(run, step).index, run.labels),
    { kind: 'engine', detail: 'speculate\'s trace: every decision {token, p, q, accepted}' }),
    cell('runStats', ['run', 'plainGreedy', 'sampling'], (run: Run, plain: number[] | null, sampling: SamplingOptions): StatsData => {
      const v = verification([run.result]);
      const same = plain ? plain.every((t, i) => t === run.result.tokens[i]) : null;
      return {
        kind: 'stats',
        items: [
          { label: 'Target passes', value: run.result.targetPasses, note: `the prefill + ${v.steps} verification steps, for ${NEW_TOKENS} tokens (plain decoding: ${NEW_TOKENS} passes)` },
          { label: 'Tokens per verification step', value: v.emitted / Math.max(1, v.steps), digits: 3, note: `${v.emitted} tokens in ${v.steps} steps` },
          { label: 'Drafts accepted ÷ verified', value: v.verified > 0 ? v.accepted / v.verified : 0, format: 'percent', note: `${v.accepted} of ${v.verified} verified; ${run.result.proposed - v.verified} more were drafted after a rejection and thrown away unverified` },
          same === null
            ? { label: 'Same tokens as plain greedy decoding', value: 'n/a', note: `sampled at T = ${sampling.temperature}: equal in distribution, not token for token (see the last section)` }
            : { label: 'Same tokens as plain greedy decoding', value: same ? 'yes' : 'NO', note: `generate(): ${show(run, plain!)}` },
          { label: 'The text written', value: show(run, run.result.tokens), note: `after the prompt ${show(run, run.prompt)}` },
        ],
      };
    }, { kind: 'engine' }),

    // ---------------------------------------------------------------- one step up close
    cell('decisions', ['run', 'step'], (run: Run, step: number): DecisionsData => {
      const { index, count } = pickStep(run, step);
      return decisionsData(run.result.steps[index], index, count, 10, run.labels);
    }, { kind: 'engine', detail: 'p and q of every verified position, from speculate\'s trace' }),

    // ---------------------------------------------------------------- drafters compared
    cell('ownText', ['target', 'sampling', 'seed', 'prompt'], (target: Model, sampling: SamplingOptions, seed: number, text: string): Promise<number[]> =>
      keptJob(ownTexts, `${idOf(target.weights)}/${sampling.temperature}/${seed}/${text}`, async () => {
        const prompt = runPrompt(target.config.vocab_size, seed, text);
        return [...prompt, ...await engine.run('generate', { target, prompt, maxNewTokens: NEW_TOKENS, sampling, seed })];
      }), { kind: 'engine', detail: 'generate: the target\'s own text' }),
    cell('overlapBase', ['target', 'sampling', 'ownText'], (target: Model, sampling: SamplingOptions, text: number[]): Promise<OverlapBase> =>
      keptJob(overlapBases, `${idOf(target.weights)}/${sampling.temperature}/${text.join(',')}`, () => engine.run('overlapBase', { target, sampling, text })),
    { kind: 'engine', detail: 'target.forward and target.mtpForward over the same text; alpha = acceptanceProbability(p, q)' }),
    cell('overlapNoisy', ['target', 'sigma', 'seed', 'sampling', 'ownText'], (target: Model, sigma: number, seed: number, sampling: SamplingOptions, text: number[]): Promise<number[]> => {
      return noisyAlphas.get({ target, sigma, seed, sampling, text });
    }, { kind: 'engine', detail: 'target.forward and noisy.forward over the same text; alpha = acceptanceProbability(p, q)' }),
    cell('overlap', ['overlapBase', 'overlapNoisy', 'mix'], (b: OverlapBase, noisy: number[], lambda: number): { positions: number[]; mtp: number[]; noisy: number[]; mix: number[] } => ({
      positions: b.positions,
      mtp: b.mtp,
      noisy,
      // The hand-shaped q is (1 - lambda) p + lambda u on the engine's p: no engine run per lambda.
      mix: b.p.map((p) => acceptanceProbability(p, mixWithUniform(p, lambda))),
    }), { kind: 'engine', detail: 'acceptanceProbability(p, (1 − λ) p + λ u) on the target\'s p from the worker' }),
    cell('overlapChart', ['overlap', 'sigma', 'mix'], (o: { positions: number[]; mtp: number[]; noisy: number[]; mix: number[] }, sigma: number, lambda: number): LineChartData => ({
      kind: 'line',
      xLabel: 'token of the text (position after the prompt)',
      xIntegers: true,
      yLabel: 'first-draft acceptance α_t = Σ min(p, q)',
      series: [
        { name: DRAFTER_LABEL.mtp, points: o.positions.map((x, i) => ({ x, y: o.mtp[i] })), style: 'line' },
        { name: `noisy copy, σ = ${sigma}`, points: o.positions.map((x, i) => ({ x, y: o.noisy[i] })), style: 'line' },
        { name: `hand-shaped q, λ = ${lambda}`, points: o.positions.map((x, i) => ({ x, y: o.mix[i] })), style: 'dashed' },
      ],
    }), { kind: 'derived' }),
    cell('drafterCost', ['target', 'backend'], (target: Model, backend: Backend) => {
      // Multiply-adds of one more token, counted as the engine runs: a target decode step, and the
      // MTP module's step (both after the same prompt).
      const counter = countingBackend(backend);
      const m = target.withBackend(counter);
      const prompt = runPrompt(target.config.vocab_size, 0, TEXT_EXAMPLES[0].value);
      const cache = m.createCache('absorbed');
      const pre = m.forward(prompt, { cache });
      counter.reset();
      m.forward([1], { cache });
      const targetMacs = counter.macs;
      const d = target.config.hidden_size;
      const mcache = m.createMtpCache('absorbed');
      m.mtpForward(0, pre.hidden.slice(0, (prompt.length - 1) * d), prompt.slice(1), { cache: mcache });
      counter.reset();
      m.mtpForward(0, pre.hidden.slice((prompt.length - 1) * d), [1], { cache: mcache });
      return { targetMacs, mtpMacs: counter.macs };
    }, { kind: 'engine', detail: 'multiply-adds counted by a counting backend' }),
    cell('drafterStats', ['overlap', 'drafterCost', 'sigma', 'mix'], (o: { mtp: number[]; noisy: number[]; mix: number[] }, cost: { targetMacs: number; mtpMacs: number }, sigma: number, lambda: number): StatsData => {
      const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
      return {
        kind: 'stats',
        items: [
          { label: 'Mean first-draft α, MTP module', value: mean(o.mtp), digits: 3, note: `one draft pass costs c ≈ ${fmt(cost.mtpMacs / cost.targetMacs)} of a target pass here (${numberText(cost.mtpMacs)} vs ${numberText(cost.targetMacs)} multiply-adds, counted)` },
          { label: `Mean first-draft α, noisy copy (σ = ${sigma})`, value: mean(o.noisy), digits: 3, note: 'a full copy of the target: c = 1 here; a real draft model is much smaller' },
          { label: `Mean first-draft α, hand-shaped q (λ = ${lambda})`, value: mean(o.mix), digits: 3, note: 'it runs the target itself: a teaching device, not a way to go faster' },
        ],
      };
    }, { kind: 'derived' }),

    // ---------------------------------------------------------------- tokens per step, speedup
    cell('sweep', ['setup', 'sampling', 'seed', 'prompt'], (setup: DrafterSetup, sampling: SamplingOptions, seed: number, text: string): Promise<Sweep> =>
      keptJob(sweeps, `${runsKey(setup, sampling, GAMMA_MAX, seed, SWEEP_RUNS, text)}`, () => engine.run('sweep', { ...setup, sampling, gamma: GAMMA_MAX, seed, count: SWEEP_RUNS, text })),
    { kind: 'engine', detail: `speculate at γ = ${GAMMA_MAX}, ${SWEEP_RUNS} runs of ${NEW_TOKENS} tokens, counted where they run` }),
    cell('positionChart', ['sweep', 'drafter'], (s: Sweep, drafter: DrafterChoice): BarChartData => ({
      kind: 'bar',
      categories: GAMMAS.map((i) => `draft ${i}`),
      series: [{ name: `${DRAFTER_LABEL[drafter]}: mean α_i = Σ min(p_i, q_i) over ${s.steps} steps`, values: s.alphaAt }],
      yLabel: 'acceptance probability α_i',
    }), { kind: 'derived', detail: `speculate's trace at γ = ${GAMMA_MAX}: p_i and q_i of every drafted position` }),
    cell('tokensChart', ['sweep', 'run', 'gamma'], (s: Sweep, run: Run, gamma: number): LineChartData => {
      const own = verification([run.result]);
      return {
        kind: 'line',
        xLabel: 'draft length γ',
        xIntegers: true,
        yLabel: 'tokens per verification step',
        series: [
          { name: `measured: ${s.steps} engine steps at γ = ${GAMMA_MAX}, cut at γ`, points: GAMMAS.map((g, i) => ({ x: g, y: s.tokensPerStep[i] })), style: 'points' },
          { name: `measured: the timeline's run at γ = ${gamma} (${own.steps} steps)`, points: [{ x: gamma, y: own.emitted / Math.max(1, own.steps) }], style: 'points' },
          { name: `theory (1 − α^(γ+1)) / (1 − α), α = ${fmt(s.alpha)} measured`, points: GAMMAS.map((g) => ({ x: g, y: expectedTokensPerStep(s.alpha, g) })), style: 'dashed' },
        ],
        markers: [{ x: gamma, label: `γ = ${gamma}` }],
      };
    }, { kind: 'derived', detail: 'engine runs; theory from expectedTokensPerStep' }),
    cell('speedChart', ['sweep', 'gamma', 'cost'], (s: Sweep, gamma: number, c: number): LineChartData => ({
      kind: 'line',
      xLabel: 'draft length γ',
      xIntegers: true,
      yLabel: 'walltime speedup over plain decoding',
      series: [
        { name: 'measured tokens per step ÷ (γc + 1)', points: GAMMAS.map((g, i) => ({ x: g, y: s.tokensPerStep[i] / (g * c + 1) })), style: 'points' },
        { name: `theory (1 − α^(γ+1)) / ((1 − α)(γc + 1)), α = ${fmt(s.alpha)}, c = ${c}`, points: GAMMAS.map((g) => ({ x: g, y: expectedTokensPerStep(s.alpha, g) / (g * c + 1) })), style: 'dashed' },
        { name: 'plain decoding (1×)', points: GAMMAS.map((g) => ({ x: g, y: 1 })), style: 'line' },
      ],
      markers: [{ x: gamma, label: `γ = ${gamma}` }],
    }), { kind: 'derived', detail: 'Leviathan et al. 2023\'s improvement factor, with alpha and tokens per step measured' }),
    cell('speedStats', ['sweep', 'gamma', 'cost'], (s: Sweep, gamma: number, c: number): StatsData => {
      const theory = GAMMAS.map((g) => expectedTokensPerStep(s.alpha, g) / (g * c + 1));
      const best = theory.indexOf(Math.max(...theory));
      return {
        kind: 'stats',
        items: [
          { label: 'α measured (accepted ÷ verified)', value: s.alpha, digits: 3, note: `engine's acceptanceRate (accepted ÷ proposed, counting unverified drafts): ${fmt(s.proposed > 0 ? s.acceptedTotal / s.proposed : 0, 3)}` },
          { label: `Tokens per step at γ = ${gamma}`, value: s.tokensPerStep[gamma - 1], digits: 3, note: `theory ${fmt(expectedTokensPerStep(s.alpha, gamma), 3)}` },
          { label: `Walltime speedup at γ = ${gamma}, c = ${c}`, value: s.tokensPerStep[gamma - 1] / (gamma * c + 1), digits: 3, unit: '×', note: `theory ${fmt(theory[gamma - 1], 3)}×` },
          { label: 'Best γ in theory at this α and c', value: GAMMAS[best], note: `${fmt(theory[best], 3)}×` },
        ],
      };
    }, { kind: 'derived' }),
    cell('published', ['cost'], (c: number): StatsData => ({
      kind: 'stats',
      items: [
        { label: 'DeepSeek-V3: acceptance of the second token (its MTP draft)', value: '85–90%', note: 'across generation topics (published)' },
        { label: 'DeepSeek-V3: tokens per second with MTP speculation', value: '1.8×', note: 'published, against decoding without it' },
        { label: 'Tokens per step at γ = 1, α = 0.85–0.90', value: `${fmt(expectedTokensPerStep(0.85, 1))}–${fmt(expectedTokensPerStep(0.9, 1))}`, note: 'derived: 1 + α' },
        { label: `Speedup at γ = 1 with your c = ${c}`, value: `${fmt(expectedTokensPerStep(0.85, 1) / (c + 1))}–${fmt(expectedTokensPerStep(0.9, 1) / (c + 1))}×`, note: 'derived: (1 + α) / (1 + c), against the published 1.8×' },
      ],
    }), { kind: 'published', citation: 'DeepSeek-AI, DeepSeek-V3 Technical Report (arXiv:2412.19437), §5.4.3 Multi-Token Prediction Evaluation; derived rows apply Leviathan et al. 2023', url: 'https://arxiv.org/abs/2412.19437' }),

    // ---------------------------------------------------------------- the law is preserved
    cell('draws', ['run', 'step', 'wrongRule', 'seed'], async (run: Run, step: number, wrong: boolean, seed: number) => {
      const index = pickStep(run, step).index;
      const s = run.result.steps[index];
      const p = s.p![0], q = s.q![0];
      // Kept per run (the same result object for the same setting) and step: moving back finds them.
      const { counts, accepted } = await keptJob(drawsKept, `${idOf(run.result)}/${index}/${wrong}/${seed}`,
        () => engine.run('draws', { p, q, n: DRAWS, seed: seed * 7919 + 13, wrong }));
      return { p, q, counts, accepted, wrong };
    }, { kind: 'engine', detail: 'verifyDraft on p and q of the inspected step\'s first draft, in the worker (the wrong rule is this lesson\'s counterfactual)' }),
    cell('drawsChart', ['draws'], (d: { p: Float64Array; q: Float64Array; counts: number[]; wrong: boolean }): BarChartData => {
      const V = d.p.length;
      const alpha = acceptanceProbability(d.p, d.q);
      let tokens = Array.from({ length: V }, (_, i) => i);
      // A large vocabulary: draw the 16 tokens most likely under p or q (the chi-square uses them all).
      if (V > 16) tokens = tokens.sort((a, b) => Math.max(d.p[b], d.q[b]) - Math.max(d.p[a], d.q[a]) || a - b).slice(0, 16).sort((a, b) => d.p[b] - d.p[a] || a - b);
      const col = (f: (i: number) => number) => tokens.map(f);
      return {
        kind: 'bar',
        categories: tokens.map(String),
        series: [
          { name: 'target p (exact)', values: col((i) => d.p[i]) },
          { name: 'drafter q', values: col((i) => d.q[i]) },
          { name: `${numberText(DRAWS)} draws, ${d.wrong ? 'WRONG rule (resample from p)' : 'engine\'s verifyDraft'}`, values: col((i) => d.counts[i] / DRAWS) },
          // What the wrong rule converges to: min(p, q) + (1 - alpha) p (derived in the prose).
          ...(d.wrong ? [{ name: 'wrong rule\'s law: min(p, q) + (1 − α) p', values: col((i) => Math.min(d.p[i], d.q[i]) + (1 - alpha) * d.p[i]) }] : []),
        ],
        yLabel: V > 16 ? `probability (16 of ${V} tokens)` : 'probability / frequency',
      };
    }, { kind: 'derived' }),
    cell('drawsStats', ['draws'], (d: { p: Float64Array; q: Float64Array; counts: number[]; accepted: number; wrong: boolean }): StatsData => {
      const { stat, df } = chiSquare(d.counts, d.p);
      const crit = chiSquareCritical(df);
      const tv = d.p.reduce((a, x, i) => a + Math.abs(d.counts[i] / DRAWS - x), 0) / 2;
      const alpha = acceptanceProbability(d.p, d.q);
      return {
        kind: 'stats',
        items: [
          { label: 'Rule after a rejection', value: d.wrong ? 'WRONG' : 'engine\'s', note: d.wrong ? 'counterfactual: resample from p (verifyDraftWrongRule, this lesson)' : 'verifyDraft: resample from norm(max(0, p − q))' },
          df === 0
            ? { label: 'Chi-square against p', value: 'nothing to test', note: 'p is one-hot (greedy): every draw must be its argmax' }
            : { label: `Chi-square against p (${df} degrees of freedom)`, value: stat, digits: 3, note: `${stat < crit ? 'consistent with p' : 'NOT p'}: the 0.1% critical value is ${fmt(crit, 1)}` },
          { label: 'Total variation |histogram − p| / 2', value: tv, digits: 4 },
          { label: 'Drafts accepted', value: d.accepted / DRAWS, format: 'percent', note: `α = Σ min(p, q) = ${fmt(alpha, 3)} for these p and q` },
        ],
      };
    }, { kind: 'derived', detail: 'Pearson chi-square, cells expected below 5 pooled' }),

    // ---------------------------------------------------------------- formula scope
    cell('scope', ['run', 'step', 'sweep', 'gamma', 'cost', 'draws'], (run: Run, step: number, s: Sweep, gamma: number, c: number, d: { counts: number[] }) => {
      const st = run.result.steps[pickStep(run, step).index];
      return {
        p: st.p![0],
        q: st.q![0],
        alpha: s.alpha,
        gamma,
        c,
        tokens_per_step: s.tokensPerStep,
        counts: d.counts,
      };
    }, { kind: 'derived' }),
  ],
  lead: {
    takeaway: 'A drafter proposes a few characters, the model checks them all in one pass, and keeps each accepted one for free.',
    view: { cell: 'leadTimeline', title: 'The run, step by step', component: Timeline, caption: 'Each row is one pass of the target. ✓ accepted draft, ✗ rejected, ↻ resampled, ★ bonus. Characters: ␣ is a space.' },
    controls: ['prompt', 'gamma'],
    note: 'Runs the shipped trained model with its own MTP module as the drafter.',
  },
  sections: [
    {
      id: 'rule',
      title: 'Draft, verify, accept',
      prose: `A language model writes one token per forward pass, and when it serves few requests at a time each pass is bound by reading the weights, not by arithmetic: scoring $\\gamma + 1$ positions in one pass costs about as much as scoring one. Speculative decoding (Leviathan et al. 2023; Chen et al. 2023) spends that slack. A cheap **drafter** proposes $\\gamma$ tokens $x_1, \\dots, x_\\gamma$, each drawn from its distribution $q_i$. The **target** runs once over them and gives its own distributions $p_1, \\dots, p_{\\gamma+1}$. Then, in order:

- accept $x_i$ with probability $\\min\\big(1, p_i(x_i) / q_i(x_i)\\big)$;
- at the first rejection, draw a replacement from the residual $\\mathrm{norm}\\big(\\max(0, p_i - q_i)\\big)$ and end the step;
- if all $\\gamma$ drafts are accepted, draw a **bonus** token from $p_{\\gamma+1}$, which the target computed anyway.

A step writes between $1$ and $\\gamma + 1$ tokens for one target pass, and the tokens are distributed exactly as if the target had sampled them alone (the last section shows why). DeepSeek-V3 drafts with its multi-token-prediction (MTP) module: one extra transformer block that reads the target's final hidden state $h_i$ and the embedding of $t_{i+1}$ and predicts $t_{i+2}$.

Below, the engine's \`speculate\` writes ${NEW_TOKENS} tokens after ${PROMPT_CHARS} characters of your text; each row is one verification step. The target is the shipped trained model and the drafter its own MTP module, trained with it: the acceptance rates are real ones for this small model (switch the text to arithmetic to compare). *Random weights* keep the mechanism and lose the agreement; the *small* model (12 token ids, random) makes every bar of a distribution readable.`,
      controls: ['prompt', 'model', 'drafter', 'gamma', 'temperature', 'greedy', 'seed'],
      views: [
        { cell: 'timeline', title: 'The run, step by step', component: Timeline, caption: 'Each row is one target pass. ✓ accepted draft, ✗ rejected draft, ↻ token resampled from the residual, ★ bonus token drawn from the target\'s p at position γ + 1; dotted boxes are drafts made after a rejection, never verified. Tokens are characters (␣ is a space); the small model shows ids.' },
        { cell: 'runStats', title: 'What the run cost' },
      ],
      after: 'With **greedy verification** both distributions are one-hot: a draft is accepted exactly when it is the target\'s argmax, and the residual is that argmax, so greedy speculation writes the very tokens of plain greedy decoding (the engine\'s tests check this token for token for every drafter and γ; the line above checks this run).',
    },
    {
      id: 'inspect',
      title: 'One verification step up close',
      prose: `Each panel is one decision of the chosen step: the target's $p_i$ and the drafter's $q_i$ over the vocabulary, with their overlap $\\min(p_i, q_i)$ hatched. A draft $x \\sim q_i$ survives with probability $\\min(1, p_i(x)/q_i(x))$, so the chance that a draft is accepted at all is the hatched area,
$$\\alpha_i = \\sum_x q_i(x) \\min\\Big(1, \\frac{p_i(x)}{q_i(x)}\\Big) = \\sum_x \\min\\big(p_i(x), q_i(x)\\big).$$
Where the drafter over-proposes ($q > p$) its drafts are thinned; the mass that goes missing, $\\max(0, p - q)$, is exactly what the residual puts back after a rejection.`,
      controls: ['step'],
      views: [
        { cell: 'decisions', title: 'The decisions of one step', component: Decisions, caption: 'Bars: p (target, blue) and q (drafter, orange with an outline) per token; the hatched part of each pair is min(p, q). After a rejection the green bars are the residual the replacement is drawn from. For the 128-token model only the most likely tokens are drawn, with the rest of the mass stated.' },
      ],
    },
    {
      id: 'drafters',
      title: 'Where the drafts come from',
      prose: `Three drafters, compared on the same text (the target's own ${NEW_TOKENS} tokens after the prompt). At each position the chart gives the first draft's acceptance $\\alpha_t = \\sum_x \\min(p_t(x), q_t(x))$, computed from the engine's distributions.

- **MTP module** (DeepSeek-V3's): for the first draft it reads the target's true $h_i$. For later drafts the engine chains it on its own output state, which it was never trained to read (DeepSeek-V3 drafts one token with it); expect a trained module to lose accuracy as it chains. The shipped module was trained with the target (one draft deep), so its first draft is usually accepted; compare the bars below for later drafts.
- **Noisy copy**: the target with Gaussian noise of relative size $\\sigma$ on every weight (\`noisyCopy\`), a stand-in for a smaller model trained on the same data. $\\sigma = 0$ is the target itself and is always accepted; the closer the drafter, the higher $\\alpha$.
- **Why a flat untrained drafter looks deceptively good**: with random weights both $p$ and $q$ are nearly uniform over the 128 characters, and two flat distributions overlap almost completely, so $\\alpha = \\sum \\min(p, q)$ comes out high even though the drafter knows nothing. The drafts are accepted because the target does not care what comes next, not because the drafter predicts it; with greedy verification (argmax against argmax) the same drafter is accepted about one time in $V$. A trained target is sharp, and only a drafter that predicts its sharp choice keeps $\\alpha$ high.
- **Hand-shaped q**: $q = (1 - \\lambda)\\,p + \\lambda\\,u$ with $u$ uniform, built in this lesson from the target's own $p$: $\\lambda$ dials the overlap directly.`,
      controls: ['sigma', 'mix'],
      views: [
        { cell: 'overlapChart', title: 'First-draft acceptance along the text, three drafters' },
        { cell: 'drafterStats', title: 'Mean acceptance and cost' },
        { cell: 'positionChart', title: 'Acceptance by draft position (the chosen drafter)', caption: `From the engine's runs at γ = ${GAMMA_MAX}: at each draft position i, the chance α_i = Σ min(p_i, q_i) that the draft there would be accepted, averaged over every step (the trace keeps p_i and q_i even for drafts never verified). Flat bars fit the i.i.d. assumption behind the theory curve of the next section.` },
      ],
    },
    {
      id: 'speed',
      title: 'Tokens per step, and what they buy',
      prose: `If every draft were accepted independently with probability $\\alpha$, a step would write $1 + \\alpha + \\dots + \\alpha^\\gamma$ tokens on average (Leviathan et al. 2023, eq. 1):
$$\\mathbb{E}[\\text{tokens per step}] = \\frac{1 - \\alpha^{\\gamma+1}}{1 - \\alpha}.$$
A step costs one target pass and $\\gamma$ drafter passes. With a drafter pass costing $c$ target passes, the expected walltime improvement over plain decoding (their Theorem 3.8) is
$$\\frac{1 - \\alpha^{\\gamma+1}}{(1 - \\alpha)(\\gamma c + 1)}.$$
The dots are measured. The engine's \`speculate\` runs at $\\gamma = ${GAMMA_MAX}$; a step whose first $a$ drafts were accepted would, with $\\gamma$ drafts, have written $\\min(a, \\gamma) + 1$ tokens (the same drafts and the same accept/reject draws, cut at $\\gamma$), so one set of runs measures every $\\gamma$. The second dot is the timeline's own run. The theory curve uses $\\alpha$ = accepted ÷ verified drafts of the same runs (the engine's \`acceptanceRate\` divides by all proposed drafts, including those thrown away unverified after a rejection).`,
      controls: ['cost'],
      views: [
        { cell: 'tokensChart', title: 'Tokens per verification step against draft length' },
        { cell: 'speedChart', title: 'Estimated walltime speedup against draft length' },
        { cell: 'speedStats', title: 'At your γ and c' },
        { cell: 'published', title: 'DeepSeek-V3, as published' },
      ],
      after: 'Longer drafts pay only while $\\alpha^\\gamma$ is not negligible, and every draft costs $c$ whether it is kept or not: a costlier drafter moves the best $\\gamma$ down. DeepSeek-V3 drafts a single token ($\\gamma = 1$) with one MTP module, about one decoder block against the target\'s 61 layers (so $c$ is small); its reported 85–90% acceptance gives 1.85–1.90 tokens per target pass, and it reports 1.8× tokens per second. On this small model the MTP module is one block against three, with the same output head and the per-call overhead of a tiny model, so the measured $c$ is far from small, and speculative decoding can be slower than plain decoding here (measured in Node: c ≈ 1.16, a 0.44× speed-up).',
    },
    {
      id: 'exact',
      title: 'The output distribution is preserved',
      prose: `Why the residual? The rule emits token $y$ either by accepting a draft $y$, or by rejecting some draft and resampling $y$:
$$\\begin{aligned} P(y) &= q(y) \\min\\Big(1, \\frac{p(y)}{q(y)}\\Big) + (1 - \\alpha)\\, \\frac{\\max(0, p(y) - q(y))}{1 - \\alpha} \\\\ &= \\min(p(y), q(y)) + \\max(0, p(y) - q(y)) = p(y), \\end{aligned}$$
since a draft is rejected with probability $1 - \\alpha = \\sum_x \\max(0, p(x) - q(x))$. Below, the $p$ and $q$ of the inspected step's first draft, and ${DRAWS.toLocaleString('en-US')} draws $x \\sim q$ passed through the engine's \`verifyDraft\`. The chi-square figure compares the histogram with $p$.

The counterfactual replaces the residual by $p$ itself: a function written in this lesson, \`verifyDraftWrongRule\`, one line away from the engine's. Then $P(y) = \\min(p(y), q(y)) + (1 - \\alpha)\\, p(y)$: tokens the drafter over-proposes come out too often, and the chi-square test rejects it; the fourth series is that law, which the wrong histogram follows instead of $p$.`,
      controls: ['wrongRule'],
      views: [
        { cell: 'drawsChart', title: 'Target p, drafter q, and what the rule emits' },
        { cell: 'drawsStats', title: 'Is the histogram p?' },
      ],
      after: 'The engine\'s tests check the same law end to end: the joint law of the first two tokens over 5,000 `speculate` runs (MTP module and a second model drafting) and the third token reached through bonus tokens and resamples, each against the exact law computed from `target.forward`.',
    },
  ],
  // Every cell is a function of its inputs (the runs are kept by setting, nothing reads a clock): a
  // seed move on the shipped model, which the seed does not change, keeps the target and what
  // depends on it alone (the drafter's counted cost: a forward on the page).
  pure: true,
  formula: {
    cell: 'scope',
    initial: 'sum((p + q - abs(p - q)) / 2)',
    examples: [
      'sum((p + q - abs(p - q)) / 2)',
      '(1 - alpha^(gamma + 1)) / (1 - alpha)',
      '(1 - alpha^(gamma + 1)) / ((1 - alpha) * (gamma * c + 1))',
      '(p - q + abs(p - q)) / sum(p - q + abs(p - q))',
      'counts / sum(counts) - p',
      'tokens_per_step',
    ],
    descriptions: {
      p: 'target distribution p_1 of the inspected step (over the vocabulary)',
      q: 'drafter distribution q_1 of the inspected step',
      alpha: 'acceptance measured as accepted ÷ verified drafts (runs at γ = 8)',
      gamma: 'draft length γ',
      c: 'drafter cost c (one draft pass ÷ one target pass)',
      tokens_per_step: 'measured tokens per verification step at γ = 1..8',
      counts: `histogram of ${DRAWS} tokens emitted by the rule on p and q`,
    },
  },
};
