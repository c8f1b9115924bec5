// The corpus training loop through the CLI on a tiny model (seconds, not minutes): the loss goes
// down, the same seed gives the same bytes, a run stopped (--stop-at or Ctrl-C) and resumed equals
// an uninterrupted one bit for bit, two threads equal one up to float summation order, eval's
// figures agree with the trainer's own forward pass, and bad input exits 2 with one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loopBackend } from '../kernels/loop.js';
import { initTensors, loadModel, parseConfigText } from '../src/engine/index.js';
import { evaluateWindows, maxVio } from '../src/engine/train/eval.js';
import { paramsFromTensors, rowsGradient, type TrainHparams } from '../src/engine/train/index.js';
import { splitRows, sumGradients } from '../src/engine/train/workers.js';
import { twoThreadRunner } from '../src/cli/train-worker.js';
import { runCli } from './helpers/cli.js';
import { repoRoot } from './helpers/paths.js';

const CONFIG = path.join(repoRoot, 'tests', 'fixtures', 'train-tiny', 'config.json'); // d 32, 2 layers + MTP, 8 experts, max_position 64
const HP: TrainHparams = { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 0, bias_gamma: 1e-3, balancing: 'bias' };

let tmp = '';
let corpus = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-train-loop-'));
  corpus = path.join(tmp, 'corpus.txt');
  const names = ['cat', 'dog', 'hen', 'fox'], places = ['mat', 'log', 'hill', 'box'];
  const lines = Array.from({ length: 300 }, (_, i) => `The ${names[i % 4]} sat on the ${places[(i * 7) % 4]}. ${i % 10}+${i % 7}=${(i % 10) + (i % 7)}`);
  writeFileSync(corpus, lines.join('\n') + '\n');
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const base = (out: string, extra: string[] = []) => [
  'train', '--config', CONFIG, '--corpus', corpus, '--out', out, '--batch', '4', '--seq-len', '33', '--lr', '1e-2', '--warmup', '3',
  '--seed', '7', '--eval-every', '0', '--save-every', '0', '--json', '--bias-gamma-schedule', 'cosine', '--bias-gamma-min-ratio', '0.3', ...extra,
];
type Line = { type: string; step?: number; loss?: number; main?: number; bits_per_char?: number; final?: boolean };
const lines = (stdout: string): Line[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
const stepLosses = (ls: Line[]) => ls.filter((l) => l.type === 'step').map((l) => [l.step, l.loss, l.main]);
const bytes = (dir: string, f: string) => readFileSync(path.join(dir, f));

describe('train --corpus', () => {
  it('drives the loss down on a small corpus in a few dozen steps', async () => {
    const out = path.join(tmp, 'down');
    const r = await runCli(base(out, ['--steps', '40', '--eval-every', '40', '--eval-windows', '8']), { timeoutMs: 120_000 });
    expect(r.stderr).toMatch(/done: 40 steps/);
    expect(r.code).toBe(0);
    const ls = lines(r.stdout);
    const steps = ls.filter((l) => l.type === 'step');
    expect(steps).toHaveLength(40);
    const first = steps.slice(0, 5).reduce((a, l) => a + l.main!, 0) / 5, last = steps.slice(-5).reduce((a, l) => a + l.main!, 0) / 5;
    expect(last).toBeLessThan(first - 1.5); // nats: ln 128 = 4.85 at the start
    const evals = ls.filter((l) => l.type === 'eval');
    expect(evals[0]!.step).toBe(0);
    expect(evals.at(-1)!.final).toBe(true);
    expect(evals.at(-1)!.bits_per_char!).toBeLessThan(evals[0]!.bits_per_char! - 2);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'trainer-state.safetensors', 'train-log.jsonl']) expect(bytes(out, f).length).toBeGreaterThan(0);
  });

  it('same seed, same bytes; a run stopped and resumed (--stop-at, then Ctrl-C) equals an uninterrupted one bit for bit', async () => {
    const a = path.join(tmp, 'a'), b = path.join(tmp, 'b'), c = path.join(tmp, 'c'), d = path.join(tmp, 'd');
    const [ra, rb] = await Promise.all([runCli(base(a, ['--steps', '12']), { timeoutMs: 120_000 }), runCli(base(b, ['--steps', '12']), { timeoutMs: 120_000 })]);
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    expect(bytes(a, 'trainer-state.safetensors').equals(bytes(b, 'trainer-state.safetensors'))).toBe(true);
    expect(bytes(a, 'model.safetensors').equals(bytes(b, 'model.safetensors'))).toBe(true);
    // stopped after step 5 and resumed
    const r1 = await runCli(base(c, ['--steps', '12', '--stop-at', '5']), { timeoutMs: 120_000 });
    expect(r1.stderr).toMatch(/saved step 5/);
    expect(bytes(c, 'trainer-state.safetensors').equals(bytes(a, 'trainer-state.safetensors'))).toBe(false);
    const r2 = await runCli(['train', '--resume', c, '--corpus', corpus, '--json'], { timeoutMs: 120_000 });
    expect(r2.code).toBe(0);
    expect(bytes(c, 'trainer-state.safetensors').equals(bytes(a, 'trainer-state.safetensors'))).toBe(true);
    expect(bytes(c, 'model.safetensors').equals(bytes(a, 'model.safetensors'))).toBe(true);
    expect([...stepLosses(lines(r1.stdout)), ...stepLosses(lines(r2.stdout))]).toEqual(stepLosses(lines(ra.stdout)));
    // the log of the resumed folder holds each step once
    const logSteps = readFileSync(path.join(c, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line).filter((l) => l.type === 'step').map((l) => l.step);
    expect(logSteps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // Ctrl-C: SIGINT after a few steps saves before exiting (130); resuming ends where the uninterrupted run did
    const sig = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...base(d, ['--steps', '12'])], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', sent = false;
      child.stdout.on('data', (x: Buffer) => {
        out += x.toString();
        if (!sent && (out.match(/"type":"step"/g) ?? []).length >= 2) { sent = true; child.kill('SIGINT'); }
      });
      child.on('close', (code) => resolve({ code, stdout: out }));
    });
    expect(sig.code).toBe(130);
    const stopped = stepLosses(lines(sig.stdout)).length;
    expect(stopped).toBeGreaterThanOrEqual(2);
    expect(stopped).toBeLessThan(12);
    const r3 = await runCli(['train', '--resume', d], { timeoutMs: 120_000 }); // the saved run's corpus
    expect(r3.code).toBe(0);
    expect(bytes(d, 'trainer-state.safetensors').equals(bytes(a, 'trainer-state.safetensors'))).toBe(true);
  });

  it('two threads give the one-thread result up to float summation order', async () => {
    const one = path.join(tmp, 'one'), two = path.join(tmp, 'two');
    const [r1, r2] = await Promise.all([
      runCli(base(one, ['--steps', '6', '--threads', '1']), { timeoutMs: 120_000 }),
      runCli(base(two, ['--steps', '6', '--threads', '2']), { timeoutMs: 120_000 }),
    ]);
    expect(r1.code).toBe(0);
    expect(r2.code).toBe(0);
    const l1 = stepLosses(lines(r1.stdout)), l2 = stepLosses(lines(r2.stdout));
    expect(l2).toHaveLength(6);
    // the first step's loss is computed on the same weights; later ones on weights that differ by float rounding
    l1.forEach(([, loss], i) => expect(Math.abs(loss! - l2[i]![1]!)).toBeLessThan(1e-4 * Math.abs(loss!)));
  });
});

