// The model in lower precisions: the fast BF16/FP16 activation rounding equals the bit-level
// formats module, the FP32 scheme is the model itself, stored weights are exactly their format's
// values, FP8 inputs are quantised only for FP8 weights, and compareLogits on a hand-worked case.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { referenceBackend } from '../kernels/reference.js';
import { parseConfig } from '../src/engine/config.js';
import { initTensors } from '../src/engine/init.js';
import { Model } from '../src/engine/model.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { BF16, E4M3, FP16, roundTo } from '../src/engine/numerics/formats.js';
import { fakeQuantize } from '../src/engine/numerics/quantize.js';
import { compareLogits, modelInScheme, precisionBackend, roundActivations, schemeBytes, schemeWeights } from '../src/engine/numerics/precision.js';

const cfg = parseConfig({ ...TINY_CONFIG_JSON });
const tensors = initTensors(cfg, { seed: 11 });
const prompt = Array.from('Once upon a time, a little bear', (c) => c.charCodeAt(0));

describe('activation rounding', () => {
  it('the BF16 and FP16 fast paths equal round-to-nearest-even of the formats module on any float32', () => {
    for (const f of [BF16, FP16]) {
      fc.assert(fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 50 }), (xs) => {
        const x = Float32Array.from(xs);
        const got = roundActivations(f, x.slice());
        x.forEach((v, i) => expect(Object.is(got[i], roundTo(f, v))).toBe(true));
      }), { numRuns: 300 });
      // dense near FP16's subnormals and overflow edge
      fc.assert(fc.property(fc.double({ min: -1e-4, max: 1e-4, noNaN: true }), fc.double({ min: 6e4, max: 7e4, noNaN: true }), (a, b) => {
        const x = Float32Array.from([a, b, -b]);
        const got = roundActivations(f, x.slice());
        x.forEach((v, i) => expect(Object.is(got[i], roundTo(f, v))).toBe(true));
      }), { numRuns: 300 });
    }
  });
});

