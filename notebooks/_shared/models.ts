// Models the lessons build in the page: the tiny DeepSeek-V3 (golden case b's shapes) with seeded
// random weights, and the published DeepSeek-V2 / V3 configs for the at-scale tables.
import { type DeepSeekConfig, parseConfig } from '$engine/config';
import v2 from '../../static/configs/deepseek-v2.json';
import v3 from '../../static/configs/deepseek-v3.json';

/** The tiny model's config.json keys (golden case b's shapes, context raised for the sliders). */
export const TINY_RAW = {
  vocab_size: 128, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,
  q_lora_rank: 48, kv_lora_rank: 32, qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 12,
  n_routed_experts: 16, n_shared_experts: 1, num_experts_per_tok: 4, moe_intermediate_size: 24,
  n_group: 4, topk_group: 2, routed_scaling_factor: 2.5, norm_topk_prob: true, scoring_func: 'sigmoid',
  topk_method: 'noaux_tc', first_k_dense_replace: 1, num_nextn_predict_layers: 1,
  max_position_embeddings: 4096, rope_theta: 10000, rope_scaling: null,
} as const;

/** The tiny config with some keys changed (validated: a bad combination throws a ConfigError). */
export function tinyConfig(overrides: Record<string, unknown> = {}): DeepSeekConfig {
  return parseConfig({ ...TINY_RAW, ...overrides }, { file: 'the tiny model' });
}

/** The published configs (rope_scaling is allowed here: only the cache tables use them). */
export const REAL_CONFIGS: { name: string; config: DeepSeekConfig; source: string }[] = [
  { name: 'DeepSeek-V2', config: parseConfig(v2, { file: 'deepseek-v2.json', allowRopeScaling: true }), source: 'deepseek-ai/DeepSeek-V2 config.json' },
  { name: 'DeepSeek-V3', config: parseConfig(v3, { file: 'deepseek-v3.json', allowRopeScaling: true }), source: 'deepseek-ai/DeepSeek-V3 config.json' },
];

/** 131072 -> "128K", 1000 -> "1,000". */
export function formatTokens(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return n.toLocaleString('en-US');
}

/** A deterministic prompt of n token ids for a vocabulary (the tiny model has no tokenizer). */
export function promptIds(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 31 + i * 17 + 5) % vocab);
}