describe('gradients over two threads', () => {
  it('the worker\'s half plus this thread\'s half equals rowsGradient over all rows (relative 1e-5 of each gradient\'s scale)', async () => {
    const cfg = parseConfigText(readFileSync(CONFIG, 'utf8'), { file: CONFIG });
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 3, biasScale: 0 }));
    const rows = Array.from({ length: 6 }, (_, r) => Array.from({ length: 20 }, (_, i) => (r * 31 + i * 17) % 128));
    const all = rowsGradient(p, rows, HP, loopBackend);
    const runner = await twoThreadRunner(cfg, 'loop');
    try {
      const split = await runner.gradient(p, rows, HP);
      const local = sumGradients(splitRows(rows, 2).map((part) => rowsGradient(p, part, HP, loopBackend)));
      for (const g of [split, local]) {
        expect(g.rows).toBe(6);
        expect(Math.abs(g.loss - all.loss)).toBeLessThan(1e-6 * all.loss);
        expect(g.loads).toEqual(all.loads);
        let scale = 0, diff = 0;
        for (let i = 0; i < all.grads.length; i++) {
          scale = Math.max(scale, Math.abs(all.grads[i]!));
          diff = Math.max(diff, Math.abs(all.grads[i]! - g.grads[i]!));
        }
        expect(scale).toBeGreaterThan(0);
        expect(diff).toBeLessThanOrEqual(1e-5 * scale);
      }
      // the worker computes exactly what this thread computes on the same half
      expect(Array.from(split.grads)).toEqual(Array.from(local.grads));
    } finally {
      await runner.close();
    }
  });

  it('later steps, on the buffers the worker handed back, still give exactly the two halves\' sum at the new weights; earlier results stay as they were', async () => {
    const cfg = parseConfigText(readFileSync(CONFIG, 'utf8'), { file: CONFIG });
    const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 5, biasScale: 0.1 }));
    const batch = (k: number) => Array.from({ length: 5 }, (_, r) => Array.from({ length: 18 }, (_, i) => (r * 29 + i * 13 + k * 7) % 128));
    const runner = await twoThreadRunner(cfg, 'loop');
    try {
      const first = await runner.gradient(p, batch(0), HP);
      const kept = Array.from(first.grads);
      for (let step = 1; step <= 3; step++) {
        // new weights and routing biases, as after an optimizer step: a stale copy or an un-zeroed gradient buffer would show
        for (let i = 0; i < p.data.length; i++) p.data[i]! += 1e-2 * Math.sin(i * 0.7 + step);
        for (const b of Object.values(p.buffers)) b[step % b.length]! += 0.05;
        const rows = batch(step);
        const split = await runner.gradient(p, rows, HP);
        const local = sumGradients(splitRows(rows, 2).map((part) => rowsGradient(p, part, HP, loopBackend)));
        expect(split.loss).toBe(local.loss);
        expect(split.loads).toEqual(local.loads);
        expect(Array.from(split.grads)).toEqual(Array.from(local.grads));
      }
      expect(Array.from(first.grads)).toEqual(kept);
    } finally {
      await runner.close();
    }
  });
});

