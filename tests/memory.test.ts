import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenDir } from './helpers/paths.js';
import { parseConfig, type DeepSeekConfig } from '../src/engine/config.js';
import { ConfigError, EngineInputError } from '../src/engine/errors.js';
import {
  formatBytes,
  gqaElementsPerTokenPerLayer,
  kvCacheTable,
  mhaElementsPerTokenPerLayer,
  mlaElementsPerTokenPerLayer,
  mqaElementsPerTokenPerLayer,
} from '../src/engine/memory.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rawConfig = (name: string): unknown => JSON.parse(readFileSync(path.join(repoRoot, 'static/configs', name), 'utf8'));
const load = (name: string): DeepSeekConfig => parseConfig(rawConfig(name), { file: name, allowRopeScaling: true });

describe('the real configs in static/configs', () => {
  it('parse with allowRopeScaling and are rejected (rope_scaling) without it', () => {
    for (const name of ['deepseek-v2.json', 'deepseek-v3.json']) {
      const cfg = load(name);
      expect(cfg.rope_scaling).toMatchObject({ type: 'yarn', factor: 40, original_max_position_embeddings: 4096 });
      let caught: unknown;
      try {
        parseConfig(rawConfig(name), { file: name });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).key).toBe('rope_scaling');
      expect((caught as Error).message).toContain(`${name}: "rope_scaling"`);
    }
  });

  it('carry the published DeepSeek-V3 dims', () => {
    const c = load('deepseek-v3.json');
    expect([c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.kv_lora_rank, c.q_lora_rank]).toEqual([7168, 61, 128, 512, 1536]);
    expect([c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim]).toEqual([128, 64, 128]);
    expect([c.n_routed_experts, c.n_shared_experts, c.num_experts_per_tok, c.n_group, c.topk_group]).toEqual([256, 1, 8, 8, 4]);
    expect([c.moe_intermediate_size, c.intermediate_size, c.first_k_dense_replace, c.vocab_size]).toEqual([2048, 18432, 3, 129280]);
    expect([c.routed_scaling_factor, c.scoring_func, c.topk_method, c.norm_topk_prob, c.num_nextn_predict_layers]).toEqual([2.5, 'sigmoid', 'noaux_tc', true, 1]);
  });

  it('carry the published DeepSeek-V2 dims', () => {
    const c = load('deepseek-v2.json');
    expect([c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.kv_lora_rank, c.q_lora_rank]).toEqual([5120, 60, 128, 512, 1536]);
    expect([c.n_routed_experts, c.n_shared_experts, c.num_experts_per_tok, c.n_group, c.topk_group]).toEqual([160, 2, 6, 8, 3]);
    expect([c.moe_intermediate_size, c.intermediate_size, c.first_k_dense_replace, c.vocab_size]).toEqual([1536, 12288, 1, 102400]);
    expect([c.routed_scaling_factor, c.scoring_func, c.topk_method, c.norm_topk_prob, c.num_nextn_predict_layers]).toEqual([16, 'softmax', 'group_limited_greedy', false, 0]);
  });
});

