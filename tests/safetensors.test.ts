import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenDir } from './helpers/paths.js';
import {
  bf16ToF32,
  f16ToF32,
  readSafetensors,
  writeSafetensors,
  type TensorToWrite,
} from '../src/engine/safetensors.js';
import { CheckpointError } from '../src/engine/errors.js';
import { parseConfig } from '../src/engine/config.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const golden = (name: string, file: string) => path.join(goldenDir(name), file);

// ------------------------------------------------------------------------------------------------
// Building raw files by hand, for the malformed cases and the F16/BF16/F64 cases.

function rawFile(header: unknown, data: Uint8Array, opts: { headerLength?: number; headerText?: string } = {}): Uint8Array {
  const json = new TextEncoder().encode(opts.headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, opts.headerLength ?? json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function expectCheckpointError(fn: () => unknown, ...fragments: (string | RegExp)[]): CheckpointError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  const err = caught as CheckpointError;
  for (const f of fragments) {
    if (typeof f === 'string') expect(err.message).toContain(f);
    else expect(err.message).toMatch(f);
  }
  return err;
}

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

// ------------------------------------------------------------------------------------------------

describe('writeSafetensors / readSafetensors round trip', () => {
  const nameArb = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).filter((s) => s !== '__metadata__');
  const tensorArb: fc.Arbitrary<TensorToWrite> = fc
    .array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }) // [] is a scalar; 0 dims are zero-size
    .chain((shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return fc.array(fc.float(), { minLength: n, maxLength: n }).map((values) => ({ shape, data: Float32Array.from(values) }));
    });
  const tensorsArb = fc.dictionary(nameArb, tensorArb, { maxKeys: 6 });
  const metaArb = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined });

  it('reads back every name, shape and bit pattern, and the metadata', () => {
    fc.assert(
      fc.property(tensorsArb, metaArb, (tensors, meta) => {
        const bytes = writeSafetensors(tensors, meta);
        // Header padded with spaces to a multiple of 8.
        const n = new DataView(bytes.buffer).getUint32(0, true);
        expect(n % 8).toBe(0);
        const { tensors: back, metadata } = readSafetensors(bytes, 'roundtrip.safetensors');
        expect(metadata).toEqual(meta ?? { format: 'pt' });
        expect([...back.keys()].sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const r = back.get(name)!;
          expect(r.dtype).toBe('F32');
          expect(r.shape).toEqual(t.shape);
          expect(Array.from(bitsOf(r.data))).toEqual(Array.from(bitsOf(t.data))); // exact, incl. -0 and NaN
        }
      }),
      { numRuns: 200 },
    );
  });

  it('accepts a Map, writes tensors sorted by name, and returns aligned copies', () => {
    const m = new Map<string, TensorToWrite>([
      ['b', { shape: [2], data: new Float32Array([1, 2]) }],
      ['a', { shape: [], data: new Float32Array([7]) }],
      ['c', { shape: [0, 3], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(m);
    const n = new DataView(bytes.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(Object.keys(header)).toEqual(['__metadata__', 'a', 'b', 'c']);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header.a.data_offsets).toEqual([0, 4]);
    expect(header.b.data_offsets).toEqual([4, 12]);
    expect(header.c.data_offsets).toEqual([12, 12]);
    // Read from an unaligned view of the bytes: the reader must copy, not view.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const { tensors } = readSafetensors(shifted.subarray(1), 'shifted.safetensors');
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, 2]);
    expect(tensors.get('a')!.shape).toEqual([]);
    expect(Array.from(tensors.get('a')!.data)).toEqual([7]);
    expect(tensors.get('c')!.data.length).toBe(0);
    expect(tensors.get('b')!.data.byteOffset).toBe(0);
  });

  it('refuses to write a shape that does not match its data', () => {
    expectCheckpointError(() => writeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } }), 'tensor "w"', '5 values', 'needs 6');
  });
});

