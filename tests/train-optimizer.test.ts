// One optimizer step as the README defines it (clipping, AdamW with decay on 2+-dim tensors only,
// the bias update), the learning-rate schedule, and a tiny run that learns a repeating string.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initTensors, parseConfig } from '../src/engine/index.js';
import {
  type TrainHparams, biasGammaAtStep, createOptimizer, lrAt, optimizerStep, paramsFromTensors, rowsGradient, updateBias,
} from '../src/engine/train/index.js';

const HP: TrainHparams = {
  lr: 0.01, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3,
  balance_alpha: 0.01, bias_gamma: 0.001, balancing: 'bias',
};

const cfg = parseConfig({
  vocab_size: 16, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2,
  q_lora_rank: 4, kv_lora_rank: 4, qk_nope_head_dim: 2, qk_rope_head_dim: 2, v_head_dim: 2,
  n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2, moe_intermediate_size: 4, n_group: 2, topk_group: 1,
  routed_scaling_factor: 1.5, norm_topk_prob: true, first_k_dense_replace: 1, num_nextn_predict_layers: 1, rope_scaling: null,
});

describe('optimizerStep', () => {
  it('clips by the global norm, decays only 2+-dim tensors, and applies Adam with bias correction', () => {
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 2 }));
    const before = Float64Array.from(p.data);
    const g = new Float32Array(p.data.length);
    for (let i = 0; i < g.length; i++) g[i] = ((i * 37) % 11) - 5; // norm far above 1
    let ss = 0;
    for (const x of g) ss += x * x;
    const state = createOptimizer(p);
    const { grad_norm } = optimizerStep(p, state, g, {}, HP, HP.lr);
    expect(grad_norm).toBeCloseTo(Math.sqrt(ss), 6);
    expect(state.step).toBe(1);
    const c = HP.max_grad_norm / (grad_norm + 1e-6);
    for (const name of ['model.norm.weight', 'model.layers.0.self_attn.q_a_proj.weight']) {
      const o = p.offsets[name], decays = p.shapes[name].length >= 2;
      for (let i = o; i < o + 4; i++) {
        // Step 1: m_hat = g, v_hat = g^2, so the Adam step is lr * g / (|g| + eps).
        const gi = g[i] * c;
        const want = (decays ? before[i] * (1 - HP.lr * HP.weight_decay) : before[i]) - (HP.lr * gi) / (Math.abs(gi) + HP.eps);
        expect(p.data[i]).toBeCloseTo(want, 6);
        expect(state.m[i]).toBeCloseTo((1 - HP.betas[0]) * gi, 6);
        expect(state.v[i]).toBeCloseTo((1 - HP.betas[1]) * gi * gi, 6);
      }
    }
  });

  it('refuses a NaN gradient by name and leaves the weights as they were', () => {
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 2 }));
    const before = Float32Array.from(p.data);
    const g = new Float32Array(p.data.length);
    g[p.offsets['model.norm.weight'] + 1] = NaN;
    expect(() => optimizerStep(p, createOptimizer(p), g, {}, HP, HP.lr)).toThrow(/model\.norm\.weight.*not finite/);
    expect(p.data).toEqual(before);
  });

  it('does not clip below max_grad_norm', () => {
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 2 }));
    const g = new Float32Array(p.data.length);
    g[3] = 0.5;
    const state = createOptimizer(p);
    optimizerStep(p, state, g, {}, HP, HP.lr);
    expect(state.m[3]).toBeCloseTo(0.05, 7);
  });

  it('moves the bias toward balance only when balancing is bias (sign(0) = 0)', () => {
    const b = new Float32Array([0, 0, 0, 0]);
    updateBias(b, [1, 3, 2, 2], 0.5);
    expect(Array.from(b)).toEqual([0.5, -0.5, 0, 0]);
    for (const balancing of ['bias', 'aux', 'none'] as const) {
      const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 2 }));
      const bias0 = Float32Array.from(p.buffers['model.layers.1.mlp']);
      optimizerStep(p, createOptimizer(p), new Float32Array(p.data.length), { 'model.layers.1.mlp': [0, 4, 2, 2] }, { ...HP, balancing }, HP.lr);
      const moved = Array.from(p.buffers['model.layers.1.mlp'], (x, e) => x - bias0[e]);
      if (balancing === 'bias') {
        expect(moved[0]).toBeCloseTo(HP.bias_gamma, 7);
        expect(moved[1]).toBeCloseTo(-HP.bias_gamma, 7);
        expect(moved[2]).toBe(0);
      } else {
        expect(moved).toEqual([0, 0, 0, 0]);
      }
    }
  });
});

