// A model's tensors stored in a lower precision, laid out as DeepSeek ships V3:
//   fp8   linear weights (every `*_proj.weight` matrix: attention, experts, dense MLP, eh_proj) as
//         F8_E4M3 with a float32 `_scale_inv` per 128 x 128 block; embeddings, lm_head, norms and
//         the router BF16; e_score_correction_bias F32 (transformers keeps it in float32 too)
//   bf16 / fp16   everything in that dtype but e_score_correction_bias
//   f32   as is
import type { Tensor } from '../weights.js';
import { E4M3, decodeArray, roundArray } from './formats.js';
import { applyBlockScales, quantize } from './quantize.js';
import { type StorageDtype, formatOfDtype } from './storage.js';

export type TargetDtype = 'f32' | 'bf16' | 'fp16' | 'fp8';
export const TARGET_DTYPES: readonly TargetDtype[] = ['f32', 'bf16', 'fp16', 'fp8'];

/** A tensor ready for writeSafetensors: values exactly representable in `storeAs`. */
export interface StoredTensor { shape: number[]; data: Float32Array; storeAs: StorageDtype }

const isLinearWeight = (name: string, shape: readonly number[]) => shape.length === 2 && name.endsWith('_proj.weight');
const keptF32 = (name: string) => name.endsWith('e_score_correction_bias');

/** The dtype a tensor is stored in for a target. */
export function storageDtypeOf(name: string, shape: readonly number[], target: TargetDtype): StorageDtype {
  if (target === 'f32' || keptF32(name)) return 'F32';
  if (target === 'bf16') return 'BF16';
  if (target === 'fp16') return 'F16';
  return isLinearWeight(name, shape) ? 'F8_E4M3' : 'BF16';
}

/** quantization_config for config.json beside an FP8 checkpoint (what DeepSeek-V3's says). */
export function fp8QuantizationConfig(block: readonly [number, number]): Record<string, unknown> {
  return { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [block[0], block[1]] };
}

/**
 * Tensors to write for a target: FP8 weights as their E4M3 values plus `_scale_inv` tensors, the
 * rest rounded to their dtype (writeSafetensors then stores the values exactly).
 */
export function convertTensors(tensors: ReadonlyMap<string, Tensor>, target: TargetDtype, block: readonly [number, number] = [128, 128]): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const [name, t] of tensors) {
    const dtype = storageDtypeOf(name, t.shape, target);
    if (dtype === 'F8_E4M3') {
      const q = quantize(t.data, t.shape[0]!, t.shape[1]!, block, E4M3);
      out.set(name, { shape: [...t.shape], storeAs: dtype, data: decodeArray(E4M3, q.codes) });
      out.set(`${name}_scale_inv`, { shape: q.scaleShape, storeAs: 'F32', data: q.scales });
    } else {
      const f = formatOfDtype(dtype);
      out.set(name, { shape: [...t.shape], storeAs: dtype, data: f ? roundArray(f, t.data) : t.data });
    }
  }
  return out;
}

/** What a model's tensors become after storing them for a target and reading them back (FP8 x scale). */
export function storedValues(tensors: ReadonlyMap<string, Tensor>, target: TargetDtype, block: readonly [number, number] = [128, 128]): Map<string, Tensor> {
  const stored = convertTensors(tensors, target, block);
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    const s = stored.get(name)!;
    const scale = stored.get(`${name}_scale_inv`);
    out.set(name, { shape: t.shape, data: scale ? applyBlockScales(s.data, t.shape[0]!, t.shape[1]!, block, scale.data) : s.data });
  }
  return out;
}

/** Bytes of the tensor data for a target (scales included), without the file header. */
export function storedBytes(tensors: ReadonlyMap<string, Tensor>, target: TargetDtype, block: readonly [number, number] = [128, 128]): number {
  let bytes = 0;
  for (const [name, t] of tensors) {
    const n = t.data.length;
    const dtype = storageDtypeOf(name, t.shape, target);
    if (dtype === 'F8_E4M3') bytes += n + 4 * Math.ceil(t.shape[0]! / block[0]) * Math.ceil(t.shape[1]! / block[1]);
    else bytes += n * (dtype === 'F32' ? 4 : 2);
  }
  return bytes;
}
