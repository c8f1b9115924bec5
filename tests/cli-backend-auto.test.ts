// `--backend auto` on the command line: the first command measures and stores the winner table for
// this machine and build (kernels/select/file-table.ts, here in a temporary folder), later commands
// read it, so two runs route every op the same way and print bit-identical logits. (One function,
// src/cli/backend.ts, picks the backend for forward, generate, speculate and medusa-train.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { goldenDir } from './helpers/paths.js';

const model = goldenDir('b_moe_mtp_tiny');
let tmp = '';
let tables = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-auto-'));
  tables = path.join(tmp, 'tables');
  writeFileSync(path.join(tmp, 'input.json'), JSON.stringify({ input_ids: [3, 1, 4, 1, 5, 9, 2, 6] }));
});
afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

describe('--backend auto', () => {
  it('stores the winner table on the first run and reads it on the next: the same logits, bit for bit', async () => {
    const args = ['forward', '--model', model, '--input', path.join(tmp, 'input.json'), '--json', '--backend', 'auto'];
    const env = { NANOSEEK_KERNEL_TABLES: tables };
    const first = await runCli(args, { env, timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const files = readdirSync(tables);
    expect(files).toHaveLength(1);
    const stored = readFileSync(path.join(tables, files[0]!), 'utf8');
    const written = statSync(path.join(tables, files[0]!)).mtimeMs;
    const second = await runCli(args, { env, timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(0);
    // Read, not measured and written again.
    expect(readFileSync(path.join(tables, files[0]!), 'utf8')).toBe(stored);
    expect(statSync(path.join(tables, files[0]!)).mtimeMs).toBe(written);
    const a = JSON.parse(first.stdout) as { logits: number[][] }, b = JSON.parse(second.stdout) as { logits: number[][] };
    expect(a.logits.flat().length).toBeGreaterThan(0);
    expect(b.logits).toEqual(a.logits);
  });
});
