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

// ------------------------------------------------------------------ one name table
// Each field of the typed view and the Hugging Face tensor it holds, relative to its block's prefix
// (`model.layers.{l}.` for a decoder layer or MTP module, `...mlp.experts.{j}.` for an expert).
// tensorSpecs, bindWeights and namedTensors (the way back, for copies and exports) all read it.

/** The attention weights of a layer: MLA's projections (DeepSeek-V2 §2.1). */
export const ATTENTION_TENSORS = {
  qProj: 'self_attn.q_proj.weight',
  qAProj: 'self_attn.q_a_proj.weight',
  qALayernorm: 'self_attn.q_a_layernorm.weight',
  qBProj: 'self_attn.q_b_proj.weight',
  kvAProjWithMqa: 'self_attn.kv_a_proj_with_mqa.weight',
  kvALayernorm: 'self_attn.kv_a_layernorm.weight',
  kvBProj: 'self_attn.kv_b_proj.weight',
  oProj: 'self_attn.o_proj.weight',
} as const satisfies Record<keyof AttentionWeights, string>;

export const LAYER_NORM_TENSORS = {
  inputNorm: 'input_layernorm.weight',
  postAttentionNorm: 'post_attention_layernorm.weight',
} as const;

/** A SwiGLU FFN under its prefix (`mlp`, `mlp.experts.{j}`, `mlp.shared_experts`). */
export const SWIGLU_TENSORS = { gate: 'gate_proj.weight', up: 'up_proj.weight', down: 'down_proj.weight' } as const;

/** The DeepSeekMoE gate of a layer. */
export const GATE_TENSORS = { gate: 'mlp.gate.weight', bias: 'mlp.gate.e_score_correction_bias' } as const;

/** An MTP module's own tensors (its decoder layer uses the tables above). */
export const MTP_TENSORS = {
  enorm: 'enorm.weight',
  hnorm: 'hnorm.weight',
  ehProj: 'eh_proj.weight',
  headNorm: 'shared_head.norm.weight',
  head: 'shared_head.head.weight',
} as const satisfies Record<Exclude<keyof MtpWeights, 'layer' | 'embed'>, string>;

/** The model's own tensors outside the layers. */
export const MODEL_TENSORS = { embed: 'model.embed_tokens.weight', norm: 'model.norm.weight', lmHead: 'lm_head.weight' } as const;

/**
 * Head i's rows of kv_b_proj [n_h (d_h + d_v), d_c]: W^UK_i [d_h, d_c] (keys' non-RoPE part from
 * c_KV) then W^UV_i [d_v, d_c] (values), as views of the same memory.
 */
export function kvBHead(kvBProj: Float32Array, cfg: DeepSeekConfig, head: number): { wUK: Float32Array; wUV: Float32Array } {
  const nope = cfg.qk_nope_head_dim, dv = cfg.v_head_dim, dc = cfg.kv_lora_rank, start = head * (nope + dv) * dc;
  return { wUK: kvBProj.subarray(start, start + nope * dc), wUV: kvBProj.subarray(start + nope * dc, start + (nope + dv) * dc) };
}

function swigluSpecs(prefix: string, width: number, d: number): TensorSpec[] {
  const t = SWIGLU_TENSORS;
  return [
    { name: `${prefix}.${t.gate}`, shape: [width, d], kind: 'linear' },
    { name: `${prefix}.${t.up}`, shape: [width, d], kind: 'linear' },
    { name: `${prefix}.${t.down}`, shape: [d, width], kind: 'linear' },
  ];
}

