// Speculative decoding: the accept/resample rule returns the target distribution (chi-square, and
// a wrong rule is caught by the same test), greedy speculation equals greedy decoding token for
// token, and a drafter identical to the target is always accepted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { generate } from '../src/engine/generate.js';
import { initModel, noisyCopy } from '../src/engine/init.js';
import type { Model } from '../src/engine/model.js';
import { createRng, fillUniform, sampleFrom, samplingDistribution } from '../src/engine/sampling.js';
import { type Drafter, ModelDrafter, MtpDrafter, acceptanceProbability, expectedTokensPerStep, simulateIidSteps, speculate, verifyDraft } from '../src/engine/speculate.js';
import { arbConfig } from './helpers/configs.js';

/** Pearson's chi-square of observed counts against expected probabilities, pooling cells whose
 *  expected count is below 5 into one (the usual validity rule). Returns the statistic and df. */
function chiSquare(counts: number[], probs: number[]): { stat: number; df: number } {
  const n = counts.reduce((a, b) => a + b, 0);
  let stat = 0, cells = 0, poolObs = 0, poolExp = 0;
  probs.forEach((p, i) => {
    const e = p * n;
    if (e < 5) { poolObs += counts[i]; poolExp += e; return; }
    stat += (counts[i] - e) ** 2 / e;
    cells++;
  });
  if (poolExp > 0) { stat += (poolObs - poolExp) ** 2 / Math.max(poolExp, 1e-9); cells++; }
  return { stat, df: cells - 1 };
}