describe('schemes', () => {
  it('fp32 is the model itself; bf16 weights are exactly their BF16 values; the routing bias stays F32', () => {
    const ref = Model.fromTensors(cfg, tensors).forward(prompt).logits;
    expect(Array.from(modelInScheme(cfg, tensors, 'fp32', referenceBackend).forward(prompt).logits)).toEqual(Array.from(ref));
    const { tensors: w } = schemeWeights(tensors, 'bf16');
    const name = 'model.layers.0.self_attn.kv_b_proj.weight';
    w.get(name)!.data.forEach((v, i) => expect(v).toBe(roundTo(BF16, tensors.get(name)!.data[i]!)));
    const bias = 'model.layers.1.mlp.gate.e_score_correction_bias';
    expect(w.get(bias)!.data).toBe(tensors.get(bias)!.data);
  });

  it('fp8: linear weights are the block-quantised values and are the only FP8 set; embeddings and router BF16', () => {
    const { tensors: w, fp8 } = schemeWeights(tensors, 'fp8-block');
    const name = 'model.layers.1.mlp.experts.2.up_proj.weight';
    const t = tensors.get(name)!;
    expect(Array.from(w.get(name)!.data)).toEqual(Array.from(fakeQuantize(t.data, 24, 64, 'block', E4M3)));
    expect(fp8.has(w.get(name)!.data)).toBe(true);
    expect(fp8.has(w.get('model.embed_tokens.weight')!.data)).toBe(false);
    expect(fp8.has(w.get('model.layers.1.mlp.gate.weight')!.data)).toBe(false);
    expect(fp8.has(w.get('lm_head.weight')!.data)).toBe(false);
    expect(fp8.size).toBe([...tensors.keys()].filter((n) => n.endsWith('_proj.weight')).length);
    // bytes: FP8 weights 1 byte + one 4-byte scale per block; the rest 2 bytes; the bias 4
    let expected = 0;
    for (const [n, x] of tensors) expected += n.endsWith('_proj.weight') ? x.data.length + 4 * Math.ceil(x.shape[0]! / 128) * Math.ceil(x.shape[1]! / 128) : n.endsWith('bias') ? 4 * x.data.length : 2 * x.data.length;
    expect(schemeBytes(tensors, 'fp8-block')).toBe(expected);
    expect(schemeBytes(tensors, 'fp32')).toBe(4 * [...tensors.values()].reduce((s, x) => s + x.data.length, 0));
  });

  it('the precision backend quantises A per 1x128 tile only when B is an FP8 weight, and rounds outputs', () => {
    const a = Float32Array.from({ length: 2 * 3 }, (_, i) => (i + 1) / 7);
    const wFp8 = Float32Array.from({ length: 2 * 3 }, (_, i) => i - 2.5);
    const wOther = wFp8.slice();
    const be = precisionBackend(referenceBackend, { activations: BF16, fp8Inputs: { weights: new Set([wFp8]), granularity: 'tile' } });
    const plain = (x: Float32Array, w: Float32Array) => Array.from(referenceBackend.matmulT(x, w, 2, 3, 2), (v) => roundTo(BF16, v));
    expect(Array.from(be.matmulT(a, wOther, 2, 3, 2))).toEqual(plain(a, wOther));
    expect(Array.from(be.matmulT(a, wFp8, 2, 3, 2))).toEqual(plain(fakeQuantize(a, 2, 3, [1, 128], E4M3), wFp8));
    expect(Array.from(be.softmaxRows(Float32Array.from([0, 1, 2]), 1, 3))).toEqual(Array.from(referenceBackend.softmaxRows(Float32Array.from([0, 1, 2]), 1, 3), (v) => roundTo(BF16, v)));
  });

  it('lower precision moves the logits (a change that could be zero, is not, and stays small)', () => {
    const ref = Model.fromTensors(cfg, tensors).forward(prompt).logits;
    for (const s of ['bf16', 'fp16', 'fp8-tensor', 'fp8-block'] as const) {
      const c = compareLogits(ref, modelInScheme(cfg, tensors, s, referenceBackend).forward(prompt).logits, prompt, cfg.vocab_size);
      expect(c.maxAbsDiff).toBeGreaterThan(0);
      expect(c.agreement).toBeGreaterThan(0.6);
      expect(Math.abs(c.bitsPerChar - c.refBitsPerChar)).toBeLessThan(0.2);
    }
  });
});

describe('compareLogits', () => {
  it('a hand-worked case: two positions, vocabulary 2', () => {
    // ref row 0 = [0, 0] predicts token 1 with p 1/2 (1 bit); test row 0 = [0, ln 3] gives p 3/4
    const ref = Float32Array.from([0, 0, 1, 0]);
    const test = Float32Array.from([0, Math.log(3), 0, 1]);
    const c = compareLogits(ref, test, [0, 1], 2);
    expect(c.refBitsPerChar).toBeCloseTo(1, 12);
    expect(c.bitsPerChar).toBeCloseTo(Math.log2(4 / 3), 6);
    expect(c.agreement).toBe(0); // row 0: ref ties (argmax 0) vs test 1; row 1: 0 vs 1
    expect(c.maxAbsDiff).toBeCloseTo(Math.log(3), 6);
  });
});

describe('modelTensors', () => {
  it('gives back every tensor of the checkpoint by name, as the very arrays the model binds', async () => {
    const { modelTensors } = await import('../src/engine/numerics/model-tensors.js');
    const back = modelTensors(Model.fromTensors(cfg, tensors));
    expect([...back.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      expect(back.get(name)!.data).toBe(t.data);
      expect(back.get(name)!.shape).toEqual(t.shape);
    }
    const dense = parseConfig({ ...TINY_CONFIG_JSON, n_routed_experts: null, q_lora_rank: null, num_nextn_predict_layers: 0 });
    const dt = initTensors(dense, { seed: 1 });
    const db = modelTensors(Model.fromTensors(dense, dt));
    for (const [name, t] of dt) expect(db.get(name)!.data).toBe(t.data);
  });
});
