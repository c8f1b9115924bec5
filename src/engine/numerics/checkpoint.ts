// Checkpoints as DeepSeek ships them, made into the float32 tensors the engine binds:
//
// - FP8 weights. DeepSeek-V3's released linear weights are F8_E4M3 tensors, each with a float32
//   companion `<name>_scale_inv` holding one factor per block of `quantization_config.weight_block_size`
//   ([128, 128]): value = fp8 x scale_inv over each block, edge blocks partial (ceil division).
//   Embeddings, norms and the router stay BF16, e_score_correction_bias F32. config.json says
//   {"quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
//   "weight_block_size": [128, 128]}}.
// - Shards: model-0000X-of-0000N.safetensors with model.safetensors.index.json's weight_map.
// - transformers 5.x: routed experts fused per layer (`mlp.experts.gate_up_proj` [E, 2I, d], gate
//   rows first, and `mlp.experts.down_proj` [E, d, I]); no MTP layer (transformers skips it).
//
// Every problem is a ConfigError or CheckpointError naming the key or tensor and the file.
import type { DeepSeekConfig } from '../config.js';
import { CheckpointError, ConfigError } from '../errors.js';
import type { SafetensorsTensor } from '../safetensors.js';
import { applyBlockScales } from './quantize.js';
import { isTransformers5Config } from './transformers5.js';

export interface QuantizationConfig {
  quant_method: 'fp8';
  fmt: 'e4m3' | 'e5m2';
  activation_scheme: 'dynamic';
  weight_block_size: [number, number];
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** config.json's quantization_config, checked; null when absent. */
export function parseQuantizationConfig(raw: Raw, file = 'config.json'): QuantizationConfig | null {
  const q = raw['quantization_config'];
  if (q === undefined || q === null) return null;
  const fail = (key: string, detail: string): never => { throw new ConfigError(file, `quantization_config${key ? `.${key}` : ''}`, detail); };
  if (!isObject(q)) return fail('', `must be an object (got ${JSON.stringify(q)})`);
  if (q['quant_method'] !== 'fp8') {
    fail('quant_method', `must be "fp8" (got ${JSON.stringify(q['quant_method'] ?? null)}): only DeepSeek's block-wise FP8 checkpoints are read`);
  }
  const fmt = q['fmt'] ?? 'e4m3';
  if (fmt !== 'e4m3' && fmt !== 'e5m2') fail('fmt', `must be "e4m3" or "e5m2" (got ${JSON.stringify(fmt)})`);
  const scheme = q['activation_scheme'] ?? 'dynamic';
  if (scheme !== 'dynamic') fail('activation_scheme', `must be "dynamic" (got ${JSON.stringify(scheme)}): static activation scales are not read`);
  // transformers' FineGrainedFP8Config defaults the block to [128, 128]; DeepSeek states it.
  const b = q['weight_block_size'] ?? [128, 128];
  if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => Number.isSafeInteger(x) && (x as number) >= 1)) {
    fail('weight_block_size', `must be two positive integers [rows, cols] like [128, 128] (got ${JSON.stringify(b)})`);
  }
  return { quant_method: 'fp8', fmt: fmt as 'e4m3' | 'e5m2', activation_scheme: 'dynamic', weight_block_size: [(b as number[])[0]!, (b as number[])[1]!] };
}

/** The scale tensor's name beside an FP8 weight. */
export const scaleNameOf = (name: string): string => `${name}_scale_inv`;

const isFp8 = (t: SafetensorsTensor) => t.dtype === 'F8_E4M3' || t.dtype === 'F8_E5M2';

/** The scale shape a weight needs: leading dims kept, the last two divided into blocks (ceil). */
export function scaleShapeOf(shape: readonly number[], block: readonly [number, number]): number[] {
  const r = shape[shape.length - 2]!, c = shape[shape.length - 1]!;
  return [...shape.slice(0, -2), Math.ceil(r / block[0]), Math.ceil(c / block[1])];
}

/** Which block sizes (powers of two up to 1024, or the whole dimension) a scale shape would fit, as a hint. */
function blockHint(shape: readonly number[], scale: readonly number[]): string {
  if (scale.length !== shape.length) return '';
  const r = shape[shape.length - 2]!, c = shape[shape.length - 1]!;
  const sr = scale[scale.length - 2]!, sc = scale[scale.length - 1]!;
  const fits = (n: number, s: number) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, n].filter((b, i, all) => all.indexOf(b) === i && Math.ceil(n / b) === s);
  const br = fits(r, sr), bc = fits(c, sc);
  return br.length && bc.length ? ` (it would fit blocks of [${br[0]}, ${bc[0]}])` : '';
}

/**
 * Replace every FP8 tensor's values by fp8 x scale_inv (in place: the tensor's float32 data already
 * holds the exact FP8 values) and drop the `_scale_inv` tensors. `fileOf` names the file a tensor
 * came from (shards).
 */
