// The DeepSeekMoE gate's invariants, checked on random logits and settings by brute force over the
// definitions (DESIGN.md, "Router semantics"), not against the implementation's own output.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RouterSettings, route } from '../src/engine/router.js';

const arbRouter = fc
  .record({
    groups: fc.constantFrom(1, 2, 3, 4, 8),
    perGroup: fc.integer({ min: 1, max: 5 }),
    keptFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    topkFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    scale: fc.constantFrom(1, 2.5, 16),
    norm: fc.boolean(),
    method: fc.constantFrom('noaux_tc', 'group_limited_greedy', 'greedy'),
    tokens: fc.integer({ min: 1, max: 6 }),
    seed: fc.integer(),
  })
  .map((r) => {
    const E = r.groups * r.perGroup;
    const topkGroup = Math.max(1, Math.round(r.keptFrac * r.groups));
    const kept = r.method === 'greedy' ? E : topkGroup * r.perGroup;
    const s: RouterSettings = {
      n_routed_experts: E,
      num_experts_per_tok: Math.max(1, Math.round(r.topkFrac * kept)),
      n_group: r.groups,
      topk_group: topkGroup,
      routed_scaling_factor: r.scale,
      norm_topk_prob: r.norm,
      scoring_func: r.method === 'group_limited_greedy' ? 'softmax' : 'sigmoid',
      topk_method: r.method as RouterSettings['topk_method'],
    };
    return { s, tokens: r.tokens, seed: r.seed };
  });

/** Distinct-ish logits and bias from a seed (ties would make "the top-k" ambiguous). */
function data(E: number, T: number, seed: number) {
  let x = (seed >>> 0) || 1;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
  const logits = Float32Array.from({ length: E * T }, () => 6 * next() - 3);
  const bias = Float32Array.from({ length: E }, () => 0.6 * next() - 0.3);
  return { logits, bias };
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe('router', () => {
  it('chooses exactly top-k distinct experts inside the kept groups, by the biased score', () => {
    fc.assert(
      fc.property(arbRouter, ({ s, tokens, seed }) => {
        const E = s.n_routed_experts, G = s.n_group, size = E / G;
        const { logits, bias } = data(E, tokens, seed);
        const r = route(logits, tokens, bias, s);
        for (let t = 0; t < tokens; t++) {
          const chosen = r.experts[t];
          expect(chosen).toHaveLength(s.num_experts_per_tok);
          expect(new Set(chosen).size).toBe(chosen.length);
          const c = Array.from({ length: E }, (_, e) => r.choiceScores[t * E + e]);
          const sc = Array.from({ length: E }, (_, e) => r.scores[t * E + e]);
          // Scores are the gate's affinities: sigmoid(u.e) for V3, softmax for V2.
          if (s.scoring_func === 'sigmoid') sc.forEach((v, e) => expect(v).toBeCloseTo(sigmoid(logits[t * E + e]), 6));
          else expect(sc.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          // The bias is added only for the choice, and only for noaux_tc.
          c.forEach((v, e) => expect(v).toBeCloseTo(sc[e] + (s.topk_method === 'noaux_tc' ? bias[e] : 0), 6));

          const limited = s.topk_method !== 'greedy' && G > 1;
          const groups = r.groups[t];
          if (limited) {
            expect(groups).toHaveLength(s.topk_group);
            // Group score by definition: sum of the two largest c (V3), or the max score (V2).
            const score = (g: number) => {
              const m = c.slice(g * size, (g + 1) * size).sort((a, b) => b - a);
              return s.topk_method === 'noaux_tc' ? m[0] + (m[1] ?? 0) : m[0];
            };
            const keptMin = Math.min(...groups.map(score));
            for (let g = 0; g < G; g++) if (!groups.includes(g)) expect(score(g)).toBeLessThanOrEqual(keptMin);
          }
          const inKept = (e: number) => !limited || groups.includes(Math.floor(e / size));
          chosen.forEach((e) => expect(inKept(e)).toBe(true));
          // No unchosen expert in the kept groups beats a chosen one.
          const worstChosen = Math.min(...chosen.map((e) => c[e]));
          for (let e = 0; e < E; e++) if (inKept(e) && !chosen.includes(e)) expect(c[e]).toBeLessThanOrEqual(worstChosen);
          // Chosen are listed by descending choice score.
          for (let i = 1; i < chosen.length; i++) expect(c[chosen[i - 1]]).toBeGreaterThanOrEqual(c[chosen[i]]);

          // Weights: the unbiased scores, normalised over the chosen when asked, times the factor.
          const raw = chosen.map((e) => sc[e]);
          const total = raw.reduce((a, b) => a + b, 0);
          r.weights[t].forEach((w, i) => {
            const expected = (s.norm_topk_prob ? raw[i] / total : raw[i]) * s.routed_scaling_factor;
            expect(Math.abs(w - expected)).toBeLessThan(1e-6 * s.routed_scaling_factor);
          });
          if (s.norm_topk_prob) {
            expect(r.weights[t].reduce((a, b) => a + b, 0)).toBeCloseTo(s.routed_scaling_factor, 5);
          }
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('the bias moves the choice but never the weights of a chosen expert', () => {
    // One token, 4 experts in one group, top-1: expert 0 has the larger affinity, but a bias on
    // expert 3 makes it chosen; its weight is still its own unbiased sigmoid score (x factor).
    const s: RouterSettings = {
      n_routed_experts: 4, num_experts_per_tok: 1, n_group: 1, topk_group: 1,
      routed_scaling_factor: 1, norm_topk_prob: false, scoring_func: 'sigmoid', topk_method: 'noaux_tc',
    };
    const logits = Float32Array.from([2, 0, 0, 1]);
    expect(route(logits, 1, Float32Array.from([0, 0, 0, 0]), s).experts[0]).toEqual([0]);
    const biased = route(logits, 1, Float32Array.from([0, 0, 0, 0.5]), s);
    expect(biased.experts[0]).toEqual([3]);
    expect(biased.weights[0][0]).toBeCloseTo(sigmoid(1), 6);
  });

  it('group limit: a strong expert in a weak group loses to weaker experts in kept groups', () => {
    // 4 groups of 2; keep 1 group. Group 0 holds the single best expert (0.9 + 0.0); group 2 holds
    // two good ones (0.7 + 0.7 = 1.4 > 0.9): group 2 is kept and expert 0 is not chosen.
    const s: RouterSettings = {
      n_routed_experts: 8, num_experts_per_tok: 2, n_group: 4, topk_group: 1,
      routed_scaling_factor: 1, norm_topk_prob: true, scoring_func: 'sigmoid', topk_method: 'noaux_tc',
    };
    const logit = (p: number) => Math.log(p / (1 - p));
    const probs = [0.9, 0.001, 0.3, 0.3, 0.7, 0.7, 0.2, 0.2];
    const r = route(Float32Array.from(probs.map(logit)), 1, new Float32Array(8), s);
    expect(r.groups[0]).toEqual([2]);
    expect([...r.experts[0]].sort()).toEqual([4, 5]);
    expect(r.weights[0][0]).toBeCloseTo(0.5, 5);
  });
});