describe('golden checkpoints', () => {
  for (const name of ['a_dense_tiny', 'b_moe_mtp_tiny']) {
    it(`reads ${name}/model.safetensors with shapes matching config.json`, () => {
      const cfg = parseConfig(JSON.parse(readFileSync(golden(name, 'config.json'), 'utf8')), { file: `${name}/config.json` });
      const { tensors, metadata } = readSafetensors(new Uint8Array(readFileSync(golden(name, 'model.safetensors'))), `${name}/model.safetensors`);
      expect(metadata).toEqual({ format: 'pt' });
      const shape = (t: string) => {
        expect(tensors.has(t), t).toBe(true);
        return tensors.get(t)!.shape;
      };
      const d = cfg.hidden_size;
      expect(shape('model.embed_tokens.weight')).toEqual([cfg.vocab_size, d]);
      expect(shape('lm_head.weight')).toEqual([cfg.vocab_size, d]);
      expect(shape('model.norm.weight')).toEqual([d]);
      for (let l = 0; l < cfg.num_hidden_layers; l++) {
        const p = `model.layers.${l}.self_attn`;
        expect(shape(`${p}.kv_a_proj_with_mqa.weight`)).toEqual([cfg.kv_lora_rank + cfg.qk_rope_head_dim, d]);
        expect(shape(`${p}.kv_b_proj.weight`)).toEqual([cfg.num_attention_heads * (cfg.qk_nope_head_dim + cfg.v_head_dim), cfg.kv_lora_rank]);
        expect(shape(`${p}.o_proj.weight`)).toEqual([d, cfg.num_attention_heads * cfg.v_head_dim]);
      }
      for (const t of tensors.values()) {
        expect(t.dtype).toBe('F32');
        expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        expect(t.data.every(Number.isFinite)).toBe(true);
      }
      if (cfg.num_nextn_predict_layers > 0) {
        expect(shape(`model.layers.${cfg.num_hidden_layers}.eh_proj.weight`)).toEqual([d, 2 * d]);
      }
    });
  }

  it('re-writes the golden checkpoint to the same bytes it read', () => {
    const bytes = new Uint8Array(readFileSync(golden('b_moe_mtp_tiny', 'model.safetensors')));
    const { tensors, metadata } = readSafetensors(bytes, 'b/model.safetensors');
    const again = readSafetensors(writeSafetensors(tensors, metadata), 'rewritten');
    for (const [n, t] of tensors) expect(Array.from(bitsOf(again.tensors.get(n)!.data))).toEqual(Array.from(bitsOf(t.data)));
  });
});

describe('F16, BF16 and F64 conversion', () => {
  it('converts binary16 bit patterns exactly', () => {
    expect(f16ToF32(0x3c00)).toBe(1.0);
    expect(f16ToF32(0xc100)).toBe(-2.5); // sign 1, exponent 16 (2^1), mantissa 0x100 (1.25): -1.25 * 2
    expect(f16ToF32(0x7bff)).toBe(65504); // largest finite: (2 - 2^-10) * 2^15
    expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16ToF32(0x0400)).toBe(2 ** -14); // smallest normal
    expect(f16ToF32(0x3555)).toBe((1 + 0x155 / 1024) * 2 ** -2); // exponent 13 (2^-2), mantissa 0x155: 0.333251953125
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0x7c01)).toBeNaN();
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(Object.is(f16ToF32(0x0000), 0)).toBe(true);
  });

  it('converts bfloat16 bit patterns exactly', () => {
    expect(bf16ToF32(0x3f80)).toBe(1.0);
    expect(bf16ToF32(0xc020)).toBe(-2.5); // float32 -2.5 is 0xC0200000
    expect(bf16ToF32(0x7f7f)).toBe(3.3895313892515355e38); // largest finite bf16: (2 - 2^-7) * 2^127
    expect(bf16ToF32(0x0001)).toBe(2 ** -133); // smallest subnormal: 2^-126 * 2^-7
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0xff80)).toBe(-Infinity);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
  });

  it('reads F16, BF16 and F64 tensors from a file (little-endian, unaligned offsets)', () => {
    const f16 = u16le([0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0x7e00]);
    const bf16 = u16le([0x3f80, 0xc020, 0xff80]);
    const f64 = new Uint8Array(16);
    new DataView(f64.buffer).setFloat64(0, 0.1, true);
    new DataView(f64.buffer).setFloat64(8, -1e300, true);
    const pad = new Uint8Array([0xaa]); // a gap of one byte: allowed, and it un-aligns what follows
    const data = new Uint8Array([...f16, ...pad, ...bf16, ...f64]);
    const o1 = f16.length + 1;
    const o2 = o1 + bf16.length;
    const header = {
      h: { dtype: 'F16', shape: [2, 3], data_offsets: [0, f16.length] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [o1, o2] },
      d: { dtype: 'F64', shape: [2, 1], data_offsets: [o2, o2 + 16] },
    };
    const { tensors, metadata } = readSafetensors(rawFile(header, data), 'mixed.safetensors');
    expect(metadata).toEqual({});
    const h = Array.from(tensors.get('h')!.data);
    expect(h.slice(0, 5)).toEqual([1, -2.5, 65504, 2 ** -24, Infinity]);
    expect(h[5]).toBeNaN();
    expect(tensors.get('h')!.dtype).toBe('F16');
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -2.5, -Infinity]);
    expect(Array.from(tensors.get('d')!.data)).toEqual([Math.fround(0.1), -Infinity]); // -1e300 overflows float32
    expect(tensors.get('d')!.shape).toEqual([2, 1]);
  });
});

