// Checkpoints in DeepSeek's shipped layout (F8_E4M3 weights + `weight_scale_inv` per block, BF16
// embeddings/norms/router, F32 biases), shards, and transformers 5.x configs and fused experts,
// written here by hand and loaded by the engine's loadModel.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { CheckpointError, ConfigError } from '../src/engine/errors.js';
import { initTensors } from '../src/engine/init.js';
import { loadModel } from '../src/engine/load.js';
import { Model } from '../src/engine/model.js';
import { readSafetensors, type TensorToWrite, writeSafetensors } from '../src/engine/safetensors.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { E4M3, decode } from '../src/engine/numerics/formats.js';
import { dequantizeFp8, mergeShards, readShardIndex } from '../src/engine/numerics/checkpoint.js';
import { quantize } from '../src/engine/numerics/quantize.js';

const cfgJson = { ...TINY_CONFIG_JSON };
const cfg = parseConfig(cfgJson);
const fp32 = initTensors(cfg, { seed: 3 });

/** Is this tensor stored FP8 in DeepSeek's release? Linear weights inside decoder layers. */
const fp8Name = (name: string, shape: number[]) => shape.length === 2 && name.endsWith('_proj.weight');

/** The test's own writer of DeepSeek's layout (independent of src/cli/convert.ts). */
function deepseekLayout(block: [number, number]): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, t] of fp32) {
    if (fp8Name(name, t.shape)) {
      const q = quantize(t.data, t.shape[0]!, t.shape[1]!, block, E4M3);
      out.set(name, { shape: t.shape, storeAs: 'F8_E4M3', data: Float32Array.from(q.codes, (c) => decode(E4M3, c)) });
      out.set(`${name}_scale_inv`, { shape: q.scaleShape, data: q.scales });
    } else if (name.endsWith('e_score_correction_bias')) {
      out.set(name, { shape: t.shape, data: t.data });
    } else {
      out.set(name, { shape: t.shape, storeAs: 'BF16', data: t.data });
    }
  }
  return out;
}

const withQuant = (extra: Record<string, unknown> = {}, block: unknown = [32, 32]) => JSON.stringify({
  ...cfgJson, quantization_config: { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: block, ...extra },
});

function expectError<E extends Error>(cls: new (...a: never[]) => E, fn: () => unknown, ...parts: string[]): void {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  expect(caught).toBeInstanceOf(cls);
  for (const p of parts) expect((caught as Error).message).toContain(p);
}

