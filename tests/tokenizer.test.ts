// The character tokenizer: ASCII codes are the ids, typographic punctuation is spelled in ASCII,
// anything else is one placeholder; tokenizer.json round-trips and is refused (exit 2, naming the
// file and the field) when it does not fit the model's vocabulary.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineInputError } from '../src/engine/errors.js';
import { PLACEHOLDER_ID, charTokenizer, parseTokenizerJson } from '../src/engine/tokenizer.js';
import { runCli } from './helpers/cli.js';
import { goldenDir } from './helpers/paths.js';

describe('character tokenizer', () => {
  it('gives every ASCII character its own code as id, and decodes back', () => {
    fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).filter((c) => c !== PLACEHOLDER_ID).map((c) => String.fromCharCode(c)) }), (s) => {
      const ids = charTokenizer.encode(s);
      expect(ids).toEqual([...s].map((c) => c.charCodeAt(0)));
      expect(charTokenizer.decode(ids)).toBe(s);
    }));
  });

  it('spells typographic quotes, dashes and the ellipsis in ASCII', () => {
    const t = charTokenizer.decode(charTokenizer.encode('\u201cWell\u2014I\u2019m \u2018here\u2019\u2026\u201d said 3\u20134'));
    expect(t).toBe(`"Well--I'm 'here'..." said 3-4`);
  });

  it('drops accents and turns any other character into the one placeholder id', () => {
    expect(charTokenizer.encode('caf\u00e9 na\u00efve')).toEqual(charTokenizer.encode('cafe naive'));
    expect(charTokenizer.encode('a\u4e2db\u{1f600}c')).toEqual([97, PLACEHOLDER_ID, 98, PLACEHOLDER_ID, 99]);
    expect(charTokenizer.decode([97, PLACEHOLDER_ID])).toBe('a\ufffd');
  });

  it('every id it makes is in 0..127', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => charTokenizer.encode(s).every((id) => Number.isInteger(id) && id >= 0 && id < 128)), { numRuns: 100 });
  });

  it('reads back what it writes, and refuses a tokenizer that does not fit the config', () => {
    const text = JSON.stringify(charTokenizer.toJson());
    expect(parseTokenizerJson(text, 'tokenizer.json', 128).encode('abc')).toEqual([97, 98, 99]);
    expect(() => parseTokenizerJson(text, 'dir/tokenizer.json', 48, 'dir/config.json')).toThrow(EngineInputError);
    expect(() => parseTokenizerJson(text, 'dir/tokenizer.json', 48, 'dir/config.json')).toThrow(/dir\/tokenizer\.json: "vocab_size" is 128 but dir\/config\.json has vocab_size 48/);
    const bad = JSON.stringify({ ...charTokenizer.toJson(), vocab_size: 256 });
    expect(() => parseTokenizerJson(bad, 't.json', 128)).toThrow(/t\.json: "vocab_size" must be 128/);
    expect(() => parseTokenizerJson('{"type": "bpe"}', 't.json', 128)).toThrow(/t\.json: "type"/);
    expect(() => parseTokenizerJson('not json', 't.json', 128)).toThrow(/t\.json: not valid JSON/);
  });
});

describe('--prompt through the CLI', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-tokenizer-'));
  /** A golden model folder (vocab 128) with a tokenizer.json beside it. */
  function modelWithTokenizer(name: string, tokenizer: object): string {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) writeFileSync(path.join(dir, f), readFileSync(path.join(goldenDir('b_moe_mtp_tiny'), f)));
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    return dir;
  }

  it('generate encodes the prompt and prints the text', async () => {
    const dir = modelWithTokenizer('ok', charTokenizer.toJson());
    const r = await runCli(['generate', '--model', dir, '--prompt', 'Hi \u201cyou\u201d', '--max-new-tokens', '5', '--greedy', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tokens: number[]; prompt_ids: number[]; prompt: string; text: string };
    expect(out.prompt_ids).toEqual([72, 105, 32, 34, 121, 111, 117, 34]);
    expect(out.prompt).toBe('Hi "you"');
    expect(out.text).toBe(charTokenizer.decode(out.tokens));
    expect(out.tokens).toHaveLength(5);
  });

  it('a tokenizer.json that does not match the config is refused with exit 2, naming the file and the field', async () => {
    const dir = modelWithTokenizer('mismatch', { ...charTokenizer.toJson(), vocab_size: 64 });
    const r = await runCli(['forward', '--model', dir, '--prompt', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(path.join(dir, 'tokenizer.json'));
    expect(r.stderr).toContain('"vocab_size"');
  });

  it('a model of another vocabulary cannot take the character tokenizer', async () => {
    const dir = path.join(tmp, 'vocab48');
    mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) writeFileSync(path.join(dir, f), readFileSync(path.join(goldenDir('train/t_moe_mtp'), f)));
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(charTokenizer.toJson()));
    const r = await runCli(['forward', '--model', dir, '--prompt', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tokenizer\.json: "vocab_size" is 128 but .*config\.json has vocab_size 48/);
  });
});
