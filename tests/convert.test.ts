// `convert` through the CLI: FP8-with-scales and BF16 folders in DeepSeek-V3's layout, read back by
// `forward` and by `convert` itself; shards; hand-broken folders (missing scale, wrong block size,
// unknown quant_method) refused with exit code 2 and a message naming the tensor or key and the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { parseConfig } from '../src/engine/config.js';
import { Model } from '../src/engine/model.js';
import { readSafetensors, writeSafetensors } from '../src/engine/safetensors.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { BF16, roundTo } from '../src/engine/numerics/formats.js';
import { fakeQuantize } from '../src/engine/numerics/quantize.js';

let tmp: string;
const dir = (name: string) => path.join(tmp, name);
const cfg = parseConfig({ ...TINY_CONFIG_JSON });
const prompt = [3, 1, 4, 1, 5, 9, 2, 6];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-convert-'));
  writeFileSync(dir('tiny.json'), JSON.stringify(TINY_CONFIG_JSON));
  writeFileSync(dir('input.json'), JSON.stringify({ input_ids: prompt }));
  const r = await runCli(['init', '--config', dir('tiny.json'), '--seed', '5', '--out', dir('f32')]);
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const original = () => readSafetensors(readFileSync(path.join(dir('f32'), 'model.safetensors')), 'f32').tensors;
const headerOf = (file: string) => {
  const b = readFileSync(file);
  const n = b.readUInt32LE(0);
  return JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
};
async function forwardLogits(modelDir: string): Promise<number[][]> {
  const r = await runCli(['forward', '--model', modelDir, '--input', dir('input.json'), '--json', '--backend', 'reference']);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { logits: number[][] }).logits;
}

