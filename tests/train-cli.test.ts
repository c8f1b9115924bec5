// The golden-mode `train` command on bad input: exit 2, nothing on stdout, one line on stderr
// naming the file and the field at fault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { goldenDir } from './helpers/paths.js';

const G = goldenDir('train/t_moe_mtp');
const hparams = JSON.parse(readFileSync(path.join(G, 'train.json'), 'utf8')) as Record<string, unknown>;
const batch = JSON.parse(readFileSync(path.join(G, 'batch.json'), 'utf8')) as { input_ids: number[][] };
let tmp = '';
let n = 0;

beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-train-cli-')); });
afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

function file(name: string, value: unknown): string {
  const f = path.join(tmp, `${++n}-${name}`);
  writeFileSync(f, JSON.stringify(value));
  return f;
}

async function expectBad(args: { hparams?: unknown; batch?: unknown; extra?: string[]; drop?: string }, ...needles: (string | RegExp)[]) {
  const hp = file('train.json', args.hparams ?? hparams), b = file('batch.json', args.batch ?? batch);
  let argv = ['train', '--model', G, '--batch-file', b, '--hparams', hp, '--out', path.join(tmp, `out-${n}`), '--json', ...(args.extra ?? [])];
  if (args.drop) { const i = argv.indexOf(args.drop); argv = [...argv.slice(0, i), ...argv.slice(i + 2)]; }
  const r = await runCli(argv);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  for (const needle of needles) expect(r.stderr).toMatch(needle);
  return { hp, b };
}

describe('train --batch-file refuses bad input by name', () => {
  it('a missing hyper-parameter', async () => {
    const { lr: _lr, ...rest } = hparams;
    await expectBad({ hparams: rest }, /train\.json/, /"lr" is missing/);
  });
  it('a negative hyper-parameter', async () => {
    await expectBad({ hparams: { ...hparams, weight_decay: -0.1 } }, /train\.json/, /"weight_decay" must be >= 0/);
  });
  it('steps that are not an integer, betas out of range, an unknown balancing', async () => {
    await expectBad({ hparams: { ...hparams, steps: 1.5 } }, /"steps" must be an integer/);
    await expectBad({ hparams: { ...hparams, betas: [0.9, 1.2] } }, /"betas" must be two numbers in \[0, 1\)/);
    await expectBad({ hparams: { ...hparams, balancing: 'sometimes' } }, /"balancing" must be "bias", "aux" or "none"/);
  });
  it('a batch row with an out-of-range id', async () => {
    const rows = batch.input_ids.map((r) => [...r]);
    rows[1][4] = 48; // vocab_size 48
    await expectBad({ batch: { input_ids: rows } }, /batch\.json/, /input_ids\[1\]\[4\] = 48 is not a token id in 0\.\.47/);
  });
  it('rows of different lengths, and rows too short for the MTP module', async () => {
    await expectBad({ batch: { input_ids: [batch.input_ids[0], batch.input_ids[1].slice(0, 5)] } }, /input_ids\[1\] has 5 tokens but input_ids\[0\] has 10/);
    await expectBad({ batch: { input_ids: [[1, 2]] } }, /training needs at least 3/);
  });
  it('a missing flag', async () => {
    await expectBad({ drop: '--hparams' }, /--hparams is required/);
  });
});
