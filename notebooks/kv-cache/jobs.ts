// The KV-cache lesson's decode runs, as jobs of the kit's engine worker (_kit/engine-worker.ts):
// three decoders over the prompt (no cache, a K/V cache, MLA's latent cache), multiply-adds counted
// per step. The same code runs in-process where there is no Worker (Node).
import { countingBackend } from '$kernels/counting';
import { type DecodeMode, decodeSteps, type GenerateStep } from '$engine/generate';
import type { Model } from '$engine/model';

export interface DecodeRun {
  mode: DecodeMode;
  tokens: number[];
  processed: number[];
  macs: number[];
  cacheBytes: number[];
}

/**
 * One decode run on the engine with a counting backend, one tally of multiply-adds per step. It
 * keeps its decoder, so a longer run continues where it stopped (the same tokens as a fresh run:
 * decoding is deterministic) and a shorter one is a prefix of what is already computed.
 */
class CountedDecode {
  readonly #counter: ReturnType<typeof countingBackend>;
  readonly #steps: Iterator<GenerateStep>;
  readonly #done: DecodeRun;

  constructor(model: Model, prompt: number[], readonly mode: DecodeMode) {
    this.#counter = countingBackend(model.backend);
    this.#steps = decodeSteps(model.withBackend(this.#counter), prompt, { attention: mode });
    this.#done = { mode, tokens: [], processed: [], macs: [], cacheBytes: [] };
  }

  /** The first `steps` steps, running the engine for any not yet run. */
  take(steps: number): DecodeRun {
    const run = this.#done;
    while (run.tokens.length < steps) {
      this.#counter.reset();
      const s = this.#steps.next().value as GenerateStep;
      run.tokens.push(s.token);
      run.processed.push(s.processed);
      run.macs.push(this.#counter.macs);
      run.cacheBytes.push(s.cacheBytes);
    }
    return {
      mode: run.mode, tokens: run.tokens.slice(0, steps), processed: run.processed.slice(0, steps),
      macs: run.macs.slice(0, steps), cacheBytes: run.cacheBytes.slice(0, steps),
    };
  }
}


const MODES = ['recompute', 'full-cache', 'absorbed'] as const;
/** Decoders of recent (model, prompt) pairs: going back to a prompt length continues its runs. */
const kept: { model: Model; prompt: string; decoders: CountedDecode[] }[] = [];
const KEPT = 8;

/** The first `steps` steps of each mode's decode of `prompt`, running the engine for any not yet run. */
function decode(q: { model: Model; prompt: number[]; steps: number }): DecodeRun[] {
  const key = q.prompt.join();
  let at = kept.findIndex((k) => k.model === q.model && k.prompt === key);
  if (at < 0) {
    kept.unshift({ model: q.model, prompt: key, decoders: MODES.map((mode) => new CountedDecode(q.model, q.prompt, mode)) });
    kept.length = Math.min(kept.length, KEPT);
    at = 0;
  }
  return kept[at].decoders.map((d) => d.take(q.steps));
}

export const jobs = { decode };
