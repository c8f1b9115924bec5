// Token-tree verification: one masked forward gives every node the logits of a plain forward over
// its path; a chain tree is today's chain verification; the cache after acceptance is the cache of
// decoding the accepted tokens; the exact rule over a tree returns the target distribution, and
// typical acceptance (at a setting where it must) does not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { type Rng, createRng, sampleFrom, samplingDistribution } from '../src/engine/sampling.js';
import { ModelDrafter, MtpDrafter, speculate } from '../src/engine/speculate.js';
import { ChainTreeDrafter, type TreeDrafter, speculateTree } from '../src/engine/tree-speculate.js';
import { type AcceptRule, type TokenTree, treeDepths, treeMask, verifyTree } from '../src/engine/tree.js';
import { arbConfig } from './helpers/configs.js';

function worstScaled(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

/** A random tree of n nodes over vocab V (parents before children). */
const arbTree = (V: number) => fc.integer({ min: 1, max: 8 }).chain((n) => fc.record({
  tokens: fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: n, maxLength: n }),
  parent: fc.tuple(...Array.from({ length: n }, (_, i) => fc.integer({ min: -1, max: i - 1 }))),
}).map((t): TokenTree => ({ tokens: t.tokens, parent: [...t.parent], q: t.tokens.map(() => null) })));

/** Path of node i from the root's first child down to i. */
function pathTo(tree: TokenTree, i: number): number[] {
  const out: number[] = [];
  for (let n = i; n >= 0; n = tree.parent[n]) out.unshift(tree.tokens[n]);
  return out;
}

describe('tree mask', () => {
  it('each node sees exactly its ancestors and itself, at position depth', () => {
    const tree: TokenTree = { tokens: [5, 6, 7, 8], parent: [-1, -1, 0, 2], q: [null, null, null, null] };
    const m = treeMask(tree);
    expect([...m.depth]).toEqual([0, 1, 1, 2, 3]);
    const rows = Array.from({ length: 5 }, (_, i) => [...m.ancestor.subarray(i * 5, i * 5 + 5)]);
    expect(rows).toEqual([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [1, 1, 0, 1, 0], [1, 1, 0, 1, 1]]);
    expect(() => treeDepths({ tokens: [1], parent: [0], q: [null] })).toThrow(/parent\[0\]/);
  });
});

