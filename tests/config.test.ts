// parseConfig (src/engine/config.ts): the golden configs parse, optional keys take their defaults,
// and every rejection is a ConfigError whose `.key` is the offending key and whose message names
// the file. Properties: random consistent MoE settings parse; breaking exactly one condition fails
// on the key that condition belongs to.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, type DeepSeekConfig } from '../src/engine/config.js';
import { parseConfigText } from '../src/engine/load.js';
import { ConfigError } from '../src/engine/errors.js';
import { goldenDir, repoRoot } from './helpers/paths.js';

type Raw = Record<string, unknown>;

const goldenRaw = (name: string): Raw => JSON.parse(readFileSync(path.join(goldenDir(name), 'config.json'), 'utf8'));

const FILE = 'some/dir/my-config.json';

/** The smallest dense config: only the keys without a default. */
const minimal = (): Raw => ({
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  q_lora_rank: null,
  kv_lora_rank: 8,
  qk_nope_head_dim: 4,
  qk_rope_head_dim: 4,
  v_head_dim: 4,
});

/** A MoE config: E experts in n_group groups, keep topk_group, choose k. */
const moe = (E: number, nGroup: number, topkGroup: number, k: number, extra: Raw = {}): Raw => ({
  ...minimal(),
  n_routed_experts: E,
  n_group: nGroup,
  topk_group: topkGroup,
  num_experts_per_tok: k,
  moe_intermediate_size: 8,
  first_k_dense_replace: 1,
  n_shared_experts: 1,
  routed_scaling_factor: 2.5,
  ...extra,
});

