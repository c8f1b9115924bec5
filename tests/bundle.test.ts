// A checkpoint as one file (src/engine/bundle.ts, what the training lesson downloads): the archive is a
// real ustar (its header checksum and fields as POSIX defines them), files come back byte for byte,
// damaged or foreign files are refused with one line naming the file, and the CLI runs a model from
// the .tar exactly as from its folder.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { looksLikeBundle, readBundle, writeBundle } from '../src/engine/bundle.js';
import { runCli } from './helpers/cli.js';
import { goldenDir } from './helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const bytes = (s: string) => new TextEncoder().encode(s);
const base = () => new Map([['config.json', bytes('{}')], ['model.safetensors', new Uint8Array([1, 2, 3])]]);

describe('checkpoint bundle', () => {
  it('round-trips any files byte for byte', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 1500 }), { minLength: 0, maxLength: 3 }), (extra) => {
      const files = base();
      extra.forEach((b, i) => files.set(`extra-${i}.bin`, b));
      const out = readBundle(writeBundle(files));
      expect([...out.keys()]).toEqual([...files.keys()]);
      for (const [k, v] of files) expect(Array.from(out.get(k)!)).toEqual(Array.from(v));
    }), { numRuns: 30 });
  });

  it('writes POSIX ustar headers: 512-byte blocks, octal size, the checksum over the header with its field as spaces', () => {
    const tar = writeBundle(base());
    expect(tar.length % 512).toBe(0);
    expect(looksLikeBundle(tar)).toBe(true);
    const h = tar.subarray(0, 512);
    expect(new TextDecoder().decode(h.subarray(0, 11))).toBe('config.json');
    expect(parseInt(new TextDecoder().decode(h.subarray(124, 135)), 8)).toBe(2);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    expect(parseInt(new TextDecoder().decode(h.subarray(148, 154)), 8)).toBe(sum);
    // the archive ends with two zero blocks
    expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);
  });

  it('refuses damaged and foreign files with a line naming the file', () => {
    const tar = writeBundle(base());
    const flipped = Uint8Array.from(tar);
    flipped[3] ^= 1;
    expect(() => readBundle(flipped, 'run.tar')).toThrow(/^run\.tar: header at byte 0 has a bad checksum/);
    expect(() => readBundle(tar.subarray(0, 600), 'run.tar')).toThrow(/^run\.tar: the archive is truncated/);
    expect(() => readBundle(bytes('hello'), 'notes.txt')).toThrow(/^notes\.txt: not a checkpoint bundle/);
    expect(() => readBundle(writeBundle([['config.json', bytes('{}')]]), 'half.tar')).toThrow(/^half\.tar: the bundle has no model\.safetensors/);
    expect(() => writeBundle([['../x', bytes('')]])).toThrow(/file name/);
  });

  it('the CLI reads --model FILE.tar as it reads the folder', async () => {
    const dir = goldenDir('b_moe_mtp_tiny');
    const tar = path.join(tmp, 'b.tar');
    writeFileSync(tar, writeBundle([['config.json', readFileSync(path.join(dir, 'config.json'))], ['model.safetensors', readFileSync(path.join(dir, 'model.safetensors'))]]));
    const input = path.join(dir, 'input.json');
    const [fromDir, fromTar] = await Promise.all([
      runCli(['forward', '--model', dir, '--input', input, '--json', '--backend', 'reference']),
      runCli(['forward', '--model', tar, '--input', input, '--json', '--backend', 'reference']),
    ]);
    expect(fromDir.code, fromDir.stderr).toBe(0);
    expect(fromTar.code, fromTar.stderr).toBe(0);
    expect(fromTar.stdout).toBe(fromDir.stdout);
    const bad = path.join(tmp, 'bad.tar');
    const broken = readFileSync(tar);
    broken[5] ^= 1;
    writeFileSync(bad, broken);
    const r = await runCli(['forward', '--model', bad, '--input', input, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.tar: header at byte 0 has a bad checksum/);
  });
});
