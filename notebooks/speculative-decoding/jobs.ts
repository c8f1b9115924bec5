// The speculative-decoding lesson's heavy engine work, as jobs of the kit's engine worker
// (_kit/engine-worker.ts): the traced speculate runs (and the sweep's counts over them), the
// drafters' first-draft acceptance over the target's own text, that text, and the distribution
// check's draws through the verification rule. A sigma, seed, temperature or gamma move needed 70-300 ms of these on the page's main thread (bench:ui under load); in the worker the page keeps
// drawing. The noisy-copy drafter is built where it runs (noisyCopy of the target), so its weights
// never cross to the page. The same functions run in-process where there is no Worker (Node).
import { generate } from '$engine/generate';
import { type Model, rowOf } from '$engine/model';
import { type SamplingOptions, samplingDistribution } from '$engine/sampling';
import { type SpeculateResult, acceptanceProbability, speculate, verifyDraft } from '$engine/speculate';
import { type DrafterChoice, NEW_TOKENS, drawThroughRule, makeDrafter, noisyDrafterModel, runPrompt, verifyDraftWrongRule } from './lab';
import { type Sweep, sweepOf } from './sweep';
import { Lru } from '../_kit/memo';
import { idOf } from './memo';

/** Noisy copies by target, sigma and seed (each a full copy of the target's weights). */
const noisyModels = new Lru<Model>(8);
function noisyOf(target: Model, sigma: number, seed: number): Model {
  return noisyModels.get(`${idOf(target.weights)}/${sigma}/${seed}`, () => noisyDrafterModel(target, sigma, seed));
}

export interface RunsRequest {
  target: Model;
  choice: DrafterChoice;
  sigma: number;
  lambda: number;
  sampling: SamplingOptions;
  gamma: number;
  seed: number;
  count: number;
  text: string;
}

/** `count` traced speculate runs at one gamma; run r starts from runPrompt(..., r) with rng seed seed * 101 + r. */
function runs(q: RunsRequest): SpeculateResult[] {
  const noisy = q.choice === 'noisy' ? noisyOf(q.target, q.sigma, q.seed) : q.target;
  const setup = { choice: q.choice, target: q.target, sigma: q.sigma, lambda: q.lambda };
  return Array.from({ length: q.count }, (_, r) =>
    speculate(q.target, runPrompt(q.target.config.vocab_size, q.seed, q.text, r), {
      maxNewTokens: NEW_TOKENS, gamma: q.gamma, drafter: makeDrafter(setup, noisy), sampling: q.sampling, seed: q.seed * 101 + r, trace: true,
    }));
}

/**
 * The sweep's runs summarised where they run: the page needs only these numbers, not every step's
 * p and q (at GAMMA_MAX, two runs: ~16 steps x 8 positions x 2 distributions of 128 values to copy
 * and collect on the page per temperature or seed move).
 */
function sweep(q: RunsRequest): Sweep {
  return sweepOf(runs(q));
}

/** The target's forward over a text, shared by overlapBase and overlapNoisy (the same text follows each move). */
const forwards = new Lru<ReturnType<Model['forward']>>(4);
function forwardOf(target: Model, text: number[]) {
  return forwards.get(`${idOf(target.weights)}/${text.join(',')}`, () => target.forward(text));
}

/**
 * At each position t after the prompt of `text` (the target's own text): the target's p_t, and the
 * MTP module's first-draft acceptance there (the module reads the target's h_{t-2} and token t-1,
 * as MtpDrafter does): alpha = acceptanceProbability(p, q). The hand-shaped drafter's q is built from
 * these p on the page (mixWithUniform, lab.ts), so a lambda move needs no engine run.
 */
export interface OverlapBase { positions: number[]; p: Float64Array[]; mtp: number[] }

function overlapBase(q: { target: Model; sampling: SamplingOptions; text: number[] }): OverlapBase {
  const { target, sampling, text } = q;
  const V = target.config.vocab_size, d = target.config.hidden_size, n = text.length;
  const main = forwardOf(target, text);
  const mtp = target.mtpForward(0, main.hidden.slice(0, (n - 2) * d), text.slice(1, n - 1));
  const positions: number[] = [], ps: Float64Array[] = [], mtpA: number[] = [];
  const P = n - NEW_TOKENS; // the prompt's length
  for (let t = Math.max(2, P); t < n; t++) {
    const p = samplingDistribution(rowOf(main.logits, t - 1, V), sampling);
    positions.push(t - P + 1);
    ps.push(p);
    mtpA.push(acceptanceProbability(p, samplingDistribution(rowOf(mtp.logits, t - 2, V), sampling)));
  }
  return { positions, p: ps, mtp: mtpA };
}

/** The noisy copy's (sigma, seed) first-draft acceptance at the same positions as overlapBase. */
function overlapNoisy(q: { target: Model; sigma: number; seed: number; sampling: SamplingOptions; text: number[] }): number[] {
  const { target, sampling, text } = q;
  const V = target.config.vocab_size, n = text.length;
  const main = forwardOf(target, text);
  const copy = noisyOf(target, q.sigma, q.seed).forward(text);
  const out: number[] = [];
  for (let t = Math.max(2, n - NEW_TOKENS); t < n; t++) {
    out.push(acceptanceProbability(samplingDistribution(rowOf(main.logits, t - 1, V), sampling), samplingDistribution(rowOf(copy.logits, t - 1, V), sampling)));
  }
  return out;
}

/** The target's own continuation of `prompt` (plain decoding: greedy, or sampled with `seed`). */
function generateJob(q: { target: Model; prompt: number[]; maxNewTokens: number; sampling?: SamplingOptions; seed?: number }): number[] {
  return generate(q.target, q.prompt, { maxNewTokens: q.maxNewTokens, sampling: q.sampling, seed: q.seed }).tokens;
}

/**
 * n draws x ~ q passed through the engine's verifyDraft (or the lesson's wrong rule): 2000 draws,
 * each rejection allocating a residual, took 1-10 ms of the page's thread per seed, temperature,
 * gamma or step move.
 */
function draws(q: { p: Float64Array; q: Float64Array; n: number; seed: number; wrong: boolean }): { counts: number[]; accepted: number } {
  return drawThroughRule(q.p, q.q, q.n, q.seed, q.wrong ? verifyDraftWrongRule : verifyDraft);
}

export const jobs = { runs, sweep, overlapBase, overlapNoisy, generate: generateJob, draws };
