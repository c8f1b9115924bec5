// LoRA on the trainer: B = 0 leaves the model's outputs exactly as they were; the adapter gradients
// (the merged weight's gradient projected) agree with finite differences of the float64 loss and
// with the projection written out against the base weight's gradient; merging computes what the
// adapters beside the frozen weights compute; a few steps train only A and B.
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../kernels/reference.js';
import { parseConfig } from '../src/engine/config.js';
import { initTensors } from '../src/engine/init.js';
import { Model } from '../src/engine/model.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { gradientInto, type TrainHparams } from '../src/engine/train/objective.js';
import { paramsFromTensors } from '../src/engine/train/params.js';
import {
  adapterBackend, createLora, createLoraOptimizer, loraCounts, loraGradient, loraOptimizerStep, loraTargetNames, loraTensors, mergeLora, mergedData,
} from '../src/engine/train/lora.js';

const cfg = parseConfig({ ...TINY_CONFIG_JSON });
const tensors = initTensors(cfg, { seed: 4 });
const base = paramsFromTensors(cfg, tensors);
const hp: TrainHparams = { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias' };
const rows = [[72, 101, 108, 108, 111, 32, 119, 111], [116, 104, 101, 32, 99, 97, 116, 33]];
const prompt = [84, 104, 101, 32, 109, 111, 111, 110];
const weightsByName = (t: ReadonlyMap<string, { data: Float32Array }>) => new Map([...t].map(([n, v]) => [n, v.data]));

describe('LoRA', () => {
  it('targets the named projections; counts its parameters', () => {
    const names = loraTargetNames(base, ['q', 'o']);
    expect(names).toContain('model.layers.0.self_attn.q_a_proj.weight');
    expect(names).toContain('model.layers.1.self_attn.o_proj.weight');
    expect(names.every((n) => /q_a_proj|q_b_proj|o_proj/.test(n))).toBe(true);
    expect(names).toHaveLength(3 * 3); // q_a, q_b, o in 2 layers + the MTP block
    const lora = createLora(base, ['o'], 4, 8, 1);
    // o_proj [64, 48]: A 4 x 48 + B 64 x 4 per layer
    expect(loraCounts(lora)).toEqual({ adapter: 3 * (4 * 48 + 64 * 4), adapted: 3 * 64 * 48 });
    expect(() => createLora(base, ['o'], 0, 8, 1)).toThrow(/rank r must be a positive integer/);
  });

  it('B = 0 at the start: the adapters change nothing, exactly', () => {
    const lora = createLora(base, ['q', 'kv', 'o', 'experts', 'shared', 'dense'], 4, 8, 3);
    const ref = Model.fromTensors(cfg, tensors).forward(prompt).logits;
    const merged = Model.fromTensors(cfg, mergeLora(tensors, lora)).forward(prompt).logits;
    const beside = Model.fromTensors(cfg, tensors, { backend: adapterBackend(referenceBackend, weightsByName(tensors), lora) }).forward(prompt).logits;
    expect(Array.from(merged)).toEqual(Array.from(ref));
    expect(Array.from(beside)).toEqual(Array.from(ref));
  });

  it('adapter gradients: dA = s B^T dW and dB = s dW A^T, and both match finite differences of the float64 loss', () => {
    const lora = createLora(base, ['o', 'experts'], 2, 4, 5);
    for (let i = 0; i < lora.data.length; i++) if (lora.data[i] === 0) lora.data[i] = 0.05 * Math.sin(i + 1); // B away from 0
    const g = loraGradient(base, lora, rows, hp, { dtype: 'float64' });
    // the projection written out from the merged weight's own gradient
    const merged = mergedData(base, lora, 'float64');
    const dW = new Float64Array(merged.length);
    gradientInto({ ...base, data: merged }, dW, rows, hp, { dtype: 'float64' });
    const ad = lora.adapters.find((a) => a.name === 'model.layers.1.self_attn.o_proj.weight')!;
    const s = lora.alpha / lora.r, o0 = base.offsets[ad.name]!;
    let dA01 = 0, dB32 = 0;
    for (let o = 0; o < ad.out; o++) dA01 += lora.data[ad.b + o * 2 + 0]! * dW[o0 + o * ad.in + 1]!;
    for (let i = 0; i < ad.in; i++) dB32 += dW[o0 + 3 * ad.in + i]! * lora.data[ad.a + 1 * ad.in + i]!;
    expect(g.grads[ad.a + 0 * ad.in + 1]).toBeCloseTo(s * dA01, 12);
    expect(g.grads[ad.b + 3 * 2 + 1]).toBeCloseTo(s * dB32, 12);
    // central differences of the loss in float64 on a few A and B entries
    const loss = () => gradientInto({ ...base, data: mergedData(base, lora, 'float64') }, new Float64Array(base.data.length), rows, hp, { dtype: 'float64' }).loss;
    const probes = [ad.a + 5, ad.a + ad.in + 17, ad.b + 7, ad.b + 2 * 40 + 1, lora.adapters[5]!.a + 3, lora.adapters[5]!.b + 11];
    for (const i of probes) {
      const keep = lora.data[i]!, h = 1e-3;
      lora.data[i] = keep + h; const up = loss();
      lora.data[i] = keep - h; const down = loss();
      lora.data[i] = keep;
      const fd = (up - down) / (2 * h);
      // lora.data is float32: the probe steps are exact only to float32, so compare at 1e-4 relative
      expect(Math.abs(g.grads[i]! - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)) + 1e-7);
    }
  });

  it('merging equals running the adapters beside the frozen weights', () => {
    const lora = createLora(base, ['q', 'kv', 'o', 'experts', 'shared', 'dense'], 4, 8, 9);
    for (let i = 0; i < lora.data.length; i++) lora.data[i] += 0.02 * Math.cos(3 * i);
    const merged = Model.fromTensors(cfg, mergeLora(tensors, lora)).forward(prompt).logits;
    const beside = Model.fromTensors(cfg, tensors, { backend: adapterBackend(referenceBackend, weightsByName(tensors), lora) }).forward(prompt).logits;
    const ref = Model.fromTensors(cfg, tensors).forward(prompt).logits;
    let diff = 0, moved = 0;
    for (let i = 0; i < merged.length; i++) { diff = Math.max(diff, Math.abs(merged[i]! - beside[i]!)); moved = Math.max(moved, Math.abs(merged[i]! - ref[i]!)); }
    expect(moved).toBeGreaterThan(1e-2); // the adapters do change the model
    expect(diff).toBeLessThan(1e-4 * moved); // and merged = beside up to float32 rounding
    // the merged delta has rank <= r
    const ad = lora.adapters[0]!;
    const t = loraTensors(lora);
    expect(t.get(ad.name.replace(/\.weight$/, '.lora_A.weight'))!.shape).toEqual([4, ad.in]);
    expect(t.get(ad.name.replace(/\.weight$/, '.lora_B.weight'))!.shape).toEqual([ad.out, 4]);
  });

  it('training steps move only A and B, and lower the loss on the rows', () => {
    const lora = createLora(base, ['o', 'shared'], 4, 8, 2);
    const frozen = base.data.slice();
    const opt = createLoraOptimizer(lora);
    const first = loraGradient(base, lora, rows, hp).loss;
    let last = first;
    for (let step = 0; step < 8; step++) {
      const g = loraGradient(base, lora, rows, hp);
      last = g.loss;
      loraOptimizerStep(lora, opt, g.grads.map((v) => v / rows.length), hp, hp.lr);
    }
    expect(Array.from(base.data)).toEqual(Array.from(frozen));
    expect(last).toBeLessThan(first);
  });
});

