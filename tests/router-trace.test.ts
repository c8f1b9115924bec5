// What the trace carries for the router, so no lesson recomputes it: the logits u_t · e_i from the
// MoE input u_t, the group scores by their definition (checked by hand and by brute force in
// float64), and the kept groups ranked by those scores.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { initModel } from '../src/engine/init.js';
import { type RouterSettings, route } from '../src/engine/router.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';

const logit = (p: number) => Math.log(p / (1 - p));

describe('Routing carries its logits and group scores', () => {
  it('noaux_tc: a group scores the sum of its two largest s + b', () => {
    const s: RouterSettings = {
      n_routed_experts: 8, num_experts_per_tok: 2, n_group: 4, topk_group: 1,
      routed_scaling_factor: 1, norm_topk_prob: true, scoring_func: 'sigmoid', topk_method: 'noaux_tc',
    };
    const probs = [0.9, 0.001, 0.3, 0.3, 0.7, 0.7, 0.2, 0.2];
    const logits = Float32Array.from(probs.map(logit));
    const r = route(logits, 1, new Float32Array(8), s);
    expect(Array.from(r.logits)).toEqual(Array.from(logits));
    const g = Array.from(r.groupScores!);
    [0.901, 0.6, 1.4, 0.4].forEach((want, i) => expect(g[i]).toBeCloseTo(want, 5));
    expect(r.groups[0]).toEqual([2]);
  });

  it('group_limited_greedy: a group scores its largest softmax score; greedy has none', () => {
    const s: RouterSettings = {
      n_routed_experts: 4, num_experts_per_tok: 1, n_group: 2, topk_group: 1,
      routed_scaling_factor: 1, norm_topk_prob: false, scoring_func: 'softmax', topk_method: 'group_limited_greedy',
    };
    const logits = Float32Array.from([0, Math.log(3), Math.log(2), Math.log(2)]); // softmax 1/8, 3/8, 2/8, 2/8
    const r = route(logits, 1, null, s);
    expect(r.groupScores![0]).toBeCloseTo(3 / 8, 6);
    expect(r.groupScores![1]).toBeCloseTo(2 / 8, 6);
    expect(route(logits, 1, null, { ...s, topk_method: 'greedy' }).groupScores).toBeNull();
  });
});

describe('the forward trace carries the MoE input and the router', () => {
  it('logits = u_t · e_i in float64, and the kept groups are the top groups by the traced scores', () => {
    const cfg = parseConfig({ ...TINY_CONFIG_JSON });
    const model = initModel(cfg, { seed: 3 });
    const prompt = [5, 17, 99, 3, 64, 2];
    const trace = model.forward(prompt, { trace: true }).trace!;
    const d = cfg.hidden_size, E = cfg.n_routed_experts!, G = cfg.n_group, T = prompt.length;
    const moeLayers = trace.filter((t) => t.routing !== null);
    expect(moeLayers.length).toBeGreaterThan(0);
    for (const t of trace) expect(t.moeInput === null).toBe(t.routing === null);
    for (const t of moeLayers) {
      const gate = model.weights.layers[t.layer].moe!.gate;
      const u = t.moeInput!, r = t.routing!;
      expect(u.length).toBe(T * d);
      for (let i = 0; i < T; i++) {
        for (let e = 0; e < E; e++) {
          let acc = 0;
          for (let j = 0; j < d; j++) acc += u[i * d + j] * gate[e * d + j];
          expect(r.logits[i * E + e]).toBeCloseTo(acc, 4);
        }
        const scores = Array.from(r.groupScores!.subarray(i * G, (i + 1) * G));
        const size = E / G;
        scores.forEach((sc, g) => {
          const members = Array.from(r.choiceScores.subarray(i * E + g * size, i * E + (g + 1) * size)).sort((a, b) => b - a);
          expect(sc).toBeCloseTo(members[0] + members[1], 5);
        });
        const best = scores.map((sc, g) => [sc, g]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, cfg.topk_group).map((x) => x[1]).sort((a, b) => a - b);
        expect(r.groups[i]).toEqual(best);
      }
    }
  });
});
