// Linear attention and its relatives (src/engine/linear/): every variant's parallel form equals its
// recurrent (decoding) form; without softmax, (QK^T)V = Q(K^T V); Performer's error against exact
// softmax attention falls as the random features grow; the per-layer decode costs and crossovers
// are consistent with the engine's MLA costs; swapping one layer's attention goes through the model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { decodeCost } from '../src/engine/cost.js';
import { initModel } from '../src/engine/init.js';
import { createRng } from '../src/engine/sampling.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import {
  ARCHITECTURES, type HeadQKV, type VariantSpec, crossover, gauParallel, gauRecurrent, headQKV, initGau, layerDecodeCost,
  maxAbsDiff, performerInputs, randomProjection, relativeError, rowEntropy, runVariant, runVariantBoth, runVariantRecurrent, softmaxAttention,
  softmaxKernel, stateBytes, stepFlops, swappedLayerBits,
} from '../src/engine/linear/index.js';
import v3 from '../static/configs/deepseek-v3.json';

function randomHead(seed: number, T: number, dk: number, dv: number, spread = 2): HeadQKV {
  const rng = createRng(seed);
  const r = (n: number) => Float64Array.from({ length: n }, () => spread * (2 * rng() - 1));
  return { T, dk, dv, q: r(T * dk), k: r(T * dk), v: r(T * dv), scale: 1 / Math.sqrt(dk) };
}

const arbHead = fc.record({
  seed: fc.integer({ min: 0, max: 1e6 }), T: fc.integer({ min: 1, max: 20 }), dk: fc.integer({ min: 1, max: 8 }), dv: fc.integer({ min: 1, max: 6 }),
}).map((r) => randomHead(r.seed, r.T, r.dk, r.dv));

const arbVariant: fc.Arbitrary<VariantSpec> = fc.oneof(
  fc.constantFrom<VariantSpec>({ kind: 'linear', phi: 'elu1' }, { kind: 'linear', phi: 'relu' }, { kind: 'normalised', phi: 'elu1' }, { kind: 'normalised', phi: 'relu' }),
  fc.record({ features: fc.integer({ min: 1, max: 40 }), seed: fc.integer({ min: 0, max: 99 }), orthogonal: fc.boolean() }).map((p): VariantSpec => ({ kind: 'performer', ...p })),
  fc.integer({ min: 1, max: 9 }).map((block): VariantSpec => ({ kind: 'block', block })),
  fc.integer({ min: 1, max: 9 }).map((chunk): VariantSpec => ({ kind: 'chunked', chunk })),
);

/** The tiny model (seeded weights) and layer 1's head 2 on a 24-token prompt. */
function modelHead(): HeadQKV {
  const cfg = parseConfig({ ...TINY_CONFIG_JSON }, { file: 'tiny' });
  const model = initModel(cfg, { seed: 3 });
  const tokens = Array.from({ length: 24 }, (_, i) => (i * 37 + 5) % cfg.vocab_size);
  const tr = model.forward(tokens, { trace: true }).trace!;
  return headQKV(model, tr[1], 2);
}

describe('parallel = recurrent', () => {
  it('for every variant, on random heads', () => {
    fc.assert(fc.property(arbHead, arbVariant, (h, v) => {
      const par = runVariant(h, v).out, rec = runVariantRecurrent(h, v);
      const scale = Math.max(1, ...Array.from(par, Math.abs));
      expect(maxAbsDiff(par, rec)).toBeLessThan(1e-10 * scale);
    }), { numRuns: 300, seed: 16 });
  });

  it('for every variant, on the model\'s own q, k, v', () => {
    const h = modelHead();
    for (const v of [{ kind: 'linear', phi: 'elu1' }, { kind: 'performer', features: 64, seed: 1 }, { kind: 'normalised', phi: 'elu1' }, { kind: 'block', block: 8 }, { kind: 'chunked', chunk: 8 }] as VariantSpec[]) {
      expect(maxAbsDiff(runVariant(h, v).out, runVariantRecurrent(h, v)), v.kind).toBeLessThan(1e-10);
    }
  });

  it('runVariantBoth gives exactly the numbers of the two separate forms, for any head and head index', () => {
    fc.assert(fc.property(arbHead, fc.oneof(arbVariant, fc.constant<VariantSpec>({ kind: 'softmax' })), fc.integer({ min: 0, max: 7 }), (h, v, head) => {
      const both = runVariantBoth(h, v, head);
      const par = runVariant(h, v, head);
      expect(Array.from(both.result.out)).toEqual(Array.from(par.out));
      expect(Array.from(both.result.weights ?? [])).toEqual(Array.from(par.weights ?? []));
      expect(Array.from(both.recurrent)).toEqual(Array.from(runVariantRecurrent(h, v, head)));
    }), { numRuns: 200, seed: 17 });
  });

  it('GAU with FLASH mixing: forward over the sequence = decoding token by token, for any chunk', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 20 }), (seed, T, chunk) => {
      const p = initGau(6, 10, 4, seed);
      const rng = createRng(seed + 1);
      const x = Float64Array.from({ length: T * 6 }, () => 2 * rng() - 1);
      const a = gauParallel(p, x, T, chunk), b = gauRecurrent(p, x, T, chunk);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-12 * Math.max(1, ...Array.from(a, Math.abs)));
    }), { numRuns: 100, seed: 5 });
  });
});