function layerSpecs(cfg: DeepSeekConfig, l: number): TensorSpec[] {
  const d = cfg.hidden_size, nh = cfg.num_attention_heads, p = `model.layers.${l}`;
  const a = ATTENTION_TENSORS;
  const specs: TensorSpec[] = [
    { name: `${p}.${LAYER_NORM_TENSORS.inputNorm}`, shape: [d], kind: 'norm' },
    { name: `${p}.${LAYER_NORM_TENSORS.postAttentionNorm}`, shape: [d], kind: 'norm' },
  ];
  if (cfg.q_lora_rank === null) {
    specs.push({ name: `${p}.${a.qProj}`, shape: [nh * qkHeadDim(cfg), d], kind: 'linear' });
  } else {
    specs.push(
      { name: `${p}.${a.qAProj}`, shape: [cfg.q_lora_rank, d], kind: 'linear' },
      { name: `${p}.${a.qALayernorm}`, shape: [cfg.q_lora_rank], kind: 'norm' },
      { name: `${p}.${a.qBProj}`, shape: [nh * qkHeadDim(cfg), cfg.q_lora_rank], kind: 'linear' },
    );
  }
  specs.push(
    { name: `${p}.${a.kvAProjWithMqa}`, shape: [cfg.kv_lora_rank + cfg.qk_rope_head_dim, d], kind: 'linear' },
    { name: `${p}.${a.kvALayernorm}`, shape: [cfg.kv_lora_rank], kind: 'norm' },
    { name: `${p}.${a.kvBProj}`, shape: [nh * (cfg.qk_nope_head_dim + cfg.v_head_dim), cfg.kv_lora_rank], kind: 'linear' },
    { name: `${p}.${a.oProj}`, shape: [d, nh * cfg.v_head_dim], kind: 'linear' },
  );
  if (isMoeLayer(cfg, l)) {
    const E = cfg.n_routed_experts!;
    specs.push({ name: `${p}.${GATE_TENSORS.gate}`, shape: [E, d], kind: 'linear' });
    if (cfg.topk_method === 'noaux_tc') specs.push({ name: `${p}.${GATE_TENSORS.bias}`, shape: [E], kind: 'bias' });
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
  const specs: TensorSpec[] = [{ name: MODEL_TENSORS.embed, shape: [V, d], kind: 'embedding' }];
  for (let l = 0; l < L; l++) specs.push(...layerSpecs(cfg, l));
  specs.push({ name: MODEL_TENSORS.norm, shape: [d], kind: 'norm' });
  if (!cfg.tie_word_embeddings) specs.push({ name: MODEL_TENSORS.lmHead, shape: [V, d], kind: 'linear' });
  for (let k = 0; k < cfg.num_nextn_predict_layers; k++) {
    const l = L + k, p = `model.layers.${l}`, t = MTP_TENSORS;
    specs.push(
      { name: `${p}.${t.enorm}`, shape: [d], kind: 'norm' },
      { name: `${p}.${t.hnorm}`, shape: [d], kind: 'norm' },
      { name: `${p}.${t.ehProj}`, shape: [d, 2 * d], kind: 'linear' },
      ...layerSpecs(cfg, l),
      { name: `${p}.${t.headNorm}`, shape: [d], kind: 'norm' },
      { name: `${p}.${t.head}`, shape: [V, d], kind: 'linear' },
    );
  }
  return specs;
}

/** An MTP module's own copy of the embedding, when the checkpoint carries one. */
const MTP_EMBED = 'embed_tokens.weight';

/** Tensors a checkpoint may carry beyond the required ones, checked for shape when present. */
function optionalSpecs(cfg: DeepSeekConfig): TensorSpec[] {
  const out: TensorSpec[] = [];
  for (let k = 0; k < cfg.num_nextn_predict_layers; k++) {
    out.push({ name: `model.layers.${cfg.num_hidden_layers + k}.${MTP_EMBED}`, shape: [cfg.vocab_size, cfg.hidden_size], kind: 'embedding' });
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
    gate: get(`${prefix}.${SWIGLU_TENSORS.gate}`), up: get(`${prefix}.${SWIGLU_TENSORS.up}`), down: get(`${prefix}.${SWIGLU_TENSORS.down}`), width,
  });
  const layer = (l: number): LayerWeights => {
    const p = `model.layers.${l}`;
    const moe = isMoeLayer(cfg, l);
    // Which of the query projections exist was checked above; the others are null.
    const attn = Object.fromEntries(Object.entries(ATTENTION_TENSORS).map(([field, name]) => [field, opt(`${p}.${name}`)])) as unknown as AttentionWeights;
    return {
      index: l,
      inputNorm: get(`${p}.${LAYER_NORM_TENSORS.inputNorm}`),
      postAttentionNorm: get(`${p}.${LAYER_NORM_TENSORS.postAttentionNorm}`),
      attn,
      mlp: moe ? null : swiglu(`${p}.mlp`, cfg.intermediate_size),
      moe: moe
        ? {
            gate: get(`${p}.${GATE_TENSORS.gate}`),
            bias: cfg.topk_method === 'noaux_tc' ? get(`${p}.${GATE_TENSORS.bias}`) : null,
            experts: Array.from({ length: cfg.n_routed_experts! }, (_, j) => swiglu(`${p}.mlp.experts.${j}`, cfg.moe_intermediate_size)),
            shared: cfg.n_shared_experts > 0 ? swiglu(`${p}.mlp.shared_experts`, cfg.moe_intermediate_size * cfg.n_shared_experts) : null,
          }
        : null,
    };
  };
  const embed = get(MODEL_TENSORS.embed);
  const L = cfg.num_hidden_layers;
  return {
    embed,
    layers: Array.from({ length: L }, (_, l) => layer(l)),
    norm: get(MODEL_TENSORS.norm),
    lmHead: cfg.tie_word_embeddings ? embed : get(MODEL_TENSORS.lmHead),
    mtp: Array.from({ length: cfg.num_nextn_predict_layers }, (_, k) => {
      const p = `model.layers.${L + k}`, t = MTP_TENSORS;
      return {
        layer: layer(L + k),
        embed: opt(`${p}.${MTP_EMBED}`) ?? embed,
        enorm: get(`${p}.${t.enorm}`),
        hnorm: get(`${p}.${t.hnorm}`),
        ehProj: get(`${p}.${t.ehProj}`),
        headNorm: get(`${p}.${t.headNorm}`),
        head: get(`${p}.${t.head}`),
      };
    }),
  };
}

