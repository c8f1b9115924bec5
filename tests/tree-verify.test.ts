// Token-tree verification: one masked forward gives every node the logits of a plain forward over
// its path; a chain tree is today's chain verification; the cache after acceptance is the cache of
// decoding the accepted tokens; the exact rule over a tree returns the target distribution, and
// typical acceptance (at a setting where it must) does not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configToJson, parseConfig } from '../src/engine/config.js';
import { generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { type Rng, createRng, sampleFrom, samplingDistribution } from '../src/engine/sampling.js';
import { ModelDrafter, MtpDrafter, speculate } from '../src/engine/speculate.js';
import { ChainTreeDrafter, type TreeDrafter, depthAcceptanceOf, speculateTree } from '../src/engine/tree-speculate.js';
import { type AcceptRule, type TokenTree, acceptPath, entropy, treeDepths, treeMask, typicalThreshold, typicalThresholdAt, verifyTree } from '../src/engine/tree.js';
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
  const run = (rule: AcceptRule, runs: number, drafter: () => TreeDrafter = () => mixedDrafter(q)) => {
    const counts = new Array(V * V * V).fill(0);
    let accepted = 0, steps = 0;
    for (let seed = 0; seed < runs; seed++) {
      const out = speculateTree(target, prompt, { maxNewTokens: 3, drafter: drafter(), rule, epsilon: 0.02, delta: 0.02, sampling: { temperature }, seed });
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

  it('exact with a separate small draft model (narrower, one dense layer, no MTP) drafting chains of 2: the joint law is the target\'s', () => {
    // The draft model's law differs from the target's (another shape, another seed): both outcomes
    // of the rule happen, and the rejected drafts' residual draws are what keep the law.
    const small = initModel(parseConfig({ ...configToJson(tinyConfig), hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 1, q_lora_rank: null, kv_lora_rank: 4, n_routed_experts: null, num_nextn_predict_layers: 0 }), { seed: 9 });
    const r = run('exact', 3000, () => new ChainTreeDrafter(new ModelDrafter(small, target), 2));
    expect(r.stat, `chi2 ${r.stat.toFixed(1)} on ${r.df} df`).toBeLessThan(chiSquareCritical(r.df));
    expect(r.meanAccepted).toBeGreaterThan(0.2);
    expect(r.meanAccepted).toBeLessThan(1.8); // rejections happen too
  });

  it('typical acceptance with a low threshold accepts more and is far from the target', () => {
    const exact = run('exact', 1500), typical = run('typical', 1500);
    expect(typical.meanAccepted).toBeGreaterThan(exact.meanAccepted);
    expect(typical.stat, `chi2 ${typical.stat.toFixed(1)} on ${typical.df} df`).toBeGreaterThan(chiSquareCritical(typical.df));
  });
});

// --- the rules on their own (acceptPath), on random trees and random target laws -------------------
//
// The target law is a function of the token prefix (as a model's is): P(prefix) is a seeded random
// distribution over V tokens, some entries zero. A tree mixes deterministic picks (q = null, a fixed
// token) and tokens drawn afresh each run from their node's own q (which may put mass where p is 0).
// The exact rule must make the first two tokens (the second sampled from P after the step when the
// step wrote one) distributed as P([])(y1) P([y1])(y2); greedy must write the argmax chain; typical
// acceptance, with a first root child that passes its threshold and has p < 1, must always write
// that child, which the target does only with probability p.

/** A seeded random law for each prefix: weights u (u < 0.25 -> 0), normalised; at least one nonzero. */
function prefixLaw(V: number, seed: number): (prefix: readonly number[]) => Float64Array {
  const memo = new Map<string, Float64Array>();
  return (prefix) => {
    const key = prefix.join(',');
    let p = memo.get(key);
    if (!p) {
      let h = seed >>> 0;
      for (const t of prefix) h = Math.imul(h ^ (t + 1), 0x9e3779b1) >>> 0;
      const rng = createRng(h ^ (prefix.length * 7919));
      p = Float64Array.from({ length: V }, () => { const u = rng(); return u < 0.25 ? 0 : u; });
      if (!p.some((x) => x > 0)) p[Math.floor(rng() * V)] = 1;
      const s = p.reduce((a, b) => a + b, 0);
      for (let i = 0; i < V; i++) p[i] /= s;
      memo.set(key, p);
    }
    return p;
  };
}

interface RuleCase { V: number; seed: number; parent: number[]; pick: (number | null)[]; q: (number[] | null)[] }

/** V tokens, a tree of 1..6 nodes; each node a fixed pick or a draw from its own q (weights, zeros allowed). */
const arbRuleCase = fc.integer({ min: 2, max: 4 }).chain((V) => fc.integer({ min: 1, max: 6 }).chain((n) => fc.record({
  V: fc.constant(V),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  parent: fc.tuple(...Array.from({ length: n }, (_, i) => fc.integer({ min: -1, max: i - 1 }))),
  node: fc.tuple(...Array.from({ length: n }, () => fc.oneof(
    fc.integer({ min: 0, max: V - 1 }).map((t) => ({ pick: t as number | null, q: null as number[] | null })),
    fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 1, noNaN: true })), { minLength: V, maxLength: V })
      .filter((w) => w.some((x) => x > 0))
      .map((w) => ({ pick: null as number | null, q: w.map((x) => x / w.reduce((a, b) => a + b, 0)) })),
  ))),
}).map((c): RuleCase => ({ V: c.V, seed: c.seed, parent: [...c.parent], pick: c.node.map((x) => x.pick), q: c.node.map((x) => x.q) }))));

