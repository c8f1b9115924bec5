// speculation-trees' drawn tree step: the page runs the tree's forward once per prompt and tree size
// and lets the rule, temperature, seed, ε and δ re-decide on its logits. Each decision must be the one
// verifyTree makes on a fresh forward (the engine's numbers, not a copy of the lesson's code).
import { describe, expect, it } from 'vitest';
import { MedusaDrafter, parseTreeSpec } from '../src/engine/medusa.js';
import { createRng, samplingDistribution } from '../src/engine/sampling.js';
import { type AcceptRule, type TokenTree, verifyTree } from '../src/engine/tree.js';
import { setup, treeStep } from '../notebooks/speculation-trees/compute.js';
import { glyph, promptTokens, TEXT_EXAMPLES } from '../notebooks/_kit/tokens.js';

describe('speculation-trees: the drawn step on one kept forward', () => {
  it('matches verifyTree on a fresh forward for every rule, temperature and seed, in any order', async () => {
    const s = await setup(undefined as never);
    const ids = promptTokens(TEXT_EXAMPLES[0]!.value, 48).ids;
    const V = s.model.config.vocab_size;
    const cases: [number, AcceptRule, number, number, number, number][] = [
      [12, 'exact', 1, 1, 0.09, 0.3], [12, 'typical', 1, 1, 0.09, 0.3], [12, 'exact', 0.7, 5, 0.09, 0.3], [12, 'greedy', 0, 1, 0.09, 0.3],
      [32, 'exact', 1.5, 3, 0.09, 0.3], [12, 'typical', 1.2, 2, 0.2, 0.8], [1, 'exact', 1, 9, 0.09, 0.3], [12, 'exact', 1, 1, 0.09, 0.3],
    ];
    let accepted = 0;
    for (const [n, rule, t, seed, e, d] of cases) {
      const got = treeStep(s, ids, n, t, rule, seed, e, d);
      const drafter = new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(n), s.heads));
      const cache = s.model.createCache('absorbed');
      const pre = s.model.forward(ids.slice(0, -1), { cache });
      drafter.observe(0, pre.hidden, pre.tokens);
      const tree: TokenTree = drafter.propose(ids);
      const v = verifyTree(s.model, cache, ids[ids.length - 1]!, tree, { rule, sampling: { temperature: t }, epsilon: e, delta: d }, createRng(seed));
      expect(got.nodes.map((x) => x.token)).toEqual(tree.tokens);
      expect(got.nodes.map((x) => x.parent)).toEqual(tree.parent);
      expect(got.accepted).toBe(v.path.length);
      expect(got.nodes.filter((x) => x.status === 'accepted').length).toBe(v.path.length);
      expect(got.nodes.filter((x) => x.status !== 'unjudged').length).toBe(v.decisions.length);
      expect(got.emitted).toBe(v.emitted.map(glyph).join(''));
      // Each node's p is the target's probability of its token at its parent, from verifyTree's logits.
      got.nodes.forEach((x, i) => {
        const row = tree.parent[i]! + 1;
        const p = samplingDistribution(v.logits.subarray(row * V, (row + 1) * V), { temperature: t });
        expect(x.p).toBe(p[x.token]);
      });
      accepted += v.path.length;
    }
    // The cases above must exercise an accepted path somewhere, or the comparison says little.
    expect(accepted).toBeGreaterThan(0);
  });
});