describe('eval', () => {
  it('bits per character equal the trainer\'s own cross-entropy; agreement and MaxVio are in range', async () => {
    const cfg = parseConfigText(readFileSync(CONFIG, 'utf8'), { file: CONFIG });
    const tensors = initTensors(cfg, { seed: 4, biasScale: 0.1 });
    const p = paramsFromTensors(cfg, tensors);
    const ids = Array.from({ length: 40 }, (_, i) => (i * 13 + 5) % 128);
    const { writeSafetensors } = await import('../src/engine/safetensors.js');
    const model = loadModel(readFileSync(CONFIG, 'utf8'), writeSafetensors(tensors), { backend: loopBackend });
    const e = evaluateWindows(model, [ids]);
    const g = rowsGradient(p, [ids], HP, loopBackend);
    expect(e.characters).toBe(39);
    expect(Math.abs(e.bits_per_char - g.main / Math.LN2)).toBeLessThan(1e-4);
    expect(e.mtp_positions).toBe(38);
    expect(e.mtp_greedy_agreement!).toBeGreaterThanOrEqual(0);
    expect(e.mtp_greedy_agreement!).toBeLessThanOrEqual(1);
    expect(e.mtp_sampled_acceptance!).toBeGreaterThan(0);
    expect(e.mtp_sampled_acceptance!).toBeLessThanOrEqual(1 + 1e-9);
    expect(Object.keys(e.loads).sort()).toEqual(['model.layers.1.mlp', 'model.layers.2.mlp']);
    expect(e.loads['model.layers.1.mlp']!.reduce((a, b) => a + b, 0)).toBe(40 * cfg.num_experts_per_tok);
    expect(e.loads['model.layers.2.mlp']!.reduce((a, b) => a + b, 0)).toBe(39 * cfg.num_experts_per_tok);
    expect(maxVio([2, 2, 2, 2])).toBe(0);
    expect(maxVio([4, 0, 2, 2])).toBe(1);
  });

  it('through the CLI on a trained folder', async () => {
    const out = path.join(tmp, 'for-eval');
    expect((await runCli(base(out, ['--steps', '3']), { timeoutMs: 120_000 })).code).toBe(0);
    const text = path.join(tmp, 'eval.txt');
    writeFileSync(text, 'The cat sat on the hill. 3+4=7\nThe dog sat on the mat.\n');
    const r = await runCli(['eval', '--model', out, '--text', text, '--json', '--contrast', text]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { characters: number; bits_per_char: number; max_vio: Record<string, number>; contrast: { lift: Record<string, { max: number }> } };
    expect(j.characters).toBe(54);
    expect(Number.isFinite(j.bits_per_char)).toBe(true);
    expect(Object.keys(j.max_vio)).toHaveLength(2);
    for (const l of Object.values(j.contrast.lift)) expect(l.max).toBeCloseTo(1, 12); // a text against itself: no lift
  });
});

describe('bad input: exit 2, one line naming the file or the flag and the field', () => {
  const expectOneLine = (r: { code: number | null; stdout: string; stderr: string }, ...parts: (string | RegExp)[]) => {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    for (const p of parts) expect(r.stderr).toMatch(p);
  };

  it('negative or missing hyper-parameters', async () => {
    expectOneLine(await runCli(base(path.join(tmp, 'x1'), ['--steps', '3', '--lr=-0.1'])), /--lr must be > 0/);
    expectOneLine(await runCli(base(path.join(tmp, 'x2'))), /--steps N is required/);
    expectOneLine(await runCli(base(path.join(tmp, 'x3'), ['--steps', '3', '--batch=-2'])), /--batch must be >= 1/);
    expectOneLine(await runCli(base(path.join(tmp, 'x3b'), ['--steps', '3', '--bias-gamma-schedule', 'linear'])), /--bias-gamma-schedule must be constant or cosine/);
    expectOneLine(await runCli(base(path.join(tmp, 'x3c'), ['--steps', '3', '--bias-gamma-min-ratio', '1.5'])), /--bias-gamma-min-ratio must be <= 1/);
    const hp = path.join(tmp, 'hp.json');
    writeFileSync(hp, JSON.stringify({ lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 0 }));
    expectOneLine(await runCli(base(path.join(tmp, 'x4'), ['--steps', '3', '--hparams', hp])), hp, /"bias_gamma" is missing/);
    writeFileSync(hp, JSON.stringify({ lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: -0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 0, bias_gamma: 0 }));
    expectOneLine(await runCli(base(path.join(tmp, 'x5'), ['--steps', '3', '--hparams', hp])), hp, /"weight_decay" must be in/);
  });

  it('--seq-len past max_position_embeddings', async () => {
    expectOneLine(await runCli(base(path.join(tmp, 'x6'), ['--steps', '3', '--seq-len', '65'])), CONFIG, /"max_position_embeddings" 64/);
  });

  it('a resume folder from another config, or not a training run', async () => {
    const run = path.join(tmp, 'x7');
    expect((await runCli(base(run, ['--steps', '2']), { timeoutMs: 120_000 })).code).toBe(0);
    const other = path.join(tmp, 'other.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(CONFIG, 'utf8')), hidden_size: 48 }));
    expectOneLine(await runCli(['train', '--resume', run, '--config', other, '--corpus', corpus]), path.join(run, 'trainer-state.safetensors'), /config field "hidden_size" is 32 .* 48/);
    expectOneLine(await runCli(['train', '--resume', run, '--corpus', corpus, '--batch', '8']), /"batch" is 4 in the saved run/);
    expectOneLine(await runCli(['train', '--resume', tmp, '--corpus', corpus]), path.join(tmp, 'trainer-state.safetensors'), /not found/);
  });
});