describe('associativity', () => {
  it('(Q K^T) V = Q (K^T V) without softmax, to rounding', () => {
    fc.assert(fc.property(arbHead, (h) => {
      const { T, dk, dv, q, k, v } = h;
      const left = new Float64Array(T * dv), right = new Float64Array(T * dv), KtV = new Float64Array(dk * dv);
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) {
        let s = 0;
        for (let c = 0; c < dk; c++) s += q[i * dk + c] * k[j * dk + c];
        for (let c = 0; c < dv; c++) left[i * dv + c] += s * v[j * dv + c];
      }
      for (let j = 0; j < T; j++) for (let a = 0; a < dk; a++) for (let c = 0; c < dv; c++) KtV[a * dv + c] += k[j * dk + a] * v[j * dv + c];
      for (let i = 0; i < T; i++) for (let a = 0; a < dk; a++) for (let c = 0; c < dv; c++) right[i * dv + c] += q[i * dk + a] * KtV[a * dv + c];
      expect(maxAbsDiff(left, right)).toBeLessThan(1e-12 * T * dk * 16);
    }), { numRuns: 200, seed: 7 });
  });
});

describe('the variants at their limits', () => {
  it('block softmax with one block is softmax; with blocks of 1 it returns v', () => {
    fc.assert(fc.property(arbHead, (h) => {
      expect(maxAbsDiff(runVariant(h, { kind: 'block', block: h.T }).out, softmaxAttention(h).out)).toBeLessThan(1e-12);
      expect(maxAbsDiff(runVariant(h, { kind: 'block', block: 1 }).out, h.v)).toBeLessThan(1e-12);
    }), { numRuns: 100, seed: 3 });
  });

  it('normalised rows of linear, Performer, block and chunked attention sum to 1 and are non-negative', () => {
    fc.assert(fc.property(arbHead, arbVariant.filter((v) => v.kind !== 'normalised' && !(v.kind === 'linear' && v.phi === 'relu')), (h, v) => {
      const w = runVariant(h, v).weights!;
      for (let i = 0; i < h.T; i++) {
        let s = 0;
        for (let j = 0; j <= i; j++) { expect(w[i * h.T + j]).toBeGreaterThanOrEqual(0); s += w[i * h.T + j]; }
        for (let j = i + 1; j < h.T; j++) expect(w[i * h.T + j]).toBe(0);
        // A squared-ReLU chunk with every score negative (and nothing before it) attends to nothing.
        if (!(v.kind === 'chunked' && s === 0)) expect(Math.abs(s - 1)).toBeLessThan(1e-9);
      }
    }), { numRuns: 150, seed: 9 });
  });

  it('TransNormer\'s normalised output has unit RMS per row (no denominator involved)', () => {
    const h = randomHead(4, 12, 5, 4);
    const o = runVariant(h, { kind: 'normalised', phi: 'elu1' }).out;
    for (let i = 0; i < h.T; i++) {
      let ss = 0;
      for (let c = 0; c < h.dv; c++) ss += o[i * h.dv + c] ** 2;
      expect(Math.abs(Math.sqrt(ss / h.dv) - 1)).toBeLessThan(1e-5);
    }
  });

  it('a row spread evenly over i+1 tokens has log2(i+1) bits of entropy', () => {
    const T = 9, w = new Float64Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) w[i * T + j] = 1 / (i + 1);
    for (let i = 0; i < T; i++) expect(rowEntropy(w, T, i)).toBeCloseTo(Math.log2(i + 1), 12);
  });
});

