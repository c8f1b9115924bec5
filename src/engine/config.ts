// The model config: Hugging Face DeepSeek-V3 `config.json` keys, read into one typed record and
// checked. Paper names beside each key: d = hidden_size, n_h = num_attention_heads,
// d_c = kv_lora_rank, d_c' = q_lora_rank, d_h^R = qk_rope_head_dim.
import { ConfigError, describe } from './errors.js';
import { normalizeConfigKeys } from './numerics/transformers5.js';

export type ScoringFunc = 'sigmoid' | 'softmax';
/** noaux_tc: DeepSeek-V3 (bias for choosing, group score = sum of top-2); group_limited_greedy:
 *  DeepSeek-V2 (group score = max); greedy: no group limit. */
export type TopkMethod = 'noaux_tc' | 'group_limited_greedy' | 'greedy';

export interface DeepSeekConfig {
  vocab_size: number;
  hidden_size: number; // d
  intermediate_size: number; // dense MLP width
  num_hidden_layers: number;
  num_attention_heads: number; // n_h
  num_key_value_heads: number; // unused by MLA; kept for the KV-cache tables
  q_lora_rank: number | null; // d_c'; null: a plain q_proj
  kv_lora_rank: number; // d_c
  qk_nope_head_dim: number;
  qk_rope_head_dim: number; // d_h^R
  v_head_dim: number;
  // DeepSeekMoE; n_routed_experts null means every layer is dense.
  n_routed_experts: number | null;
  n_shared_experts: number;
  num_experts_per_tok: number;
  moe_intermediate_size: number;
  n_group: number;
  topk_group: number;
  routed_scaling_factor: number;
  norm_topk_prob: boolean;
  scoring_func: ScoringFunc;
  topk_method: TopkMethod;
  first_k_dense_replace: number;
  moe_layer_freq: number;
  num_nextn_predict_layers: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: Record<string, unknown> | null;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
}

export interface ParseOptions {
  /** The file name used in messages. */
  file?: string;
  /** Accept `rope_scaling` (the memory tables do not depend on it; the engine cannot run it). */
  allowRopeScaling?: boolean;
}

type Raw = Record<string, unknown>;

/**
 * The largest value each size key may take. Every size the engine allocates or loops over is
 * checked against one of these before any work starts (a config of 1e300 layers is refused at
 * once, not run until killed). Generous: DeepSeek-V3's own config (61 layers, 256 experts, vocab
 * 129,280, 163,840 positions) passes, so the memory tables can price it; what a model may then
 * hold in memory to run is bounded separately (MAX_MODEL_BYTES).
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  vocab_size: 1 << 22,
  hidden_size: 1 << 16,
  intermediate_size: 1 << 20,
  num_hidden_layers: 1024,
  num_attention_heads: 4096,
  num_key_value_heads: 4096,
  q_lora_rank: 1 << 16,
  kv_lora_rank: 1 << 16,
  qk_nope_head_dim: 1 << 14,
  qk_rope_head_dim: 1 << 14,
  v_head_dim: 1 << 14,
  n_routed_experts: 4096,
  n_shared_experts: 4096,
  num_experts_per_tok: 4096,
  moe_intermediate_size: 1 << 20,
  n_group: 4096,
  topk_group: 4096,
  first_k_dense_replace: 1 << 20,
  moe_layer_freq: 1 << 20,
  num_nextn_predict_layers: 16,
  max_position_embeddings: 1 << 24,
});

/**
 * The most float32 weight bytes a model may hold to be built or loaded (1 GiB, 268M parameters):
 * about what one browser tab or one CLI process can allocate without failing. A config over it
 * is refused with its size before a tensor is allocated or a checkpoint byte read.
 */
export const MAX_MODEL_BYTES = 2 ** 30;

/** The longest sequence (prompt plus generated tokens) the engine runs, whatever the config says:
 *  attention is quadratic in plain TypeScript, so 10,000 tokens already take most of a minute. */
export const MAX_SEQUENCE_TOKENS = 8192;

