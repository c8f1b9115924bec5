// Which tensors a config needs (Hugging Face DeepSeek-V3 names, [out, in] like torch Linear), and
// the typed per-layer view of a checkpoint that the model reads. A missing or mis-shaped tensor is
// reported by name.
import { type DeepSeekConfig, isMoeLayer, qkHeadDim } from './config.js';
import { CheckpointError } from './errors.js';

export interface TensorSpec { name: string; shape: number[]; /** how `init` fills it */ kind: 'linear' | 'norm' | 'embedding' | 'bias'; }

export interface Tensor { shape: number[]; data: Float32Array; }

export interface SwiGLUWeights { gate: Float32Array; up: Float32Array; down: Float32Array; width: number; }

export interface AttentionWeights {
  qProj: Float32Array | null; // q_proj [n_h*qk, d] when q_lora_rank is null
  qAProj: Float32Array | null; // q_a_proj [d_c', d]
  qALayernorm: Float32Array | null; // q_a_layernorm [d_c']
  qBProj: Float32Array | null; // q_b_proj [n_h*qk, d_c']
  kvAProjWithMqa: Float32Array; // kv_a_proj_with_mqa [d_c + d_r, d]
  kvALayernorm: Float32Array; // kv_a_layernorm [d_c]
  kvBProj: Float32Array; // kv_b_proj [n_h*(nope+v), d_c]: per head W_UK rows then W_UV rows
  oProj: Float32Array; // o_proj [d, n_h*v]
}

export interface MoEWeights {
  gate: Float32Array; // [E, d]
  bias: Float32Array | null; // e_score_correction_bias [E], noaux_tc only
  experts: SwiGLUWeights[];
  shared: SwiGLUWeights | null;
}

export interface LayerWeights {
  index: number;
  inputNorm: Float32Array;
  postAttentionNorm: Float32Array;
  attn: AttentionWeights;
  mlp: SwiGLUWeights | null; // dense layers
  moe: MoEWeights | null; // DeepSeekMoE layers
}

export interface MtpWeights {
  layer: LayerWeights;
  embed: Float32Array; // the module's own copy of the embedding when the checkpoint has one
  enorm: Float32Array;
  hnorm: Float32Array;
  ehProj: Float32Array; // [d, 2d]: input is [enorm(emb) ; hnorm(h)]
  headNorm: Float32Array;
  head: Float32Array; // [V, d]
}

export interface ModelWeights {
  embed: Float32Array; // [V, d]
  layers: LayerWeights[];
  norm: Float32Array;
  lmHead: Float32Array; // [V, d]
  mtp: MtpWeights[];
}

function swigluSpecs(prefix: string, width: number, d: number): TensorSpec[] {
  return [
    { name: `${prefix}.gate_proj.weight`, shape: [width, d], kind: 'linear' },
    { name: `${prefix}.up_proj.weight`, shape: [width, d], kind: 'linear' },
    { name: `${prefix}.down_proj.weight`, shape: [d, width], kind: 'linear' },
  ];
}

function layerSpecs(cfg: DeepSeekConfig, l: number): TensorSpec[] {
  const d = cfg.hidden_size, nh = cfg.num_attention_heads, p = `model.layers.${l}`;
  const specs: TensorSpec[] = [
    { name: `${p}.input_layernorm.weight`, shape: [d], kind: 'norm' },
    { name: `${p}.post_attention_layernorm.weight`, shape: [d], kind: 'norm' },
  ];
  if (cfg.q_lora_rank === null) {
    specs.push({ name: `${p}.self_attn.q_proj.weight`, shape: [nh * qkHeadDim(cfg), d], kind: 'linear' });
  } else {
    specs.push(
      { name: `${p}.self_attn.q_a_proj.weight`, shape: [cfg.q_lora_rank, d], kind: 'linear' },
      { name: `${p}.self_attn.q_a_layernorm.weight`, shape: [cfg.q_lora_rank], kind: 'norm' },
      { name: `${p}.self_attn.q_b_proj.weight`, shape: [nh * qkHeadDim(cfg), cfg.q_lora_rank], kind: 'linear' },
    );
  }
  specs.push(
    { name: `${p}.self_attn.kv_a_proj_with_mqa.weight`, shape: [cfg.kv_lora_rank + cfg.qk_rope_head_dim, d], kind: 'linear' },
    { name: `${p}.self_attn.kv_a_layernorm.weight`, shape: [cfg.kv_lora_rank], kind: 'norm' },
    { name: `${p}.self_attn.kv_b_proj.weight`, shape: [nh * (cfg.qk_nope_head_dim + cfg.v_head_dim), cfg.kv_lora_rank], kind: 'linear' },
    { name: `${p}.self_attn.o_proj.weight`, shape: [d, nh * cfg.v_head_dim], kind: 'linear' },
  );
  if (isMoeLayer(cfg, l)) {
    const E = cfg.n_routed_experts!;
    specs.push({ name: `${p}.mlp.gate.weight`, shape: [E, d], kind: 'linear' });
    if (cfg.topk_method === 'noaux_tc') specs.push({ name: `${p}.mlp.gate.e_score_correction_bias`, shape: [E], kind: 'bias' });
    for (let j = 0; j < E; j++) specs.push(...swigluSpecs(`${p}.mlp.experts.${j}`, cfg.moe_intermediate_size, d));
    if (cfg.n_shared_experts > 0) specs.push(...swigluSpecs(`${p}.mlp.shared_experts`, cfg.moe_intermediate_size * cfg.n_shared_experts, d));
  } else {
    specs.push(...swigluSpecs(`${p}.mlp`, cfg.intermediate_size, d));
  }
  return specs;
}

