// A bound model's weights by their checkpoint names again (the inverse of bindWeights), so a model
// from anywhere (seeded, loaded, the reader's own) can be stored in another format. The arrays are
// the model's own, not copies.
import type { Model } from '../model.js';
import { type LayerWeights, type SwiGLUWeights, type Tensor, tensorSpecs } from '../weights.js';

function swiglu(w: SwiGLUWeights, part: string): Float32Array | undefined {
  return part === 'gate_proj' ? w.gate : part === 'up_proj' ? w.up : part === 'down_proj' ? w.down : undefined;
}

function layerTensor(l: LayerWeights, rest: string): Float32Array | null | undefined {
  const a = l.attn;
  const attn: Record<string, Float32Array | null> = {
    'self_attn.q_proj.weight': a.qProj, 'self_attn.q_a_proj.weight': a.qAProj, 'self_attn.q_a_layernorm.weight': a.qALayernorm,
    'self_attn.q_b_proj.weight': a.qBProj, 'self_attn.kv_a_proj_with_mqa.weight': a.kvAProjWithMqa,
    'self_attn.kv_a_layernorm.weight': a.kvALayernorm, 'self_attn.kv_b_proj.weight': a.kvBProj, 'self_attn.o_proj.weight': a.oProj,
    'input_layernorm.weight': l.inputNorm, 'post_attention_layernorm.weight': l.postAttentionNorm,
  };
  if (rest in attn) return attn[rest];
  let m: RegExpExecArray | null;
  if (l.moe) {
    if (rest === 'mlp.gate.weight') return l.moe.gate;
    if (rest === 'mlp.gate.e_score_correction_bias') return l.moe.bias;
    if ((m = /^mlp\.experts\.(\d+)\.(\w+)\.weight$/.exec(rest))) return swiglu(l.moe.experts[Number(m[1])]!, m[2]!);
    if ((m = /^mlp\.shared_experts\.(\w+)\.weight$/.exec(rest)) && l.moe.shared) return swiglu(l.moe.shared, m[1]!);
  }
  if (l.mlp && (m = /^mlp\.(\w+)\.weight$/.exec(rest))) return swiglu(l.mlp, m[1]!);
  return undefined;
}

/** Every tensor the model's config needs, by name, sharing the model's arrays. */
export function modelTensors(model: Model): Map<string, Tensor> {
  const cfg = model.config, w = model.weights, L = cfg.num_hidden_layers;
  const out = new Map<string, Tensor>();
  for (const spec of tensorSpecs(cfg)) {
    let data: Float32Array | null | undefined;
    if (spec.name === 'model.embed_tokens.weight') data = w.embed;
    else if (spec.name === 'model.norm.weight') data = w.norm;
    else if (spec.name === 'lm_head.weight') data = w.lmHead;
    else {
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(spec.name)!;
      const l = Number(m[1]), rest = m[2]!;
      if (l < L) data = layerTensor(w.layers[l]!, rest);
      else {
        const mtp = w.mtp[l - L]!;
        const own: Record<string, Float32Array> = {
          'enorm.weight': mtp.enorm, 'hnorm.weight': mtp.hnorm, 'eh_proj.weight': mtp.ehProj,
          'shared_head.norm.weight': mtp.headNorm, 'shared_head.head.weight': mtp.head,
        };
        data = rest in own ? own[rest] : layerTensor(mtp.layer, rest);
      }
    }
    if (!data) throw new Error(`modelTensors: no weight bound for ${spec.name}`);
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}
