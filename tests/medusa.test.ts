// Medusa heads: the hand-written gradient against finite differences, zero heads = lm_head, trees
// from rank paths (sparse trees are prefix-closed and best-first), Medusa drafting under greedy
// verification is greedy decoding, the heads file round-trips, and training lowers the held-out loss.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { MedusaDrafter, createMedusaHeads, fullTree, medusaFromTensors, medusaLogits, medusaToTensors, sparseTree } from '../src/engine/medusa.js';
import { collectHeadData, headLoss, medusaLoss, trainMedusaHeads } from '../src/engine/medusa-train.js';
import { createRng } from '../src/engine/sampling.js';
import { readSafetensors, writeSafetensors } from '../src/engine/safetensors.js';
import { speculateTree } from '../src/engine/tree-speculate.js';
import { arbConfig } from './helpers/configs.js';

describe('Medusa heads', () => {
  it('zero-initialised heads give lm_head\'s logits', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 99 }), (cfg, seed) => {
      const model = initModel(cfg, { seed });
      const out = model.forward([0, 1, 2].map((t) => (t + seed) % cfg.vocab_size));
      const heads = createMedusaHeads(2, cfg.hidden_size);
      const L = medusaLogits(model, heads, 1, out.hidden, 3);
      for (let i = 0; i < L.length; i++) expect(L[i]).toBeCloseTo(out.logits[i], 4);
    }), { numRuns: 10, seed: 3 });
  });

  it('the hand-written gradient matches central differences (float32, step 1e-2)', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 99 }), (cfg, seed) => {
      const model = initModel(cfg, { seed });
      const rows = [Array.from({ length: 8 }, (_, i) => (seed * 3 + i * 5) % cfg.vocab_size)];
      const data = collectHeadData(model, rows, 2);
      const heads = createMedusaHeads(2, cfg.hidden_size);
      const rng = createRng(seed);
      const d = cfg.hidden_size, V = cfg.vocab_size;
      for (const w of [...heads.weight, ...heads.bias]) for (let i = 0; i < w.length; i++) w[i] = (rng() - 0.5);
      const idx = Array.from({ length: data.count }, (_, i) => i);
      for (const k of [0, 1]) {
        const grads = { w: new Float32Array(d * d), b: new Float32Array(d) };
        headLoss(model.backend, heads, model.weights.lmHead, V, k, data, idx, grads);
        for (const [arr, g, i] of [[heads.weight[k], grads.w, (seed * 7) % (d * d)], [heads.bias[k], grads.b, seed % d]] as const) {
          const h = 1e-2, keep = arr[i];
          arr[i] = keep + h; const up = headLoss(model.backend, heads, model.weights.lmHead, V, k, data, idx);
          arr[i] = keep - h; const down = headLoss(model.backend, heads, model.weights.lmHead, V, k, data, idx);
          arr[i] = keep;
          const numeric = (up - down) / (2 * h);
          expect(Math.abs(g[i] - numeric), `head ${k}: analytic ${g[i]} numeric ${numeric}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
        }
      }
    }), { numRuns: 12, seed: 4 });
  });

  it('training lowers the held-out cross-entropy of every head on a repeating text', () => {
    fc.assert(fc.property(arbConfig(), (c) => {
      const model = initModel(c, { seed: 2 });
      const text = Array.from({ length: 60 }, (_, i) => (i * 3) % Math.min(7, c.vocab_size));
      const train = collectHeadData(model, [text.slice(0, 40)], 2);
      const val = collectHeadData(model, [text.slice(20, 60)], 2);
      const heads = createMedusaHeads(2, c.hidden_size);
      const before = medusaLoss(model, heads, val);
      trainMedusaHeads(model, heads, train, { steps: 60, batch: 32, lr: 1e-2 });
      const after = medusaLoss(model, heads, val);
      after.forEach((a, k) => expect(a, `head ${k}`).toBeLessThan(before[k]));
    }), { numRuns: 4, seed: 5 });
  });

  it('the heads file round-trips through safetensors', () => {
    const heads = createMedusaHeads(3, 8);
    const rng = createRng(1);
    heads.weight.forEach((w) => w.forEach((_, i) => { w[i] = rng(); }));
    heads.accuracy = [[0.5, 0.2], [0.3, 0.1], [0.2, 0.1]];
    const back = medusaFromTensors(readSafetensors(writeSafetensors(medusaToTensors(heads)), 'm').tensors, 8);
    expect(back.numHeads).toBe(3);
    expect([...back.weight[2]]).toEqual([...heads.weight[2]]);
    expect(back.accuracy[1][0]).toBeCloseTo(0.3, 6);
    expect(() => medusaFromTensors(readSafetensors(writeSafetensors(medusaToTensors(heads)), 'm').tensors, 9)).toThrow(/hidden_size/);
  });
});

describe('Medusa trees', () => {
  it('full trees list every combination, parents first', () => {
    expect(fullTree([2, 1])).toEqual([[0], [1], [0, 0], [1, 0]]);
    expect(fullTree([3, 2, 2])).toHaveLength(3 + 6 + 12);
  });

  it('sparse trees are prefix-closed, of the asked size, and take the most likely paths first', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 3, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 1, max: 30 }),
      (raw, size) => {
        const acc = raw.map((r) => [...r].sort((a, b) => b - a));
        const tree = sparseTree(acc, size);
        const total = acc.reduce((n, r, k) => n + acc.slice(0, k + 1).reduce((m, x) => m * x.length, 1), 0);
        expect(tree).toHaveLength(Math.min(size, total));
        const keys = new Set(tree.map((p) => p.join()));
        tree.forEach((p) => { if (p.length > 1) expect(keys.has(p.slice(0, -1).join())).toBe(true); });
        // No path left out scores above one taken (when its parent is in).
        const score = (p: number[]) => p.reduce((s, r, k) => s * acc[k][r], 1);
        const worstIn = Math.min(...tree.map(score));
        for (const p of tree) if (p.length < acc.length) acc[p.length].forEach((_, r) => {
          const c = [...p, r];
          if (!keys.has(c.join())) expect(score(c)).toBeLessThanOrEqual(worstIn + 1e-12);
        });
      },
    ), { numRuns: 60, seed: 6 });
  });

  it('Medusa drafting verified greedily is greedy decoding', () => {
    fc.assert(fc.property(arbConfig(), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 10 }), (cfg, seed, n) => {
      const model = initModel(cfg, { seed });
      const heads = createMedusaHeads(2, cfg.hidden_size);
      const rng = createRng(seed);
      heads.weight.forEach((w) => w.forEach((_, i) => { w[i] = rng() - 0.5; }));
      const prompt = [1, 2].map((t) => (t + seed) % cfg.vocab_size);
      const plain = generate(model, prompt, { maxNewTokens: n }).tokens;
      const widths = [Math.min(3, cfg.vocab_size), 2];
      const out = speculateTree(model, prompt, { maxNewTokens: n, drafter: new MedusaDrafter(model, heads, fullTree(widths)), rule: 'greedy' });
      expect(out.tokens).toEqual(plain);
      out.steps.forEach((s) => expect(s.nodes).toBe(widths[0] + widths[0] * widths[1]));
    }), { numRuns: 20, seed: 7 });
  });
});

describe('the shipped model\'s Medusa heads', () => {
  it('predict t+2..t+4 on held-out stories far better than lm_head does, and lengthen greedy verification steps', async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { repoRoot } = await import('./helpers/paths.js');
    const { loadModel } = await import('../src/engine/load.js');
    const { charTokenizer } = await import('../src/engine/tokenizer.js');
    const { windows } = await import('../src/engine/train/data.js');
    const dir = path.join(repoRoot, 'static', 'models', 'nanoseek-stories');
    const model = loadModel(readFileSync(path.join(dir, 'config.json'), 'utf8'), readFileSync(path.join(dir, 'model.safetensors')));
    const heads = medusaFromTensors(readSafetensors(readFileSync(path.join(dir, 'medusa.safetensors')), 'medusa.safetensors').tensors, model.config.hidden_size);
    expect(heads.numHeads).toBe(3);
    const val = charTokenizer.encode(readFileSync(path.join(repoRoot, 'static', 'data', 'stories', 'val.txt'), 'utf8'));
    const data = collectHeadData(model, windows(val, 129, 6), 3);
    const trained = medusaLoss(model, heads, data), untrained = medusaLoss(model, createMedusaHeads(3, model.config.hidden_size), data);
    trained.forEach((l, k) => expect(l, `head ${k + 1}`).toBeLessThan(untrained[k]! - 1)); // nats; uniform is ln 128 = 4.85
    const prompt = charTokenizer.encode('Alice was beginning to get very tired of sitting by her sister on the bank');
    const out = speculateTree(model, prompt, { maxNewTokens: 60, drafter: new MedusaDrafter(model, heads, sparseTree(heads.accuracy, 16)), rule: 'greedy' });
    expect(out.tokens).toEqual(generate(model, prompt, { maxNewTokens: 60 }).tokens);
    expect(out.tokensPerStep).toBeGreaterThan(1.5);
  });
});