describe('kvCacheTable on DeepSeek-V3 at 128K context, BF16', () => {
  const cfg = load('deepseek-v3.json');
  const rows = kvCacheTable(cfg, { context: 131072 });
  const row = (scheme: string) => rows.find((r) => r.scheme === scheme)!;

  // Expectations worked out by hand from the published config (not from the function):
  //   MLA per token per layer = d_c + d_h^R = 512 + 64                       = 576
  //   MHA per token per layer = n_h (d_nope + d_rope) + n_h d_v
  //                           = 128 x (128 + 64) + 128 x 128 = 24576 + 16384  = 40960
  //   GQA-8                   = 8 x 192 + 8 x 128 = 1536 + 1024               = 2560
  //   MQA                     = 192 + 128                                     = 320
  //   layers counted          = num_hidden_layers = 61 (the MTP layer is not counted)
  //   MLA bytes per token     = 576 x 61 x 2 = 70,272
  //   MLA total               = 70,272 x 131,072 = 9,210,691,584 B; / 2^30 = 70,272 / 8,192 = 8.578125 GiB
  //   MHA bytes per token     = 40,960 x 61 x 2 = 4,997,120
  //   MHA total               = 4,997,120 x 131,072 = 654,982,512,640 B; / 2^30 = 4,997,120 / 8,192 = 610 GiB exactly
  //   (131,072 = 2^17, so bytes / 2^30 = bytes per token / 2^13 = bytes per token / 8,192)
  //   ratio MHA / MLA         = 40960 / 576 = 71.11...
  it('gives MLA 576 and MHA 40,960 elements per token per layer', () => {
    expect(rows.map((r) => r.scheme)).toEqual(['MHA', 'GQA-8', 'MQA', 'MLA']);
    expect(row('MLA').elementsPerTokenPerLayer).toBe(576);
    expect(row('MHA').elementsPerTokenPerLayer).toBe(40960);
    expect(row('GQA-8').elementsPerTokenPerLayer).toBe(2560);
    expect(row('MQA').elementsPerTokenPerLayer).toBe(320);
    expect(row('MLA').formula).toBe('512 + 64');
    expect(row('MHA').formula).toBe('128 x 192 + 128 x 128');
  });

  it('counts the 61 main layers, not the MTP layer, unless asked', () => {
    for (const r of rows) {
      expect(r.layers).toBe(61);
      expect(r.includesMtp).toBe(false);
    }
    const withMtp = kvCacheTable(cfg, { context: 131072, includeMtp: true });
    expect(withMtp.find((r) => r.scheme === 'MLA')!.layers).toBe(62); // 61 + num_nextn_predict_layers 1
    expect(withMtp.find((r) => r.scheme === 'MLA')!.bytesPerToken).toBe(576 * 62 * 2);
  });

  it('gives about 8.6 GiB for MLA and 610 GiB for MHA', () => {
    expect(row('MLA').elementsPerToken).toBe(35136);
    expect(row('MLA').bytesPerToken).toBe(70272);
    expect(row('MLA').totalBytes).toBe(9_210_691_584);
    expect(row('MLA').totalGiB).toBe(8.578125);
    expect(row('MHA').bytesPerToken).toBe(4_997_120);
    expect(row('MHA').totalBytes).toBe(654_982_512_640);
    expect(row('MHA').totalGiB).toBe(610);
    expect(row('MHA').ratioToMla).toBeCloseTo(40960 / 576, 12);
    expect(row('MLA').ratioToMla).toBe(1);
    expect(formatBytes(row('MLA').totalBytes)).toBe('8.58 GiB');
    expect(formatBytes(row('MHA').totalBytes)).toBe('610 GiB');
  });

  it('scales with bytesPerElement and lists the GQA groups asked for', () => {
    const fp32 = kvCacheTable(cfg, { context: 1, bytesPerElement: 4, gqaGroups: [1, 16, 128] });
    expect(fp32.map((r) => r.scheme)).toEqual(['MHA', 'GQA-1', 'GQA-16', 'GQA-128', 'MQA', 'MLA']);
    expect(fp32.find((r) => r.scheme === 'MLA')!.bytesPerToken).toBe(576 * 61 * 4);
    expect(fp32.find((r) => r.scheme === 'GQA-128')!.elementsPerTokenPerLayer).toBe(40960);
  });
});

describe('kvCacheTable on DeepSeek-V2 and the tiny golden model', () => {
  it('DeepSeek-V2: MLA 576 vs MHA 40,960 per layer, 60 layers', () => {
    const rows = kvCacheTable(load('deepseek-v2.json'), { context: 1000 });
    const mla = rows.find((r) => r.kind === 'MLA')!;
    expect(mla.elementsPerTokenPerLayer).toBe(576); // 512 + 64
    expect(mla.bytesPerToken).toBe(576 * 60 * 2); // 69,120
    expect(rows.find((r) => r.kind === 'MHA')!.elementsPerTokenPerLayer).toBe(128 * 192 + 128 * 128);
  });

  it('drops the default GQA-8 row when 8 does not properly divide n_h', () => {
    const tiny = parseConfig(JSON.parse(readFileSync(path.join(goldenDir('b_moe_mtp_tiny'), 'config.json'), 'utf8')));
    const rows = kvCacheTable(tiny, { context: 9 });
    expect(rows.map((r) => r.scheme)).toEqual(['MHA', 'MQA', 'MLA']);
    // 4 heads x (16 + 8) + 4 x 12 = 96 + 48 = 144; MLA 32 + 8 = 40; MQA 24 + 12 = 36 (MQA is smaller here)
    expect(rows.map((r) => r.elementsPerTokenPerLayer)).toEqual([144, 36, 40]);
  });

  it('refuses bad options', () => {
    const cfg = load('deepseek-v3.json');
    expect(() => kvCacheTable(cfg, { context: -1 })).toThrow(EngineInputError);
    expect(() => kvCacheTable(cfg, { context: 1.5 })).toThrow(EngineInputError);
    expect(() => kvCacheTable(cfg, { context: 1, bytesPerElement: 0 })).toThrow(EngineInputError);
    expect(() => kvCacheTable(cfg, { context: 1, gqaGroups: [3] })).toThrow(/divide num_attention_heads/);
    expect(() => kvCacheTable(cfg, { context: 1, gqaGroups: [256] })).toThrow(/1\.\.num_attention_heads/);
  });
});

