// The tiny DeepSeek-V3 that the lessons build in the page and the engine benchmark times: golden
// case b's shapes (d 64, 2 layers + 1 MTP module, 4 heads, d_c 32, d_h^R 8, 16 routed experts of
// which top-4 in 2 of 4 groups, 1 shared, vocab 128), with max_position_embeddings raised so the
// sliders and a 1024-token benchmark context are in range. config.json keys, before parseConfig.
export const TINY_CONFIG_JSON = {
  vocab_size: 128, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,
  q_lora_rank: 48, kv_lora_rank: 32, qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 12,
  n_routed_experts: 16, n_shared_experts: 1, num_experts_per_tok: 4, moe_intermediate_size: 24,
  n_group: 4, topk_group: 2, routed_scaling_factor: 2.5, norm_topk_prob: true, scoring_func: 'sigmoid',
  topk_method: 'noaux_tc', first_k_dense_replace: 1, num_nextn_predict_layers: 1,
  max_position_embeddings: 4096, rope_theta: 10000, rope_scaling: null,
} as const;