describe('malformed files throw CheckpointError naming the problem and the tensor', () => {
  const goldenBytes = () => new Uint8Array(readFileSync(golden('a_dense_tiny', 'model.safetensors')));
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  it('a file shorter than 8 bytes', () => {
    expectCheckpointError(() => readSafetensors(new Uint8Array(5), 'tiny.safetensors'), 'tiny.safetensors', '5 bytes', 'shorter than the 8-byte header length');
  });

  it('a truncated file (the golden checkpoint cut in half)', () => {
    const bytes = goldenBytes();
    const half = bytes.subarray(0, Math.floor(bytes.length / 2));
    const err = expectCheckpointError(() => readSafetensors(half, 'half.safetensors'), 'half.safetensors: tensor "', 'past the end of the data buffer', 'truncated');
    expect(err.tensor).not.toBeNull();
  });

  it('a file cut inside its header', () => {
    const bytes = goldenBytes();
    expectCheckpointError(() => readSafetensors(bytes.subarray(0, 100), 'cut.safetensors'), 'runs past the end of the file', '100 bytes');
  });

  it('a header length past the end of the file, or absurd', () => {
    expectCheckpointError(() => readSafetensors(rawFile({}, new Uint8Array(0), { headerLength: 4096 }), 'long.safetensors'), 'header of 4096 bytes', 'runs past the end of the file');
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(4, 1, true); // 2^32 bytes
    expectCheckpointError(() => readSafetensors(huge, 'huge.safetensors'), 'huge.safetensors', 'more than the 100000000 allowed');
    const big = new Uint8Array(16);
    new DataView(big.buffer).setUint32(0, 200_000_000, true);
    expectCheckpointError(() => readSafetensors(big, 'big.safetensors'), 'header of 200000000 bytes', 'more than the 100000000 allowed');
  });

  it('a header that is garbage, not UTF-8, or not an object', () => {
    expectCheckpointError(() => readSafetensors(rawFile(null, new Uint8Array(0), { headerText: '{"w": {"dtype": "F32",' }), 'garbage.safetensors'), 'garbage.safetensors', 'not valid JSON');
    const notUtf8 = rawFile(null, new Uint8Array(0), { headerText: '{}' });
    notUtf8[9] = 0xff;
    expectCheckpointError(() => readSafetensors(notUtf8, 'bytes.safetensors'), 'not valid UTF-8');
    expectCheckpointError(() => readSafetensors(rawFile([1, 2], new Uint8Array(0)), 'array.safetensors'), 'not a JSON object');
    expectCheckpointError(() => readSafetensors(rawFile({ __metadata__: { format: 1 } }, new Uint8Array(0)), 'meta.safetensors'), '"__metadata__"."format"', 'must be strings');
  });

  it('offsets out of bounds', () => {
    const err = expectCheckpointError(
      () => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), 'oob.safetensors'),
      'oob.safetensors: tensor "w"', 'data_offsets [0, 16]', 'past the end of the data buffer (8 bytes',
    );
    expect(err.tensor).toBe('w');
    expect(err.file).toBe('oob.safetensors');
    expectCheckpointError(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, new Uint8Array(8)), 'x'), 'tensor "w"', 'begin after end');
    expectCheckpointError(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, new Uint8Array(8)), 'x'), 'tensor "w"', 'non-negative integers');
    expectCheckpointError(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(8)), 'x'), 'tensor "w"', 'expected two integers');
  });

  it('overlapping tensors', () => {
    const header = { a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } };
    expectCheckpointError(() => readSafetensors(rawFile(header, new Uint8Array(16)), 'overlap.safetensors'), 'tensor "b" overlaps tensor "a"', '[8, 16]', '[0, 12]');
    // Contained, not merely adjacent:
    const inside = { big: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, small: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expectCheckpointError(() => readSafetensors(rawFile(inside, new Uint8Array(16)), 'inside.safetensors'), 'tensor "small" overlaps tensor "big"');
    // Adjacent tensors, a gap, and an empty tensor are all fine.
    const fine = { a: ok, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } };
    expect(readSafetensors(rawFile(fine, new Uint8Array(16)), 'fine.safetensors').tensors.size).toBe(3);
  });

  it('a byte length that does not match the shape', () => {
    const err = expectCheckpointError(
      () => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(24)), 'len.safetensors'),
      'tensor "w"', 'has 20 bytes', 'shape [2,3] of F32 needs 6 x 4 = 24 bytes',
    );
    expect(err.tensor).toBe('w');
    expectCheckpointError(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'x'), 'tensor "w"', 'non-negative integer');
    expectCheckpointError(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, new Uint8Array(8)), 'x'), 'tensor "w"', 'non-negative integer');
    expectCheckpointError(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: 'big', data_offsets: [0, 8] } }, new Uint8Array(8)), 'x'), 'tensor "w"', 'not an array');
  });

  it('an unknown dtype', () => {
    for (const dtype of ['I4', 'F8_E8M0', 'I64']) {
      const err = expectCheckpointError(
        () => readSafetensors(rawFile({ ok, 'model.q.weight': { dtype, shape: [8], data_offsets: [8, 16] } }, new Uint8Array(16)), 'q.safetensors'),
        `tensor "model.q.weight" has dtype "${dtype}"`, 'supported: F32, F16, BF16, F64, F8_E4M3, F8_E5M2',
      );
      expect(err.tensor).toBe('model.q.weight');
    }
    expectCheckpointError(() => readSafetensors(rawFile({ w: { shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), 'x'), 'tensor "w" has no dtype');
  });

  it('a header entry that is not an object', () => {
    expectCheckpointError(() => readSafetensors(rawFile({ w: 3 }, new Uint8Array(0)), 'x'), 'tensor "w"', 'not an object');
  });
});
