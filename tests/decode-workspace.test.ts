// Two properties of the decode path (issue 11):
// - W_UK folded into the query projection (mla.ts foldedQuery): the folded matrix is W_UQ,i^T W_UK,i
//   of every head (checked against absorption.ts's float64 products), and absorbed decode with it
//   equals both the full recompute and the unfolded absorbed decode, for random configs;
// - a decode step in steady state constructs no typed arrays (counted by wrapping the global
//   constructors), on the reference, the tuned loop and the wasm kernels, on every attention path.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, markConstantDeep } from '../kernels/backend.js';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { createWasmBackend, type WasmBackend } from '../kernels/wasm.js';
import { headMatrices } from '../src/engine/absorption.js';
import { ATTENTION_PATHS } from '../src/engine/cache.js';
import { parseConfig, qkHeadDim } from '../src/engine/config.js';
import { decodeSteps } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { foldedQuery } from '../src/engine/mla.js';
import type { Model } from '../src/engine/model.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { arbConfig } from './helpers/configs.js';

function worstScaledError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  return worst;
}

/** A model whose weights are marked constant, as load.ts marks a loaded model's. */
function constantModel(cfg = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' }), seed = 1, backend: Backend = referenceBackend): Model {
  const model = initModel(cfg, { seed }).withBackend(backend);
  markConstantDeep(model.weights);
  return model;
}

