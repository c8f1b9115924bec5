// The speculative-decoding lesson's heavy engine work, as jobs of the kit's engine worker
// (_kit/engine-worker.ts): the traced speculate runs, the drafters' first-draft acceptance over the
// target's own text, and the wall-clock timing. A sigma, seed, temperature or gamma move needed
// 70-300 ms of these on the page's main thread (bench:ui under load); in the worker the page keeps
// drawing. The noisy-copy drafter is built where it runs (noisyCopy of the target), so its weights
// never cross to the page. The same functions run in-process where there is no Worker (Node).
import { generate } from '$engine/generate';
import { type Model, rowOf } from '$engine/model';
import { type SamplingOptions, samplingDistribution } from '$engine/sampling';
import { type SpeculateResult, MtpDrafter, acceptanceProbability, expectedTokensPerStep, speculate } from '$engine/speculate';
import { type DrafterChoice, NEW_TOKENS, makeDrafter, mixWithUniform, noisyDrafterModel, runPrompt } from './lab';
import { Lru, idOf } from './memo';

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

export interface Overlap { positions: number[]; mtp: number[]; noisy: number[]; mix: number[] }

/**
 * At each position t after the prompt of `text` (the target's own text): the target's p_t and each
 * drafter's q_t for the first draft there (MTP: the module reads the target's h_{t-2} and token
 * t-1, as MtpDrafter does); alpha = acceptanceProbability(p, q).
 */
function overlap(q: { target: Model; sigma: number; seed: number; lambda: number; sampling: SamplingOptions; text: number[] }): Overlap {
  const { target, sampling, text } = q;
  const V = target.config.vocab_size, d = target.config.hidden_size, n = text.length;
  const main = target.forward(text);
  const copy = noisyOf(target, q.sigma, q.seed).forward(text);
  const mtp = target.mtpForward(0, main.hidden.slice(0, (n - 2) * d), text.slice(1, n - 1));
  const positions: number[] = [], mtpA: number[] = [], noisyA: number[] = [], mixA: number[] = [];
  const P = n - NEW_TOKENS; // the prompt's length
  for (let t = Math.max(2, P); t < n; t++) {
    const p = samplingDistribution(rowOf(main.logits, t - 1, V), sampling);
    positions.push(t - P + 1);
    mtpA.push(acceptanceProbability(p, samplingDistribution(rowOf(mtp.logits, t - 2, V), sampling)));
    noisyA.push(acceptanceProbability(p, samplingDistribution(rowOf(copy.logits, t - 1, V), sampling)));
    mixA.push(acceptanceProbability(p, mixWithUniform(p, q.lambda)));
  }
  return { positions, mtp: mtpA, noisy: noisyA, mix: mixA };
}

/** Tokens each timed run writes. */
const TIMED_TOKENS = 32;
/** Decode steps timed per model to measure c. */
const TIMED_STEPS = 12;

export interface Wallclock { plainMs: number; specMs: number; c: number; speedup: number; theory: number; alpha: number; acceptance: number }

/**
 * Wall-clock on the reader's machine (in the lesson's worker, on its WebAssembly kernels): plain
 * decoding against speculate with the MTP drafter at the chosen γ, over the same prompt and draws,
 * and the drafter cost c as a time ratio (one MTP module step over one target decode step, both
 * after the same prefill). Timings, not model math: every number comes from running the engine.
 */
function wallclock(q: { target: Model; sampling: SamplingOptions; gamma: number; seed: number; text: string; alpha: number }): Wallclock {
  const { target, sampling, gamma, seed, alpha } = q;
  const prompt = runPrompt(target.config.vocab_size, seed, q.text);
  const time = (f: () => void) => { const t0 = performance.now(); f(); return performance.now() - t0; };
  // Warm both paths once (kernels compile, buffers grow), then time.
  generate(target, prompt, { maxNewTokens: 4, sampling, seed });
  const plainMs = time(() => generate(target, prompt, { maxNewTokens: TIMED_TOKENS, sampling, seed }));
  let spec: SpeculateResult | null = null;
  const specMs = time(() => { spec = speculate(target, prompt, { maxNewTokens: TIMED_TOKENS, gamma, drafter: new MtpDrafter(target), sampling, seed }); });
  const d = target.config.hidden_size;
  const cache = target.createCache('absorbed');
  const pre = target.forward(prompt, { cache });
  const targetMs = time(() => { for (let i = 0; i < TIMED_STEPS; i++) target.forward([prompt[i % prompt.length]], { cache }); });
  const mcache = target.createMtpCache('absorbed');
  target.mtpForward(0, pre.hidden.slice(0, (prompt.length - 1) * d), prompt.slice(1), { cache: mcache });
  const last = pre.hidden.slice((prompt.length - 1) * d);
  const mtpMs = time(() => { for (let i = 0; i < TIMED_STEPS; i++) target.mtpForward(0, last, [prompt[i % prompt.length]], { cache: mcache }); });
  const c = mtpMs / Math.max(1e-9, targetMs);
  const result = spec as SpeculateResult | null;
  return { plainMs, specMs, c, speedup: plainMs / Math.max(1e-9, specMs), theory: expectedTokensPerStep(alpha, gamma) / (gamma * c + 1), alpha, acceptance: result ? result.acceptanceRate : 0 };
}

/** The target's own continuation of `prompt` (plain decoding: greedy, or sampled with `seed`). */
function generateJob(q: { target: Model; prompt: number[]; maxNewTokens: number; sampling?: SamplingOptions; seed?: number }): number[] {
  return generate(q.target, q.prompt, { maxNewTokens: q.maxNewTokens, sampling: q.sampling, seed: q.seed }).tokens;
}

export const jobs = { runs, overlap, wallclock, generate: generateJob };
