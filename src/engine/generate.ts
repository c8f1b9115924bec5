// Autoregressive decoding: prefill the prompt, then one token per step, with a KV cache on one of
// the three attention paths, or with no cache at all (the whole sequence recomputed every step:
// what the cache saves).
import type { AttentionPath } from './cache.js';
import { EngineInputError, checkFinite } from './errors.js';
import { type Model, rowOf } from './model.js';
import { type Rng, type SamplingOptions, argmax, createRng, sampleFrom, samplingDistribution } from './sampling.js';

export type DecodeMode = AttentionPath | 'recompute';

export interface GenerateOptions {
  maxNewTokens: number;
  /** temperature 0 is greedy. */
  sampling?: SamplingOptions;
  seed?: number;
  /** Which cache the decode uses; 'recompute' runs the whole sequence again at every step. */
  attention?: DecodeMode;
  /** Stop early after emitting one of these. */
  stopTokens?: readonly number[];
  /** Called after each step (e.g. to read a counting backend's tally for that step). */
  onStep?: (step: GenerateStep, index: number) => void;
}

export interface GenerateStep {
  token: number;
  /** Tokens the model ran over to produce this one (the prompt for the first, then 1, or all with recompute). */
  processed: number;
  /** Float32 KV-cache bytes held after the step (0 with recompute). */
  cacheBytes: number;
}

export interface GenerateResult {
  tokens: number[];
  steps: GenerateStep[];
}

/** Pick the next token from a logits row. */
export function pickToken(logits: ArrayLike<number>, sampling: SamplingOptions, rng: Rng): number {
  checkFinite(logits, 'the logits decoded from'); // argmax of NaNs is token 0, silently
  if (!(sampling.temperature > 0)) return argmax(logits);
  return sampleFrom(samplingDistribution(logits, sampling), rng);
}

export function checkMaxNewTokens(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new EngineInputError(`max new tokens must be a non-negative integer (got ${n})`);
}

export type DecodeOptions = Omit<GenerateOptions, 'maxNewTokens' | 'onStep' | 'stopTokens'>;

/**
 * The decode loop as an iterator: each next() runs one step (the first prefills the prompt) and
 * yields it; it never ends by itself. generate() drains it; a caller can also pull steps as it
 * needs them and keep the iterator to continue later (a lesson extends a run when a slider asks
 * for more tokens), with the same tokens as one longer run.
 */
export function* decodeSteps(model: Model, prompt: readonly number[], options: DecodeOptions = {}): Generator<GenerateStep, never> {
  model.checkTokens(prompt);
  const sampling = options.sampling ?? { temperature: 0 };
  const rng = createRng(options.seed ?? 0);
  const V = model.config.vocab_size;
  const mode = options.attention ?? 'absorbed';
  const seq = [...prompt];
  const cache = mode === 'recompute' ? null : model.createCache(mode);
  let pending: number[] = [...prompt]; // tokens not yet run through the model
  for (;;) {
    const input = cache ? pending : seq;
    // reuse: this step's logits are read before the next step overwrites them
    const out = model.forward(input, { cache, lastLogitsOnly: true, reuse: true });
    const next = pickToken(out.logits.length === V ? out.logits : rowOf(out.logits, 0, V), sampling, rng);
    seq.push(next);
    pending = [next];
    yield { token: next, processed: input.length, cacheBytes: cache ? cache.bytes : 0 };
  }
}

export function generate(model: Model, prompt: readonly number[], options: GenerateOptions): GenerateResult {
  model.checkTokens(prompt);
  checkMaxNewTokens(options.maxNewTokens);
  const stop = new Set(options.stopTokens ?? []);
  const tokens: number[] = [];
  const steps: GenerateStep[] = [];
  if (options.maxNewTokens === 0) return { tokens, steps };
  const decoder = decodeSteps(model, prompt, options);
  while (tokens.length < options.maxNewTokens) {
    const step = decoder.next().value;
    tokens.push(step.token);
    steps.push(step);
    options.onStep?.(step, steps.length - 1);
    if (stop.has(step.token)) break;
  }
  return { tokens, steps };
}
