// speculation-trees' drafters table comes in two parts (the page asks the worker for the chain rows
// on a γ move and for the tree rows on a tree size move) and the chain's runs at other γ values are
// computed ahead into the worker's memo. The joined table must be each drafter's own speculateTree
// run, in the table's order, whichever runs were computed ahead and in whatever order.
import { describe, expect, it } from 'vitest';
import { MedusaDrafter, parseTreeSpec } from '../src/engine/medusa.js';
import type { AcceptRule } from '../src/engine/tree.js';
import { ModelDrafter, MtpDrafter } from '../src/engine/speculate.js';
import { ChainTreeDrafter, NoDrafter, type TreeDrafter, speculateTree } from '../src/engine/tree-speculate.js';
import { fastestBackend } from '../kernels/fastest.js';
import { NEW_TOKENS, chainRunAhead, drafterRows, joinDrafterRows, setup } from '../notebooks/speculation-trees/compute.js';
import { promptTokens, TEXT_EXAMPLES } from '../notebooks/_kit/tokens.js';

describe('speculation-trees: the drafters table from its tree and chain parts', () => {
  it('matches a fresh speculateTree run per drafter and rule, with chain runs computed ahead first', async () => {
    // The worker's backend (the small draft model loads on it).
    const s = await setup(await fastestBackend(() => {}));
    expect(s.small).not.toBeNull();
    const ids = promptTokens(TEXT_EXAMPLES[0]!.value, 48).ids;
    const fresh = (drafter: TreeDrafter, rule: AcceptRule, temperature: number, epsilon: number, delta: number, seed: number) => {
      const r = speculateTree(s.model, ids, { maxNewTokens: NEW_TOKENS, drafter, rule, sampling: { temperature }, epsilon, delta, seed });
      return { tokensPerStep: r.tokensPerStep, meanAccepted: r.meanAccepted, steps: r.steps.length, depth: r.depthAcceptance };
    };
    let differ = 0;
    for (const [n, gamma, t, e, d, seed] of [[12, 2, 1, 0.09, 0.3, 1], [5, 3, 0, 0.2, 0.8, 7]] as const) {
      // Ahead of the table, as the page's idle work does: the MTP chain under typical, the small model under the exact rule.
      chainRunAhead(s, ids, 'mtp', gamma, 'typical', t, e, d, seed);
      chainRunAhead(s, ids, 'small', gamma, 'exact', t, e, d, seed);
      const rows = joinDrafterRows(drafterRows(s, ids, 'tree', n, t, e, d, seed), drafterRows(s, ids, 'chain', gamma, t, e, d, seed));
      expect(rows.map((r) => r.drafter)).toEqual(['no drafting', `MTP chain, γ = ${gamma}`, `small model, γ = ${gamma}`, `Medusa tree, ${n} nodes`]);
      expect(rows.map((r) => r.nodes)).toEqual([0, gamma, gamma, n]);
      const drafters: (() => TreeDrafter)[] = [
        () => new NoDrafter(),
        () => new ChainTreeDrafter(new MtpDrafter(s.model), gamma),
        () => new ChainTreeDrafter(new ModelDrafter(s.small!, s.model), gamma),
        () => new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(n), s.heads)),
      ];
      rows.forEach((row, i) => {
        const exact = fresh(drafters[i]!(), t > 0 ? 'exact' : 'greedy', t, e, d, seed);
        const typical = fresh(drafters[i]!(), 'typical', t, e, d, seed);
        expect({ tokensPerStep: row.exact.tokensPerStep, meanAccepted: row.exact.meanAccepted, steps: row.exact.steps, depth: row.exact.depth }).toEqual(exact);
        expect({ tokensPerStep: row.typical.tokensPerStep, meanAccepted: row.typical.meanAccepted, steps: row.typical.steps, depth: row.typical.depth }).toEqual(typical);
        if (exact.tokensPerStep !== typical.tokensPerStep) differ++;
      });
    }
    // The two rules give different counts somewhere, so a run kept under the wrong rule would show.
    expect(differ).toBeGreaterThan(0);
  }, 120_000);
});