describe('lrAt', () => {
  const s = { lr: 3e-3, warmup: 50, total: 1050, minLrRatio: 0.1 };
  it('warms up linearly, then decays by a cosine to the floor and stays there', () => {
    expect(lrAt(1, s)).toBeCloseTo(3e-3 / 50, 12);
    expect(lrAt(25, s)).toBeCloseTo(1.5e-3, 12);
    expect(lrAt(50, s)).toBeCloseTo(3e-3, 12);
    expect(lrAt(550, s)).toBeCloseTo(3e-3 * (0.1 + 0.9 * 0.5), 12);
    expect(lrAt(1050, s)).toBeCloseTo(3e-4, 12);
    expect(lrAt(5000, s)).toBeCloseTo(3e-4, 12);
    for (let t = 51; t < 1050; t += 37) expect(lrAt(t + 1, s)).toBeLessThan(lrAt(t, s));
  });
  it('without warm-up starts at the peak', () => {
    expect(lrAt(0, { ...s, warmup: 0 })).toBeCloseTo(3e-3, 12);
  });
});

describe('biasGammaAtStep', () => {
  it('constant keeps gamma; cosine falls from gamma at step 1 to gamma * minRatio at the last step, never rising', () => {
    fc.assert(fc.property(fc.double({ min: 1e-5, max: 0.1, noNaN: true }), fc.integer({ min: 2, max: 20000 }), fc.double({ min: 0, max: 1, noNaN: true }), (gamma, total, minRatio) => {
      const s = { gamma, total, minRatio };
      expect(biasGammaAtStep(Math.ceil(total / 2), { ...s, schedule: 'constant' })).toBe(gamma);
      const at = (t: number) => biasGammaAtStep(t, { ...s, schedule: 'cosine' });
      expect(at(1)).toBeCloseTo(gamma, 12);
      expect(at(total)).toBeCloseTo(gamma * minRatio, 12);
      expect(at(total + 100)).toBeCloseTo(gamma * minRatio, 12);
      for (let t = 1; t < total; t += Math.max(1, Math.floor(total / 17))) expect(at(t + 1)).toBeLessThanOrEqual(at(t) + 1e-18);
    }), { numRuns: 50 });
  });
  it('cosine is halfway between gamma and its floor at mid-run', () => {
    expect(biasGammaAtStep(501, { gamma: 1e-3, total: 1001, minRatio: 0.1, schedule: 'cosine' })).toBeCloseTo(1e-3 * 0.55, 12);
  });
});

describe('a tiny run learns', () => {
  it('drives the loss on a repeating string down (40 steps)', () => {
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 4 }));
    const text = 'abcabdabcabe'.repeat(4);
    const ids = Array.from(text, (ch) => ch.charCodeAt(0) - 97); // 0..4
    const rows = [0, 3, 6, 9].map((o) => ids.slice(o, o + 24));
    const hp = { ...HP, lr: 0.02 };
    const state = createOptimizer(p);
    const losses: number[] = [];
    for (let step = 1; step <= 40; step++) {
      const g = rowsGradient(p, rows, hp);
      for (let i = 0; i < g.grads.length; i++) g.grads[i] /= g.rows;
      optimizerStep(p, state, g.grads, g.loads, hp, lrAt(step, { lr: hp.lr, warmup: 5, total: 40, minLrRatio: 0.1 }));
      losses.push(g.main / g.rows);
    }
    // Uniform over 16 ids is ln 16 = 2.77; the string's next character is nearly determined.
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses[39]).toBeLessThan(0.5 * losses[0]);
    expect(losses[39]).toBeLessThan(1.0);
  });
});