export function dequantizeFp8(tensors: Map<string, SafetensorsTensor>, q: QuantizationConfig | null, fileOf: (name: string) => string, configFile = 'config.json'): void {
  const scales = new Set<string>();
  for (const [name, t] of tensors) {
    if (!isFp8(t)) continue;
    const scaleName = scaleNameOf(name);
    if (!q) {
      throw new CheckpointError(fileOf(name), name, `is ${t.dtype} but ${configFile} has no "quantization_config" (quant_method "fp8" and the weight_block_size of its ${scaleName})`);
    }
    const block = q.weight_block_size;
    if (t.shape.length < 2) throw new CheckpointError(fileOf(name), name, `is ${t.dtype} with shape ${shapeText(t.shape)}: block-scaled FP8 needs a matrix`);
    const need = scaleShapeOf(t.shape, block);
    const s = tensors.get(scaleName);
    if (!s) {
      throw new CheckpointError(fileOf(name), name, `is ${t.dtype} but its scale "${scaleName}" is missing (weight_block_size ${shapeText(block)} in ${configFile} needs one of shape ${shapeText(need)})`);
    }
    if (s.shape.length !== need.length || s.shape.some((d, i) => d !== need[i])) {
      throw new CheckpointError(fileOf(scaleName), scaleName,
        `has shape ${shapeText(s.shape)}, but weight "${name}" ${shapeText(t.shape)} in blocks of ${shapeText(block)} (quantization_config.weight_block_size in ${configFile}) needs ${shapeText(need)}${blockHint(t.shape, s.shape)}`);
    }
    for (let i = 0; i < s.data.length; i++) {
      if (!(s.data[i]! >= 0)) throw new CheckpointError(fileOf(scaleName), scaleName, `holds ${s.data[i]} at element ${i}: a scale must be >= 0`);
    }
    const r = t.shape[t.shape.length - 2]!, c = t.shape[t.shape.length - 1]!;
    const per = need[need.length - 2]! * need[need.length - 1]!;
    for (let m = 0; m * r * c < t.data.length; m++) {
      applyBlockScales(t.data.subarray(m * r * c, (m + 1) * r * c), r, c, block, s.data.subarray(m * per, (m + 1) * per));
    }
    scales.add(scaleName);
  }
  for (const name of tensors.keys()) {
    if (name.endsWith('_scale_inv') && !scales.has(name)) {
      const base = name.slice(0, -'_scale_inv'.length);
      const w = tensors.get(base);
      throw new CheckpointError(fileOf(name), name, w ? `scales "${base}", which is ${w.dtype}, not FP8` : `has no FP8 weight "${base}" beside it`);
    }
  }
  for (const name of scales) tensors.delete(name);
}

/**
 * Split transformers 5's fused routed experts into the per-expert tensors the engine binds
 * (`mlp.experts.{j}.gate_proj/up_proj/down_proj.weight`). Leaves per-expert checkpoints alone.
 */
export function unfuseExperts(cfg: DeepSeekConfig, tensors: Map<string, SafetensorsTensor>, fileOf: (name: string) => string): void {
  const E = cfg.n_routed_experts;
  if (E === null) return;
  const I = cfg.moe_intermediate_size, d = cfg.hidden_size;
  for (const name of [...tensors.keys()]) {
    const m = /^(.*\.mlp\.experts)\.gate_up_proj$/.exec(name);
    if (!m) continue;
    const prefix = m[1]!;
    const gu = tensors.get(name)!;
    const downName = `${prefix}.down_proj`;
    const down = tensors.get(downName);
    if (!down) throw new CheckpointError(fileOf(name), downName, `is missing (fused experts "${name}" need it, shape [${E}, ${d}, ${I}])`);
    if (gu.shape.length !== 3 || gu.shape[0] !== E || gu.shape[1] !== 2 * I || gu.shape[2] !== d) {
      throw new CheckpointError(fileOf(name), name, `has shape ${shapeText(gu.shape)}, the config needs [${E}, ${2 * I}, ${d}] (n_routed_experts, 2 x moe_intermediate_size, hidden_size)`);
    }
    if (down.shape.length !== 3 || down.shape[0] !== E || down.shape[1] !== d || down.shape[2] !== I) {
      throw new CheckpointError(fileOf(downName), downName, `has shape ${shapeText(down.shape)}, the config needs [${E}, ${d}, ${I}] (n_routed_experts, hidden_size, moe_intermediate_size)`);
    }
    for (let j = 0; j < E; j++) {
      const base = j * 2 * I * d;
      const slice = (data: Float32Array, from: number, n: number) => data.slice(from, from + n);
      tensors.set(`${prefix}.${j}.gate_proj.weight`, { dtype: gu.dtype, shape: [I, d], data: slice(gu.data, base, I * d) });
      tensors.set(`${prefix}.${j}.up_proj.weight`, { dtype: gu.dtype, shape: [I, d], data: slice(gu.data, base + I * d, I * d) });
      tensors.set(`${prefix}.${j}.down_proj.weight`, { dtype: down.dtype, shape: [d, I], data: slice(down.data, j * d * I, d * I) });
    }
    tensors.delete(name);
    tensors.delete(downName);
  }
}