describe('tree verification on the absorbed cache', () => {
  it('every node\'s logits equal a plain forward of prefix + path; the kept cache equals decoding the accepted tokens', () => {
    fc.assert(
      fc.property(
        arbConfig(), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 5 }),
        (cfg, seed, promptLen) => fc.assert(fc.property(arbTree(cfg.vocab_size), (tree) => {
          const model = initModel(cfg, { seed });
          const prompt = Array.from({ length: promptLen }, (_, i) => (seed + 7 * i) % cfg.vocab_size);
          const cache = model.createCache('absorbed');
          if (promptLen > 1) model.forward(prompt.slice(0, -1), { cache });
          const root = prompt[promptLen - 1];
          const V = cfg.vocab_size;
          const v = verifyTree(model, cache, root, tree, { rule: 'exact', sampling: { temperature: 1 } }, createRng(seed));
          // Root row: the plain forward of the prompt.
          const plainRoot = model.forward(prompt).logits;
          expect(worstScaled(v.logits.subarray(0, V), plainRoot.subarray((promptLen - 1) * V))).toBeLessThan(2e-5);
          tree.tokens.forEach((_, i) => {
            const seq = [...prompt, ...pathTo(tree, i)];
            const plain = model.forward(seq).logits.subarray((seq.length - 1) * V);
            expect(worstScaled(v.logits.subarray((i + 1) * V, (i + 2) * V), plain), `node ${i}`).toBeLessThan(2e-5);
          });
          // The cache now holds prompt + accepted path; compare with decoding those tokens.
          const kept = [...prompt, ...v.path.map((i) => tree.tokens[i])];
          expect(cache.length).toBe(kept.length);
          const fresh = model.createCache('absorbed');
          model.forward(kept, { cache: fresh });
          cache.layers.forEach((l, li) => {
            expect(worstScaled(l.ckv.view(kept.length), fresh.layers[li].ckv.view(kept.length))).toBeLessThan(2e-5);
            expect(worstScaled(l.kPe.view(kept.length), fresh.layers[li].kPe.view(kept.length))).toBeLessThan(2e-5);
          });
          // The emitted path is a path of the tree, then one token.
          expect(v.emitted).toHaveLength(v.path.length + 1);
          v.path.forEach((n, k) => expect(tree.parent[n]).toBe(k === 0 ? -1 : v.path[k - 1]));
        }), { numRuns: 3, seed: seed }),
      ),
      { numRuns: 25, seed: 14 },
    );
  });

  it('a single-chain tree is today\'s chain verification (same tokens and acceptances, MTP and model drafters)', () => {
    fc.assert(
      fc.property(
        arbConfig({ mtp: 1 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 1, 1.5), fc.boolean(),
        (cfg, seed, gamma, n, temperature, useMtp) => {
          const target = initModel(cfg, { seed });
          const prompt = [0, 1, 2].map((t) => (t + seed) % cfg.vocab_size);
          const make = () => (useMtp ? new MtpDrafter(target) : new ModelDrafter(initModel(cfg, { seed: seed + 1 }), target));
          const sampling = { temperature };
          const chain = speculate(target, prompt, { maxNewTokens: n, gamma, drafter: make(), sampling, seed });
          const tree = speculateTree(target, prompt, { maxNewTokens: n, drafter: new ChainTreeDrafter(make(), gamma), rule: 'exact', sampling, seed });
          expect(tree.tokens).toEqual(chain.tokens);
          expect(tree.steps.map((s) => s.accepted)).toEqual(chain.steps.map((s) => s.accepted));
          expect(tree.rule).toBe('exact');
        },
      ),
      { numRuns: 40, seed: 15 },
    );
  });

  it('every rule runs with chain drafters (a model drafter may see its rejected draft re-emitted under typical acceptance)', () => {
    fc.assert(
      fc.property(arbConfig({ mtp: 1 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom<AcceptRule>('exact', 'greedy', 'typical'), (cfg, seed, gamma, rule) => {
        const target = initModel(cfg, { seed });
        const prompt = [0, 1].map((t) => (t + seed) % cfg.vocab_size);
        for (const drafter of [new ModelDrafter(initModel(cfg, { seed: seed + 1 }), target), new MtpDrafter(target)]) {
          const out = speculateTree(target, prompt, { maxNewTokens: 16, drafter: new ChainTreeDrafter(drafter, gamma), rule, sampling: { temperature: 1.5 }, epsilon: 0.5, delta: 0.5, seed });
          expect(out.tokens).toHaveLength(16);
          expect(out.rule).toBe(rule);
        }
      }),
      { numRuns: 40, seed: 17 },
    );
  });

  it('greedy tree speculation equals greedy decoding', () => {
    fc.assert(
      fc.property(arbConfig({ mtp: 1 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 12 }), (cfg, seed, n) => {
        const target = initModel(cfg, { seed });
        const prompt = [1, 2].map((t) => (t + seed) % cfg.vocab_size);
        const plain = generate(target, prompt, { maxNewTokens: n }).tokens;
        const wide: TreeDrafter = { // every token at depth 1, the next two at depth 2 below each
          name: 'wide', observe() {}, commit() {},
          propose: () => {
            const V = cfg.vocab_size, tokens: number[] = [], parent: number[] = [];
            for (let a = 0; a < V; a++) { tokens.push(a); parent.push(-1); }
            for (let a = 0; a < V; a++) for (const b of [(a + seed) % V, (a + seed + 1) % V]) { tokens.push(b); parent.push(a); }
            return { tokens, parent, q: tokens.map(() => null) };
          },
        };
        const out = speculateTree(target, prompt, { maxNewTokens: n, drafter: wide, rule: 'greedy', sampling: { temperature: 1 } });
        expect(out.tokens).toEqual(plain);
        // Every token is drafted at depth 1, so every step accepts at least one.
        out.steps.forEach((s) => expect(s.accepted).toBeGreaterThanOrEqual(1));
      }),
      { numRuns: 30, seed: 16 },
    );
  });
});

// --- the distribution: chi-square over the first three tokens on a 6-token model -------------

function chiSquare(counts: number[], probs: number[]): { stat: number; df: number } {
  const n = counts.reduce((a, b) => a + b, 0);
  let stat = 0, cells = 0, poolObs = 0, poolExp = 0;
  probs.forEach((p, i) => {
    const e = p * n;
    if (e < 5) { poolObs += counts[i]; poolExp += e; return; }
    stat += (counts[i] - e) ** 2 / e;
    cells++;
  });
  if (poolExp > 0) { stat += (poolObs - poolExp) ** 2 / Math.max(poolExp, 1e-9); cells++; }
  return { stat, df: cells - 1 };
}
/** Upper 0.1% point of chi-square(df) (Wilson-Hilferty). */
function chiSquareCritical(df: number): number {
  const z = 3.0902;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

const tinyConfig = parseConfig({
  vocab_size: 6, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
  q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4, qk_rope_head_dim: 4, v_head_dim: 4,
  n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2, moe_intermediate_size: 8,
  n_group: 2, topk_group: 1, routed_scaling_factor: 2.5, first_k_dense_replace: 1, num_nextn_predict_layers: 1,
});

/**
 * A mixed tree each step: below the root two top-k style picks (q = null) and one token drawn from a
 * fixed q; below the first pick one pick and one draw; below the drawn one a draw.
 */
function mixedDrafter(q: Float64Array): TreeDrafter {
  return {
    name: 'mixed', observe() {}, commit() {},
    propose: (seq: readonly number[], _s, rng: Rng) => {
      const a = seq.length % 6, b = (a + 1) % 6;
      const draw = () => sampleFrom(q, rng);
      return {
        tokens: [a, b, draw(), (a + 2) % 6, draw(), draw()],
        parent: [-1, -1, -1, 0, 0, 2],
        q: [null, null, q, null, q, q],
      };
    },
  };
}

describe('acceptance rules keep (or do not keep) the target distribution over a tree', () => {
  const target = initModel(tinyConfig, { seed: 1 });
  const prompt = [3, 1, 4];
  const temperature = 1.3, V = 6;
  const next = (seq: number[]) => samplingDistribution(target.forward(seq).logits.subarray((seq.length - 1) * V), { temperature });
  const expected: number[] = new Array(V * V * V).fill(0);
  const p1 = next(prompt);
  for (let a = 0; a < V; a++) {
    const p2 = next([...prompt, a]);
    for (let b = 0; b < V; b++) {
      const p3 = next([...prompt, a, b]);
      for (let c = 0; c < V; c++) expected[(a * V + b) * V + c] = p1[a] * p2[b] * p3[c];
    }
  }
  const q = Float64Array.from([0.3, 0.05, 0.25, 0.1, 0.2, 0.1]);
  const run = (rule: AcceptRule, runs: number) => {
    const counts = new Array(V * V * V).fill(0);
    let accepted = 0, steps = 0;
    for (let seed = 0; seed < runs; seed++) {
      const out = speculateTree(target, prompt, { maxNewTokens: 3, drafter: mixedDrafter(q), rule, epsilon: 0.02, delta: 0.02, sampling: { temperature }, seed });
      counts[(out.tokens[0] * V + out.tokens[1]) * V + out.tokens[2]]++;
      accepted += out.steps.reduce((s, x) => s + x.accepted, 0);
      steps += out.steps.length;
    }
    return { ...chiSquare(counts, expected), meanAccepted: accepted / steps };
  };

  it('exact (recursive rejection over siblings): the joint law of three tokens is the target\'s', () => {
    const r = run('exact', 6000);
    expect(r.stat, `chi2 ${r.stat.toFixed(1)} on ${r.df} df`).toBeLessThan(chiSquareCritical(r.df));
    expect(r.meanAccepted).toBeGreaterThan(0.3); // the tree is really used
  });

  it('typical acceptance with a low threshold accepts more and is far from the target', () => {
    const exact = run('exact', 1500), typical = run('typical', 1500);
    expect(typical.meanAccepted).toBeGreaterThan(exact.meanAccepted);
    expect(typical.stat, `chi2 ${typical.stat.toFixed(1)} on ${typical.df} df`).toBeGreaterThan(chiSquareCritical(typical.df));
  });
});
