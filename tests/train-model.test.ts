// The whole trainer on models of several shapes: its losses equal the inference engine's
// (Model.forward / mtpForward logits through cross-entropy), rowsGradient matches central finite
// differences of the whole objective in float64, float32 agrees with float64, the parameter views
// round-trip, and the objective's switches (balancing none/aux/bias) do what they say.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { referenceBackend } from '../kernels/reference.js';
import { type DeepSeekConfig, initTensors, parseConfig } from '../src/engine/index.js';
import {
  type TrainHparams, type TrainParams, gradientInto, modelFromParams, paramsFromTensors, paramsToTensors, rowsGradient,
} from '../src/engine/train/index.js';
import { arbConfig } from './helpers/configs.js';

const base = {
  vocab_size: 23, hidden_size: 12, intermediate_size: 20, num_hidden_layers: 2, num_attention_heads: 2,
  q_lora_rank: 6, kv_lora_rank: 6, qk_nope_head_dim: 4, qk_rope_head_dim: 4, v_head_dim: 3,
  n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, moe_intermediate_size: 5,
  n_group: 4, topk_group: 2, routed_scaling_factor: 2.0, norm_topk_prob: true, scoring_func: 'sigmoid',
  topk_method: 'noaux_tc', first_k_dense_replace: 1, num_nextn_predict_layers: 1, rope_theta: 10000,
  rope_scaling: null, max_position_embeddings: 64,
};

/** The shapes the golden case does not cover, each named by what it varies. */
const SHAPES: Record<string, DeepSeekConfig> = {
  'q_lora, grouped top-k, one MTP module (the golden shape, smaller)': parseConfig(base),
  'q_proj (q_lora_rank null), no group limit, norm_topk_prob false, 3 layers, scale 2.5': parseConfig({
    ...base, q_lora_rank: null, topk_method: 'noaux_tc', n_group: 1, topk_group: 1, norm_topk_prob: false,
    routed_scaling_factor: 2.5, num_hidden_layers: 3, num_experts_per_tok: 3,
  }),
  'greedy routing, no shared expert, two MTP depths, tied embeddings': parseConfig({
    ...base, topk_method: 'greedy', n_group: 1, topk_group: 1, n_shared_experts: 0, num_nextn_predict_layers: 2,
    tie_word_embeddings: true, first_k_dense_replace: 0,
  }),
  'softmax router (DeepSeek-V2 group_limited_greedy), no RoPE nope split': parseConfig({
    ...base, scoring_func: 'softmax', topk_method: 'group_limited_greedy', qk_nope_head_dim: 0, qk_rope_head_dim: 6,
  }),
  'dense only, no MTP': parseConfig({ ...base, n_routed_experts: null, num_nextn_predict_layers: 0 }),
};

const HP: TrainHparams = {
  lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3,
  balance_alpha: 0.05, bias_gamma: 0.001, balancing: 'aux',
};

function tokens(cfg: DeepSeekConfig, R: number, N: number, seed: number): number[][] {
  let s = seed >>> 0;
  return Array.from({ length: R }, () => Array.from({ length: N }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % cfg.vocab_size;
  }));
}

function float64Params(p: TrainParams) {
  return { ...p, data: Float64Array.from(p.data) };
}

/** Mean cross-entropy of rows [i0, i0+n) of logits [*, V] against targets. */
function meanCe(logits: Float32Array, V: number, targets: number[]): number {
  let sum = 0;
  targets.forEach((y, i) => {
    let max = -Infinity, z = 0;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[i * V + j]);
    for (let j = 0; j < V; j++) z += Math.exp(logits[i * V + j] - max);
    sum += max + Math.log(z) - logits[i * V + y];
  });
  return sum / targets.length;
}

/** The objective's CE terms recomputed from the inference engine's own logits (no tape involved). */
function engineLosses(p: TrainParams, rows: number[][]): { main: number; mtp: number } {
  const model = modelFromParams(p, referenceBackend), V = p.config.vocab_size, D = p.config.num_nextn_predict_layers;
  let main = 0, mtp = 0;
  for (const ids of rows) {
    const N = ids.length;
    const out = model.forward(ids);
    main += meanCe(out.logits.subarray(0, (N - 1) * V), V, ids.slice(1));
    let prev = out.hidden;
    for (let k = 1; k <= D; k++) {
      const Tm = N - 1 - k;
      const m = model.mtpForward(k - 1, prev.subarray(0, Tm * p.config.hidden_size), ids.slice(k, k + Tm));
      mtp += meanCe(m.logits, V, ids.slice(k + 1, k + 1 + Tm)) / D;
      prev = m.hidden;
    }
  }
  return { main, mtp };
}