/** Upper 0.1% point of chi-square(df), Wilson-Hilferty approximation (within ~1% for df >= 3). */
function chiSquareCritical(df: number): number {
  const z = 3.0902; // standard normal 0.999 quantile
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

function randomDistribution(V: number, rng: () => number, sharpness: number): Float64Array {
  const w = Float64Array.from({ length: V }, () => Math.exp(sharpness * (rng() - 0.5)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

describe('the accept/resample rule', () => {
  it('chi-square critical values match tables', () => {
    // Tabulated upper 0.1% points: df 5 -> 20.52, df 35 -> 66.62.
    expect(chiSquareCritical(5)).toBeCloseTo(20.52, 0);
    expect(chiSquareCritical(35)).toBeCloseTo(66.62, 0);
  });

  it('returns samples distributed as the target p, for random p and q', () => {
    const rng = createRng(123);
    for (let trial = 0; trial < 5; trial++) {
      const V = 6;
      const p = randomDistribution(V, rng, 4), q = randomDistribution(V, rng, 4);
      const counts = new Array(V).fill(0);
      const N = 30000;
      for (let i = 0; i < N; i++) counts[verifyDraft(sampleFrom(q, rng), p, q, rng).token]++;
      const { stat, df } = chiSquare(counts, Array.from(p));
      expect(stat, `trial ${trial}: chi2 ${stat.toFixed(1)} on ${df} df`).toBeLessThan(chiSquareCritical(df));
    }
  });

  it('the same test rejects the wrong rule (resampling from p instead of the residual)', () => {
    const rng = createRng(9);
    const p = Float64Array.from([0.5, 0.3, 0.1, 0.05, 0.03, 0.02]);
    const q = Float64Array.from([0.05, 0.1, 0.5, 0.2, 0.1, 0.05]);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 30000; i++) {
      const x = sampleFrom(q, rng);
      const accepted = rng() < Math.min(1, p[x] / q[x]);
      counts[accepted ? x : sampleFrom(p, rng)]++;
    }
    const { stat, df } = chiSquare(counts, Array.from(p));
    expect(stat).toBeGreaterThan(chiSquareCritical(df));
  });
});

/** A tiny model with a 6-token vocabulary (so joint distributions have few cells). */
const tinyConfig = parseConfig({
  vocab_size: 6, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
  q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4, qk_rope_head_dim: 4, v_head_dim: 4,
  n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2, moe_intermediate_size: 8,
  n_group: 2, topk_group: 1, routed_scaling_factor: 2.5, first_k_dense_replace: 1, num_nextn_predict_layers: 1,
});

/** Exact distribution of the next token after `seq` at this temperature. */
function nextDistribution(model: Model, seq: number[], temperature: number): Float64Array {
  const out = model.forward(seq);
  const V = model.config.vocab_size;
  return samplingDistribution(out.logits.subarray((seq.length - 1) * V), { temperature });
}

describe('speculative sampling reproduces the target distribution end to end', () => {
  const target = initModel(tinyConfig, { seed: 1 });
  const other = initModel(tinyConfig, { seed: 2 });
  const prompt = [3, 1, 4];
  const temperature = 1.3;
  const V = tinyConfig.vocab_size;
  const p1 = nextDistribution(target, prompt, temperature);
  const p2 = Array.from({ length: V }, (_, a) => nextDistribution(target, [...prompt, a], temperature));

  const drafters: [string, () => Drafter][] = [
    ['a different model', () => new ModelDrafter(other, target)],
    ['the MTP module', () => new MtpDrafter(target)],
  ];
  for (const [name, make] of drafters) {
    it(`joint law of the first two tokens, ${name} drafting (gamma 2)`, () => {
      const counts = new Array(V * V).fill(0);
      let accepted = 0, proposed = 0;
      for (let seed = 0; seed < 5000; seed++) {
        const out = speculate(target, prompt, { maxNewTokens: 2, gamma: 2, drafter: make(), sampling: { temperature }, seed });
        counts[out.tokens[0] * V + out.tokens[1]]++;
        accepted += out.accepted;
        proposed += out.proposed;
      }
      const expected = Array.from({ length: V * V }, (_, i) => p1[Math.floor(i / V)] * p2[Math.floor(i / V)][i % V]);
      const { stat, df } = chiSquare(counts, expected);
      expect(stat, `chi2 ${stat.toFixed(1)} on ${df} df`).toBeLessThan(chiSquareCritical(df));
      // Both outcomes of the rule were exercised.
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(proposed);
    });
  }

  it('third token (reached through bonus tokens and resamples), gamma 1', () => {
    // Marginal law of t3: sum over t1, t2 of p(t1) p(t2|t1) p(t3|t1,t2).
    const expected = new Array(V).fill(0);
    for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) {
      const p3 = nextDistribution(target, [...prompt, a, b], temperature);
      for (let c = 0; c < V; c++) expected[c] += p1[a] * p2[a][b] * p3[c];
    }
    const counts = new Array(V).fill(0);
    for (let seed = 0; seed < 4000; seed++) {
      const out = speculate(target, prompt, { maxNewTokens: 3, gamma: 1, drafter: new ModelDrafter(other, target), sampling: { temperature }, seed });
      counts[out.tokens[2]]++;
    }
    const { stat, df } = chiSquare(counts, expected);
    expect(stat, `chi2 ${stat.toFixed(1)} on ${df} df`).toBeLessThan(chiSquareCritical(df));
  });
});

describe('greedy speculation', () => {
  it('equals plain greedy decoding token for token (MTP and model drafters, any gamma)', () => {
    fc.assert(
      fc.property(
        arbConfig({ mtp: 1 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 12 }), fc.constantFrom('absorbed', 'decompressed', 'full-cache'), fc.boolean(),
        (cfg, seed, gamma, n, attention, useMtp) => {
          const target = initModel(cfg, { seed });
          const prompt = [0, 1, 2].map((t) => (t + seed) % cfg.vocab_size);
          const plain = generate(target, prompt, { maxNewTokens: n, attention }).tokens;
          const drafter = useMtp ? new MtpDrafter(target, attention) : new ModelDrafter(initModel(cfg, { seed: seed + 1 }), target, attention);
          const spec = speculate(target, prompt, { maxNewTokens: n, gamma, drafter, attention });
          expect(spec.tokens).toEqual(plain);
          spec.steps.forEach((s) => {
            expect(s.accepted).toBeLessThanOrEqual(s.proposed);
            expect(s.emitted).toHaveLength(s.accepted + 1);
          });
        },
      ),
      { numRuns: 60, seed: 77 },
    );
  });

  it('a drafter identical to the target is always accepted, greedy or sampled', () => {
    const target = initModel(tinyConfig, { seed: 4 });
    for (const sampling of [{ temperature: 0 }, { temperature: 1 }]) {
      const out = speculate(target, [1, 2], { maxNewTokens: 13, gamma: 3, drafter: new ModelDrafter(target, target), sampling, seed: 5 });
      expect(out.acceptanceRate).toBe(1);
      expect(out.steps).toHaveLength(3); // 13 = 1 prefill token + 3 steps of (3 accepted + 1 bonus)
    }
  });

  it('MTP drafting from a model without MTP is a clear error', () => {
    const dense = initModel({ ...tinyConfig, num_nextn_predict_layers: 0 }, { seed: 1 });
    expect(() => new MtpDrafter(dense)).toThrow(/no MTP module/);
  });
});

describe('sampling distribution', () => {
  it('temperature, top-k and top-p keep a normalised distribution over the right support', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 30 }),
        fc.double({ min: 0.1, max: 3, noNaN: true }), fc.integer({ min: 0, max: 30 }), fc.double({ min: 0.05, max: 1, noNaN: true }),
        (logits, temperature, topK, topP) => {
          const p = samplingDistribution(logits, { temperature, topK, topP });
          expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
          const support = Array.from(p).filter((x) => x > 0).length;
          if (topK > 0) expect(support).toBeLessThanOrEqual(topK);
          // Every kept token is at least as likely as every dropped one (before filtering).
          const base = samplingDistribution(logits, { temperature });
          const kept = Array.from(base).filter((_, i) => p[i] > 0), dropped = Array.from(base).filter((_, i) => p[i] === 0);
          if (dropped.length) expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...dropped));
        },
      ),
      { numRuns: 200, seed: 1 },
    );
  });

  it('the seeded generator is reproducible and uniform enough', () => {
    const a = createRng(42), b = createRng(42);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const bins = new Array(10).fill(0);
    xs.forEach((x) => { expect(x).toBeGreaterThanOrEqual(0); expect(x).toBeLessThan(1); bins[Math.floor(x * 10)]++; });
    const { stat, df } = chiSquare(bins, new Array(10).fill(0.1));
    expect(stat).toBeLessThan(chiSquareCritical(df));
  });
});