export interface PreparedCheckpoint {
  config: DeepSeekConfig;
  tensors: Map<string, SafetensorsTensor>;
  /** What was done to make the checkpoint loadable, in words (shown by the CLI and lessons). */
  notes: string[];
}

/**
 * From tensors as read (F8 values still unscaled, experts maybe fused) to tensors the engine binds.
 * `configRaw` is config.json's object (for quantization_config and the transformers version).
 */
export function prepareCheckpoint(
  config: DeepSeekConfig, configRaw: unknown, tensors: Map<string, SafetensorsTensor>,
  opts: { configFile?: string; weightsFile?: string; fileOf?: (name: string) => string } = {},
): PreparedCheckpoint {
  const configFile = opts.configFile ?? 'config.json';
  const fileOf = opts.fileOf ?? (() => opts.weightsFile ?? 'model.safetensors');
  const raw = isObject(configRaw) ? configRaw : {};
  const notes: string[] = [];
  const q = parseQuantizationConfig(raw, configFile);
  const fp8 = [...tensors.values()].filter(isFp8).length;
  dequantizeFp8(tensors, q, fileOf, configFile);
  if (fp8 > 0) notes.push(`${fp8} FP8 tensors dequantised with block scales ${shapeText(q!.weight_block_size)}`);
  const before = tensors.size;
  unfuseExperts(config, tensors, fileOf);
  if (tensors.size !== before) notes.push('fused routed experts split per expert (transformers 5 layout)');
  let cfg = config;
  if (cfg.num_nextn_predict_layers > 0 && isTransformers5Config(raw)) {
    const mtpPrefix = `model.layers.${cfg.num_hidden_layers}.`;
    if (![...tensors.keys()].some((n) => n.startsWith(mtpPrefix))) {
      // transformers 5 does not implement the MTP module and saves checkpoints without it.
      cfg = { ...cfg, num_nextn_predict_layers: 0 };
      notes.push(`no MTP layer (${mtpPrefix}*) in a transformers 5 checkpoint: loaded without MTP`);
    }
  }
  return { config: cfg, tensors, notes };
}

// ---------------------------------------------------------------------------------------------
// Shards

/** model.safetensors.index.json: the shard file of each tensor, checked. */
export function readShardIndex(text: string, file = 'model.safetensors.index.json'): { weightMap: Map<string, string>; shards: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, null, `is not valid JSON: ${String((e as Error).message).slice(0, 200)}`);
  }
  if (!isObject(raw) || !isObject(raw['weight_map'])) throw new CheckpointError(file, null, 'has no "weight_map" object (tensor name -> shard file)');
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(raw['weight_map'])) {
    // A shard is a file beside the index: a path could read anything on the disk.
    if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard) || shard.startsWith('.')) {
      throw new CheckpointError(file, name, `maps to ${JSON.stringify(shard)}: expected a .safetensors file name beside the index (no folders)`);
    }
    weightMap.set(name, shard);
  }
  return { weightMap, shards: [...new Set(weightMap.values())] };
}

/**
 * One tensor map from several shards (each read by readSafetensors), with the file of each tensor.
 * A tensor in two shards, or not in the shard the index names, is an error.
 */
export function mergeShards(
  shards: { file: string; tensors: Map<string, SafetensorsTensor> }[],
  weightMap?: Map<string, string>, indexFile = 'model.safetensors.index.json',
): { tensors: Map<string, SafetensorsTensor>; fileOf: (name: string) => string } {
  const tensors = new Map<string, SafetensorsTensor>();
  const files = new Map<string, string>();
  for (const s of shards) {
    for (const [name, t] of s.tensors) {
      if (files.has(name)) throw new CheckpointError(s.file, name, `is also in ${files.get(name)}: a tensor must be in one shard`);
      const base = s.file.split(/[\\/]/).pop()!;
      if (weightMap && weightMap.get(name) !== base) {
        throw new CheckpointError(s.file, name, weightMap.has(name) ? `is listed in ${indexFile} under ${weightMap.get(name)}` : `is not listed in ${indexFile}'s weight_map`);
      }
      tensors.set(name, t);
      files.set(name, s.file);
    }
  }
  if (weightMap) {
    for (const [name, shard] of weightMap) if (!tensors.has(name)) throw new CheckpointError(shard, name, `is missing (${indexFile} lists it in this shard)`);
  }
  return { tensors, fileOf: (name) => files.get(name) ?? 'model.safetensors' };
}