describe('DeepSeek FP8 layout', () => {
  it('loads with block dequantisation (partial edge blocks) equal to fp8 x scale per block, BF16 and F32 as stored', () => {
    const bytes = writeSafetensors(deepseekLayout([32, 32]));
    const model = loadModel(withQuant(), bytes);
    // kv_b_proj is [112, 32]: blocks of 32 rows leave a partial last block of 16 rows.
    const name = 'model.layers.1.self_attn.kv_b_proj.weight';
    const w = fp32.get(name)!;
    const q = quantize(w.data, 112, 32, [32, 32], E4M3);
    expect(q.scaleShape).toEqual([4, 1]);
    const got = model.weights.layers[1]!.attn.kvBProj;
    for (let r = 0; r < 112; r++) for (let c = 0; c < 32; c++) {
      expect(got[r * 32 + c]).toBe(Math.fround(decode(E4M3, q.codes[r * 32 + c]!) * q.scales[Math.floor(r / 32)]!));
    }
    // the router stays BF16 (rounded, not FP8), the bias F32 exactly
    const gate = model.weights.layers[1]!.moe!.gate;
    const gate32 = fp32.get('model.layers.1.mlp.gate.weight')!.data;
    expect(gate.every((v, i) => Math.abs(v - gate32[i]!) <= Math.abs(gate32[i]!) * 2 ** -8)).toBe(true);
    expect(Array.from(model.weights.layers[1]!.moe!.bias!)).toEqual(Array.from(fp32.get('model.layers.1.mlp.gate.e_score_correction_bias')!.data));
    // and the model runs close to the float32 one
    const ref = new Model(cfg, Model.fromTensors(cfg, fp32).weights);
    const a = ref.forward([1, 2, 3, 4, 5]).logits, b = model.forward([1, 2, 3, 4, 5]).logits;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(0.5);
  });

  it('dequantises a hand-worked 3 x 5 weight in blocks of [2, 2] (edge blocks 1 row, 1 column)', () => {
    const tensors = new Map([
      ['w', { dtype: 'F8_E4M3', shape: [3, 5], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]) }],
      ['w_scale_inv', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 10, 100, 2, 20, 200]) }],
    ]);
    dequantizeFp8(tensors, { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [2, 2] }, () => 'x.safetensors');
    expect(Array.from(tensors.get('w')!.data)).toEqual([1, 2, 30, 40, 500, 6, 7, 80, 90, 1000, 22, 24, 260, 280, 3000]);
    expect(tensors.has('w_scale_inv')).toBe(false);
  });

  it('reads an F8_E5M2 tensor the same way', () => {
    const tensors = new Map([
      ['w', { dtype: 'F8_E5M2', shape: [1, 2], data: Float32Array.from([57344, -0.5]) }],
      ['w_scale_inv', { dtype: 'F32', shape: [1, 1], data: Float32Array.from([0.25]) }],
    ]);
    dequantizeFp8(tensors, { quant_method: 'fp8', fmt: 'e5m2', activation_scheme: 'dynamic', weight_block_size: [128, 128] }, () => 'x');
    expect(Array.from(tensors.get('w')!.data)).toEqual([14336, -0.125]);
  });

  it('names the tensor and the file: a missing scale', () => {
    const t = deepseekLayout([32, 32]);
    t.delete('model.layers.0.self_attn.o_proj.weight_scale_inv');
    expectError(CheckpointError, () => loadModel(withQuant(), writeSafetensors(t), { weightsFile: 'shard-1.safetensors' }),
      'shard-1.safetensors: tensor "model.layers.0.self_attn.o_proj.weight"', 'scale "model.layers.0.self_attn.o_proj.weight_scale_inv" is missing', 'needs one of shape [2, 2]');
  });

  it('names the tensor and the file: a scale of the wrong shape, and a block size that does not divide as stated', () => {
    const bytes = writeSafetensors(deepseekLayout([32, 32]));
    // the file was cut in blocks of 32, the config says 128: kv_b_proj [112, 32] needs [1, 1] scales, has [4, 1]
    expectError(CheckpointError, () => loadModel(withQuant({}, [128, 128]), bytes, { weightsFile: 'm.safetensors' }),
      'm.safetensors: tensor "model.layers.0.', '_scale_inv" has shape', 'in blocks of [128, 128] (quantization_config.weight_block_size in config.json) needs', 'it would fit blocks of [32, 32]');
    expectError(ConfigError, () => loadModel(withQuant({}, [0, 128]), bytes), 'config.json: "quantization_config.weight_block_size" must be two positive integers');
    expectError(ConfigError, () => loadModel(withQuant({}, [128]), bytes), '"quantization_config.weight_block_size"');
  });

  it('refuses an unknown quant_method, FP8 without a quantization_config, and a stray scale', () => {
    const bytes = writeSafetensors(deepseekLayout([32, 32]));
    expectError(ConfigError, () => loadModel(withQuant({ quant_method: 'gptq' }), bytes, { configFile: 'dir/config.json' }),
      'dir/config.json: "quantization_config.quant_method" must be "fp8" (got "gptq")');
    expectError(CheckpointError, () => loadModel(JSON.stringify(cfgJson), bytes), 'is F8_E4M3 but config.json has no "quantization_config"');
    const t = deepseekLayout([32, 32]);
    t.set('model.norm.weight_scale_inv', { shape: [1, 1], data: Float32Array.from([1]) });
    expectError(CheckpointError, () => loadModel(withQuant(), writeSafetensors(t)), 'tensor "model.norm.weight_scale_inv" scales "model.norm.weight", which is BF16, not FP8');
  });
});

describe('shards', () => {
  it('merges shards as the index says, and names a tensor in the wrong shard or missing', () => {
    const all = deepseekLayout([32, 32]);
    const names = [...all.keys()];
    const halves = [names.slice(0, 40), names.slice(40)];
    const files = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const shards = halves.map((ns, i) => ({ file: `dir/${files[i]}`, tensors: readSafetensors(writeSafetensors(new Map(ns.map((n) => [n, all.get(n)!]))), files[i]!).tensors }));
    const index = JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(halves.flatMap((ns, i) => ns.map((n) => [n, files[i]]))) });
    const { weightMap } = readShardIndex(index);
    const merged = mergeShards(shards, weightMap);
    expect(merged.tensors.size).toBe(all.size);
    expect(merged.fileOf(names[45]!)).toBe(`dir/${files[1]}`);
    const wrong = new Map(weightMap);
    wrong.set(names[0]!, files[1]!);
    expectError(CheckpointError, () => mergeShards(shards, wrong), `dir/${files[0]}: tensor "${names[0]}" is listed in model.safetensors.index.json under ${files[1]}`);
    expectError(CheckpointError, () => readShardIndex(JSON.stringify({ weight_map: { a: '../x.safetensors' } })), 'tensor "a" maps to "../x.safetensors"');
    expectError(CheckpointError, () => mergeShards([shards[0]!, shards[0]!]), 'is also in');
  });
});