describe('tokens per verification step', () => {
  it('i.i.d. drafts: the measured mean is within statistical error of (1 - alpha^(gamma+1)) / (1 - alpha)', () => {
    const rng = createRng(2024);
    for (const [sharp, gamma] of [[1, 1], [3, 2], [6, 4], [2, 7]] as const) {
      const p = randomDistribution(8, rng, sharp), q = randomDistribution(8, rng, sharp);
      const alpha = acceptanceProbability(p, q);
      const steps = simulateIidSteps(p, q, gamma, 20000, rng);
      const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
      const sd = Math.sqrt(steps.reduce((a, b) => a + (b - mean) ** 2, 0) / (steps.length - 1));
      const theory = expectedTokensPerStep(alpha, gamma);
      expect(Math.abs(mean - theory), `alpha ${alpha.toFixed(3)}, gamma ${gamma}: ${mean} vs ${theory}`).toBeLessThan(4 * sd / Math.sqrt(steps.length));
    }
    expect(expectedTokensPerStep(1, 3)).toBe(4);
    expect(expectedTokensPerStep(0, 3)).toBe(1);
  });
});

describe('noisy drafters', () => {
  it('sigma 0 copies the model exactly; more noise, less agreement', () => {
    const target = initModel(tinyConfig, { seed: 8 });
    const prompt = [1, 2, 3, 4, 5];
    const exact = noisyCopy(target, { sigma: 0, seed: 1 });
    expect(Array.from(exact.forward(prompt).logits)).toEqual(Array.from(target.forward(prompt).logits));
    const rate = (sigma: number) => {
      let acc = 0, prop = 0;
      for (let seed = 0; seed < 40; seed++) {
        const out = speculate(target, prompt, { maxNewTokens: 12, gamma: 3, drafter: new ModelDrafter(noisyCopy(target, { sigma, seed }), target), sampling: { temperature: 1 }, seed });
        acc += out.accepted; prop += out.proposed;
      }
      return acc / prop;
    };
    const small = rate(0.05), large = rate(1.5);
    expect(small).toBeGreaterThan(0.8);
    expect(large).toBeLessThan(small - 0.15);
  });
});

describe('speculate bookkeeping', () => {
  it('counts proposed, verified and accepted drafts consistently, and traces every draft', () => {
    const target = initModel(tinyConfig, { seed: 3 });
    const out = speculate(target, [1, 2, 3], { maxNewTokens: 20, gamma: 3, drafter: new ModelDrafter(initModel(tinyConfig, { seed: 4 }), target), sampling: { temperature: 1 }, seed: 2, trace: true });
    let verified = 0;
    for (const s of out.steps) {
      expect(s.drafts).toHaveLength(s.proposed);
      expect(s.decisions!.length).toBe(s.accepted + (s.last === 'resampled' ? 1 : 0));
      s.decisions!.forEach((d, i) => expect(d.token).toBe(s.drafts![i]));
      verified += s.decisions!.length;
    }
    expect(out.verified).toBe(verified);
    expect(out.accepted).toBeLessThanOrEqual(out.verified);
    expect(out.verified).toBeLessThanOrEqual(out.proposed);
  });
});

describe('seeded uniform fill', () => {
  it('gives the numbers createRng gives for the same seed, scaled to [lo, hi)', () => {
    fc.assert(fc.property(fc.integer(), fc.integer({ min: 1, max: 300 }), (seed, n) => {
      const data = new Float32Array(n);
      fillUniform(data, seed, -2, 3);
      const rng = createRng(seed);
      for (let i = 0; i < n; i++) {
        const want = Math.fround(-2 + rng() * 5);
        expect(data[i]).toBe(want);
        expect(data[i]).toBeGreaterThanOrEqual(-2);
        expect(data[i]).toBeLessThanOrEqual(3);
      }
    }), { numRuns: 50, seed: 5 });
  });
});