/** Every tensor the config requires, in a stable order. */
export function tensorSpecs(cfg: DeepSeekConfig): TensorSpec[] {
  const d = cfg.hidden_size, V = cfg.vocab_size, L = cfg.num_hidden_layers;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, d], kind: 'embedding' }];
  for (let l = 0; l < L; l++) specs.push(...layerSpecs(cfg, l));
  specs.push({ name: 'model.norm.weight', shape: [d], kind: 'norm' });
  if (!cfg.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [V, d], kind: 'linear' });
  for (let k = 0; k < cfg.num_nextn_predict_layers; k++) {
    const l = L + k, p = `model.layers.${l}`;
    specs.push(
      { name: `${p}.enorm.weight`, shape: [d], kind: 'norm' },
      { name: `${p}.hnorm.weight`, shape: [d], kind: 'norm' },
      { name: `${p}.eh_proj.weight`, shape: [d, 2 * d], kind: 'linear' },
      ...layerSpecs(cfg, l),
      { name: `${p}.shared_head.norm.weight`, shape: [d], kind: 'norm' },
      { name: `${p}.shared_head.head.weight`, shape: [V, d], kind: 'linear' },
    );
  }
  return specs;
}

/** Tensors a checkpoint may carry beyond the required ones, checked for shape when present. */
function optionalSpecs(cfg: DeepSeekConfig): TensorSpec[] {
  const out: TensorSpec[] = [];
  for (let k = 0; k < cfg.num_nextn_predict_layers; k++) {
    out.push({ name: `model.layers.${cfg.num_hidden_layers + k}.embed_tokens.weight`, shape: [cfg.vocab_size, cfg.hidden_size], kind: 'embedding' });
  }
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Check names and shapes, then build the typed view. The Float32Arrays are shared, not copied. */
export function bindWeights(cfg: DeepSeekConfig, tensors: ReadonlyMap<string, Tensor>, file = 'model.safetensors'): ModelWeights {
  for (const spec of tensorSpecs(cfg)) {
    const t = tensors.get(spec.name);
    if (!t) throw new CheckpointError(file, spec.name, `is missing (the config needs shape [${spec.shape.join(', ')}])`);
    if (!sameShape(t.shape, spec.shape)) {
      throw new CheckpointError(file, spec.name, `has shape [${t.shape.join(', ')}], the config needs [${spec.shape.join(', ')}]`);
    }
  }
  for (const spec of optionalSpecs(cfg)) {
    const t = tensors.get(spec.name);
    if (t && !sameShape(t.shape, spec.shape)) {
      throw new CheckpointError(file, spec.name, `has shape [${t.shape.join(', ')}], the config needs [${spec.shape.join(', ')}]`);
    }
  }
  const get = (name: string) => tensors.get(name)!.data;
  const opt = (name: string) => tensors.get(name)?.data ?? null;
  const swiglu = (prefix: string, width: number): SwiGLUWeights => ({
    gate: get(`${prefix}.gate_proj.weight`), up: get(`${prefix}.up_proj.weight`), down: get(`${prefix}.down_proj.weight`), width,
  });
  const layer = (l: number): LayerWeights => {
    const p = `model.layers.${l}`;
    const moe = isMoeLayer(cfg, l);
    return {
      index: l,
      inputNorm: get(`${p}.input_layernorm.weight`),
      postAttentionNorm: get(`${p}.post_attention_layernorm.weight`),
      attn: {
        qProj: opt(`${p}.self_attn.q_proj.weight`),
        qAProj: opt(`${p}.self_attn.q_a_proj.weight`),
        qALayernorm: opt(`${p}.self_attn.q_a_layernorm.weight`),
        qBProj: opt(`${p}.self_attn.q_b_proj.weight`),
        kvAProjWithMqa: get(`${p}.self_attn.kv_a_proj_with_mqa.weight`),
        kvALayernorm: get(`${p}.self_attn.kv_a_layernorm.weight`),
        kvBProj: get(`${p}.self_attn.kv_b_proj.weight`),
        oProj: get(`${p}.self_attn.o_proj.weight`),
      },
      mlp: moe ? null : swiglu(`${p}.mlp`, cfg.intermediate_size),
      moe: moe
        ? {
            gate: get(`${p}.mlp.gate.weight`),
            bias: cfg.topk_method === 'noaux_tc' ? get(`${p}.mlp.gate.e_score_correction_bias`) : null,
            experts: Array.from({ length: cfg.n_routed_experts! }, (_, j) => swiglu(`${p}.mlp.experts.${j}`, cfg.moe_intermediate_size)),
            shared: cfg.n_shared_experts > 0 ? swiglu(`${p}.mlp.shared_experts`, cfg.moe_intermediate_size * cfg.n_shared_experts) : null,
          }
        : null,
    };
  };
  const embed = get('model.embed_tokens.weight');
  const L = cfg.num_hidden_layers;
  return {
    embed,
    layers: Array.from({ length: L }, (_, l) => layer(l)),
    norm: get('model.norm.weight'),
    lmHead: cfg.tie_word_embeddings ? embed : get('lm_head.weight'),
    mtp: Array.from({ length: cfg.num_nextn_predict_layers }, (_, k) => {
      const p = `model.layers.${L + k}`;
      return {
        layer: layer(L + k),
        embed: opt(`${p}.embed_tokens.weight`) ?? embed,
        enorm: get(`${p}.enorm.weight`),
        hnorm: get(`${p}.hnorm.weight`),
        ehProj: get(`${p}.eh_proj.weight`),
        headNorm: get(`${p}.shared_head.norm.weight`),
        head: get(`${p}.shared_head.head.weight`),
      };
    }),
  };
}