describe('W_UK folded into the query projection (absorbed path)', () => {
  it('is W_UQ,i^T W_UK,i of every head beside the untouched q^R rows, and only for constant weights', () => {
    const cfg = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' });
    const trainable = initModel(cfg, { seed: 3 });
    expect(foldedQuery(cfg, trainable.weights.layers[0].attn)).toBeNull(); // weights that may change: never folded
    const model = constantModel(cfg, 3);
    const nh = cfg.num_attention_heads, dc = cfg.kv_lora_rank, dr = cfg.qk_rope_head_dim, nope = cfg.qk_nope_head_dim, qk = qkHeadDim(cfg);
    for (let layer = 0; layer < cfg.num_hidden_layers; layer++) {
      const w = model.weights.layers[layer].attn;
      const fold = foldedQuery(cfg, w)!;
      expect(fold).not.toBeNull();
      expect(foldedQuery(cfg, w)).toBe(fold); // made once per model
      const qin = cfg.q_lora_rank!;
      for (let h = 0; h < nh; h++) {
        const m = headMatrices(model, layer, h); // absorbedQK [q_in, d_c] in float64
        for (let i = 0; i < qin; i++) for (let c = 0; c < dc; c++) {
          const want = m.absorbedQK[i * dc + c], got = fold.latent[(h * dc + c) * qin + i];
          expect(Math.abs(got - want), `layer ${layer} head ${h} [${c}, ${i}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want)));
        }
        for (let j = 0; j < dr; j++) for (let i = 0; i < qin; i++) {
          expect(fold.rope[(h * dr + j) * qin + i]).toBe(w.qBProj![(h * qk + nope + j) * qin + i]);
        }
      }
    }
  });

  it('absorbed decode with the fold equals the full recompute and the unfolded absorbed decode (random configs, prefill and steps)', () => {
    fc.assert(
      fc.property(
        arbConfig(), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 10 }),
        (cfg, seed, prefill, n) => {
          const model = constantModel(cfg, seed);
          const V = cfg.vocab_size;
          const tokens = Array.from({ length: prefill + n }, (_, i) => (seed * 5 + i * 11) % V);
          const full = model.forward(tokens).logits;
          const run = (foldQuery: boolean) => {
            const cache = model.createCache('absorbed');
            const logits = new Float32Array(tokens.length * V);
            logits.set(model.forward(tokens.slice(0, prefill), { cache, foldQuery }).logits);
            for (let i = prefill; i < tokens.length; i++) logits.set(model.forward([tokens[i]], { cache, foldQuery }).logits, i * V);
            return logits;
          };
          const folded = run(true), unfolded = run(false);
          expect(worstScaledError(folded, full), 'folded vs full recompute').toBeLessThan(2e-5);
          expect(worstScaledError(folded, unfolded), 'folded vs unfolded').toBeLessThan(2e-5);
        },
      ),
      { numRuns: 40, seed: 20261202 },
    );
  });

  it('runs on the wasm kernels too (the folded matrices are kept in wasm memory)', async () => {
    const wasm = await createWasmBackend();
    const model = constantModel(undefined, 5, wasm);
    const tokens = [3, 14, 15, 92, 65, 35, 89, 79];
    const full = model.withBackend(referenceBackend).forward(tokens).logits;
    const cache = model.createCache('absorbed');
    const logits = new Float32Array(full.length);
    tokens.forEach((t, i) => logits.set(model.forward([t], { cache }).logits, i * model.config.vocab_size));
    expect(worstScaledError(logits, full)).toBeLessThan(2e-5);
    // 2 layers x 2 folded matrices resident (besides the weights used so far)
    expect(wasm.memoryReport().residentArrays).toBeGreaterThanOrEqual(4);
  });
});

// ---- allocation ----

const COUNTED = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'] as const;

/** Run `fn` with the typed-array constructors wrapped; how many arrays it constructed (subarray views are not counted). */
function typedArraysMadeBy(fn: () => void): number {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = COUNTED.map((name) => g[name]);
  let made = 0;
  COUNTED.forEach((name, i) => {
    g[name] = new Proxy(saved[i] as object, { construct(target, args, newTarget) { made++; return Reflect.construct(target as new (...a: unknown[]) => object, args, newTarget === g[name] ? target as never : newTarget); } });
  });
  try {
    fn();
  } finally {
    COUNTED.forEach((name, i) => { g[name] = saved[i]; });
  }
  return made;
}

describe('a decode step allocates no arrays in steady state', () => {
  let wasm: WasmBackend;
  beforeAll(async () => { wasm = await createWasmBackend(); });
  afterAll(() => {});

  it('the counter sees what it should (a fresh forward without a cache makes arrays)', () => {
    const model = constantModel();
    expect(typedArraysMadeBy(() => model.forward([1, 2, 3]))).toBeGreaterThan(20);
    expect(typedArraysMadeBy(() => new Float32Array(4).subarray(1))).toBe(1);
  });

  for (const name of ['reference', 'loop', 'wasm'] as const) {
    it(`${name}: zero typed arrays per step on every path once the cache and workspaces have their size`, () => {
      const backend = name === 'reference' ? referenceBackend : name === 'loop' ? loopBackend : wasm;
      const model = constantModel(undefined, 2, backend);
      const V = model.config.vocab_size;
      for (const path of ATTENTION_PATHS) {
        const cache = model.createCache(path);
        model.forward(Array.from({ length: 30 }, (_, i) => (i * 7) % V), { cache });
        // context cycles 30 -> 38 (as a long decode does once every buffer has grown)
        const step = (s: number) => {
          if (cache.length >= 38) cache.truncate(30);
          model.forward([(s * 5) % V], { cache, reuse: true, lastLogitsOnly: true });
        };
        for (let s = 0; s < 24; s++) step(s); // warm-up: every buffer reaches its size
        expect(typedArraysMadeBy(() => { for (let s = 0; s < 40; s++) step(s); }), `${name} ${path}`).toBe(0);
      }
    });
  }

  it('with a growing context, arrays are made only when a buffer doubles (not per step), and generate\'s loop makes none of its own', () => {
    const model = constantModel(undefined, 4, wasm);
    const steps = decodeSteps(model, [1, 2, 3, 4], { attention: 'absorbed' });
    for (let s = 0; s < 10; s++) steps.next();
    const made = typedArraysMadeBy(() => { for (let s = 0; s < 400; s++) steps.next(); });
    // per step that would be >= 400; doubling (cache rows, score buffers) from ~14 to ~414 keys is a handful per buffer
    expect(made).toBeLessThan(60);
  });

  it('reuse: true hands back the same logits array each step; without it each step gets its own', () => {
    const model = constantModel();
    const cache = model.createCache('absorbed');
    model.forward([1, 2], { cache });
    const a = model.forward([3], { cache, reuse: true }).logits;
    const b = model.forward([4], { cache, reuse: true }).logits;
    expect(b).toBe(a);
    const c = model.forward([5], { cache }).logits, d = model.forward([6], { cache }).logits;
    expect(d).not.toBe(c);
    const keep = Float32Array.from(c);
    const routing = model.forward([8], { cache }).routing['model.layers.1.mlp'];
    const keepRouting = { logits: Float32Array.from(routing.logits), scores: Float32Array.from(routing.scores), experts: JSON.stringify(routing.experts), weights: JSON.stringify(routing.weights) };
    model.forward([7], { cache, reuse: true });
    model.forward([9], { cache });
    // a result given without reuse is never overwritten, routing included
    expect(c).toEqual(keep);
    expect(routing.logits).toEqual(keepRouting.logits);
    expect(routing.scores).toEqual(keepRouting.scores);
    expect(JSON.stringify(routing.experts)).toBe(keepRouting.experts);
    expect(JSON.stringify(routing.weights)).toBe(keepRouting.weights);
  });
});
