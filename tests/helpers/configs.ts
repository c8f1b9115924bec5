// Random small DeepSeek-V3 configs for property tests: every key the engine reads varies, within
// sizes that run in milliseconds.
import fc from 'fast-check';
import { type DeepSeekConfig, parseConfig } from '../../src/engine/config.js';

export interface ConfigShape {
  moe: boolean;
  mtp: number;
}

/** An arbitrary valid config (parsed, so it passed validation). */
export function arbConfig(shape: Partial<ConfigShape> = {}): fc.Arbitrary<DeepSeekConfig> {
  return fc
    .record({
      hidden: fc.constantFrom(8, 12, 16, 24),
      heads: fc.integer({ min: 1, max: 4 }),
      kvLora: fc.integer({ min: 2, max: 12 }),
      qLora: fc.option(fc.integer({ min: 2, max: 12 }), { nil: null }),
      nope: fc.integer({ min: 0, max: 8 }),
      rope: fc.constantFrom(0, 2, 4, 6),
      v: fc.integer({ min: 1, max: 8 }),
      layers: fc.integer({ min: 1, max: 3 }),
      vocab: fc.integer({ min: 5, max: 40 }),
      moe: shape.moe === undefined ? fc.boolean() : fc.constant(shape.moe),
      groups: fc.constantFrom(1, 2, 4),
      perGroup: fc.integer({ min: 1, max: 3 }),
      keptFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      topkFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      shared: fc.integer({ min: 0, max: 2 }),
      firstDense: fc.integer({ min: 0, max: 2 }),
      scale: fc.constantFrom(1, 2.5),
      norm: fc.boolean(),
      method: fc.constantFrom('noaux_tc', 'noaux_tc', 'greedy', 'group_limited_greedy'),
      mtp: shape.mtp === undefined ? fc.integer({ min: 0, max: 1 }) : fc.constant(shape.mtp),
      theta: fc.constantFrom(10000, 500),
    })
    .filter((r) => r.nope + r.rope > 0)
    .map((r) => {
      const E = r.groups * r.perGroup;
      const topkGroup = Math.max(1, Math.round(r.keptFrac * r.groups));
      const kept = r.method === 'greedy' ? E : topkGroup * r.perGroup;
      const topk = Math.max(1, Math.round(r.topkFrac * kept));
      return parseConfig({
        vocab_size: r.vocab,
        hidden_size: r.hidden,
        intermediate_size: 2 * r.hidden,
        num_hidden_layers: r.layers,
        num_attention_heads: r.heads,
        q_lora_rank: r.qLora,
        kv_lora_rank: r.kvLora,
        qk_nope_head_dim: r.nope,
        qk_rope_head_dim: r.rope,
        v_head_dim: r.v,
        n_routed_experts: r.moe ? E : null,
        n_shared_experts: r.shared,
        num_experts_per_tok: topk,
        moe_intermediate_size: Math.max(2, r.hidden / 2),
        n_group: r.groups,
        topk_group: topkGroup,
        routed_scaling_factor: r.scale,
        norm_topk_prob: r.norm,
        scoring_func: r.method === 'group_limited_greedy' ? 'softmax' : 'sigmoid',
        topk_method: r.method,
        first_k_dense_replace: r.firstDense,
        num_nextn_predict_layers: r.mtp,
        rope_theta: r.theta,
        rope_scaling: null,
      }, { file: 'random config' });
    });
}

/** Token ids for a config. */
export function arbTokens(vocab: number, min: number, max: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: vocab - 1 }), { minLength: min, maxLength: max });
}