describe('convert', () => {
  it('fp8 with 32 x 32 blocks: DeepSeek\'s layout on disk, and forward computes what the block-quantised weights compute', async () => {
    const r = await runCli(['convert', '--model', dir('f32'), '--out', dir('fp8'), '--dtype', 'fp8', '--block', '32,32', '--json']);
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(path.join(dir('fp8'), 'config.json'), 'utf8'));
    expect(config.quantization_config).toEqual({ activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [32, 32] });
    const h = headerOf(path.join(dir('fp8'), 'model.safetensors'));
    expect(h['model.layers.1.self_attn.kv_b_proj.weight']!.dtype).toBe('F8_E4M3');
    expect(h['model.layers.1.self_attn.kv_b_proj.weight_scale_inv']).toMatchObject({ dtype: 'F32', shape: [4, 1] }); // 112 rows: 3 full blocks and 16
    expect(h['model.layers.1.mlp.experts.3.down_proj.weight_scale_inv']!.shape).toEqual([2, 1]);
    expect(h['model.embed_tokens.weight']!.dtype).toBe('BF16');
    expect(h['model.layers.1.mlp.gate.weight']!.dtype).toBe('BF16');
    expect(h['model.norm.weight']!.dtype).toBe('BF16');
    expect(h['model.layers.1.mlp.gate.e_score_correction_bias']!.dtype).toBe('F32');

    // The same model built here from the float32 tensors, quantised by the tested numerics module.
    const expected = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of original()) {
      const data = t.shape.length === 2 && name.endsWith('_proj.weight') ? fakeQuantize(t.data, t.shape[0]!, t.shape[1]!, [32, 32])
        : name.endsWith('e_score_correction_bias') ? t.data : Float32Array.from(t.data, (x) => roundTo(BF16, x));
      expected.set(name, { shape: t.shape, data });
    }
    const ref = Model.fromTensors(cfg, expected).forward(prompt).logits;
    const got = (await forwardLogits(dir('fp8'))).flat();
    expect(got.length).toBe(ref.length);
    got.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 4));
  });

  it('reads FP8 back into F32 with no change, and bf16 stores every value as its BF16 rounding', async () => {
    const back = await runCli(['convert', '--model', dir('fp8'), '--out', dir('fp8-f32'), '--dtype', 'f32', '--json']);
    expect(back.code).toBe(0);
    const s = JSON.parse(back.stdout);
    expect(s.max_abs_change).toBe(0);
    expect(s.input_dtypes).toEqual({ BF16: 24, F8_E4M3: 118, F32: 2 });
    expect(s.output_dtypes).toEqual({ F32: 144 });
    const b = await runCli(['convert', '--model', dir('f32'), '--out', dir('bf16'), '--dtype', 'bf16', '--json']);
    expect(b.code).toBe(0);
    const bf = readSafetensors(readFileSync(path.join(dir('bf16'), 'model.safetensors')), 'bf16').tensors;
    for (const [name, t] of original()) {
      const u = bf.get(name)!;
      expect(u.dtype).toBe(name.endsWith('e_score_correction_bias') ? 'F32' : 'BF16');
      if (u.dtype === 'BF16') for (let i = 0; i < t.data.length; i += 7) expect(u.data[i]).toBe(roundTo(BF16, t.data[i]!));
    }
    expect(JSON.parse(b.stdout).bytes).toBeLessThan(0.52 * readFileSync(path.join(dir('f32'), 'model.safetensors')).length);
  });

  it('reads shards listed by model.safetensors.index.json', async () => {
    const all = readSafetensors(readFileSync(path.join(dir('fp8'), 'model.safetensors')), 'fp8').tensors;
    const names = [...all.keys()];
    mkdirSync(dir('sharded'));
    writeFileSync(path.join(dir('sharded'), 'config.json'), readFileSync(path.join(dir('fp8'), 'config.json')));
    const parts = [names.slice(0, 100), names.slice(100)];
    const weightMap: Record<string, string> = {};
    parts.forEach((ns, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(path.join(dir('sharded'), file), writeSafetensors(new Map(ns.map((n) => {
        const t = all.get(n)!;
        return [n, { shape: t.shape, data: t.data, storeAs: t.dtype as 'F32' }];
      }))));
      for (const n of ns) weightMap[n] = file;
    });
    writeFileSync(path.join(dir('sharded'), 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const r = await runCli(['convert', '--model', dir('sharded'), '--out', dir('sharded-f32'), '--dtype', 'f32', '--json']);
    expect(r.stderr).toBe('');
    expect(readFileSync(path.join(dir('sharded-f32'), 'model.safetensors')).equals(readFileSync(path.join(dir('fp8-f32'), 'model.safetensors')))).toBe(true);
    // and `forward` reads the shards as they are
    expect(await forwardLogits(dir('sharded'))).toEqual(await forwardLogits(dir('fp8')));
  });

  it('hand-broken FP8 folders exit 2 naming the tensor or key and the file', async () => {
    const all = readSafetensors(readFileSync(path.join(dir('fp8'), 'model.safetensors')), 'fp8').tensors;
    const write = (name: string, tensors: typeof all, config: Record<string, unknown>) => {
      mkdirSync(dir(name));
      writeFileSync(path.join(dir(name), 'config.json'), JSON.stringify(config));
      writeFileSync(path.join(dir(name), 'model.safetensors'), writeSafetensors(new Map([...tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data, storeAs: t.dtype as 'F32' }]))));
    };
    const config = JSON.parse(readFileSync(path.join(dir('fp8'), 'config.json'), 'utf8'));
    const noScale = new Map(all);
    noScale.delete('model.layers.0.self_attn.q_a_proj.weight_scale_inv');
    write('no-scale', noScale, config);
    write('wrong-block', all, { ...config, quantization_config: { ...config.quantization_config, weight_block_size: [128, 128] } });
    write('gptq', all, { ...config, quantization_config: { ...config.quantization_config, quant_method: 'gptq' } });
    const cases: [string, string[]][] = [
      ['no-scale', [`${path.join(dir('no-scale'), 'model.safetensors')}: tensor "model.layers.0.self_attn.q_a_proj.weight" is F8_E4M3 but its scale "model.layers.0.self_attn.q_a_proj.weight_scale_inv" is missing`]],
      ['wrong-block', [path.join(dir('wrong-block'), 'model.safetensors'), '_scale_inv" has shape', 'in blocks of [128, 128]', 'it would fit blocks of [32, 32]']],
      ['gptq', [`${path.join(dir('gptq'), 'config.json')}: "quantization_config.quant_method" must be "fp8" (got "gptq")`]],
    ];
    for (const [name, parts] of cases) {
      const r = await runCli(['forward', '--model', dir(name), '--input', dir('input.json')]);
      expect(r.code).toBe(2);
      for (const p of parts) expect(r.stderr).toContain(p);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('bad flags exit 2', async () => {
    const fp4 = await runCli(['convert', '--model', dir('f32'), '--out', dir('x'), '--dtype', 'fp4']);
    expect(fp4.code).toBe(2);
    expect(fp4.stderr).toContain('--dtype must be one of f32, bf16, fp16, fp8 (got "fp4")');
    const block = await runCli(['convert', '--model', dir('f32'), '--out', dir('x'), '--dtype', 'fp8', '--block', '0,128']);
    expect(block.code).toBe(2);
    expect(block.stderr).toContain('--block must be two positive integers');
  });
});