/** One drafting of the case's tree: picks as given, draws sampled from their q. */
function draftTree(c: RuleCase, rng: Rng): TokenTree {
  const tokens = c.pick.map((t, i) => (t !== null ? t : sampleFrom(c.q[i]!, rng)));
  return { tokens, parent: [...c.parent], q: c.q.map((q) => (q ? Float64Array.from(q) : null)) };
}

/** The target's law at each row of the tree (0: root, i + 1: node i) from the prefix law. */
function rowsOf(tree: TokenTree, law: (prefix: readonly number[]) => Float64Array): (row: number) => Float64Array {
  return (row) => law(row === 0 ? [] : pathTo(tree, row - 1));
}

/** Upper 0.01% point of chi-square(df) (Wilson-Hilferty). */
function chiSquareCritical4(df: number): number {
  const z = 3.719;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

describe('acceptance rules on random trees and random target laws (acceptPath)', () => {
  it('exact: the first two tokens are distributed as the target\'s P(y1) P(y2 | y1), whatever the tree and its q', () => {
    const runs = 3000;
    fc.assert(fc.property(arbRuleCase, (c) => {
      const law = prefixLaw(c.V, c.seed);
      const rng = createRng(c.seed + 1);
      const counts = new Array(c.V * c.V).fill(0);
      for (let r = 0; r < runs; r++) {
        const tree = draftTree(c, rng);
        const w = acceptPath(tree, rowsOf(tree, law), { rule: 'exact', sampling: { temperature: 1 } }, rng);
        expect(w.emitted).toHaveLength(w.path.length + 1);
        const y1 = w.emitted[0]!;
        const y2 = w.emitted.length > 1 ? w.emitted[1]! : sampleFrom(law([y1]), rng);
        counts[y1 * c.V + y2]++;
      }
      const expected: number[] = [];
      for (let a = 0; a < c.V; a++) for (let b = 0; b < c.V; b++) expected.push(law([])[a]! * law([a])[b]!);
      // A token the target gives probability 0 is never written.
      counts.forEach((k, i) => { if (expected[i] === 0) expect(k, `cell ${i} has p = 0`).toBe(0); });
      const { stat, df } = chiSquare(counts, expected);
      if (df > 0) expect(stat, `chi2 ${stat.toFixed(1)} on ${df} df`).toBeLessThan(chiSquareCritical4(df));
    }), { numRuns: 25, seed: 1414 });
  });

  it('greedy: the written tokens are the target\'s argmax chain, and the accepted path is the tree\'s longest argmax path', () => {
    fc.assert(fc.property(arbRuleCase, (c) => {
      const law = prefixLaw(c.V, c.seed);
      const rng = createRng(c.seed);
      const tree = draftTree(c, rng);
      const w = acceptPath(tree, rowsOf(tree, law), { rule: 'greedy', sampling: { temperature: 0 } }, rng);
      const argmaxOf = (p: Float64Array) => p.indexOf(Math.max(...p));
      w.emitted.forEach((y, k) => expect(y, `token ${k}`).toBe(argmaxOf(law(w.emitted.slice(0, k)))));
      // No child of the last accepted node carries the next argmax (else the path would go on).
      const last = w.path.length ? w.path[w.path.length - 1]! : -1;
      const next = w.emitted[w.emitted.length - 1]!;
      tree.parent.forEach((par, i) => { if (par === last) expect(tree.tokens[i] === next && w.decisions.some((d) => d.node === i), `node ${i}`).toBe(false); });
    }), { numRuns: 200, seed: 1415 });
  });

  it('typical: a first root child with tau < p(x) < 1 is always written first, so the first token is x with probability 1, not p(x)', () => {
    fc.assert(fc.property(arbRuleCase, fc.double({ min: 0.01, max: 0.5, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), (c, epsilon, delta) => {
      const law = prefixLaw(c.V, c.seed);
      const p0 = law([]);
      // The target's second most likely token (so p < 1 whenever two tokens have mass), as a pick first under the root.
      const order = Array.from(p0.keys()).sort((a, b) => p0[b]! - p0[a]!);
      const x = order[1]!;
      fc.pre(p0[x]! > typicalThreshold(p0, epsilon, delta));
      const cc: RuleCase = { ...c, parent: [-1, ...c.parent.map((p) => (p < 0 ? -1 : p + 1))], pick: [x, ...c.pick], q: [null, ...c.q] };
      const rng = createRng(c.seed);
      for (let r = 0; r < 200; r++) {
        const tree = draftTree(cc, rng);
        const w = acceptPath(tree, rowsOf(tree, law), { rule: 'typical', sampling: { temperature: 1 }, epsilon, delta }, rng);
        expect(w.emitted[0]).toBe(x);
        expect(w.path[0]).toBe(0);
      }
      // The target writes x first only with probability p(x) < 1: the laws differ by 1 - p(x) in total variation.
      expect(p0[x]!).toBeLessThan(1);
      // The exact rule on the same trees writes x about p(x) of the time.
      let hits = 0;
      const n = 2000;
      for (let r = 0; r < n; r++) {
        const tree = draftTree(cc, rng);
        if (acceptPath(tree, rowsOf(tree, law), { rule: 'exact', sampling: { temperature: 1 } }, rng).emitted[0] === x) hits++;
      }
      expect(Math.abs(hits / n - p0[x]!)).toBeLessThan(4.5 * Math.sqrt(p0[x]! * (1 - p0[x]!) / n) + 1e-9);
    }), { numRuns: 60, seed: 1416 });
  });

  it('typical threshold is min(epsilon, delta exp(-H)): epsilon binds for a sure target, delta e^-H for an unsure one', () => {
    fc.assert(fc.property(fc.double({ min: 0.001, max: 1, noNaN: true }), fc.double({ min: 0.001, max: 1, noNaN: true }), fc.integer({ min: 2, max: 64 }), (epsilon, delta, V) => {
      const uniform = new Float64Array(V).fill(1 / V);
      const sure = new Float64Array(V); sure[0] = 1;
      expect(entropy(uniform)).toBeCloseTo(Math.log(V), 12);
      expect(typicalThreshold(uniform, epsilon, delta)).toBeCloseTo(Math.min(epsilon, delta / V), 12);
      expect(typicalThreshold(sure, epsilon, delta)).toBeCloseTo(Math.min(epsilon, delta), 12);
      expect(typicalThresholdAt(Math.log(delta / epsilon) + 1e-9, epsilon, delta)).toBeLessThanOrEqual(epsilon);
    }), { numRuns: 100, seed: 1417 });
  });
});

// --- acceptance per draft depth ------------------------------------------------------------------

describe('acceptance per draft depth (speculateTree\'s depthAcceptance)', () => {
  it('a separate draft model of another shape: greedy equals greedy decoding, and depth k is judged in the steps that accepted k - 1 drafts and accepted in those that accepted k', () => {
    const pair = arbConfig({ mtp: 1 }).chain((cfg) => arbConfig({ mtp: 0 }).map((d) => ({ cfg, draftCfg: parseConfig({ ...configToJson(d), vocab_size: cfg.vocab_size }) })));
    fc.assert(
      fc.property(pair, fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 24 }), ({ cfg, draftCfg }, seed, gamma, n) => {
        const target = initModel(cfg, { seed });
        const prompt = [0, 1, 2].map((t) => (t + seed) % cfg.vocab_size);
        const plain = generate(target, prompt, { maxNewTokens: n }).tokens;
        const out = speculateTree(target, prompt, { maxNewTokens: n, drafter: new ChainTreeDrafter(new ModelDrafter(initModel(draftCfg, { seed: seed + 7 }), target), gamma), rule: 'greedy', sampling: { temperature: 0 }, seed });
        expect(out.tokens).toEqual(plain);
        const acc = out.steps.map((s) => s.accepted);
        const atLeast = (k: number) => acc.filter((a) => a >= k).length;
        const deepest = out.steps.length ? Math.min(gamma, Math.max(...acc) + 1) : 0;
        expect(out.depthAcceptance.map((d) => d.depth)).toEqual(Array.from({ length: deepest }, (_, k) => k + 1));
        out.depthAcceptance.forEach((d) => {
          expect(d.tried).toBe(atLeast(d.depth - 1));
          expect(d.accepted).toBe(atLeast(d.depth));
          expect(d.rate).toBeCloseTo(d.accepted / d.tried, 12);
        });
      }),
      { numRuns: 40, seed: 23 },
    );
  });

  it('in a tree, a depth is counted once per step however many siblings were tried there', () => {
    // Step 1 tried two children at depth 1 and accepted the second, then one at depth 2 (rejected);
    // step 2 rejected its only child at depth 1.
    const d = (depth: number) => ({ depth });
    const out = depthAcceptanceOf([
      { decisions: [d(1), d(1), d(2)], accepted: 1 },
      { decisions: [d(1)], accepted: 0 },
    ]);
    expect(out).toEqual([{ depth: 1, tried: 2, accepted: 1, rate: 0.5 }, { depth: 2, tried: 1, accepted: 0, rate: 0 }]);
    expect(depthAcceptanceOf([])).toEqual([]);
  });
});
