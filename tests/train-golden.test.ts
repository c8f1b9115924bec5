// The trainer against the golden training case (an independent float64 PyTorch run, README in
// tests/fixtures/golden/train/), through the real CLI as a user runs it, at the README's
// tolerances: losses and grad norm 1e-4 relative; step-1 gradients within 1e-4 of each tensor's
// largest magnitude; loads and biases exact; weights after within 1e-4 except for at most 0.5% of
// elements (Adam's sign flips near a zero gradient), never more than 2 * lr * steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { parseConfigText } from '../src/engine/load.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import { paramsFromTensors, rowsGradient } from '../src/engine/train/index.js';
import { runCli } from './helpers/cli.js';
import { goldenDir } from './helpers/paths.js';

const G = goldenDir('train/t_moe_mtp');
const expected = JSON.parse(readFileSync(path.join(G, 'expected.json'), 'utf8')) as {
  steps: { step: number; loss: number; main: number; mtp: number; balance: number; grad_norm: number; loads: Record<string, number[]>; biases_after: Record<string, number[]> }[];
};
const hparams = JSON.parse(readFileSync(path.join(G, 'train.json'), 'utf8')) as { lr: number; steps: number };

let tmp = '';
let steps: { step: number; loss: number; main: number; mtp: number; balance: number; grad_norm: number; loads: Record<string, number[]> }[] = [];
let code: number | null = null;
let stderr = '';

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-train-golden-'));
  const r = await runCli([
    'train', '--model', G, '--batch-file', path.join(G, 'batch.json'), '--hparams', path.join(G, 'train.json'),
    '--out', path.join(tmp, 'out'), '--grads-out', path.join(tmp, 'grads.safetensors'), '--json',
  ], { timeoutMs: 60_000 });
  code = r.code;
  stderr = r.stderr;
  if (r.code === 0) steps = JSON.parse(r.stdout).steps;
}, 70_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('golden training case t_moe_mtp through the CLI', () => {
  it('runs', () => {
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(steps.map((s) => s.step)).toEqual(expected.steps.map((s) => s.step));
  });

  it('losses and grad norm within 1e-4 relative, loads exact, every step', () => {
    expected.steps.forEach((e, i) => {
      const s = steps[i];
      for (const key of ['loss', 'main', 'mtp', 'balance', 'grad_norm'] as const) {
        expect(rel(s[key], e[key]), `step ${e.step} ${key}: ${s[key]} vs ${e[key]}`).toBeLessThan(1e-4);
      }
      expect(s.loads).toEqual(e.loads);
    });
  });

  it('step-1 gradients within 1e-4 of each tensor\'s largest magnitude', () => {
    const want = readSafetensors(readFileSync(path.join(G, 'grads.safetensors')), 'grads.safetensors').tensors;
    const got = readSafetensors(readFileSync(path.join(tmp, 'grads.safetensors')), 'grads.safetensors').tensors;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, w] of want) {
      const g = got.get(name)!;
      expect(g.shape, name).toEqual(w.shape);
      let max = 0, err = 0;
      for (let i = 0; i < w.data.length; i++) { max = Math.max(max, Math.abs(w.data[i])); err = Math.max(err, Math.abs(g.data[i] - w.data[i])); }
      expect(err, `${name}: max error ${err}, largest ${max}`).toBeLessThanOrEqual(1e-4 * max);
    }
  });

  it('biases after the last step exact, weights after within 1e-4 (the Adam exception at most 0.5%, never past 2 lr steps)', () => {
    const want = readSafetensors(readFileSync(path.join(G, 'after.safetensors')), 'after.safetensors').tensors;
    const got = readSafetensors(readFileSync(path.join(tmp, 'out', 'model.safetensors')), 'model.safetensors').tensors;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    const last = expected.steps[expected.steps.length - 1].biases_after;
    for (const [name, b] of Object.entries(last)) {
      // Exact up to float32 storage of the sums of +-gamma.
      const data = got.get(name)!.data;
      b.forEach((x, i) => expect(Math.abs(data[i] - x), `${name}[${i}]`).toBeLessThan(1e-7));
    }
    let total = 0, off = 0;
    for (const [name, w] of want) {
      const g = got.get(name)!;
      for (let i = 0; i < w.data.length; i++) {
        const d = Math.abs(g.data[i] - w.data[i]);
        total++;
        if (d > 1e-4) {
          off++;
          expect(d, `${name}[${i}]`).toBeLessThanOrEqual(2 * hparams.lr * hparams.steps);
        }
      }
    }
    expect(off / total).toBeLessThanOrEqual(0.005);
  });

  it('writes config.json beside the weights', () => {
    const cfg = JSON.parse(readFileSync(path.join(tmp, 'out', 'config.json'), 'utf8'));
    const orig = JSON.parse(readFileSync(path.join(G, 'config.json'), 'utf8'));
    for (const key of ['hidden_size', 'q_lora_rank', 'n_routed_experts', 'num_nextn_predict_layers', 'routed_scaling_factor']) expect(cfg[key]).toEqual(orig[key]);
  });
});

describe('golden step-1 gradients on every CPU backend (in process)', () => {
  for (const backend of [referenceBackend, loopBackend]) {
    it(backend.name, () => {
      const cfg = parseConfigText(readFileSync(path.join(G, 'config.json'), 'utf8'));
      const p = paramsFromTensors(cfg, readSafetensors(readFileSync(path.join(G, 'model.safetensors')), 'model.safetensors').tensors);
      const rows = (JSON.parse(readFileSync(path.join(G, 'batch.json'), 'utf8')) as { input_ids: number[][] }).input_ids;
      const hp = { ...JSON.parse(readFileSync(path.join(G, 'train.json'), 'utf8')), balancing: 'bias' as const };
      const g = rowsGradient(p, rows, hp, backend);
      const e = expected.steps[0];
      expect(rel(g.loss / g.rows, e.loss)).toBeLessThan(1e-4);
      expect(g.loads).toEqual(e.loads);
      const want = readSafetensors(readFileSync(path.join(G, 'grads.safetensors')), 'grads.safetensors').tensors;
      for (const [name, w] of want) {
        const o = p.offsets[name];
        let max = 0, err = 0;
        for (let i = 0; i < w.data.length; i++) { max = Math.max(max, Math.abs(w.data[i])); err = Math.max(err, Math.abs(g.grads[o + i] / g.rows - w.data[i])); }
        expect(err, name).toBeLessThanOrEqual(1e-4 * max);
      }
    });
  }
});