describe('singular values', () => {
  it('of a diagonal matrix, of a rotation times a diagonal, and of a rank-r product', async () => {
    const { singularValues } = await import('../src/engine/train/lora.js');
    expect(singularValues([3, 0, 0, 0, -5, 0], 2, 3).map((v) => Number(v.toFixed(12)))).toEqual([5, 3]);
    // [[cos, -sin], [sin, cos]] * diag(2, 0.5): singular values 2 and 0.5
    const c = Math.cos(0.7), s = Math.sin(0.7);
    const sv = singularValues([2 * c, -0.5 * s, 2 * s, 0.5 * c], 2, 2);
    expect(sv[0]).toBeCloseTo(2, 12);
    expect(sv[1]).toBeCloseTo(0.5, 12);
    // B [40, 3] x A [3, 30]: exactly 3 nonzero singular values
    const B = Array.from({ length: 40 * 3 }, (_, i) => Math.sin(i * i * 0.37 + 1)), A = Array.from({ length: 3 * 30 }, (_, i) => Math.cos(i * i * 0.61 + 2));
    const M = new Float64Array(40 * 30);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 30; j++) for (let k = 0; k < 3; k++) M[i * 30 + j] += B[i * 3 + k]! * A[k * 30 + j]!;
    const v = singularValues(M, 40, 30);
    expect(v[2]).toBeGreaterThan(1e-3 * v[0]!);
    expect(v[3]).toBeLessThan(1e-10 * v[0]!);
    // the sum of squares equals the Frobenius norm squared
    expect(v.reduce((a, x) => a + x * x, 0)).toBeCloseTo(M.reduce((a, x) => a + x * x, 0), 8);
  });
});