/**
 * The way back: every tensor the config needs, by its Hugging Face name, sharing the typed view's
 * arrays (tied or shared tensors appear under each of their names).
 */
export function namedTensors(cfg: DeepSeekConfig, w: ModelWeights): Map<string, Tensor> {
  const data = new Map<string, Float32Array | null>();
  const put = (prefix: string, table: Record<string, string>, from: object) => {
    for (const [field, name] of Object.entries(table)) data.set(`${prefix}${name}`, (from as Record<string, Float32Array | null>)[field]);
  };
  const block = (prefix: string, l: LayerWeights) => {
    put(prefix, ATTENTION_TENSORS, l.attn);
    put(prefix, LAYER_NORM_TENSORS, l);
    if (l.mlp) put(`${prefix}mlp.`, SWIGLU_TENSORS, l.mlp);
    if (l.moe) {
      put(prefix, GATE_TENSORS, l.moe);
      l.moe.experts.forEach((e, j) => put(`${prefix}mlp.experts.${j}.`, SWIGLU_TENSORS, e));
      if (l.moe.shared) put(`${prefix}mlp.shared_experts.`, SWIGLU_TENSORS, l.moe.shared);
    }
  };
  put('', MODEL_TENSORS, w);
  w.layers.forEach((l) => block(`model.layers.${l.index}.`, l));
  w.mtp.forEach((m) => {
    block(`model.layers.${m.layer.index}.`, m.layer);
    put(`model.layers.${m.layer.index}.`, MTP_TENSORS, m);
  });
  const out = new Map<string, Tensor>();
  for (const spec of tensorSpecs(cfg)) {
    const t = data.get(spec.name);
    if (!t) throw new Error(`namedTensors: no weight bound for ${spec.name}`);
    out.set(spec.name, { shape: spec.shape, data: t });
  }
  return out;
}
