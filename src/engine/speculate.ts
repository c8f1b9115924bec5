// Speculative decoding (Leviathan et al. 2023; Chen et al. 2023) with DeepSeek-V3's MTP module or a
// smaller model as the drafter. Each step: the drafter proposes gamma tokens x_1..x_gamma from its
// distributions q_i; the target runs once over [last token, x_1..x_gamma] and gives p_1..p_{gamma+1};
// x_i is accepted with probability min(1, p_i(x_i) / q_i(x_i)); at the first rejection a token is
// drawn from norm(max(0, p_i - q_i)) and the step ends; if all are accepted a bonus token is drawn
// from p_{gamma+1}. The output is distributed exactly as sampling from the target alone. At
// temperature 0 both distributions are one-hot, and the same rule is greedy verification: the
// output equals plain greedy decoding token for token.
import type { AttentionPath, KVCache } from './cache.js';
import { EngineInputError } from './errors.js';
import { checkMaxNewTokens } from './generate.js';
import { type Model, rowOf } from './model.js';
import { type Rng, type SamplingOptions, createRng, sampleFrom, samplingDistribution } from './sampling.js';

/** Proposes draft tokens after a committed sequence whose last token the target has not run yet. */
export interface Drafter {
  readonly name: string;
  /** The target ran over `count` tokens from position `start`; `hidden` [count, d] are its final states. */
  observe(start: number, hidden: Float32Array, count: number): void;
  /** Draft gamma tokens to follow `seq`; q[i] is the distribution x_i was drawn from. */
  propose(seq: readonly number[], gamma: number, sampling: SamplingOptions, rng: Rng): { tokens: number[]; q: Float64Array[] };
  /** The step ended; `seq` is the new committed sequence. */
  commit(seq: readonly number[]): void;
}

/** DeepSeek-V3's MTP module as the drafter: position i reads the target's h_i and token t_{i+1}. */
export class MtpDrafter implements Drafter {
  readonly name = 'mtp';
  private readonly cache: KVCache;
  private readonly hidden = new Map<number, Float32Array>(); // target h by position, not yet consumed
  private real = 0; // MTP cache positions computed from true target states

  constructor(private readonly model: Model, path: AttentionPath = 'absorbed') {
    if (model.weights.mtp.length === 0) {
      throw new EngineInputError('this model has no MTP module (num_nextn_predict_layers is 0): draft with a second model instead');
    }
    this.cache = model.createMtpCache(path);
  }

  observe(start: number, hidden: Float32Array, count: number): void {
    const d = this.model.config.hidden_size;
    for (let i = 0; i < count; i++) this.hidden.set(start + i, hidden.slice(i * d, (i + 1) * d));
  }

  propose(seq: readonly number[], gamma: number, sampling: SamplingOptions, rng: Rng) {
    const d = this.model.config.hidden_size, V = this.model.config.vocab_size;
    const m = seq.length;
    // Catch up on positions real..m-2 (true target states), the last of which drafts x_1.
    const from = this.cache.length, rows = m - 1 - from;
    const H = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) {
      const h = this.hidden.get(from + i);
      if (!h) throw new Error(`MtpDrafter: no target hidden state for position ${from + i}`);
      H.set(h, i * d);
    }
    let out = this.model.mtpForward(0, H, seq.slice(from + 1, m), { cache: this.cache });
    this.real = m - 1;
    const tokens: number[] = [], q: Float64Array[] = [];
    for (let i = 0; i < gamma; i++) {
      const qi = samplingDistribution(rowOf(out.logits, out.tokens - 1, V), sampling);
      const x = sampleFrom(qi, rng);
      tokens.push(x);
      q.push(qi);
      // Chain on the module's own output state in place of the target's (not known yet).
      if (i + 1 < gamma) out = this.model.mtpForward(0, out.hidden.slice((out.tokens - 1) * d), [x], { cache: this.cache });
    }
    return { tokens, q };
  }

  commit(): void {
    this.cache.truncate(this.real);
    for (const pos of [...this.hidden.keys()]) if (pos < this.real) this.hidden.delete(pos);
  }
}

/** A second (smaller) model with the same vocabulary as the drafter, decoding with its own cache. */
export class ModelDrafter implements Drafter {
  readonly name: string;
  private readonly cache: KVCache;
  private fed: number[] = []; // tokens in the drafter's cache, in order

