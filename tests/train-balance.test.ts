// Settling router biases with the weights frozen (src/engine/train/balance.ts) and the `balance`
// command: every step moves each bias by exactly ±γ (or 0) toward an even load, no weight but the
// biases changes, a skewed router comes back near even, and the command writes a new folder that
// differs from its input only in the bias tensors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, readSafetensors } from '../src/engine/index.js';
import { correctionBiases, settleBiases } from '../src/engine/train/balance.js';
import { evaluateWindows, maxVio } from '../src/engine/train/eval.js';
import { runCli } from './helpers/cli.js';
import { goldenDir, repoRoot } from './helpers/paths.js';

const G = goldenDir('train/t_moe_mtp');
const load = () => loadModel(readFileSync(path.join(G, 'config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(G, 'model.safetensors'))));

/** Copies of every weight array of a model but the correction biases. */
function otherWeights(model: ReturnType<typeof load>): Float32Array[] {
  const biases = new Set<unknown>(correctionBiases(model).values());
  const out: Float32Array[] = [];
  const walk = (v: unknown) => {
    if (v instanceof Float32Array) { if (!biases.has(v)) out.push(Float32Array.from(v)); }
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(model.weights);
  return out;
}

/** Seeded rows of token ids below `vocab`. */
function rows(seed: number, n: number, T: number, vocab: number): number[][] {
  let s = seed >>> 0;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  return Array.from({ length: n }, () => Array.from({ length: T }, () => Math.floor(next() * vocab)));
}

describe('settleBiases', () => {
  it('finds a bias for every MoE layer, the MTP module\'s included', () => {
    const model = load();
    const keys = [...correctionBiases(model).keys()];
    const moeLayers = model.weights.layers.filter((l) => l.moe?.bias).length + model.weights.mtp.filter((m) => m.layer.moe?.bias).length;
    expect(keys).toHaveLength(moeLayers);
    expect(keys).toContain(`model.layers.${model.config.num_hidden_layers}.mlp`);
  });

  it('moves each bias by exactly ±γ or 0, toward the underloaded experts, and leaves every other weight alone', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 1e-4, max: 0.05, noNaN: true }), (seed, gamma) => {
      const model = load();
      const others = otherWeights(model);
      const before = new Map([...correctionBiases(model)].map(([k, b]) => [k, Float32Array.from(b)]));
      const batch = rows(seed, 3, 10, model.config.vocab_size);
      const { loads } = evaluateWindows(model, batch);
      settleBiases(model, { steps: 1, gamma, rows: () => batch });
      for (const [k, b] of correctionBiases(model)) {
        const l = loads[k]!, mean = l.reduce((a, x) => a + x, 0) / l.length;
        b.forEach((v, e) => expect(v - before.get(k)![e]!).toBeCloseTo(gamma * Math.sign(mean - l[e]!), 6));
      }
      expect(otherWeights(model)).toEqual(others);
    }), { numRuns: 10 });
  });

  it('brings a router pushed onto one expert back near even on held-out rows', () => {
    const model = load();
    const held = rows(7, 8, 10, model.config.vocab_size);
    for (const b of correctionBiases(model).values()) b[0] += 1; // every token's top choice: expert 0
    const skewed = evaluateWindows(model, held).loads;
    let step = 0;
    settleBiases(model, { steps: 300, gamma: 0.01, rows: () => rows(1000 + ++step, 4, 10, model.config.vocab_size) });
    const settled = evaluateWindows(model, held).loads;
    for (const k of Object.keys(skewed)) {
      expect(maxVio(skewed[k]!)).toBeGreaterThan(1);
      expect(maxVio(settled[k]!), k).toBeLessThan(maxVio(skewed[k]!) / 2);
    }
  });

  it('refuses a γ that is not positive', () => {
    expect(() => settleBiases(load(), { steps: 1, gamma: 0, rows: () => [] })).toThrow(/gamma must be a positive number/);
  });
});

describe('balance command', () => {
  const shipped = path.join(repoRoot, 'static', 'models', 'nanoseek-stories');
  let tmp = '';
  beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-balance-')); });
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('writes a new folder in which only the correction biases differ', async () => {
    const corpus = path.join(tmp, 'text.txt');
    writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => `Line ${i}: the cat sat on the mat, ${i} + ${i} = ${2 * i}.`).join('\n'));
    const out = path.join(tmp, 'settled');
    const r = await runCli(['balance', '--model', shipped, '--out', out, '--corpus', corpus, '--steps', '3', '--batch', '2', '--seq-len', '33', '--gamma', '0.01', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.filter((l) => l.type === 'step')).toHaveLength(3);
    expect(lines.at(-1)!.type).toBe('done');
    const a = readSafetensors(new Uint8Array(readFileSync(path.join(shipped, 'model.safetensors'))), 'in').tensors;
    const b = readSafetensors(new Uint8Array(readFileSync(path.join(out, 'model.safetensors'))), 'out').tensors;
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const changed = [...a].filter(([k, t]) => !t.data.every((v, i) => v === b.get(k)!.data[i])).map(([k]) => k);
    expect(changed.length).toBeGreaterThan(0);
    for (const k of changed) expect(k).toMatch(/\.mlp\.gate\.e_score_correction_bias$/);
    expect(readFileSync(path.join(out, 'config.json'), 'utf8')).toBe(readFileSync(path.join(shipped, 'config.json'), 'utf8'));
    expect(readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).toBe(readFileSync(path.join(shipped, 'tokenizer.json'), 'utf8'));
    const log = readFileSync(path.join(out, 'balance-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; gamma?: number });
    expect(log.map((l) => l.type)).toEqual(['start', 'step', 'step', 'step', 'done']);
    expect(log[0]!.gamma).toBe(0.01);
  });

  it('refuses to write over its input, and a missing --out', async () => {
    const same = await runCli(['balance', '--model', shipped, '--out', shipped]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/is the --model folder/);
    const none = await runCli(['balance', '--model', shipped]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--out DIR is required/);
  });
});
