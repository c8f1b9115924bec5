// KV-cache sizes for any config: how many numbers each attention scheme must keep per token while
// decoding, and what that costs at a given context length. Pure arithmetic on the config; no model.
//
// Every scheme is sized with the config's own head widths, so the comparison is like for like:
// a key head is qk_nope_head_dim + qk_rope_head_dim wide (d_h + d_h^R: what a query dots with) and
// a value head is v_head_dim wide. (The DeepSeek-V2 paper's Table 1 writes MHA as 2 n_h d_h l,
// assuming keys and values of one width d_h; with DeepSeek-V3's 192-wide keys and 128-wide values
// that would undercount MHA.)
//
// Layers: the cache is counted over the num_hidden_layers decoder layers of the main model. The
// multi-token-prediction module (num_nextn_predict_layers extra decoder blocks, used in training and
// optionally as a speculative drafter) is NOT counted unless `includeMtp: true`; every row reports
// the number of layers it counted, so a table always says which it did.
import type { DeepSeekConfig } from './config.js';
import { EngineInputError } from './errors.js';

export type KvScheme = 'MHA' | 'GQA' | 'MQA' | 'MLA';

export interface KvCacheOptions {
  /** Tokens in the cache (prompt + generated). */
  context: number;
  /** Bytes per cached number: 2 for BF16/FP16 (default), 4 for FP32, 1 for FP8. */
  bytesPerElement?: number;
  /** KV-head counts g for GQA rows. Default [8], dropped when it is not a proper divisor of n_h
   *  (e.g. the tiny 4-head model); explicit values must divide n_h and lie in 1..n_h. */
  gqaGroups?: number[];
  /** Count the MTP module's decoder blocks too (default false: main-model layers only). */
  includeMtp?: boolean;
}

export interface KvCacheRow {
  /** Display name: "MHA", "GQA-8", "MQA", "MLA". */
  scheme: string;
  kind: KvScheme;
  /** Cached key/value heads (n_h for MHA, g for GQA, 1 for MQA); null for MLA (one latent). */
  kvHeads: number | null;
  /** The per-token-per-layer formula with this config's numbers, e.g. "512 + 64". */
  formula: string;
  /** Numbers cached per token in one layer. */
  elementsPerTokenPerLayer: number;
  /** Layers counted (num_hidden_layers, plus num_nextn_predict_layers when includeMtp). */
  layers: number;
  /** Whether the MTP module's layers are in `layers`. */
  includesMtp: boolean;
  /** Numbers cached per token over all counted layers. */
  elementsPerToken: number;
  bytesPerElement: number;
  bytesPerToken: number;
  context: number;
  /** bytesPerToken x context. */
  totalBytes: number;
  /** totalBytes / 2^30. */
  totalGiB: number;
  /** This scheme's cache over MLA's (same layers and bytes, so the per-layer ratio). */
  ratioToMla: number;
}

/** Query/key width per head: d_h + d_h^R = qk_nope_head_dim + qk_rope_head_dim. */
function keyWidth(cfg: DeepSeekConfig): number {
  return cfg.qk_nope_head_dim + cfg.qk_rope_head_dim;
}

/**
 * Multi-Head Attention (Vaswani et al. 2017, "Attention Is All You Need"): every one of the n_h
 * heads caches its own key and value:
 *   n_h * (qk_nope_head_dim + qk_rope_head_dim) + n_h * v_head_dim
 */
export function mhaElementsPerTokenPerLayer(cfg: DeepSeekConfig): number {
  return cfg.num_attention_heads * keyWidth(cfg) + cfg.num_attention_heads * cfg.v_head_dim;
}

/**
 * Grouped-Query Attention (Ainslie et al. 2023, "GQA: Training Generalized Multi-Query Transformer
 * Models from Multi-Head Checkpoints"): the n_h query heads share g key/value heads (n_h / g query
 * heads per group), so only g keys and g values are cached:
 *   g * (qk_nope_head_dim + qk_rope_head_dim) + g * v_head_dim
 * GQA(n_h) is MHA; GQA(1) is MQA.
 */
export function gqaElementsPerTokenPerLayer(cfg: DeepSeekConfig, groups: number): number {
  checkGroups(cfg, groups);
  return groups * keyWidth(cfg) + groups * cfg.v_head_dim;
}

/**
 * Multi-Query Attention (Shazeer 2019, "Fast Transformer Decoding: One Write-Head is All You
 * Need"): all heads share one key head and one value head:
 *   1 * (qk_nope_head_dim + qk_rope_head_dim) + 1 * v_head_dim
 */
export function mqaElementsPerTokenPerLayer(cfg: DeepSeekConfig): number {
  return keyWidth(cfg) + cfg.v_head_dim;
}

