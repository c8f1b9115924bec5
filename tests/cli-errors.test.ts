// The CLI's contract for bad input: a clear message on stderr naming the file and the key or tensor
// at fault, nothing on stdout, exit code 2. Each case copies a golden model into a temp folder,
// corrupts one thing, and runs the real CLI (`node --import tsx src/cli/main.ts`) on it.
// A few success cases first prove that the harness itself runs the engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../src/engine/safetensors.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { goldenDir, repoRoot } from './helpers/paths.js';

const A = 'a_dense_tiny'; // 2 dense layers, q_proj, no MTP, vocab 128
const B = 'b_moe_mtp_tiny'; // dense + MoE layer, q_lora, one MTP module, vocab 128

let tmp = '';
let counter = 0;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-cli-errors-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Case {
  dir: string;
  config: string;
  weights: string;
  input: string;
}

/** A fresh writable copy of a golden case (config.json, model.safetensors, input.json). */
function copyCase(name: string, label: string): Case {
  const dir = path.join(tmp, `${++counter}-${label}`);
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'input.json']) {
    writeFileSync(path.join(dir, f), readFileSync(path.join(goldenDir(name), f)));
  }
  return { dir, config: path.join(dir, 'config.json'), weights: path.join(dir, 'model.safetensors'), input: path.join(dir, 'input.json') };
}

function editConfig(c: Case, edit: (raw: Record<string, unknown>) => void): void {
  const raw = JSON.parse(readFileSync(c.config, 'utf8')) as Record<string, unknown>;
  edit(raw);
  writeFileSync(c.config, JSON.stringify(raw, null, 2));
}

function writeInput(c: Case, text: string): void {
  writeFileSync(c.input, text);
}

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number]; }

