// The expert-routing lesson's shortcut for its split models: routing the u_t captured from the
// unsplit model equals running each split model (they share every weight below the router), and a
// model that does not share them is run instead.
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../kernels/reference.js';
import { initModel } from '../src/engine/init.js';
import { captureRouter, captureRouterFrom } from '../notebooks/expert-routing/helpers.js';
import { promptIds, tinyConfig } from '../notebooks/_kit/models.js';

const split = (m: number) => tinyConfig({ n_routed_experts: 16 * m, num_experts_per_tok: 2 * m, moe_intermediate_size: 24 / m, n_group: 1, topk_group: 1 });

describe('captureRouterFrom', () => {
  it.each([1, 3, 8])('equals running the split model (seed %i)', (seed) => {
    const raw = initModel(split(1), { seed });
    const base = raw.withBackend(referenceBackend);
    const prompt = promptIds(20, 128, seed);
    const cap1 = captureRouter(base, prompt);
    for (const m of [2, 4, 8]) {
      const model = initModel(split(m), { seed, reuse: raw }).withBackend(referenceBackend);
      const fast = captureRouterFrom(model, cap1);
      expect(fast.u, 'took the shortcut (no forward pass)').toBe(cap1.u);
      const full = captureRouter(model, prompt);
      expect(full.reproduces).toBe(true);
      expect(Array.from(fast.u)).toEqual(Array.from(full.u));
      expect(Array.from(fast.logits)).toEqual(Array.from(full.logits));
      expect(fast.traced.experts).toEqual(full.traced.experts);
      expect(fast.traced.weights).toEqual(full.traced.weights);
    }
  });

  it('runs a model that does not share the weights below the router', () => {
    const base = initModel(split(1), { seed: 1 }).withBackend(referenceBackend);
    const prompt = promptIds(12, 128, 1);
    const other = initModel(split(2), { seed: 2 }).withBackend(referenceBackend);
    const cap1 = captureRouter(base, prompt);
    const got = captureRouterFrom(other, cap1);
    expect(got.u).not.toBe(cap1.u);
    const full = captureRouter(other, prompt);
    expect(Array.from(got.u)).toEqual(Array.from(full.u));
    expect(got.traced.experts).toEqual(full.traced.experts);
  });
});