  /**
   * `shape`, when given, turns the draft model's sampling distribution into the q it drafts from
   * (e.g. a lesson's hand-shaped mix of p and uniform); q is what verification divides by.
   */
  constructor(
    private readonly draft: Model, target: Model, path: AttentionPath = 'absorbed', name = 'draft model',
    private readonly shape?: (q: Float64Array) => Float64Array,
  ) {
    if (draft.config.vocab_size !== target.config.vocab_size) {
      throw new EngineInputError(`the draft model's vocab_size ${draft.config.vocab_size} differs from the target's ${target.config.vocab_size}`);
    }
    this.cache = draft.createCache(path);
    this.name = name;
  }

  observe(): void { /* a separate model needs nothing of the target */ }

  propose(seq: readonly number[], gamma: number, sampling: SamplingOptions, rng: Rng) {
    const V = this.draft.config.vocab_size;
    let input = seq.slice(this.fed.length);
    const tokens: number[] = [], q: Float64Array[] = [];
    for (let i = 0; i < gamma; i++) {
      const out = this.draft.forward(input, { cache: this.cache });
      this.fed.push(...input);
      const dist = samplingDistribution(rowOf(out.logits, out.tokens - 1, V), sampling);
      const qi = this.shape ? this.shape(dist) : dist;
      const x = sampleFrom(qi, rng);
      tokens.push(x);
      q.push(qi);
      input = [x];
    }
    return { tokens, q };
  }

  commit(seq: readonly number[]): void {
    let keep = 0;
    // The last committed token is fed on the next proposal, never kept (under typical acceptance it can
    // equal a rejected draft the drafter already ran).
    while (keep < this.fed.length && keep < seq.length - 1 && this.fed[keep] === seq[keep]) keep++;
    this.fed.length = keep;
    this.cache.truncate(keep);
  }
}

export interface DraftDecision {
  token: number;
  /** p_i(x_i) and q_i(x_i). */
  p: number;
  q: number;
  accepted: boolean;
}

export interface SpeculativeStep {
  proposed: number;
  accepted: number;
  /** The tokens this step committed: the accepted drafts, then the resampled or bonus token. */
  emitted: number[];
  /** How the last emitted token was made. */
  last: 'resampled' | 'bonus';
  /** With trace: every drafted token (verified or not), each verified draft, and the full distributions (p has gamma + 1 rows). */
  drafts?: number[];
  decisions?: DraftDecision[];
  p?: Float64Array[];
  q?: Float64Array[];
}

export interface SpeculateOptions {
  maxNewTokens: number;
  gamma: number;
  drafter: Drafter;
  sampling?: SamplingOptions;
  seed?: number;
  attention?: AttentionPath;
  trace?: boolean;
}

export interface SpeculateResult {
  tokens: number[];
  /** The prefill's token (sampled from the target alone, before any drafting). */
  firstToken: number;
  steps: SpeculativeStep[];
  proposed: number;
  accepted: number;
  /** Drafts the target actually judged (accepted ones plus each step's rejection); later drafts of a rejected step are never looked at. */
  verified: number;
  /** accepted / proposed. */
  acceptanceRate: number;
  /** Target forward passes: the prefill plus one per step. */
  targetPasses: number;
}

/**
 * One verification decision: accept x with probability min(1, p(x)/q(x)); otherwise draw from the
 * residual norm(max(0, p - q)). Exported so tests and lessons can exercise the rule alone.
 */
export function verifyDraft(x: number, p: Float64Array, q: Float64Array, rng: Rng): { accepted: boolean; token: number } {
  const u = rng();
  if (q[x] > 0 && u < p[x] / q[x]) return { accepted: true, token: x };
  const residual = new Float64Array(p.length);
  let mass = 0;
  for (let i = 0; i < p.length; i++) { residual[i] = Math.max(0, p[i] - q[i]); mass += residual[i]; }
  // mass is 0 only when p == q, where rejection has probability 0: draw from p then.
  return { accepted: false, token: sampleFrom(mass > 0 ? residual : p, rng) };
}

