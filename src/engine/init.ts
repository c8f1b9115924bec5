// A seeded random checkpoint for any valid config: the same seed gives the same weights on every
// machine, so a test or a lesson link reproduces its numbers without downloading a model.
import type { DeepSeekConfig } from './config.js';
import { Model } from './model.js';
import { createRng, normal } from './sampling.js';
import { type Tensor, tensorSpecs } from './weights.js';

export interface InitOptions {
  seed: number;
  /** Spread of the router's correction bias (DeepSeek-V3 learns it during training; 0 = none). */
  biasScale?: number;
}

/**
 * Linear weights ~ N(0, 1/fan_in) keep activations at unit scale through the tiny stack (an
 * untrained model whose numbers are worth looking at); embeddings ~ N(0, 1); RMSNorm weights 1
 * plus small noise; the routing bias uniform in [-biasScale, biasScale].
 */
export function initTensors(cfg: DeepSeekConfig, options: InitOptions): Map<string, Tensor> {
  const rng = createRng(options.seed);
  const biasScale = options.biasScale ?? 0.05;
  const tensors = new Map<string, Tensor>();
  for (const spec of tensorSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    switch (spec.kind) {
      case 'linear': {
        const std = 1 / Math.sqrt(spec.shape[1]);
        for (let i = 0; i < n; i++) data[i] = normal(rng) * std;
        break;
      }
      case 'embedding':
        for (let i = 0; i < n; i++) data[i] = normal(rng);
        break;
      case 'norm':
        for (let i = 0; i < n; i++) data[i] = 1 + 0.1 * normal(rng);
        break;
      case 'bias':
        for (let i = 0; i < n; i++) data[i] = (2 * rng() - 1) * biasScale;
        break;
    }
    tensors.set(spec.name, { shape: [...spec.shape], data });
  }
  return tensors;
}

/** A model with seeded random weights. */
export function initModel(cfg: DeepSeekConfig, options: InitOptions): Model {
  return Model.fromTensors(cfg, initTensors(cfg, options), { file: `init(seed ${options.seed})` });
}

/**
 * A copy of a model with Gaussian noise on every weight: each tensor gets noise of standard
 * deviation `sigma` times that tensor's own RMS. sigma = 0 is an exact copy; a drafter made this
 * way agrees with its target less and less as sigma grows.
 */
export function noisyCopy(model: Model, options: { sigma: number; seed: number }): Model {
  const rng = createRng(options.seed);
  const tensors = new Map<string, Tensor>();
  const copied = new Map<Float32Array, Float32Array>(); // tied or shared tensors stay shared
  const noisy = (data: Float32Array): Float32Array => {
    const done = copied.get(data);
    if (done) return done;
    let ss = 0;
    for (let i = 0; i < data.length; i++) ss += data[i] * data[i];
    const scale = options.sigma * Math.sqrt(ss / Math.max(1, data.length));
    const out = Float32Array.from(data, (v) => v + (scale > 0 ? scale * normal(rng) : 0));
    copied.set(data, out);
    return out;
  };
  for (const spec of tensorSpecs(model.config)) {
    tensors.set(spec.name, { shape: spec.shape, data: noisy(tensorData(model, spec.name)) });
  }
  return Model.fromTensors(model.config, tensors, { file: `noisy copy (sigma ${options.sigma}, seed ${options.seed})`, backend: model.backend });
}

/** The data of a named tensor of a bound model (the inverse of bindWeights, for copying). */
function tensorData(model: Model, name: string): Float32Array {
  const w = model.weights, L = model.config.num_hidden_layers;
  if (name === 'model.embed_tokens.weight') return w.embed;
  if (name === 'model.norm.weight') return w.norm;
  if (name === 'lm_head.weight') return w.lmHead;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new Error(`tensorData: unknown tensor ${name}`);
  const l = Number(m[1]), rest = m[2];
  const mtp = l >= L ? w.mtp[l - L] : null;
  const layer = mtp ? mtp.layer : w.layers[l];
  const direct: Record<string, Float32Array | null | undefined> = {
    'input_layernorm.weight': layer.inputNorm,
    'post_attention_layernorm.weight': layer.postAttentionNorm,
    'self_attn.q_proj.weight': layer.attn.q,
    'self_attn.q_a_proj.weight': layer.attn.qA,
    'self_attn.q_a_layernorm.weight': layer.attn.qANorm,
    'self_attn.q_b_proj.weight': layer.attn.qB,
    'self_attn.kv_a_proj_with_mqa.weight': layer.attn.kvA,
    'self_attn.kv_a_layernorm.weight': layer.attn.kvANorm,
    'self_attn.kv_b_proj.weight': layer.attn.kvB,
    'self_attn.o_proj.weight': layer.attn.o,
    'mlp.gate.weight': layer.moe?.gate,
    'mlp.gate.e_score_correction_bias': layer.moe?.bias,
    'enorm.weight': mtp?.enorm,
    'hnorm.weight': mtp?.hnorm,
    'eh_proj.weight': mtp?.ehProj,
    'shared_head.norm.weight': mtp?.headNorm,
    'shared_head.head.weight': mtp?.head,
  };
  if (direct[rest]) return direct[rest]!;
  const swiglu = /^mlp\.(?:experts\.(\d+)\.|shared_experts\.)?(gate|up|down)_proj\.weight$/.exec(rest);
  if (swiglu) {
    const block = rest.startsWith('mlp.experts.') ? layer.moe!.experts[Number(swiglu[1])] : rest.startsWith('mlp.shared_experts.') ? layer.moe!.shared! : layer.mlp!;
    return block[swiglu[2] as 'gate' | 'up' | 'down'];
  }
  throw new Error(`tensorData: no tensor ${name}`);
}