describe('scheme properties over random configs', () => {
  const cfgArb = fc
    .record({
      heads: fc.integer({ min: 1, max: 256 }),
      nope: fc.integer({ min: 0, max: 256 }),
      ropeHalf: fc.integer({ min: 0, max: 64 }),
      v: fc.integer({ min: 1, max: 256 }),
      dc: fc.integer({ min: 1, max: 2048 }),
      layers: fc.integer({ min: 1, max: 128 }),
    })
    .filter((r) => r.nope + 2 * r.ropeHalf >= 1)
    .map((r) => parseConfig({
      vocab_size: 16, hidden_size: 16, intermediate_size: 16, num_hidden_layers: r.layers,
      num_attention_heads: r.heads, q_lora_rank: null, kv_lora_rank: r.dc,
      qk_nope_head_dim: r.nope, qk_rope_head_dim: 2 * r.ropeHalf, v_head_dim: r.v,
    }));

  it('MLA < MHA whenever kv_lora_rank + rope < n_h (nope + rope + v)', () => {
    fc.assert(fc.property(cfgArb, (cfg) => {
      const mla = mlaElementsPerTokenPerLayer(cfg);
      const mha = mhaElementsPerTokenPerLayer(cfg);
      const n = cfg.num_attention_heads;
      if (cfg.kv_lora_rank + cfg.qk_rope_head_dim < n * (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim + cfg.v_head_dim)) {
        expect(mla).toBeLessThan(mha);
      } else {
        expect(mla).toBeGreaterThanOrEqual(mha);
      }
    }), { numRuns: 500 });
  });

  it('GQA(n_h) == MHA and GQA(1) == MQA, in the table too', () => {
    fc.assert(fc.property(cfgArb, fc.integer({ min: 0, max: 100_000 }), (cfg, context) => {
      const n = cfg.num_attention_heads;
      expect(gqaElementsPerTokenPerLayer(cfg, n)).toBe(mhaElementsPerTokenPerLayer(cfg));
      expect(gqaElementsPerTokenPerLayer(cfg, 1)).toBe(mqaElementsPerTokenPerLayer(cfg));
      const rows = kvCacheTable(cfg, { context, gqaGroups: [n, 1] });
      const by = (s: string) => rows.find((r) => r.scheme === s)!;
      expect(by(`GQA-${n}`).totalBytes).toBe(by('MHA').totalBytes);
      expect(by('GQA-1').totalBytes).toBe(by('MQA').totalBytes);
      for (const r of rows) {
        expect(r.totalBytes).toBe(r.elementsPerTokenPerLayer * cfg.num_hidden_layers * 2 * context);
        expect(r.ratioToMla).toBeCloseTo(r.elementsPerTokenPerLayer / by('MLA').elementsPerTokenPerLayer, 12);
      }
    }), { numRuns: 300 });
  });
});

describe('formatBytes', () => {
  it('uses binary units with about three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(70272)).toBe('68.6 KiB');
    expect(formatBytes(1023.9 * 1024)).toBe('1.00 MiB');
    expect(formatBytes(1.5 * 2 ** 40)).toBe('1.50 TiB');
    expect(formatBytes(-2048)).toBe('-2.00 KiB');
  });
});