export function speculate(target: Model, prompt: readonly number[], options: SpeculateOptions): SpeculateResult {
  target.checkTokens(prompt);
  checkMaxNewTokens(options.maxNewTokens);
  if (!Number.isInteger(options.gamma) || options.gamma < 1) throw new EngineInputError(`gamma must be an integer >= 1 (got ${options.gamma})`);
  const sampling = options.sampling ?? { temperature: 0 };
  const rng = createRng(options.seed ?? 0);
  const V = target.config.vocab_size;
  const { drafter, gamma } = options;
  const cache = target.createCache(options.attention ?? 'absorbed');

  // Prefill: the target alone gives the first token; the drafter sees its hidden states.
  const pre = target.forward(prompt, { cache });
  drafter.observe(0, pre.hidden, pre.tokens);
  const firstToken = sampleFrom(samplingDistribution(rowOf(pre.logits, pre.tokens - 1, V), sampling), rng);
  const seq = [...prompt, firstToken];
  const steps: SpeculativeStep[] = [];
  let proposed = 0, accepted = 0, verified = 0;

  while (seq.length - prompt.length < options.maxNewTokens) {
    const draft = drafter.propose(seq, gamma, sampling, rng);
    const start = cache.length; // = seq.length - 1: the last committed token is not in the cache yet
    const out = target.forward([seq[seq.length - 1], ...draft.tokens], { cache });
    const p = Array.from({ length: gamma + 1 }, (_, i) => samplingDistribution(rowOf(out.logits, i, V), sampling));
    const emitted: number[] = [];
    const decisions: DraftDecision[] = [];
    let last: 'resampled' | 'bonus' = 'bonus';
    let a = 0;
    for (; a < gamma; a++) {
      const x = draft.tokens[a];
      const v = verifyDraft(x, p[a], draft.q[a], rng);
      decisions.push({ token: x, p: p[a][x], q: draft.q[a][x], accepted: v.accepted });
      emitted.push(v.token);
      if (!v.accepted) { last = 'resampled'; break; }
    }
    if (a === gamma) emitted.push(sampleFrom(p[gamma], rng));
    // Keep the target's cache through the last accepted draft; the new token is fed next step.
    cache.truncate(start + 1 + a);
    drafter.observe(start, out.hidden, a + 1);
    seq.push(...emitted);
    drafter.commit(seq);
    proposed += gamma;
    accepted += a;
    verified += decisions.length;
    const step: SpeculativeStep = { proposed: gamma, accepted: a, emitted, last };
    if (options.trace) Object.assign(step, { drafts: draft.tokens, decisions, p, q: draft.q });
    steps.push(step);
  }
  return {
    tokens: seq.slice(prompt.length, prompt.length + options.maxNewTokens),
    firstToken,
    steps,
    proposed,
    accepted,
    verified,
    acceptanceRate: proposed > 0 ? accepted / proposed : 0,
    targetPasses: 1 + steps.length,
  };
}

/** alpha = sum_x min(p(x), q(x)): the chance a draft from q is accepted when the target is p. */
export function acceptanceProbability(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let a = 0;
  for (let i = 0; i < p.length; i++) a += Math.min(p[i], q[i]);
  return a;
}

/**
 * Expected tokens per verification step with gamma drafts, each accepted independently with
 * probability alpha: 1 + alpha + ... + alpha^gamma = (1 - alpha^(gamma+1)) / (1 - alpha)
 * (Leviathan et al. 2023, eq. 1).
 */
export function expectedTokensPerStep(alpha: number, gamma: number): number {
  if (alpha >= 1) return gamma + 1;
  return (1 - alpha ** (gamma + 1)) / (1 - alpha);
}

/**
 * Speculative steps with i.i.d. drafts: every position's target is p and drafter q, decided by the
 * same rule as `speculate` (verifyDraft). Returns the tokens each step produced.
 */
export function simulateIidSteps(p: Float64Array, q: Float64Array, gamma: number, steps: number, rng: Rng): number[] {
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    let tokens = 0;
    let all = true;
    for (let i = 0; i < gamma; i++) {
      const v = verifyDraft(sampleFrom(q, rng), p, q, rng);
      tokens++;
      if (!v.accepted) { all = false; break; }
    }
    out.push(all ? tokens + 1 : tokens);
  }
  return out;
}