describe('Performer FAVOR+', () => {
  it('draws orthogonal rows within each block of d', () => {
    const d = 6, m = 15, W = randomProjection(m, d, createRng(1));
    for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) {
      if (Math.floor(a / d) !== Math.floor(b / d)) continue;
      let s = 0;
      for (let j = 0; j < d; j++) s += W[a * d + j] * W[b * d + j];
      expect(Math.abs(s)).toBeLessThan(1e-9);
    }
  });

  it('estimates the softmax kernel without bias: the mean over many draws approaches exp(q . k / sqrt(d))', () => {
    const h = randomHead(11, 6, 4, 2, 0.8);
    const exact = softmaxKernel(h);
    const mean = new Float64Array(h.T * h.T);
    const draws = 400;
    for (let s = 0; s < draws; s++) {
      const x = performerInputs(h, { features: 4, rng: createRng(1000 + s) });
      // Unstabilised query features (the per-row constant is undone by comparing ratios instead).
      for (let i = 0; i < h.T; i++) for (let j = 0; j <= i; j++) {
        let e = 0, ref = 0;
        for (let a = 0; a < x.m; a++) { e += x.fq[i * x.m + a] * x.fk[j * x.m + a]; ref += x.fq[i * x.m + a] * x.fk[0 * x.m + a]; }
        mean[i * h.T + j] += e / ref * exact[i * h.T + 0] / draws;
      }
    }
    // A ratio estimate is only asymptotically unbiased: a loose, fixed-seed bound.
    for (let i = 0; i < h.T; i++) for (let j = 0; j <= i; j++) expect(Math.abs(mean[i * h.T + j] / exact[i * h.T + j] - 1)).toBeLessThan(0.15);
  });

  it('keeps every row for long queries and keys (tiny but positive feature products are still divided, not dropped)', () => {
    const h = randomHead(31, 12, 8, 3, 8); // |q| s^(1/2) around 8
    const w = runVariant(h, { kind: 'performer', features: 32, seed: 2 }).weights!;
    for (let i = 0; i < h.T; i++) {
      let s = 0;
      for (let j = 0; j <= i; j++) s += w[i * h.T + j];
      expect(Math.abs(s - 1), `row ${i}`).toBeLessThan(1e-9);
    }
  });

  const meanError = (h: HeadQKV, m: number, draws: number) => {
    const exact = softmaxAttention(h).out;
    let e = 0;
    for (let s = 0; s < draws; s++) e += relativeError(runVariant(h, { kind: 'performer', features: m, seed: s }).out, exact);
    return e / draws;
  };

  it('its error against exact softmax attention falls like 1/sqrt(m) for short q, k (fixed seeds, mean of 12 draws)', () => {
    const h = randomHead(21, 16, 8, 4, 0.5);
    const ms = [4, 16, 64, 256];
    const err = ms.map((m) => meanError(h, m, 12));
    // Monte-Carlo error ~ 1/sqrt(m): each 4x more features should about halve it.
    for (let i = 1; i < ms.length; i++) expect(err[i], `m = ${ms[i]}: ${err}`).toBeLessThan(0.75 * err[i - 1]);
    expect(err[3]).toBeLessThan(err[0] / 4);
  });

  it('on the model\'s own (long) q, k it still falls as m grows, but slowly: the variance grows like exp(|q + k|^2)', () => {
    const h = modelHead();
    const err = [4, 64, 1024].map((m) => meanError(h, m, 12));
    expect(err[1], `${err}`).toBeLessThan(err[0]);
    expect(err[2], `${err}`).toBeLessThan(err[1]);
    expect(err[2], `${err}`).toBeLessThan(0.7 * err[0]);
  });
});