describe('the trainer\'s forward pass is the inference engine\'s', () => {
  for (const [name, cfg] of Object.entries(SHAPES)) {
    it(`main and MTP cross-entropy equal those of Model.forward / mtpForward: ${name}`, () => {
      const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 5 }));
      const rows = tokens(cfg, 3, 9, 11);
      const g = rowsGradient(p, rows, HP);
      const e = engineLosses(p, rows);
      expect(Math.abs(g.main - e.main) / e.main).toBeLessThan(1e-5);
      if (cfg.num_nextn_predict_layers > 0) expect(Math.abs(g.mtp - e.mtp) / e.mtp).toBeLessThan(1e-5);
      else expect(g.mtp).toBe(0);
    });
  }
});

/**
 * Central differences of the whole objective (sum over rows) at `count` random parameter
 * elements, against rowsGradient's gradient, all in float64. Routing is piecewise constant: an
 * element whose +-h flips a routing choice (the loads change) is not comparable and is skipped.
 */
function wholeModelFd(cfg: DeepSeekConfig, seed: number, count: number, hp: TrainHparams = HP): { worst: number; checked: number } {
  const p = float64Params(paramsFromTensors(cfg, initTensors(cfg, { seed, biasScale: 0.05 })));
  const rows = tokens(cfg, 2, 7, seed + 3);
  const opts = { backend: referenceBackend, dtype: 'float64' as const };
  const grads = new Float64Array(p.data.length);
  const at = gradientInto(p, grads, rows, hp, opts);
  const loadsKey = JSON.stringify(at.loads);
  const h = 1e-6;
  let s = seed >>> 0, worst = 0, checked = 0;
  // Every tensor gets at least one element, then random ones.
  const picks = p.names.map((n) => p.offsets[n]);
  for (let i = 0; i < count; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; picks.push(s % p.data.length); }
  for (const i of picks) {
    const x = p.data[i];
    p.data[i] = x + h;
    const plus = gradientInto(p, new Float64Array(p.data.length), rows, hp, opts);
    p.data[i] = x - h;
    const minus = gradientInto(p, new Float64Array(p.data.length), rows, hp, opts);
    p.data[i] = x;
    if (JSON.stringify(plus.loads) !== loadsKey || JSON.stringify(minus.loads) !== loadsKey) continue;
    const num = (plus.loss - minus.loss) / (2 * h);
    worst = Math.max(worst, Math.abs(grads[i] - num) / (1 + Math.abs(num)));
    checked++;
  }
  return { worst, checked };
}

describe('rowsGradient against finite differences of the whole objective (float64)', () => {
  for (const [name, cfg] of Object.entries(SHAPES)) {
    it(name, () => {
      const { worst, checked } = wholeModelFd(cfg, 21, 40);
      expect(checked).toBeGreaterThan(40);
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it('random configs (fast-check)', () => {
    fc.assert(fc.property(arbConfig({ mtp: 1 }), fc.integer({ min: 0, max: 1000 }), (cfg, seed) => {
      const { worst, checked } = wholeModelFd(cfg, seed, 10, { ...HP, balancing: 'bias' });
      expect(checked).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1e-6);
    }), { numRuns: 6 });
  });
});

describe('float32 training gradients agree with float64', () => {
  it('every tensor within 1e-4 of its largest magnitude (golden-b-like shape)', () => {
    const cfg = SHAPES['q_lora, grouped top-k, one MTP module (the golden shape, smaller)'];
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 8 }));
    const rows = tokens(cfg, 4, 17, 2);
    const g32 = rowsGradient(p, rows, HP);
    const g64 = new Float64Array(p.data.length);
    gradientInto(float64Params(p), g64, rows, HP, { backend: referenceBackend, dtype: 'float64' });
    for (const n of p.names) {
      const o = p.offsets[n], len = p.shapes[n].reduce((a, b) => a * b, 1);
      let max = 0, err = 0;
      for (let i = o; i < o + len; i++) { max = Math.max(max, Math.abs(g64[i])); err = Math.max(err, Math.abs(g32.grads[i] - g64[i])); }
      expect(err, n).toBeLessThanOrEqual(1e-4 * max + 1e-12);
    }
  });
});

