// The worked identities of MLA: every decode path (absorbed, decompressed, full-cache), fed the
// tokens in any split of prefill and steps, gives the logits of the full recompute; the caches hold
// what the design says; the trace is consistent; the cost model counts what the code multiplies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countingBackend } from '../kernels/counting.js';
import { referenceBackend } from '../kernels/reference.js';
import { ATTENTION_PATHS, type AttentionPath } from '../src/engine/cache.js';
import { qkHeadDim } from '../src/engine/config.js';
import { decodeCost } from '../src/engine/cost.js';
import { initModel, initTensors } from '../src/engine/init.js';
import { arbConfig, arbTokens } from './helpers/configs.js';

/** float32 tolerance for logits of order 1-10 after a few layers: absolute plus relative. */
function expectClose(actual: Float32Array, expected: Float32Array, what: string) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    worst = Math.max(worst, err);
  }
  expect(worst, `${what}: worst scaled error ${worst}`).toBeLessThan(2e-5);
}

/** Split n tokens into a prefill and chunks (sizes from `cuts`). */
function chunks(tokens: number[], cuts: number[]): number[][] {
  const out: number[][] = [];
  let i = 0;
  for (const c of cuts) {
    if (i >= tokens.length) break;
    out.push(tokens.slice(i, i + c));
    i += c;
  }
  if (i < tokens.length) for (; i < tokens.length; i++) out.push([tokens[i]]);
  return out;
}

describe('decode paths equal the full recompute', () => {
  it('for random configs, weights, prompts and prefill/step splits', () => {
    fc.assert(
      fc.property(
        arbConfig(),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 12 }),
        (cfg, seed, cuts, n) => {
          const model = initModel(cfg, { seed });
          const tokens = Array.from({ length: n }, (_, i) => (seed * 7 + i * 13) % cfg.vocab_size);
          const full = model.forward(tokens).logits;
          const V = cfg.vocab_size;
          for (const path of ATTENTION_PATHS) {
            const cache = model.createCache(path);
            const logits = new Float32Array(n * V);
            let at = 0;
            for (const chunk of chunks(tokens, cuts)) {
              const out = model.forward(chunk, { cache });
              logits.set(out.logits, at * V);
              at += chunk.length;
            }
            expect(cache.length).toBe(n);
            expectClose(logits, full, path);
          }
        },
      ),
      { numRuns: 60, seed: 20261122 },
    );
  });

  it('MTP module: cached step by step equals one pass', () => {
    fc.assert(
      fc.property(arbConfig({ mtp: 1 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 10 }), (cfg, seed, n) => {
        const model = initModel(cfg, { seed });
        const tokens = Array.from({ length: n + 1 }, (_, i) => (seed + i * 5) % cfg.vocab_size);
        const main = model.forward(tokens.slice(0, n));
        const whole = model.mtpForward(0, main.hidden, tokens.slice(1));
        const d = cfg.hidden_size, V = cfg.vocab_size;
        for (const path of ATTENTION_PATHS) {
          const cache = model.createMtpCache(path);
          const logits = new Float32Array(n * V);
          for (let i = 0; i < n; i++) {
            const out = model.mtpForward(0, main.hidden.slice(i * d, (i + 1) * d), [tokens[i + 1]], { cache });
            logits.set(out.logits, i * V);
          }
          expectClose(logits, whole.logits, `mtp ${path}`);
        }
      }),
      { numRuns: 25, seed: 7 },
    );
  });
});