/** Parse, expect a ConfigError on `key` whose message names the file, and return it. */
function expectConfigError(raw: unknown, key: string, ...fragments: (string | RegExp)[]): ConfigError {
  let caught: unknown;
  try {
    parseConfig(raw, { file: FILE });
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a ConfigError on "${key}"`).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.key).toBe(key);
  expect(err.file).toBe(FILE);
  expect(err.message).toContain(FILE);
  expect(err.message).toContain(`"${key}"`);
  for (const f of fragments) {
    if (typeof f === 'string') expect(err.message).toContain(f);
    else expect(err.message).toMatch(f);
  }
  return err;
}

/** Which key (if any) parseConfig rejects. */
function rejectedKey(raw: unknown): string | null {
  try {
    parseConfig(raw, { file: FILE });
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    expect(e.message).toContain(FILE);
    return e.key;
  }
}

// ------------------------------------------------------------------------------------------------

describe('valid configs', () => {
  it('a_dense_tiny parses with its values', () => {
    const raw = goldenRaw('a_dense_tiny');
    const cfg = parseConfig(raw, { file: 'a_dense_tiny/config.json' });
    for (const k of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'kv_lora_rank',
      'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim', 'n_routed_experts', 'n_group', 'topk_group', 'num_experts_per_tok',
      'first_k_dense_replace', 'num_nextn_predict_layers', 'routed_scaling_factor', 'rms_norm_eps', 'rope_theta'] as const) {
      expect(cfg[k], k).toBe(raw[k]);
    }
    expect(cfg.q_lora_rank).toBeNull();
    expect(cfg.rope_scaling).toBeNull();
    expect(cfg.num_nextn_predict_layers).toBe(0);
  });

  it('b_moe_mtp_tiny parses with its values', () => {
    const raw = goldenRaw('b_moe_mtp_tiny');
    const cfg = parseConfig(raw, { file: 'b_moe_mtp_tiny/config.json' });
    expect(cfg).toMatchObject({
      q_lora_rank: 48, n_routed_experts: 16, n_group: 4, topk_group: 2, num_experts_per_tok: 4, n_shared_experts: 1,
      routed_scaling_factor: 2.5, norm_topk_prob: true, scoring_func: 'sigmoid', topk_method: 'noaux_tc',
      first_k_dense_replace: 1, num_nextn_predict_layers: 1, v_head_dim: 12, qk_nope_head_dim: 16,
    });
  });

  it('parseConfigText reads the golden files as text', () => {
    for (const name of ['a_dense_tiny', 'b_moe_mtp_tiny']) {
      const file = path.join(goldenDir(name), 'config.json');
      expect(parseConfigText(readFileSync(file, 'utf8'), { file })).toEqual(parseConfig(goldenRaw(name)));
    }
  });

  it('optional keys take their defaults (a dense model with no MoE, no MTP, no rope scaling)', () => {
    const cfg = parseConfig(minimal());
    expect(cfg).toEqual<DeepSeekConfig>({
      ...(minimal() as Pick<DeepSeekConfig, 'vocab_size' | 'hidden_size' | 'intermediate_size' | 'num_hidden_layers' | 'num_attention_heads' | 'q_lora_rank' | 'kv_lora_rank' | 'qk_nope_head_dim' | 'qk_rope_head_dim' | 'v_head_dim'>),
      num_key_value_heads: 2, // = num_attention_heads
      n_routed_experts: null, // dense everywhere
      n_shared_experts: 0,
      num_experts_per_tok: 1,
      moe_intermediate_size: 1,
      n_group: 1, // no group limit
      topk_group: 1,
      routed_scaling_factor: 1,
      norm_topk_prob: true,
      scoring_func: 'sigmoid',
      topk_method: 'noaux_tc',
      first_k_dense_replace: 0,
      moe_layer_freq: 1,
      num_nextn_predict_layers: 0,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      rope_scaling: null,
      max_position_embeddings: 4096,
      tie_word_embeddings: false,
    });
  });

  it('null for the nullable keys means their default', () => {
    const cfg = parseConfig({ ...minimal(), n_routed_experts: null, n_group: null, topk_group: null, n_shared_experts: null, rope_scaling: null });
    expect(cfg).toMatchObject({ n_routed_experts: null, n_group: 1, topk_group: 1, n_shared_experts: 0, rope_scaling: null });
  });

  it('topk_method "greedy" without n_group has no group limit (top-k up to every expert)', () => {
    const cfg = parseConfig({ ...moe(8, 1, 1, 8), topk_method: 'greedy', n_group: undefined, topk_group: undefined });
    expect(cfg.n_group).toBe(1);
    expect(cfg.num_experts_per_tok).toBe(8);
  });

  it('rope_scaling is kept when allowRopeScaling is given (the KV tables do not depend on it)', () => {
    const yarn = { type: 'yarn', factor: 40, original_max_position_embeddings: 4096 };
    expect(parseConfig({ ...minimal(), rope_scaling: yarn }, { allowRopeScaling: true }).rope_scaling).toEqual(yarn);
    const v3 = JSON.parse(readFileSync(path.join(repoRoot, 'static/configs/deepseek-v3.json'), 'utf8'));
    expect(parseConfig(v3, { file: 'deepseek-v3.json', allowRopeScaling: true }).n_routed_experts).toBe(256);
  });

  it('without a file option, messages name config.json', () => {
    let caught: unknown;
    try {
      parseConfig({ ...minimal(), hidden_size: undefined });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toMatch(/^config\.json: "hidden_size"/);
  });
});

// ------------------------------------------------------------------------------------------------

describe('rejections name the key and the file', () => {
  const REQUIRED = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'q_lora_rank',
    'kv_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim'] as const;

  it.each(REQUIRED)('missing %s', (key) => {
    const raw = minimal();
    delete raw[key];
    expectConfigError(raw, key, /missing/);
  });

  it.each(['num_experts_per_tok', 'moe_intermediate_size', 'n_shared_experts', 'routed_scaling_factor', 'first_k_dense_replace', 'n_group', 'topk_group'])('missing %s when n_routed_experts is set', (key) => {
    const raw = moe(8, 2, 1, 2);
    delete raw[key];
    expectConfigError(raw, key, /missing/);
  });

  it('"hidden_size": "64" (a string)', () => expectConfigError({ ...minimal(), hidden_size: '64' }, 'hidden_size', /integer/, '"64"'));
  it('"hidden_size": 64.5', () => expectConfigError({ ...minimal(), hidden_size: 64.5 }, 'hidden_size', /integer/, '64.5'));
  it('"hidden_size": 0', () => expectConfigError({ ...minimal(), hidden_size: 0 }, 'hidden_size', />= 1/));
  it('"rms_norm_eps": 0', () => expectConfigError({ ...minimal(), rms_norm_eps: 0 }, 'rms_norm_eps', /> 0/));
  it('"rope_theta": "10000"', () => expectConfigError({ ...minimal(), rope_theta: '10000' }, 'rope_theta', /number/));
  it('"norm_topk_prob": "true"', () => expectConfigError({ ...minimal(), norm_topk_prob: 'true' }, 'norm_topk_prob', /true or false/));
  it('"scoring_func": "relu"', () => expectConfigError({ ...minimal(), scoring_func: 'relu' }, 'scoring_func', '"relu"', '"sigmoid"'));
  it('"hidden_act": "gelu"', () => expectConfigError({ ...minimal(), hidden_act: 'gelu' }, 'hidden_act', '"gelu"', '"silu"'));
  it('"attention_bias": true', () => expectConfigError({ ...minimal(), attention_bias: true }, 'attention_bias', /not supported/));
  it('"rope_interleave": false', () => expectConfigError({ ...minimal(), rope_interleave: false }, 'rope_interleave', /interleaved/));

  it('n_routed_experts (16) not divisible by n_group (3)', () => {
    expectConfigError(moe(16, 3, 1, 2), 'n_group', /divide/, 'n_routed_experts');
  });

  it('num_experts_per_tok (9) larger than the experts in the kept groups (2 of 4 groups of 4 = 8)', () => {
    expectConfigError(moe(16, 4, 2, 9), 'num_experts_per_tok', /kept groups/, /\b9\b/, /\b8\b/);
  });

  it('topk_group (5) > n_group (4)', () => {
    expectConfigError(moe(16, 4, 5, 2), 'topk_group', 'n_group', /\b5\b/, /\b4\b/);
  });

  it('odd qk_rope_head_dim (7)', () => {
    expectConfigError({ ...minimal(), qk_rope_head_dim: 7 }, 'qk_rope_head_dim', /even/, /\b7\b/);
  });

  it('qk_nope_head_dim + qk_rope_head_dim = 0', () => {
    expectConfigError({ ...minimal(), qk_nope_head_dim: 0, qk_rope_head_dim: 0 }, 'qk_nope_head_dim', /qk_rope_head_dim/);
  });

  it('rope_scaling set to a YaRN object (not supported unless allowRopeScaling)', () => {
    expectConfigError({ ...minimal(), rope_scaling: { type: 'yarn', factor: 40 } }, 'rope_scaling', /not supported/);
  });

  it('rope_scaling that is neither null nor an object, even with allowRopeScaling', () => {
    expect(() => parseConfig({ ...minimal(), rope_scaling: 'yarn' }, { file: FILE, allowRopeScaling: true })).toThrow(ConfigError);
    expectConfigError({ ...minimal(), rope_scaling: [1, 2] }, 'rope_scaling', /null or an object/);
  });

  it('topk_method "noaux_tc" with scoring_func "softmax"', () => {
    expectConfigError(moe(8, 2, 1, 2, { scoring_func: 'softmax', topk_method: 'noaux_tc' }), 'topk_method', /sigmoid/);
  });

  it('a root that is not an object', () => {
    for (const raw of [null, [], 42, 'config']) expectConfigError(raw, '(root)', /JSON object/);
  });

  it('config text that is not valid JSON (parseConfigText)', () => {
    let caught: unknown;
    try {
      parseConfigText('{"hidden_size": 64,', { file: FILE });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).key).toBe('(root)');
    expect((caught as ConfigError).message).toContain(FILE);
    expect((caught as ConfigError).message).toMatch(/not valid JSON/);
  });

  it('property: any integer key given as a string, a fraction or below its minimum is named', () => {
    const intKeys: [string, number][] = [
      ['vocab_size', 1], ['hidden_size', 1], ['intermediate_size', 1], ['num_hidden_layers', 1], ['num_attention_heads', 1],
      ['kv_lora_rank', 1], ['qk_nope_head_dim', 0], ['qk_rope_head_dim', 0], ['v_head_dim', 1], ['num_key_value_heads', 1],
      ['first_k_dense_replace', 0], ['moe_layer_freq', 1], ['num_nextn_predict_layers', 0], ['max_position_embeddings', 1],
      ['q_lora_rank', 1],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...intKeys),
        fc.oneof(
          fc.integer({ min: 1, max: 1000 }).map((v) => (_min: number): unknown => String(v)), // "64"
          fc.integer({ min: 1, max: 1000 }).map((v) => (_min: number): unknown => v + 0.5), // 64.5
          fc.integer({ min: 1, max: 50 }).map((v) => (min: number): unknown => min - v), // below the minimum
          fc.constantFrom<unknown>(true, [], {}, '').map((v) => (_min: number): unknown => v),
        ),
        ([key, min], bad) => {
          expect(rejectedKey({ ...minimal(), [key]: bad(min) })).toBe(key);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ------------------------------------------------------------------------------------------------

describe('MoE consistency (property)', () => {
  // nGroup groups of m experts each; keep topkGroup of them; choose k among the kept experts.
  const validMoe = fc
    .record({ nGroup: fc.integer({ min: 1, max: 8 }), m: fc.integer({ min: 1, max: 8 }) })
    .chain(({ nGroup, m }) => fc.record({
      nGroup: fc.constant(nGroup),
      m: fc.constant(m),
      topkGroup: fc.integer({ min: 1, max: nGroup }),
    }))
    .chain(({ nGroup, m, topkGroup }) => fc.record({
      E: fc.constant(nGroup * m),
      nGroup: fc.constant(nGroup),
      topkGroup: fc.constant(topkGroup),
      k: fc.integer({ min: 1, max: topkGroup * m }),
    }));

  it('valid settings parse and are kept as given', () => {
    fc.assert(
      fc.property(validMoe, ({ E, nGroup, topkGroup, k }) => {
        const cfg = parseConfig(moe(E, nGroup, topkGroup, k), { file: FILE });
        expect(cfg).toMatchObject({ n_routed_experts: E, n_group: nGroup, topk_group: topkGroup, num_experts_per_tok: k });
      }),
      { numRuns: 300 },
    );
  });

  it('n_group not dividing n_routed_experts fails on n_group', () => {
    fc.assert(
      fc.property(
        validMoe.filter(({ nGroup }) => nGroup >= 2),
        fc.integer({ min: 1, max: 7 }),
        ({ E, nGroup, topkGroup }, shift) => {
          const bad = E + (shift % nGroup === 0 ? 1 : shift % nGroup); // E' with E' % nGroup != 0
          expect(bad % nGroup).not.toBe(0);
          // k = 1 keeps the top-k condition true whatever the grouping.
          expect(rejectedKey(moe(bad, nGroup, topkGroup, 1))).toBe('n_group');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('topk_group > n_group fails on topk_group', () => {
    fc.assert(
      fc.property(validMoe, fc.integer({ min: 1, max: 5 }), ({ E, nGroup }, over) => {
        // k = 1: still <= the kept experts whatever topk_group is.
        expect(rejectedKey(moe(E, nGroup, nGroup + over, 1))).toBe('topk_group');
      }),
      { numRuns: 300 },
    );
  });

  it('top-k larger than the kept experts fails on num_experts_per_tok (but is fine for greedy up to E)', () => {
    fc.assert(
      fc.property(validMoe, fc.integer({ min: 1, max: 20 }), ({ E, nGroup, topkGroup }, over) => {
        const kept = topkGroup * (E / nGroup);
        expect(rejectedKey(moe(E, nGroup, topkGroup, kept + over))).toBe('num_experts_per_tok');
        // topk_method "greedy" has no group limit: any k up to E passes, beyond E fails.
        const greedy = { topk_method: 'greedy' };
        expect(rejectedKey(moe(E, nGroup, topkGroup, Math.min(kept + over, E), greedy))).toBeNull();
        expect(rejectedKey(moe(E, nGroup, topkGroup, E + over, greedy))).toBe('num_experts_per_tok');
      }),
      { numRuns: 300 },
    );
  });
});