/**
 * Multi-head Latent Attention (DeepSeek-AI 2024, "DeepSeek-V2: A Strong, Economical, and Efficient
 * Mixture-of-Experts Language Model", section 2.1 and Table 1; kept in the DeepSeek-V3 Technical
 * Report): each token caches only the compressed latent c_t^KV (d_c = kv_lora_rank numbers), from
 * which every head's k^C and v^C are re-derived (or absorbed), plus the one decoupled RoPE key
 * k_t^R shared by all heads (d_h^R = qk_rope_head_dim numbers):
 *   kv_lora_rank + qk_rope_head_dim        (d_c + d_h^R)
 */
export function mlaElementsPerTokenPerLayer(cfg: DeepSeekConfig): number {
  return cfg.kv_lora_rank + cfg.qk_rope_head_dim;
}

function checkGroups(cfg: DeepSeekConfig, g: number): void {
  const nh = cfg.num_attention_heads;
  if (!Number.isInteger(g) || g < 1 || g > nh) {
    throw new EngineInputError(`GQA group count must be an integer in 1..num_attention_heads (${nh}); got ${g}`);
  }
  if (nh % g !== 0) {
    throw new EngineInputError(`GQA group count ${g} must divide num_attention_heads (${nh}) so each KV head serves the same number of query heads`);
  }
}

/** Layers whose KV cache is counted. */
export function cachedLayers(cfg: DeepSeekConfig, includeMtp = false): number {
  return cfg.num_hidden_layers + (includeMtp ? cfg.num_nextn_predict_layers : 0);
}

/**
 * The KV-cache table for `cfg`: one row each for MHA, GQA(g) for each g, MQA and MLA, in that order.
 * bytes per token = elements per token per layer x layers x bytesPerElement;
 * total = bytes per token x context.
 */
export function kvCacheTable(cfg: DeepSeekConfig, opts: KvCacheOptions): KvCacheRow[] {
  const { context } = opts;
  const bytesPerElement = opts.bytesPerElement ?? 2;
  const includesMtp = opts.includeMtp ?? false;
  if (!Number.isSafeInteger(context) || context < 0) {
    throw new EngineInputError(`context must be a non-negative integer number of tokens; got ${context}`);
  }
  if (!Number.isFinite(bytesPerElement) || bytesPerElement <= 0) {
    throw new EngineInputError(`bytesPerElement must be a positive number; got ${bytesPerElement}`);
  }
  const nh = cfg.num_attention_heads;
  let groups: number[];
  if (opts.gqaGroups === undefined) {
    groups = [8].filter((g) => g < nh && nh % g === 0);
  } else {
    groups = [...opts.gqaGroups];
    for (const g of groups) checkGroups(cfg, g);
  }

  const kw = keyWidth(cfg);
  const v = cfg.v_head_dim;
  const layers = cachedLayers(cfg, includesMtp);
  const mla = mlaElementsPerTokenPerLayer(cfg);

  const specs: { scheme: string; kind: KvScheme; kvHeads: number | null; formula: string; perLayer: number }[] = [
    { scheme: 'MHA', kind: 'MHA', kvHeads: nh, formula: `${nh} x ${kw} + ${nh} x ${v}`, perLayer: mhaElementsPerTokenPerLayer(cfg) },
    ...groups.map((g) => ({
      scheme: `GQA-${g}`, kind: 'GQA' as const, kvHeads: g, formula: `${g} x ${kw} + ${g} x ${v}`, perLayer: gqaElementsPerTokenPerLayer(cfg, g),
    })),
    { scheme: 'MQA', kind: 'MQA', kvHeads: 1, formula: `${kw} + ${v}`, perLayer: mqaElementsPerTokenPerLayer(cfg) },
    { scheme: 'MLA', kind: 'MLA', kvHeads: null, formula: `${cfg.kv_lora_rank} + ${cfg.qk_rope_head_dim}`, perLayer: mla },
  ];

  return specs.map((s) => {
    const elementsPerToken = s.perLayer * layers;
    const bytesPerToken = elementsPerToken * bytesPerElement;
    const totalBytes = bytesPerToken * context;
    return {
      scheme: s.scheme,
      kind: s.kind,
      kvHeads: s.kvHeads,
      formula: s.formula,
      elementsPerTokenPerLayer: s.perLayer,
      layers,
      includesMtp,
      elementsPerToken,
      bytesPerElement,
      bytesPerToken,
      context,
      totalBytes,
      totalGiB: totalBytes / 2 ** 30,
      ratioToMla: s.perLayer / mla,
    };
  });
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/**
 * A byte count in binary units with about three significant digits: 512 -> "512 B",
 * 70272 -> "68.6 KiB", 9210691584 -> "8.58 GiB", 654982103040 -> "610 GiB".
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${sign}${Math.round(v)} B`;
  // Round first, then pick the decimals, so 9.999 KiB prints "10.0 KiB", not "10.00 KiB".
  const digits = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
  let text = v.toFixed(digits);
  if (Number(text) >= 1024 && u < UNITS.length - 1) {
    text = (v / 1024).toFixed(2);
    u++;
  }
  return `${sign}${text} ${UNITS[u]}`;
}
