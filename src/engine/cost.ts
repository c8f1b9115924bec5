// What each MLA decode path costs for one new token at a given context: the cache it holds and the
// multiply-adds its attention does, per layer, counted from the dims (the matmul shapes in mla.ts).
// The trade the absorption lesson teaches: the absorbed path caches (d_c + d_h^R) numbers per token
// instead of n_h (d_h + d_h^R + d_v), but does n_h (2 d_c + d_h^R) multiply-adds per cached token
// instead of n_h (d_h + d_h^R + d_v): more arithmetic when d_c > d_h, far less memory traffic.
import type { AttentionPath } from './cache.js';
import { type DeepSeekConfig, qkHeadDim } from './config.js';

export interface DecodeCost {
  path: AttentionPath;
  /** Numbers cached per token per layer. */
  cacheElementsPerTokenPerLayer: number;
  /** Cache bytes for `context` tokens, all decoder layers. */
  cacheBytes: number;
  /** Attention multiply-adds per layer that do not grow with the context (projections). */
  fixedMacsPerLayer: number;
  /** Attention multiply-adds per layer for each cached token. */
  macsPerCachedTokenPerLayer: number;
  /** Attention FLOPs (2 per multiply-add) for the step, all decoder layers. */
  attentionFlops: number;
}

/** Cost of decoding one token that attends over `context` tokens (itself included). */
export function decodeCost(cfg: DeepSeekConfig, path: AttentionPath, context: number, bytesPerElement = 4): DecodeCost {
  const d = cfg.hidden_size, nh = cfg.num_attention_heads, qk = qkHeadDim(cfg);
  const nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank, dv = cfg.v_head_dim;
  const qProj = cfg.q_lora_rank === null ? d * nh * qk : d * cfg.q_lora_rank + cfg.q_lora_rank * nh * qk;
  const shared = qProj + d * (dc + dr) + nh * dv * d; // W_Q (or W_DQ, W_UQ), W_DKV and W_KR, W_O
  let fixed: number, perToken: number, elements: number;
  switch (path) {
    case 'full-cache':
      fixed = shared + dc * nh * (nope + dv); // decompress the new token's K and V once
      perToken = nh * (qk + dv); // scores and weighted sum over cached K, V
      elements = nh * (qk + dv);
      break;
    case 'decompressed':
      fixed = shared;
      perToken = dc * nh * (nope + dv) + nh * (qk + dv); // rebuild K, V of every cached token, then attend
      elements = dc + dr;
      break;
    case 'absorbed':
      fixed = shared + nh * nope * dc + nh * dc * dv; // W_UK^T into the query, W_UV after
      perToken = nh * (dc + dr) + nh * dc; // scores over [c_KV ; k^R], weighted sum of c_KV
      elements = dc + dr;
      break;
  }
  return {
    path,
    cacheElementsPerTokenPerLayer: elements,
    cacheBytes: elements * bytesPerElement * context * cfg.num_hidden_layers,
    fixedMacsPerLayer: fixed,
    macsPerCachedTokenPerLayer: perToken,
    attentionFlops: 2 * (fixed + perToken * context) * cfg.num_hidden_layers,
  };
}