describe('transformers 5.x checkpoints', () => {
  const v5Config = (extra: Record<string, unknown> = {}) => {
    const { rope_theta: _t, rope_scaling: _s, ...rest } = cfgJson;
    return { ...rest, transformers_version: '5.0.0', dtype: 'bfloat16', rope_parameters: { rope_type: 'default', rope_theta: 10000 }, ...extra };
  };

  it('rope_parameters stands for rope_theta and rope_scaling', () => {
    const c = parseConfig(v5Config({ rope_parameters: { rope_type: 'default', rope_theta: 5000 } }));
    expect(c.rope_theta).toBe(5000);
    expect(c.rope_scaling).toBeNull();
    expectError(ConfigError, () => parseConfig(v5Config({ rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 40 } })), '"rope_scaling" is set');
    const yarn = parseConfig(v5Config({ rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 40 } }), { allowRopeScaling: true });
    expect(yarn.rope_scaling).toEqual({ rope_type: 'yarn', factor: 40 });
    expectError(ConfigError, () => parseConfig({ ...v5Config(), rope_theta: 20000 }, { file: 'c.json' }), 'c.json: "rope_parameters.rope_theta" is 10000 but "rope_theta" says 20000');
    expectError(ConfigError, () => parseConfig(v5Config({ rope_parameters: 7 })), '"rope_parameters" must be an object');
  });

  it('fused experts (gate_up_proj [E, 2I, d], down_proj [E, d, I]) and no MTP layer load, computing what the per-expert model computes', () => {
    const t = new Map<string, TensorToWrite>();
    const E = cfg.n_routed_experts!, I = cfg.moe_intermediate_size, d = cfg.hidden_size;
    for (const [name, v] of fp32) if (!name.startsWith('model.layers.2.') && !/\.experts\.\d+\./.test(name)) t.set(name, v);
    const gu = new Float32Array(E * 2 * I * d), down = new Float32Array(E * d * I);
    for (let j = 0; j < E; j++) {
      gu.set(fp32.get(`model.layers.1.mlp.experts.${j}.gate_proj.weight`)!.data, j * 2 * I * d);
      gu.set(fp32.get(`model.layers.1.mlp.experts.${j}.up_proj.weight`)!.data, j * 2 * I * d + I * d);
      down.set(fp32.get(`model.layers.1.mlp.experts.${j}.down_proj.weight`)!.data, j * d * I);
    }
    t.set('model.layers.1.mlp.experts.gate_up_proj', { shape: [E, 2 * I, d], data: gu });
    t.set('model.layers.1.mlp.experts.down_proj', { shape: [E, d, I], data: down });
    const model = loadModel(JSON.stringify(v5Config()), writeSafetensors(t));
    expect(model.config.num_nextn_predict_layers).toBe(0);
    const ref = Model.fromTensors(cfg, fp32);
    expect(Array.from(model.forward([5, 6, 7]).logits)).toEqual(Array.from(ref.forward([5, 6, 7]).logits));
    // a mis-shaped fused tensor is named
    t.set('model.layers.1.mlp.experts.down_proj', { shape: [E, I, d], data: down });
    expectError(CheckpointError, () => loadModel(JSON.stringify(v5Config()), writeSafetensors(t)), 'tensor "model.layers.1.mlp.experts.down_proj" has shape [16, 24, 64], the config needs [16, 64, 24]');
  });

  it('a 4.x config missing the MTP layer is still an error', () => {
    const t = new Map<string, TensorToWrite>();
    for (const [name, v] of fp32) if (!name.startsWith('model.layers.2.')) t.set(name, v);
    expectError(CheckpointError, () => loadModel(JSON.stringify(cfgJson), writeSafetensors(t)), 'model.layers.2.');
  });
});