describe('decode cost per layer', () => {
  const cfgV3 = parseConfig(v3, { file: 'deepseek-v3.json', allowRopeScaling: true });
  const tiny = parseConfig({ ...TINY_CONFIG_JSON }, { file: 'tiny' });

  it('MLA is the engine\'s absorbed path; DeepSeek-V3 caches d_c + d_h^R = 576 numbers per token per layer', () => {
    const c = layerDecodeCost(cfgV3, 'MLA');
    const e = decodeCost(cfgV3, 'absorbed', 1000);
    expect(c.elementsPerToken).toBe(576);
    expect(stepFlops(c, 1000) * cfgV3.num_hidden_layers).toBe(e.attentionFlops);
  });

  it('the cache shrinks MHA > GQA > MQA and the fixed states do not grow', () => {
    for (const cfg of [cfgV3, tiny]) {
      const e = (a: (typeof ARCHITECTURES)[number]) => stateBytes(layerDecodeCost(cfg, a, { gqaGroups: 2, ssmExpand: 2, ssmState: 16 }), 1000, 2);
      expect(e('MHA')).toBeGreaterThan(e('GQA'));
      expect(e('GQA')).toBeGreaterThan(e('MQA'));
      for (const a of ['linear', 'SSM'] as const) {
        const c = layerDecodeCost(cfg, a);
        expect(stateBytes(c, 10, 2)).toBe(stateBytes(c, 1e6, 2));
        expect(stepFlops(c, 10)).toBe(stepFlops(c, 1e6));
      }
    }
  });

  it('at the crossover context the growing architecture costs at least the fixed one, one token earlier less', () => {
    for (const cfg of [cfgV3, tiny]) for (const g of ['MHA', 'GQA', 'MQA', 'MLA'] as const) for (const f of ['linear', 'SSM'] as const) {
      const G = layerDecodeCost(cfg, g), F = layerDecodeCost(cfg, f);
      const bytes = crossover(G, F, 'bytes')!;
      expect(stateBytes(G, bytes, 2)).toBeGreaterThanOrEqual(stateBytes(F, bytes, 2));
      if (bytes > 1) expect(stateBytes(G, bytes - 1, 2)).toBeLessThan(stateBytes(F, bytes - 1, 2));
      const flops = crossover(G, F, 'flops');
      if (flops !== null) {
        expect(stepFlops(G, flops)).toBeGreaterThanOrEqual(stepFlops(F, flops));
        if (flops > 1) expect(stepFlops(G, flops - 1)).toBeLessThan(stepFlops(F, flops - 1));
      }
    }
  });
});

describe('swapping one layer\'s attention', () => {
  const cfg = parseConfig({ ...TINY_CONFIG_JSON }, { file: 'tiny' });
  const model = initModel(cfg, { seed: 5 });
  const tokens = Array.from({ length: 20 }, (_, i) => (i * 13 + 2) % cfg.vocab_size);

  it('a variant equal to softmax (one block spanning the sequence) leaves the model\'s loss as it was', () => {
    const base = swappedLayerBits(model, tokens, 1, { kind: 'softmax' }).bitsPerToken;
    const same = swappedLayerBits(model, tokens, 1, { kind: 'block', block: tokens.length }).bitsPerToken;
    expect(Math.abs(base - same)).toBeLessThan(1e-4);
  });

  it('a different variant changes the loss (the replacement reaches the logits)', () => {
    const base = swappedLayerBits(model, tokens, 0, { kind: 'softmax' }).bitsPerToken;
    const lin = swappedLayerBits(model, tokens, 0, { kind: 'block', block: 1 }).bitsPerToken;
    expect(Math.abs(base - lin)).toBeGreaterThan(1e-4);
  });

  it('rejects a layer that does not exist', () => {
    expect(() => swappedLayerBits(model, tokens, cfg.num_hidden_layers, { kind: 'softmax' })).toThrow(/not a decoder layer/);
  });
});

describe('a head\'s q, k, v from the trace', () => {
  it('are causal: the first T rows of a longer forward are those of a forward over T tokens (float32 rounding)', () => {
    const cfg = parseConfig({ ...TINY_CONFIG_JSON }, { file: 'tiny' });
    const model = initModel(cfg, { seed: 9 });
    const tokens = Array.from({ length: 40 }, (_, i) => (i * 29 + 3) % cfg.vocab_size);
    const long = headQKV(model, model.forward(tokens, { trace: true }).trace![1], 3);
    for (const T of [1, 7, 25]) {
      const short = headQKV(model, model.forward(tokens.slice(0, T), { trace: true }).trace![1], 3);
      expect(maxAbsDiff(long.q.subarray(0, T * long.dk), short.q)).toBeLessThan(1e-4);
      expect(maxAbsDiff(long.k.subarray(0, T * long.dk), short.k)).toBeLessThan(1e-4);
      expect(maxAbsDiff(long.v.subarray(0, T * long.dv), short.v)).toBeLessThan(1e-4);
    }
  });
});