describe('caches hold what MLA promises', () => {
  it('the latent cache holds only normalised c_KV and rotated k_rope; full-cache holds K and V per head', () => {
    fc.assert(
      fc.property(arbConfig(), fc.integer({ min: 0, max: 100 }), (cfg, seed) => {
        const model = initModel(cfg, { seed });
        const tokens = [1, 2, 3, 4].map((t) => t % cfg.vocab_size);
        const L = cfg.num_hidden_layers;
        for (const path of ATTENTION_PATHS) {
          const cache = model.createCache(path);
          const out = model.forward(tokens, { cache, trace: true });
          const perLayer = path === 'full-cache'
            ? cfg.num_attention_heads * (qkHeadDim(cfg) + cfg.v_head_dim)
            : cfg.kv_lora_rank + cfg.qk_rope_head_dim;
          expect(cache.bytesPerToken).toBe(perLayer * 4 * L);
          expect(cache.bytes).toBe(perLayer * 4 * L * tokens.length);
          expect(decodeCost(cfg, path, tokens.length).cacheBytes).toBe(cache.bytes);
          if (path !== 'full-cache') {
            // The cached rows are the traced c_KV and k_rope of those tokens, exactly.
            out.trace!.forEach((t, l) => {
              expect(Array.from(cache.layers[l].ckv.view(tokens.length))).toEqual(Array.from(t.attention.ckv));
              expect(Array.from(cache.layers[l].kPe.view(tokens.length))).toEqual(Array.from(t.attention.kPe));
            });
          }
        }
      }),
      { numRuns: 20, seed: 3 },
    );
  });

  it('attention weights in the trace are causal and sum to 1 on every path', () => {
    fc.assert(
      fc.property(arbConfig(), fc.integer({ min: 0, max: 100 }), arbTokens(5, 1, 6), (cfg, seed, raw) => {
        const model = initModel(cfg, { seed });
        const tokens = raw.map((t) => t % cfg.vocab_size);
        for (const path of [...ATTENTION_PATHS, null] as (AttentionPath | null)[]) {
          const out = model.forward(tokens, { cache: path ? model.createCache(path) : null, trace: true });
          for (const layer of out.trace!) {
            const { weights, keys } = layer.attention;
            const T = tokens.length;
            expect(keys).toBe(T);
            for (let h = 0; h < cfg.num_attention_heads; h++) {
              for (let t = 0; t < T; t++) {
                let sum = 0;
                for (let j = 0; j < T; j++) {
                  const w = weights[(h * T + t) * T + j];
                  if (j > t) expect(w).toBe(0);
                  sum += w;
                }
                expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
              }
            }
          }
        }
      }),
      { numRuns: 20, seed: 11 },
    );
  });

  it('no trace is kept unless asked for', () => {
    fc.assert(
      fc.property(arbConfig(), (cfg) => {
        const model = initModel(cfg, { seed: 1 });
        expect(model.forward([0, 1 % cfg.vocab_size]).trace).toBeNull();
      }),
      { numRuns: 5, seed: 1 },
    );
  });
});

describe('the cost model counts what the code multiplies', () => {
  it('attention multiply-adds per decode step differ between paths exactly as decodeCost says', () => {
    fc.assert(
      fc.property(arbConfig({ moe: false }), fc.integer({ min: 1, max: 20 }), (cfg, prompt) => {
        const counting = countingBackend(referenceBackend);
        const model = initModel(cfg, { seed: 5 }).withBackend(counting);
        const tokens = Array.from({ length: prompt }, (_, i) => i % cfg.vocab_size);
        const counted: Record<string, number> = {};
        for (const path of ATTENTION_PATHS) {
          const cache = model.createCache(path);
          model.forward(tokens, { cache });
          counting.macs = 0;
          model.forward([0], { cache }); // one decode step at context prompt + 1
          counted[path] = counting.macs;
        }
        const predicted = (p: AttentionPath) => decodeCost(cfg, p, prompt + 1).attentionFlops / 2;
        // Everything outside attention (norms, MLP, lm_head) is the same on every path.
        expect(counted['absorbed'] - counted['decompressed']).toBe(predicted('absorbed') - predicted('decompressed'));
        expect(counted['full-cache'] - counted['decompressed']).toBe(predicted('full-cache') - predicted('decompressed'));
      }),
      { numRuns: 30, seed: 5 },
    );
  });
});

describe('seeded init', () => {
  it('is reproducible, and reusing an earlier model gives exactly the weights a fresh init draws', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 2, max: 16 }), (cfg, seed, dc) => {
      const a = initTensors(cfg, { seed }), b = initTensors(cfg, { seed });
      for (const [name, t] of a) expect(Array.from(b.get(name)!.data)).toEqual(Array.from(t.data));
      const first = initModel(cfg, { seed });
      const changed = { ...cfg, kv_lora_rank: dc };
      const reused = initTensors(changed, { seed, reuse: first });
      const fresh = initTensors(changed, { seed });
      let shared = 0;
      for (const [name, t] of fresh) {
        expect(Array.from(reused.get(name)!.data), name).toEqual(Array.from(t.data));
        if (reused.get(name)!.data === first.weights.embed) shared++;
      }
      expect(shared).toBe(1); // the embedding did not change shape: shared, not redrawn
      // Another seed is not reused.
      const other = initTensors(cfg, { seed: seed + 1, reuse: first });
      expect(Array.from(other.get('model.embed_tokens.weight')!.data)).not.toEqual(Array.from(first.weights.embed));
    }), { numRuns: 15, seed: 9 });
  });
});
