// The absorption identities on the model's own weights: W_UQ^T W_UK and W_O W_UV reproduce the
// per-head products; decoupled RoPE keeps the absorbed scores exact (and they are the scores the
// model's attention actually used); RoPE on the compressed key makes absorption wrong.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headMatrices, maxAbsDiff, ropeAbsorption } from '../src/engine/absorption.js';
import { qkHeadDim } from '../src/engine/config.js';
import { initModel } from '../src/engine/init.js';
import { createRng } from '../src/engine/sampling.js';
import { arbConfig } from './helpers/configs.js';

const matVec = (m: Float64Array, rows: number, cols: number, v: ArrayLike<number>) =>
  Array.from({ length: rows }, (_, i) => { let s = 0; for (let j = 0; j < cols; j++) s += m[i * cols + j] * v[j]; return s; });
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('absorbed matrices', () => {
  it('c_Q^T (W_UQ^T W_UK) c_KV = (W_UQ c_Q) . (W_UK c_KV), and (W_O W_UV) o = W_O (W_UV o)', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 99 }), (cfg, seed) => {
      const model = initModel(cfg, { seed });
      const rng = createRng(seed);
      const head = seed % cfg.num_attention_heads, layer = seed % cfg.num_hidden_layers;
      const m = headMatrices(model, layer, head);
      const nope = cfg.qk_nope_head_dim, dc = cfg.kv_lora_rank, dv = cfg.v_head_dim, d = cfg.hidden_size;
      const cq = Array.from({ length: m.queryInput }, () => rng() - 0.5);
      const ckv = Array.from({ length: dc }, () => rng() - 0.5);
      const viaHeads = dot(matVec(m.wUQ, nope, m.queryInput, cq), matVec(m.wUK, nope, dc, ckv));
      const viaAbsorbed = dot(cq, matVec(m.absorbedQK, m.queryInput, dc, ckv));
      expect(Math.abs(viaHeads - viaAbsorbed)).toBeLessThan(1e-9 * (1 + Math.abs(viaHeads)));
      const oLat = Array.from({ length: dc }, () => rng() - 0.5);
      const a = matVec(m.wO, d, dv, matVec(m.wUV, dv, dc, oLat)), b = matVec(m.absorbedOV, d, dc, oLat);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-9);
    }), { numRuns: 30, seed: 2 });
  });
});

describe('RoPE and absorption', () => {
  it('decoupled RoPE: absorbed scores equal exact ones, and are the scores the model attended with', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 2, max: 8 }), (cfg0, seed, T) => {
      const cfg = { ...cfg0, qk_nope_head_dim: cfg0.qk_nope_head_dim - (cfg0.qk_nope_head_dim % 2) };
      if (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim === 0) return;
      const model = initModel(cfg, { seed });
      const tokens = Array.from({ length: T }, (_, i) => (i * 3 + seed) % cfg.vocab_size);
      const layer = seed % cfg.num_hidden_layers, head = seed % cfg.num_attention_heads;
      const r = ropeAbsorption(model, tokens, layer, head);
      expect(r.maxDecoupledError).toBeLessThan(1e-9);
      // softmax(scale * exact scores) is the trace's attention row for this head.
      const weights = model.forward(tokens, { trace: true }).trace![layer].attention.weights;
      const scale = 1 / Math.sqrt(qkHeadDim(cfg));
      for (let t = 0; t < T; t++) {
        const row = Array.from({ length: t + 1 }, (_, j) => scale * r.decoupledExact[t * T + j]);
        const max = Math.max(...row), e = row.map((x) => Math.exp(x - max)), s = e.reduce((a, b) => a + b, 0);
        e.forEach((x, j) => expect(Math.abs(x / s - weights[(head * T + t) * T + j])).toBeLessThan(1e-5));
      }
    }), { numRuns: 30, seed: 4 });
  });

  it('RoPE on the compressed key: absorbing is exact only at key position 0 and wrong elsewhere', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 99 }), (cfg0, seed) => {
      const nope = Math.max(4, cfg0.qk_nope_head_dim - (cfg0.qk_nope_head_dim % 2));
      const model = initModel({ ...cfg0, qk_nope_head_dim: nope }, { seed });
      const T = 6;
      const r = ropeAbsorption(model, Array.from({ length: T }, (_, i) => i % cfg0.vocab_size), 0, 0);
      for (let t = 0; t < T; t++) expect(r.coupledError[t * T]).toBeLessThan(1e-9); // R_0 = I
      expect(r.maxCoupledError).toBeGreaterThan(1e3 * Math.max(r.maxDecoupledError, 1e-12));
    }), { numRuns: 20, seed: 6 });
  });
});
