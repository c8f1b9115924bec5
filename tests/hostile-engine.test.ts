// The engine's own defences against hostile input (issue 17), below the CLI: non-finite values
// stop with the place they appeared, sizes are counted in closed form before anything is built,
// messages quote untrusted text escaped and bounded (even 100,000 levels deep), and a JSON
// header naming a key twice is caught.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_LIMITS, ConfigError, EngineInputError, MAX_MODEL_BYTES, NonFiniteError, checkModelFits, describe as describeValue,
  duplicateJsonKey, initModel, parameterCount, parseConfig, pickToken, quote, samplingDistribution, tensorSpecs, createRng,
} from '../src/engine/index.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { arbConfig } from './helpers/configs.js';

const tiny = () => parseConfig({ ...TINY_CONFIG_JSON });

describe('non-finite values say where they appeared', () => {
  it('sampling and greedy decoding refuse NaN or Infinity logits', () => {
    const logits = Float32Array.of(0.5, NaN, 1);
    expect(() => samplingDistribution(logits, { temperature: 1 })).toThrow(NonFiniteError);
    expect(() => pickToken(Float32Array.of(Infinity, 0), { temperature: 0 }, createRng(1))).toThrow(/logits decoded from is not finite/);
  });

  it('an overflowing o_proj stops forward at that layer\'s attention; checkFinite: false lets it through', () => {
    const model = initModel(tiny(), { seed: 3 });
    model.weights.layers[1]!.attn.oProj.fill(3e38);
    let caught: unknown;
    try { model.forward([1, 2, 3]); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(NonFiniteError);
    expect((caught as Error).message).toMatch(/layer 1 \(model\.layers\.1\.self_attn\)/);
    const out = model.forward([1, 2, 3], { checkFinite: false });
    expect(out.logits.some((x) => !Number.isFinite(x))).toBe(true);
  });

  it('a sequence past max_position_embeddings is refused before work', () => {
    const model = initModel(parseConfig({ ...TINY_CONFIG_JSON, max_position_embeddings: 8 }), { seed: 1 });
    expect(() => model.forward(new Array(9).fill(1))).toThrow(/9 positions .*max_position_embeddings is 8/);
    expect(model.forward(new Array(8).fill(1)).tokens).toBe(8);
  });
});

describe('sizes are bounded before anything is built', () => {
  it('parameterCount (closed form) equals the sum of tensorSpecs over random configs', () => {
    fc.assert(fc.property(arbConfig(), (cfg) => {
      const specs = tensorSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      expect(parameterCount(cfg)).toBe(specs);
    }), { numRuns: 200 });
  });

  it('every size key over its limit is refused by name, and a config over 1 GiB with its byte count', () => {
    for (const [key, max] of Object.entries(CONFIG_LIMITS)) {
      const raw = { ...TINY_CONFIG_JSON, [key]: max + 1 };
      expect(() => parseConfig(raw), key).toThrow(new RegExp(`"${key}" must be <= ${max}`));
    }
    const big = parseConfig({ ...TINY_CONFIG_JSON, vocab_size: 1 << 20, hidden_size: 1024 });
    expect(4 * parameterCount(big)).toBeGreaterThan(MAX_MODEL_BYTES);
    expect(() => checkModelFits(big, 'big.json')).toThrow(ConfigError);
    // embed_tokens, lm_head and the MTP head are each 2^20 x 1024 float32 (4 GiB): at least 12 GiB.
    const bytes = 4 * parameterCount(big);
    expect(bytes).toBeGreaterThan(3 * 4 * 2 ** 30);
    expect(() => checkModelFits(big, 'big.json')).toThrow(`big.json: "(model size)" is ${bytes.toExponential(3)} bytes`);
    expect(() => checkModelFits(tiny())).not.toThrow();
  });
});

describe('untrusted text in messages', () => {
  it('quote escapes control characters, bidi overrides and lone surrogates, and cuts long text', () => {
    expect(quote('a\nb\u001b[2J\u202e\ud800"')).toBe('"a\\nb\\u001b[2J\\u202e\\ud800\\""');
    const long = quote('x'.repeat(10_000));
    expect(long.length).toBeLessThan(200);
    expect(long).toContain('(10000 characters)');
  });

  it('describe walks 100,000 levels of nesting without recursion and stays short', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const text = describeValue(deep);
    expect(text.length).toBeLessThan(200);
    expect(text.startsWith('[[[[')).toBe(true);
    expect(describeValue({ 'k\n': ['\u0007'] })).toBe('{"k\\n":["\\u0007"]}');
  });

  it('duplicateJsonKey finds a key named twice in one object, at any depth, and nothing in arrays or strings', () => {
    expect(duplicateJsonKey('{"a":1,"b":2,"a":3}')).toBe('a');
    expect(duplicateJsonKey('{"a":{"x":1,"x":2}}')).toBe('x');
    expect(duplicateJsonKey('{"a":["a","a"],"b":"a\\",\\"a"}')).toBeNull();
    expect(duplicateJsonKey('{"a":{"x":1},"b":{"x":1}}')).toBeNull();
    expect(duplicateJsonKey('{"\\u0061":1,"a":2}')).toBe('a'); // the same key, escaped
    expect(duplicateJsonKey('['.repeat(100_000) + ']'.repeat(100_000))).toBeNull();
  });

  it('every input error is an EngineInputError', () => {
    expect(new NonFiniteError('x', 0, NaN)).toBeInstanceOf(EngineInputError);
  });
});