describe('objective switches and sums', () => {
  const cfg = SHAPES['q_lora, grouped top-k, one MTP module (the golden shape, smaller)'];
  const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 3 }));
  const rows = tokens(cfg, 4, 8, 9);

  it('balancing none computes no balance loss; aux and bias both add alpha * L_bal', () => {
    const none = rowsGradient(p, rows, { ...HP, balancing: 'none' });
    const aux = rowsGradient(p, rows, { ...HP, balancing: 'aux' });
    const bias = rowsGradient(p, rows, { ...HP, balancing: 'bias' });
    expect(none.balance).toBe(0);
    expect(aux.balance).toBeGreaterThan(0);
    expect(bias.balance).toBe(aux.balance);
    expect(aux.loss).toBeCloseTo(aux.main + HP.mtp_lambda * aux.mtp + aux.balance, 10);
    // With uniform loads L_bal = 1 per layer and row; it is about that at random init.
    expect(aux.balance / (HP.balance_alpha * rows.length * 2)).toBeGreaterThan(0.5);
  });

  it('sums over rows: two halves add up to the whole (what workers rely on)', () => {
    const all = rowsGradient(p, rows, HP);
    const a = rowsGradient(p, rows.slice(0, 1), HP), b = rowsGradient(p, rows.slice(1), HP);
    expect(a.rows + b.rows).toBe(all.rows);
    expect(a.loss + b.loss).toBeCloseTo(all.loss, 4);
    for (const k of Object.keys(all.loads)) expect(a.loads[k].map((x, e) => x + b.loads[k][e])).toEqual(all.loads[k]);
    let max = 0, err = 0;
    for (let i = 0; i < all.grads.length; i++) { max = Math.max(max, Math.abs(all.grads[i])); err = Math.max(err, Math.abs(a.grads[i] + b.grads[i] - all.grads[i])); }
    expect(err).toBeLessThan(1e-5 * max);
    expect(all.agree!.count).toBe(rows.length * (rows[0].length - 2));
  });

  it('refuses rows of different lengths, ids outside the vocabulary, too-short rows', () => {
    expect(() => rowsGradient(p, [[1, 2, 3], [1, 2]], HP)).toThrow(/same length/);
    expect(() => rowsGradient(p, [[1, 2, cfg.vocab_size]], HP)).toThrow(/not a token id/);
    expect(() => rowsGradient(p, [[1, 2]], HP)).toThrow(/at least 3/);
  });
});

describe('parameters', () => {
  const cfg = SHAPES['greedy routing, no shared expert, two MTP depths, tied embeddings'];
  const cfg2 = SHAPES['q_lora, grouped top-k, one MTP module (the golden shape, smaller)'];

  it('paramsToTensors writes every tensor the checkpoint has, shared ones once trained and copied out', () => {
    for (const c of [cfg, cfg2]) {
      const t = initTensors(c, { seed: 1 });
      const p = paramsFromTensors(c, t);
      const back = paramsToTensors(p);
      const L = c.num_hidden_layers;
      const copy = /^model\.layers\.\d+\.(shared_head\.head|embed_tokens)\.weight$/;
      expect([...back.keys()].filter((n) => !copy.test(n)).sort()).toEqual([...t.keys()].filter((n) => !copy.test(n)).sort());
      for (const [name, x] of t) if (!copy.test(name)) expect(Array.from(back.get(name)!.data), name).toEqual(Array.from(x.data));
      // DeepSeek's copies are written equal to the shared tensors.
      const head = back.get(c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!.data;
      for (let k = 0; k < c.num_nextn_predict_layers; k++) {
        expect(back.get(`model.layers.${L + k}.shared_head.head.weight`)!.data).toEqual(head);
        expect(back.get(`model.layers.${L + k}.embed_tokens.weight`)!.data).toEqual(back.get('model.embed_tokens.weight')!.data);
      }
      expect(back.has(`model.layers.${L}.embed_tokens.weight`)).toBe(true);
      expect(p.names).not.toContain(`model.layers.${L}.shared_head.head.weight`);
      const moeLayers = Array.from({ length: L + c.num_nextn_predict_layers }, (_, l) => l).filter((l) => l >= c.first_k_dense_replace).length;
      expect(Object.keys(p.buffers).length).toBe(c.topk_method === 'noaux_tc' ? moeLayers : 0);
    }
  });

  it('modelFromParams shares memory: a change to the params shows in the model', () => {
    const p = paramsFromTensors(cfg2, initTensors(cfg2, { seed: 1 }));
    const m = modelFromParams(p);
    const before = m.forward([1, 2, 3]).logits[0];
    const o = p.offsets['lm_head.weight'];
    for (let i = 0; i < cfg2.hidden_size; i++) p.data[o + i] += 1; // row 0 of the head
    expect(m.forward([1, 2, 3]).logits[0]).not.toBe(before);
    expect(m.weights.mtp[0].head).toBe(m.weights.lmHead);
  });
});
