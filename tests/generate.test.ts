// The decode loop: generate() and the step iterator it drains. A run continued from a kept
// iterator is the same run as one asked for all at once (greedy or sampled, on every mode), and
// maxNewTokens / stop tokens end generate() where they say.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTENTION_PATHS } from '../src/engine/cache.js';
import { type DecodeMode, decodeSteps, generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { arbConfig, arbTokens } from './helpers/configs.js';

const MODES: DecodeMode[] = [...ATTENTION_PATHS, 'recompute'];

describe('decodeSteps', () => {
  it('continued later, gives the tokens and step records of one longer generate()', () => {
    fc.assert(
      fc.property(
        arbConfig(), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(...MODES), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }),
        fc.boolean(), fc.integer({ min: 0, max: 99 }),
        (cfg, seed, attention, first, more, sampled, samplingSeed) => {
          const model = initModel(cfg, { seed });
          const prompt = fc.sample(arbTokens(cfg.vocab_size, 1, 6), { seed, numRuns: 1 })[0];
          const options = { attention, seed: samplingSeed, sampling: sampled ? { temperature: 1.3 } : { temperature: 0 } };
          const whole = generate(model, prompt, { ...options, maxNewTokens: first + more });
          const steps = decodeSteps(model, prompt, options);
          const taken = Array.from({ length: first }, () => steps.next().value);
          // ... other work in between changes nothing ...
          generate(model, prompt, { ...options, maxNewTokens: 2 });
          for (let i = 0; i < more; i++) taken.push(steps.next().value);
          expect(taken).toEqual(whole.steps);
          expect(taken.map((s) => s.token)).toEqual(whole.tokens);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('forward with lastLogitsOnly gives the last row of the full logits', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 1000 }), (cfg, seed) => {
      const model = initModel(cfg, { seed });
      const prompt = fc.sample(arbTokens(cfg.vocab_size, 1, 7), { seed, numRuns: 1 })[0];
      const full = model.forward(prompt);
      const last = model.forward(prompt, { lastLogitsOnly: true });
      const V = cfg.vocab_size;
      expect(last.logits.length).toBe(V);
      expect(Array.from(last.logits)).toEqual(Array.from(full.logits.subarray((prompt.length - 1) * V)));
      expect(Array.from(last.hidden)).toEqual(Array.from(full.hidden));
    }), { numRuns: 30 });
  });

  it('generate() stops at maxNewTokens, at a stop token, and runs nothing for 0 tokens', () => {
    const model = initModel(fc.sample(arbConfig(), { seed: 3, numRuns: 1 })[0], { seed: 3 });
    const long = generate(model, [1, 2, 3], { maxNewTokens: 6 });
    expect(long.tokens).toHaveLength(6);
    expect(long.steps.map((s) => s.processed)).toEqual([3, 1, 1, 1, 1, 1]);
    const stopAt = long.tokens[2];
    const first = long.tokens.indexOf(stopAt);
    expect(generate(model, [1, 2, 3], { maxNewTokens: 6, stopTokens: [stopAt] }).tokens).toEqual(long.tokens.slice(0, first + 1));
    expect(generate(model, [1, 2, 3], { maxNewTokens: 0 })).toEqual({ tokens: [], steps: [] });
  });
});