/** Parse and validate a config.json object. Throws ConfigError naming the key and the file. */
export function parseConfig(raw: unknown, options: ParseOptions = {}): DeepSeekConfig {
  const file = options.file ?? 'config.json';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, '(root)', `must be a JSON object (got ${describe(raw)})`);
  }
  const r = normalizeConfigKeys(raw as Raw, file); // transformers 5 writes rope_parameters
  const fail = (key: string, detail: string): never => { throw new ConfigError(file, key, detail); };

  const int = (key: string, min: number, fallback?: number): number => {
    const v = r[key];
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      return fail(key, 'is missing');
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) return fail(key, `must be an integer (got ${describe(v)})`);
    if (v < min) return fail(key, `must be >= ${min} (got ${v})`);
    const max = CONFIG_LIMITS[key];
    if (max !== undefined && v > max) return fail(key, `must be <= ${max}, the largest this engine accepts (got ${v})`);
    return v;
  };
  const intOrNull = (key: string, min: number, fallback?: number | null): number | null => {
    const v = r[key];
    if (v === null) return null;
    if (v === undefined && fallback !== undefined) return fallback;
    return int(key, min);
  };
  const num = (key: string, fallback: number, positive: boolean): number => {
    const v = r[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(key, `must be a finite number (got ${describe(v)})`);
    if (positive && v <= 0) return fail(key, `must be > 0 (got ${v})`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = r[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') return fail(key, `must be true or false (got ${describe(v)})`);
    return v;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = r[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return fail(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${describe(v)})`);
    }
    return v as T;
  };

  const num_attention_heads = int('num_attention_heads', 1);
  const n_routed_experts = intOrNull('n_routed_experts', 1, null);
  const moe = n_routed_experts !== null;
  // Hugging Face's DeepseekV3Config fills absent MoE keys with DeepSeek-V3's own values (8 groups,
  // 2.5, ...); guessing either way would route silently wrong, so a MoE config must state them.
  if (moe) {
    const grouped = r['topk_method'] !== 'greedy';
    for (const key of ['n_shared_experts', 'routed_scaling_factor', 'first_k_dense_replace', ...(grouped ? ['n_group', 'topk_group'] : [])]) {
      if (r[key] === undefined) fail(key, `is missing (a config with n_routed_experts must give it)`);
    }
  }
  const cfg: DeepSeekConfig = {
    vocab_size: int('vocab_size', 1),
    hidden_size: int('hidden_size', 1),
    intermediate_size: int('intermediate_size', 1),
    num_hidden_layers: int('num_hidden_layers', 1),
    num_attention_heads,
    num_key_value_heads: int('num_key_value_heads', 1, num_attention_heads),
    q_lora_rank: (() => {
      if (!('q_lora_rank' in r)) fail('q_lora_rank', 'is missing (use null for a plain q_proj)');
      return intOrNull('q_lora_rank', 1);
    })(),
    kv_lora_rank: int('kv_lora_rank', 1),
    qk_nope_head_dim: int('qk_nope_head_dim', 0),
    qk_rope_head_dim: int('qk_rope_head_dim', 0),
    v_head_dim: int('v_head_dim', 1),
    n_routed_experts,
    n_shared_experts: intOrNull('n_shared_experts', 0, 0) ?? 0,
    num_experts_per_tok: moe ? int('num_experts_per_tok', 1) : int('num_experts_per_tok', 1, 1),
    moe_intermediate_size: moe ? int('moe_intermediate_size', 1) : int('moe_intermediate_size', 1, 1),
    n_group: intOrNull('n_group', 1, 1) ?? 1,
    topk_group: intOrNull('topk_group', 1, 1) ?? 1,
    routed_scaling_factor: num('routed_scaling_factor', 1, true),
    norm_topk_prob: bool('norm_topk_prob', true),
    scoring_func: oneOf('scoring_func', ['sigmoid', 'softmax'] as const, 'sigmoid'),
    topk_method: oneOf('topk_method', ['noaux_tc', 'group_limited_greedy', 'greedy'] as const, 'noaux_tc'),
    first_k_dense_replace: int('first_k_dense_replace', 0, 0),
    moe_layer_freq: int('moe_layer_freq', 1, 1),
    num_nextn_predict_layers: int('num_nextn_predict_layers', 0, 0),
    rms_norm_eps: num('rms_norm_eps', 1e-6, true),
    rope_theta: num('rope_theta', 10000, true),
    rope_scaling: null,
    max_position_embeddings: int('max_position_embeddings', 1, 4096),
    tie_word_embeddings: bool('tie_word_embeddings', false),
  };

  // What the engine does not implement is refused by name rather than run wrongly.
  const rs = r['rope_scaling'];
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== 'object' || Array.isArray(rs)) fail('rope_scaling', `must be null or an object (got ${describe(rs)})`);
    if (!options.allowRopeScaling) fail('rope_scaling', 'is set: YaRN / rope scaling is not supported by this engine (set it to null)');
    cfg.rope_scaling = rs as Record<string, unknown>;
  }
  const act = r['hidden_act'];
  if (act !== undefined && act !== 'silu') fail('hidden_act', `must be "silu" (got ${describe(act)})`);
  if (bool('attention_bias', false)) fail('attention_bias', 'is true: attention biases are not supported');
  if (r['rope_interleave'] !== undefined && bool('rope_interleave', true) === false) {
    fail('rope_interleave', 'is false: only interleaved-pair RoPE (DeepSeek-V3\'s layout) is supported');
  }

  // Consistency between keys.
  if (cfg.qk_rope_head_dim % 2 !== 0) fail('qk_rope_head_dim', `must be even: RoPE rotates pairs (got ${cfg.qk_rope_head_dim})`);
  if (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim < 1) fail('qk_nope_head_dim', 'plus qk_rope_head_dim must be >= 1');
  if (moe) {
    const E = n_routed_experts;
    if (cfg.topk_method === 'greedy' && r['n_group'] === undefined) cfg.n_group = 1;
    if (E % cfg.n_group !== 0) fail('n_group', `must divide n_routed_experts (${E} % ${cfg.n_group} = ${E % cfg.n_group})`);
    if (cfg.topk_group > cfg.n_group) fail('topk_group', `must be <= n_group (${cfg.topk_group} > ${cfg.n_group})`);
    const kept = cfg.topk_method === 'greedy' ? E : cfg.topk_group * (E / cfg.n_group);
    if (cfg.num_experts_per_tok > kept) {
      fail('num_experts_per_tok', `must be <= the experts in the kept groups (${cfg.num_experts_per_tok} > ${kept} = topk_group ${cfg.topk_group} x ${E / cfg.n_group} experts per group)`);
    }
    if (cfg.topk_method === 'noaux_tc' && cfg.scoring_func !== 'sigmoid') {
      fail('topk_method', '"noaux_tc" needs scoring_func "sigmoid"');
    }
  }
  return cfg;
}

/**
 * The number of float32 parameters a config's checkpoint holds (every tensor tensorSpecs lists,
 * and the optional per-MTP embedding not counted), in closed form: no loop over layers or
 * experts, so it is safe on any config parseConfig accepts.
 */
export function parameterCount(cfg: DeepSeekConfig): number {
  const d = cfg.hidden_size, V = cfg.vocab_size, h = cfg.num_attention_heads;
  const qk = qkHeadDim(cfg);
  const q = cfg.q_lora_rank === null ? h * qk * d : cfg.q_lora_rank * d + cfg.q_lora_rank + h * qk * cfg.q_lora_rank;
  const attention = q + (cfg.kv_lora_rank + cfg.qk_rope_head_dim) * d + cfg.kv_lora_rank
    + h * (cfg.qk_nope_head_dim + cfg.v_head_dim) * cfg.kv_lora_rank + d * h * cfg.v_head_dim;
  const dense = 3 * d * cfg.intermediate_size;
  const E = cfg.n_routed_experts ?? 0;
  const moe = E * d + (cfg.topk_method === 'noaux_tc' ? E : 0) + E * 3 * d * cfg.moe_intermediate_size
    + (cfg.n_shared_experts > 0 ? 3 * d * cfg.moe_intermediate_size * cfg.n_shared_experts : 0);
  const L = cfg.num_hidden_layers, K = cfg.num_nextn_predict_layers;
  let moeLayers = 0; // layers l in [0, L + K) with isMoeLayer(cfg, l), counted without a loop
  if (cfg.n_routed_experts !== null) {
    const first = Math.ceil(cfg.first_k_dense_replace / cfg.moe_layer_freq) * cfg.moe_layer_freq;
    if (first < L + K) moeLayers = Math.floor((L + K - 1 - first) / cfg.moe_layer_freq) + 1;
  }
  const layers = (L + K) * (attention + 2 * d) + moeLayers * moe + (L + K - moeLayers) * dense;
  return V * d + d + (cfg.tie_word_embeddings ? 0 : V * d) + layers + K * (2 * d + 2 * d * d + d + V * d);
}

/**
 * Refuse a config whose weights would not fit in MAX_MODEL_BYTES, saying how many bytes they
 * would take. Called before a model is built or a checkpoint read.
 */
export function checkModelFits(cfg: DeepSeekConfig, file = 'config.json'): void {
  const bytes = 4 * parameterCount(cfg);
  if (bytes > MAX_MODEL_BYTES) {
    throw new ConfigError(file, '(model size)',
      `is ${bytes.toExponential(3)} bytes of float32 weights (${parameterCount(cfg).toExponential(3)} parameters), more than the ${MAX_MODEL_BYTES} bytes (1 GiB) this engine holds in memory: shrink hidden_size, vocab_size, num_hidden_layers or the experts`);
  }
}

/** The longest sequence a model of this config runs: max_position_embeddings, capped by MAX_SEQUENCE_TOKENS. */
export function maxSequenceTokens(cfg: DeepSeekConfig): number {
  return Math.min(cfg.max_position_embeddings, MAX_SEQUENCE_TOKENS);
}

/** Is decoder layer `l` a DeepSeekMoE layer (otherwise a dense SwiGLU MLP)? */
export function isMoeLayer(cfg: DeepSeekConfig, l: number): boolean {
  return cfg.n_routed_experts !== null && l >= cfg.first_k_dense_replace && l % cfg.moe_layer_freq === 0;
}

/** Per-head query/key width d_h + d_h^R. */
export function qkHeadDim(cfg: DeepSeekConfig): number {
  return cfg.qk_nope_head_dim + cfg.qk_rope_head_dim;
}

/** Back to a plain config.json object (Hugging Face keys), e.g. to write beside a checkpoint. */
export function configToJson(cfg: DeepSeekConfig): Record<string, unknown> {
  return {
    architectures: ['DeepseekV3ForCausalLM'],
    model_type: 'deepseek_v3',
    hidden_act: 'silu',
    attention_bias: false,
    rope_interleave: true,
    torch_dtype: 'float32',
    ...cfg,
  };
}
