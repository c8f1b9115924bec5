// The speculative-decoding lesson's workbench: the models it drafts with, a hand-shaped drafter,
// a chi-square check, and the one counterfactual (a wrong resampling rule) the lesson implements
// itself so the reader can see why the engine's rule is the right one. Every decision shown comes
// from the engine's `speculate` / `verifyDraft`; this file only sets them up.
import type { DeepSeekConfig } from '$engine/config';
import { initModel, noisyCopy } from '$engine/init';
import type { Model } from '$engine/model';
import { type Rng, type SamplingOptions, createRng, sampleFrom } from '$engine/sampling';
import { type Drafter, ModelDrafter, MtpDrafter } from '$engine/speculate';
import { promptIds, tinyConfig } from '../_kit/models';
import { SHIPPED_CONFIG } from '../_kit/shipped';
import { promptTokens } from '../_kit/tokens';

// ------------------------------------------------------------------ models

export type ModelChoice = 'trained' | 'random' | 'small';

/**
 * 'trained': the shipped model (kit/shipped.ts, loaded by the lesson); 'random': its shape with
 * seeded random weights; 'small': the tiny DeepSeek-V3 narrowed to d = 32 with a 12-token
 * vocabulary, so every bar of a distribution is readable.
 */
export const SMALL_OVERRIDES = {
  vocab_size: 12, hidden_size: 32, intermediate_size: 48, num_attention_heads: 2, q_lora_rank: 24, kv_lora_rank: 16,
  qk_nope_head_dim: 8, qk_rope_head_dim: 4, v_head_dim: 8, n_routed_experts: 8, num_experts_per_tok: 2,
  moe_intermediate_size: 12, n_group: 2, topk_group: 1,
} as const;

export function lessonConfig(choice: 'random' | 'small'): DeepSeekConfig {
  return choice === 'small' ? tinyConfig(SMALL_OVERRIDES) : SHIPPED_CONFIG ?? tinyConfig();
}

export function targetModel(choice: 'random' | 'small', seed: number): Model {
  return initModel(lessonConfig(choice), { seed });
}

/** The drafter's own weights: the target with noise of relative size sigma (seeded apart from the target's). */
export function noisyDrafterModel(target: Model, sigma: number, seed: number): Model {
  return noisyCopy(target, { sigma, seed: 1000 + seed });
}

/** Prompt length of the 12-token model's runs (seeded ids): short, so the prefill costs little. */
export const PROMPT_LENGTH = 4;
/** Characters of the reader's text a run of a character model starts from. */
export const PROMPT_CHARS = 12;
/** Tokens each run writes (the prefill's token and then the speculative steps). */
export const NEW_TOKENS = 16;

/**
 * The prompt of run r: for a character model (128 ids), PROMPT_CHARS characters of the reader's
 * text starting at character 2 r PROMPT_CHARS (so the runs of a sweep read different places); for
 * the 12-token model, seeded ids.
 */
export function runPrompt(vocab: number, seed: number, text: string, r = 0): number[] {
  if (vocab === 128) return promptTokens(text.slice(2 * r * PROMPT_CHARS) || text, PROMPT_CHARS).ids;
  return promptIds(PROMPT_LENGTH, vocab, seed + r);
}

// ------------------------------------------------------------------ drafters

/**
 * A hand-shaped drafter for teaching: q = (1 - lambda) p + lambda u, where p is the target's own
 * sampling distribution at that position and u is uniform over the vocabulary. It runs the target
 * itself (so it is no cheaper than the target: it exists to dial the overlap of p and q exactly),
 * and draws each draft token from q. lambda = 0 drafts from p (always accepted); lambda = 1 drafts
 * uniformly.
 */
export class MixDrafter extends ModelDrafter {
  constructor(target: Model, lambda: number) {
    super(target, target, 'absorbed', 'mix', (p) => mixWithUniform(p, lambda));
  }
}

/** (1 - lambda) p + lambda / V. */
export function mixWithUniform(p: ArrayLike<number>, lambda: number): Float64Array {
  const V = p.length;
  return Float64Array.from(p, (x) => (1 - lambda) * x + lambda / V);
}

export type DrafterChoice = 'mtp' | 'noisy' | 'mix';

export const DRAFTER_LABEL: Record<DrafterChoice, string> = {
  mtp: 'MTP module',
  noisy: 'noisy copy of the target',
  mix: 'hand-shaped q = (1 − λ) p + λ u',
};

/** What the runs need to build a fresh drafter (drafters hold caches: one per run). */
export interface DrafterSetup {
  choice: DrafterChoice;
  target: Model;
  sigma: number;
  lambda: number;
}

/** A fresh drafter; `noisy` is the noisy copy's model (noisyDrafterModel), used when the choice is 'noisy'. */
export function makeDrafter(s: DrafterSetup, noisy: Model): Drafter {
  if (s.choice === 'mtp') return new MtpDrafter(s.target);
  if (s.choice === 'noisy') return new ModelDrafter(noisy, s.target, 'absorbed', `noisy copy (sigma ${s.sigma})`);
  return new MixDrafter(s.target, s.lambda);
}

// ------------------------------------------------------------------ the runs

export const GAMMAS = [1, 2, 3, 4, 5, 6, 7, 8] as const;

export function samplingOf(greedy: boolean, temperature: number): SamplingOptions {
  return { temperature: greedy ? 0 : temperature };
}

// ------------------------------------------------------------------ the rule, right and wrong

/**
 * COUNTERFACTUAL, for the lesson only: the engine's `verifyDraft` with one line changed. After a
 * rejection it draws the replacement from p itself instead of the residual norm(max(0, p - q)).
 * Tokens that q over-proposes then come out too often: the output is no longer distributed as p.
 */
export function verifyDraftWrongRule(x: number, p: Float64Array, q: Float64Array, rng: Rng): { accepted: boolean; token: number } {
  const u = rng();
  if (q[x] > 0 && u < p[x] / q[x]) return { accepted: true, token: x };
  return { accepted: false, token: sampleFrom(p, rng) }; // WRONG: should be norm(max(0, p - q))
}

/** Pearson's chi-square of counts against probabilities, pooling cells expected below 5 (as the engine's tests do). */
export function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): { stat: number; df: number } {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i];
  let stat = 0, cells = 0, poolObs = 0, poolExp = 0;
  for (let i = 0; i < probs.length; i++) {
    const e = probs[i] * n;
    if (e < 5) { poolObs += counts[i]; poolExp += e; continue; }
    stat += (counts[i] - e) ** 2 / e;
    cells++;
  }
  if (poolExp > 0 || poolObs > 0) { stat += (poolObs - poolExp) ** 2 / Math.max(poolExp, 1e-9); cells++; }
  return { stat, df: Math.max(0, cells - 1) };
}

/** Upper 0.1% point of chi-square(df) (Wilson-Hilferty; within ~1% for df >= 3). */
export function chiSquareCritical(df: number): number {
  if (df <= 0) return 0;
  const z = 3.0902;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/** Draw n tokens through a verification rule with fixed p and q (every draw: x ~ q, then the rule). */
export function drawThroughRule(
  p: Float64Array, q: Float64Array, n: number, seed: number,
  rule: (x: number, p: Float64Array, q: Float64Array, rng: Rng) => { accepted: boolean; token: number },
): { counts: number[]; accepted: number } {
  const rng = createRng(seed);
  const counts = new Array<number>(p.length).fill(0);
  let accepted = 0;
  for (let i = 0; i < n; i++) {
    const v = rule(sampleFrom(q, rng), p, q, rng);
    counts[v.token]++;
    if (v.accepted) accepted++;
  }
  return { counts, accepted };
}
