// The trained parameters as ONE flat Float32Array with named views (Hugging Face names, [out, in]
// as torch Linear stores them): cheap to post to a worker, one optimizer loop over everything.
// DeepSeek-V3 shares the embedding and the output head between the main model and its MTP
// modules, so those are stored once, under the main model's names; the checkpoint's copies
// (`model.layers.N.embed_tokens.weight`, `model.layers.N.shared_head.head.weight`) are written
// back out equal to them. `e_score_correction_bias` is not trained by gradients: it lives in
// `buffers`, keyed by the MoE layer prefix `model.layers.{i}.mlp`.
import type { Backend } from '../../../kernels/backend.js';
import type { DeepSeekConfig } from '../config.js';
import { CheckpointError } from '../errors.js';
import { Model } from '../model.js';
import { type Tensor, tensorSpecs } from '../weights.js';

export interface TrainParams {
  config: DeepSeekConfig;
  /** Trained tensors, in a fixed order (the config's tensor order). */
  names: string[];
  shapes: Record<string, number[]>;
  /** Offset of each tensor in `data`. */
  offsets: Record<string, number>;
  data: Float32Array;
  /** e_score_correction_bias per MoE layer prefix 'model.layers.{i}.mlp'. */
  buffers: Record<string, Float32Array>;
}

const BIAS_SUFFIX = '.gate.e_score_correction_bias';
const MTP_HEAD = /^model\.layers\.\d+\.shared_head\.head\.weight$/;

/** Name of the output head the main model (and every MTP module) multiplies by. */
export function headName(cfg: DeepSeekConfig): string {
  return cfg.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The layout of the trained tensors of a config (no data). */
export function trainLayout(cfg: DeepSeekConfig): { names: string[]; shapes: Record<string, number[]>; offsets: Record<string, number>; total: number; biases: string[] } {
  const names: string[] = [], shapes: Record<string, number[]> = {}, offsets: Record<string, number> = {}, biases: string[] = [];
  let total = 0;
  for (const spec of tensorSpecs(cfg)) {
    if (spec.kind === 'bias') { biases.push(spec.name); continue; }
    if (MTP_HEAD.test(spec.name)) continue; // the shared head, trained under its main-model name
    names.push(spec.name);
    shapes[spec.name] = [...spec.shape];
    offsets[spec.name] = total;
    total += size(spec.shape);
  }
  return { names, shapes, offsets, total, biases };
}

/** Copy a checkpoint's tensors (checked by name and shape) into the flat layout. */
export function paramsFromTensors(config: DeepSeekConfig, tensors: ReadonlyMap<string, Tensor>, file = 'model.safetensors'): TrainParams {
  const { names, shapes, offsets, total, biases } = trainLayout(config);
  const data = new Float32Array(total);
  const take = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(file, name, `is missing (the config needs shape [${shape.join(', ')}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(file, name, `has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
    }
    return t.data;
  };
  for (const name of names) data.set(take(name, shapes[name]), offsets[name]);
  const buffers: Record<string, Float32Array> = {};
  for (const name of biases) {
    buffers[name.slice(0, -BIAS_SUFFIX.length)] = Float32Array.from(take(name, [config.n_routed_experts!]));
  }
  return { config, names, shapes, offsets, data, buffers };
}

/** A view of one trained tensor inside `data` (or inside any array with the same layout, e.g. grads). */
export function view<T extends Float32Array | Float64Array>(p: Pick<TrainParams, 'shapes' | 'offsets'>, flat: T, name: string): T {
  const o = p.offsets[name];
  if (o === undefined) throw new Error(`no trained tensor named ${name}`);
  return flat.subarray(o, o + size(p.shapes[name])) as T;
}

/** Every tensor of the checkpoint, as views of the params (no copy): biases and DeepSeek's MTP copies included. */
function tensorViews(p: TrainParams): Map<string, Tensor> {
  const cfg = p.config, out = new Map<string, Tensor>();
  for (const name of p.names) out.set(name, { shape: [...p.shapes[name]], data: view(p, p.data, name) });
  for (const [prefix, bias] of Object.entries(p.buffers)) out.set(prefix + BIAS_SUFFIX, { shape: [bias.length], data: bias });
  const head = out.get(headName(cfg))!, embed = out.get('model.embed_tokens.weight')!;
  for (let k = 0; k < cfg.num_nextn_predict_layers; k++) {
    const l = cfg.num_hidden_layers + k;
    out.set(`model.layers.${l}.embed_tokens.weight`, { shape: [...embed.shape], data: embed.data });
    out.set(`model.layers.${l}.shared_head.head.weight`, { shape: [...head.shape], data: head.data });
  }
  return out;
}

/** Every tensor (copies), ready for writeSafetensors: biases and the MTP module's copies of the shared tensors. */
export function paramsToTensors(p: TrainParams): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensorViews(p)) out.set(name, { shape: t.shape, data: Float32Array.from(t.data) });
  return out;
}

/** An inference Model over the same memory: an optimizer step shows in it without a copy. */
export function modelFromParams(p: TrainParams, backend?: Backend): Model {
  return Model.fromTensors(p.config, tensorViews(p), { backend });
}