/** Split a safetensors file into its header (parsed, key order kept) and its data buffer. */
function splitSafetensors(bytes: Uint8Array): { header: Record<string, HeaderEntry>; headerLength: number; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  expect(view.getUint32(4, true)).toBe(0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  return { header, headerLength, data: bytes.subarray(8 + headerLength) };
}

/** Assemble a safetensors file from a header object and a data buffer (header padded to 8 bytes). */
function joinSafetensors(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

function editHeader(c: Case, edit: (header: Record<string, HeaderEntry>, dataLength: number) => void): void {
  const { header, data } = splitSafetensors(new Uint8Array(readFileSync(c.weights)));
  edit(header, data.length);
  writeFileSync(c.weights, joinSafetensors(header, data));
}

/** Rewrite the checkpoint through the engine's own writer after changing its tensor map. */
function editTensors(c: Case, edit: (tensors: Map<string, TensorToWrite>) => void): void {
  const { tensors } = readSafetensors(new Uint8Array(readFileSync(c.weights)), c.weights);
  const map = new Map<string, TensorToWrite>([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  edit(map);
  writeFileSync(c.weights, writeSafetensors(map));
}

const forward = (c: Case, ...extra: string[]) => runCli(['forward', '--model', c.dir, '--input', c.input, '--json', ...extra]);

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A number standing alone (so 12 does not match inside 128). */
const num = (n: number | string) => new RegExp(`(^|[^0-9.])${escapeRe(String(n))}($|[^0-9])`);
/** A shape written as a list, e.g. [40, 64] or 40 x 64. */
const shape = (dims: number[]) => new RegExp(dims.map((d) => `\\b${d}\\b`).join('\\s*[,x×]\\s*'));

/** The bad-input contract: exit code 2, nothing on stdout, one clear message with every fragment. */
function expectBadInput(r: CliResult, ...fragments: (string | RegExp)[]): void {
  const shown = `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(0, 500)}\n--- stderr ---\n${r.stderr}`;
  expect(r.code, shown).toBe(2);
  expect(r.stdout, shown).toBe('');
  expect(r.stderr, shown).toMatch(/^error: /);
  expect(r.stderr, shown).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/); // no stack trace
  for (const f of fragments) {
    if (typeof f === 'string') expect(r.stderr, shown).toContain(f);
    else expect(r.stderr, shown).toMatch(f);
  }
}

function expectOk(r: CliResult): void {
  expect(r.code, `exit ${r.code}\n--- stderr ---\n${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
}

const goldenInput = (name: string): number[] => JSON.parse(readFileSync(path.join(goldenDir(name), 'input.json'), 'utf8')).input_ids;
const goldenConfig = (name: string): Record<string, number> => JSON.parse(readFileSync(path.join(goldenDir(name), 'config.json'), 'utf8'));

// ------------------------------------------------------------------------------------------------

describe('the harness runs the engine (one success per command)', () => {
  it('forward on a_dense_tiny prints JSON logits [T][vocab] and no MoE routing or MTP', async () => {
    const c = copyCase(A, 'ok-forward-a');
    const r = await forward(c);
    expectOk(r);
    const out = JSON.parse(r.stdout);
    const T = goldenInput(A).length, V = goldenConfig(A).vocab_size;
    expect(out.logits).toHaveLength(T);
    for (const row of out.logits) {
      expect(row).toHaveLength(V);
      for (const x of row) expect(Number.isFinite(x)).toBe(true);
    }
    // first_k_dense_replace (2) >= num_hidden_layers (2): every layer is dense.
    expect(out.routing).toEqual({});
    expect(out.mtp).toBeUndefined();
  });

  it('forward on b_moe_mtp_tiny adds routing for the MoE layer and MTP logits', async () => {
    const c = copyCase(B, 'ok-forward-b');
    const r = await forward(c);
    expectOk(r);
    const out = JSON.parse(r.stdout);
    const ids = goldenInput(B), cfg = goldenConfig(B), T = ids.length, V = cfg.vocab_size;
    expect(out.logits).toHaveLength(T);
    for (const row of out.logits) expect(row).toHaveLength(V);
    expect(Object.keys(out.routing)).toEqual(['model.layers.1.mlp']);
    const experts: number[][] = out.routing['model.layers.1.mlp'].experts;
    expect(experts).toHaveLength(T);
    for (const e of experts) {
      expect(e).toHaveLength(cfg.num_experts_per_tok);
      for (const j of e) expect(j >= 0 && j < cfg.n_routed_experts).toBe(true);
    }
    expect(out.mtp.logits).toHaveLength(T);
    for (const row of out.mtp.logits) expect(row).toHaveLength(V);
    expect(out.mtp.input_next_tokens.slice(0, T - 1)).toEqual(ids.slice(1));
  });

  it('generate and speculate (MTP draft, greedy) both reproduce the golden greedy tokens', async () => {
    const c = copyCase(B, 'ok-generate-speculate');
    const expected = JSON.parse(readFileSync(path.join(goldenDir(B), 'expected.json'), 'utf8')).greedy_decode.tokens as number[];
    const n = String(expected.length);
    const [g, s] = await Promise.all([
      runCli(['generate', '--model', c.dir, '--input', c.input, '--max-new-tokens', n, '--greedy', '--json']),
      runCli(['speculate', '--model', c.dir, '--input', c.input, '--max-new-tokens', n, '--greedy', '--draft', 'mtp', '--json']),
    ]);
    expectOk(g);
    expectOk(s);
    expect(JSON.parse(g.stdout).tokens).toEqual(expected);
    expect(JSON.parse(s.stdout).tokens).toEqual(expected);
  });

  it('kv-table accepts static/configs/deepseek-v3.json although rope_scaling is set', async () => {
    const file = path.join(repoRoot, 'static/configs/deepseek-v3.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    expect(cfg.rope_scaling).not.toBeNull(); // the point of the case
    const r = await runCli(['kv-table', '--config', file, '--context', '1000', '--json']);
    expectOk(r);
    const out = JSON.parse(r.stdout);
    expect(out.context).toBe(1000);
    const mla = out.rows.find((row: { scheme: string }) => row.scheme === 'MLA');
    expect(mla.elementsPerTokenPerLayer).toBe(cfg.kv_lora_rank + cfg.qk_rope_head_dim); // 512 + 64
  });

  it('init writes a model folder that forward then loads', async () => {
    const out = path.join(tmp, `${++counter}-init-out`);
    const src = path.join(goldenDir(B), 'config.json');
    const r = await runCli(['init', '--config', src, '--seed', '7', '--out', out]);
    expectOk(r);
    const cfg = goldenConfig(B);
    const written = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    for (const k of ['hidden_size', 'vocab_size', 'n_routed_experts', 'num_nextn_predict_layers', 'q_lora_rank'] as const) {
      expect(written[k]).toBe(cfg[k]);
    }
    const f = await runCli(['forward', '--model', out, '--input', path.join(goldenDir(B), 'input.json'), '--json']);
    expectOk(f);
    const res = JSON.parse(f.stdout);
    expect(res.logits).toHaveLength(goldenInput(B).length);
    expect(res.logits[0]).toHaveLength(cfg.vocab_size);
    expect(res.mtp.logits).toHaveLength(goldenInput(B).length);
  });
});

// ------------------------------------------------------------------------------------------------

describe('config.json errors name the file, the key and the problem', () => {
  it('missing key: hidden_size removed', async () => {
    const c = copyCase(A, 'missing-hidden-size');
    editConfig(c, (raw) => void delete raw.hidden_size);
    expectBadInput(await forward(c), c.config, '"hidden_size"', /missing/);
  });

  it('wrong type: "hidden_size": "64" (kv-table)', async () => {
    const c = copyCase(A, 'string-hidden-size');
    editConfig(c, (raw) => void (raw.hidden_size = '64'));
    expectBadInput(await runCli(['kv-table', '--config', c.config, '--context', '16']), c.config, '"hidden_size"', /integer/, '"64"');
  });

  it('n_routed_experts (16) not divisible by n_group (3)', async () => {
    const c = copyCase(B, 'n-group-3');
    editConfig(c, (raw) => void (raw.n_group = 3));
    expectBadInput(await forward(c), c.config, '"n_group"', /divide/, 'n_routed_experts', num(16), num(3));
  });

  it('num_experts_per_tok (9) larger than the experts in the kept groups (2 groups x 4 = 8)', async () => {
    const c = copyCase(B, 'topk-9');
    editConfig(c, (raw) => void (raw.num_experts_per_tok = 9));
    expectBadInput(await forward(c), c.config, '"num_experts_per_tok"', /kept groups/, num(9), num(8));
  });

  it('topk_group (5) > n_group (4)', async () => {
    const c = copyCase(B, 'topk-group-5');
    editConfig(c, (raw) => void (raw.topk_group = 5));
    expectBadInput(await forward(c), c.config, '"topk_group"', 'n_group', num(5), num(4));
  });

  it('odd qk_rope_head_dim (7)', async () => {
    const c = copyCase(A, 'rope-dim-7');
    editConfig(c, (raw) => void (raw.qk_rope_head_dim = 7));
    expectBadInput(await forward(c), c.config, '"qk_rope_head_dim"', /even/, num(7));
  });

  it('rope_scaling set to a YaRN object is refused by forward', async () => {
    const c = copyCase(A, 'yarn');
    editConfig(c, (raw) => void (raw.rope_scaling = { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 }));
    expectBadInput(await forward(c), c.config, '"rope_scaling"', /not supported/);
  });

  it('rope_scaling set is refused by init too (it would write a model the engine cannot run)', async () => {
    const file = path.join(repoRoot, 'static/configs/deepseek-v3.json');
    const out = path.join(tmp, `${++counter}-init-refused`);
    expectBadInput(await runCli(['init', '--config', file, '--seed', '1', '--out', out]), file, '"rope_scaling"', /not supported/);
  });

  it('config.json that is not valid JSON', async () => {
    const c = copyCase(A, 'bad-json');
    writeFileSync(c.config, readFileSync(c.config, 'utf8').slice(0, 200)); // cut mid-object
    expectBadInput(await forward(c), c.config, /not valid JSON/);
  });

  it('config.json missing from the model folder', async () => {
    const c = copyCase(A, 'no-config');
    rmSync(c.config);
    expectBadInput(await forward(c), c.config, /not found/);
  });
});

// ------------------------------------------------------------------------------------------------

describe('model.safetensors errors name the file, the tensor and the problem', () => {
  it('truncated to half its length', async () => {
    const c = copyCase(A, 'truncated');
    const bytes = new Uint8Array(readFileSync(c.weights));
    const half = bytes.subarray(0, Math.floor(bytes.length / 2));
    const { header, headerLength } = splitSafetensors(bytes);
    expect(8 + headerLength).toBeLessThan(half.length); // the header survives, the data does not
    const dataLength = half.length - 8 - headerLength;
    // The first tensor (in header order) whose bytes are gone is the one to report.
    const first = Object.entries(header).find(([k, e]) => k !== '__metadata__' && e.data_offsets[1] > dataLength)![0];
    writeFileSync(c.weights, half);
    expectBadInput(await forward(c), c.weights, `"${first}"`, /past the end/, /truncated/);
  });

  it('header length past the end of the file', async () => {
    const c = copyCase(A, 'header-too-long');
    const bytes = new Uint8Array(readFileSync(c.weights));
    const declared = bytes.length; // 8 + declared > file length
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, declared, true);
    writeFileSync(c.weights, bytes);
    expectBadInput(await forward(c), c.weights, /header/, num(declared), /past the end/);
  });

  it('data_offsets out of bounds', async () => {
    const c = copyCase(A, 'offsets-oob');
    const name = 'model.norm.weight';
    let dataLength = 0;
    editHeader(c, (h, n) => {
      dataLength = n;
      const size = h[name]!.data_offsets[1] - h[name]!.data_offsets[0];
      h[name]!.data_offsets = [n, n + size]; // right after the last byte
    });
    expectBadInput(await forward(c), c.weights, `"${name}"`, 'data_offsets', num(dataLength), /past the end/);
  });

  it('two tensors overlapping', async () => {
    const c = copyCase(A, 'overlap');
    const a = 'model.layers.0.input_layernorm.weight', b = 'model.layers.0.post_attention_layernorm.weight';
    editHeader(c, (h) => {
      expect(h[a]!.shape).toEqual(h[b]!.shape);
      h[b]!.data_offsets = [...h[a]!.data_offsets]; // b now reads a's bytes; b's own become a gap
    });
    expectBadInput(await forward(c), c.weights, `"${a}"`, `"${b}"`, /overlap/);
  });

  it('unknown dtype', async () => {
    const c = copyCase(A, 'dtype');
    const name = 'model.layers.1.mlp.up_proj.weight';
    editHeader(c, (h) => void (h[name]!.dtype = 'I4')); // F8 dtypes are read now (precision work)
    expectBadInput(await forward(c), c.weights, `"${name}"`, 'I4', /not support/);
  });

  it('a tensor missing from the checkpoint', async () => {
    const c = copyCase(A, 'missing-tensor');
    const name = 'model.layers.1.self_attn.kv_b_proj.weight';
    editTensors(c, (m) => expect(m.delete(name)).toBe(true));
    expectBadInput(await forward(c), c.weights, `"${name}"`, /missing/);
  });

  it('config kv_lora_rank changed so kv_a_proj_with_mqa no longer fits', async () => {
    const c = copyCase(A, 'kv-lora-24');
    editConfig(c, (raw) => void (raw.kv_lora_rank = 24));
    // File: [32 + 8, 64]; the config now needs [24 + 8, 64]. It is the first mis-shaped tensor of layer 0.
    expectBadInput(await forward(c), c.weights, '"model.layers.0.self_attn.kv_a_proj_with_mqa.weight"', shape([40, 64]), shape([32, 64]));
  });

  it('a tensor rewritten with a wrong (transposed) shape', async () => {
    const c = copyCase(B, 'transposed-o-proj');
    const name = 'model.layers.1.self_attn.o_proj.weight'; // [hidden 64, heads 4 x v_head_dim 12]
    editTensors(c, (m) => {
      const t = m.get(name)!;
      expect(t.shape).toEqual([64, 48]);
      m.set(name, { shape: [48, 64], data: t.data });
    });
    expectBadInput(await forward(c), c.weights, `"${name}"`, shape([48, 64]), shape([64, 48]));
  });

  it('model.safetensors missing from the model folder', async () => {
    const c = copyCase(A, 'no-weights');
    rmSync(c.weights);
    expectBadInput(await forward(c), c.weights, /not found/);
  });
});

// ------------------------------------------------------------------------------------------------

describe('input file errors name the file, the entry and the problem', () => {
  it('token id 128 with vocab_size 128 (one past the end)', async () => {
    const c = copyCase(A, 'token-128');
    writeInput(c, JSON.stringify({ input_ids: [5, 128] }));
    expectBadInput(await forward(c), 'input_ids[1]', num(128), /vocab_size 128|0\.\.127/);
  });

  it('token id -1', async () => {
    const c = copyCase(A, 'token-neg');
    writeInput(c, JSON.stringify({ input_ids: [-1, 5] }));
    expectBadInput(await runCli(['generate', '--model', c.dir, '--input', c.input, '--max-new-tokens', '2', '--greedy']), 'input_ids[0]', num(-1), /vocab_size 128|0\.\.127/);
  });

  it('token id out of range: the message names the input file', async () => {
    const c = copyCase(A, 'token-range-file');
    writeInput(c, JSON.stringify({ input_ids: [128] }));
    expectBadInput(await forward(c), c.input, 'input_ids[0]', num(128));
  });

  it('token id 1.5', async () => {
    const c = copyCase(A, 'token-frac');
    writeInput(c, JSON.stringify({ input_ids: [3, 1.5] }));
    expectBadInput(await forward(c), c.input, 'input_ids[1]', num(1.5), /integer/);
  });

  it('empty input_ids', async () => {
    const c = copyCase(A, 'empty-ids');
    writeInput(c, JSON.stringify({ input_ids: [] }));
    expectBadInput(await forward(c), c.input, 'input_ids', /empty/);
  });

  it('input_ids not an array', async () => {
    const c = copyCase(A, 'ids-string');
    writeInput(c, JSON.stringify({ input_ids: '1 2 3' }));
    expectBadInput(await forward(c), c.input, 'input_ids', /array/);
  });

  it('missing input file', async () => {
    const c = copyCase(A, 'no-input');
    rmSync(c.input);
    expectBadInput(await forward(c), c.input, /not found/);
  });
});

// ------------------------------------------------------------------------------------------------

describe('bad options name the option and the value', () => {
  it('unknown --attention value', async () => {
    const c = copyCase(A, 'attention');
    const r = await runCli(['generate', '--model', c.dir, '--input', c.input, '--max-new-tokens', '2', '--greedy', '--attention', 'sideways']);
    expectBadInput(r, '--attention', '"sideways"', 'absorbed');
  });

  it('--draft mtp on a model without an MTP layer', async () => {
    const c = copyCase(A, 'no-mtp');
    const r = await runCli(['speculate', '--model', c.dir, '--input', c.input, '--max-new-tokens', '3', '--greedy', '--draft', 'mtp']);
    expectBadInput(r, /MTP/, 'num_nextn_predict_layers', num(0));
  });

  it('--max-new-tokens=-1', async () => {
    const c = copyCase(A, 'max-neg');
    const r = await runCli(['generate', '--model', c.dir, '--input', c.input, '--max-new-tokens=-1', '--greedy']);
    expectBadInput(r, '--max-new-tokens', num(-1), />= 0/);
  });

  it('--max-new-tokens -1 (separate argument, read as an option by the parser)', async () => {
    const c = copyCase(A, 'max-neg-space');
    const r = await runCli(['generate', '--model', c.dir, '--input', c.input, '--max-new-tokens', '-1', '--greedy']);
    expectBadInput(r, '--max-new-tokens');
  });

  it('--max-new-tokens abc', async () => {
    const c = copyCase(A, 'max-abc');
    const r = await runCli(['generate', '--model', c.dir, '--input', c.input, '--max-new-tokens', 'abc', '--greedy']);
    expectBadInput(r, '--max-new-tokens', '"abc"', /integer/);
  });

  it('unknown option', async () => {
    const c = copyCase(A, 'bogus-flag');
    expectBadInput(await forward(c, '--bogus'), '--bogus');
  });

  it('missing --model', async () => {
    expectBadInput(await runCli(['forward', '--input', path.join(goldenDir(A), 'input.json')]), '--model', /required/);
  });

  it('unknown command', async () => {
    expectBadInput(await runCli(['frobnicate', '--model', goldenDir(A)]), /unknown command/, '"frobnicate"');
  });
});
