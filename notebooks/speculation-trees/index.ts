// Lesson: speculation with token trees. A new lesson rather than an extension of lesson 7
// (speculative-decoding): that one builds the exact accept/resample rule on a chain; this one keeps
// the rule and changes what is drafted (a tree from Medusa heads beside DeepSeek's MTP chain), how it
// is verified (one pass with a tree attention mask) and which rule accepts (exact, greedy, typical).
import type { Backend } from '$kernels/backend';
import type { AcceptRule } from '$engine/tree';
import { cell, type Notebook } from '../_kit/types';
import { TEXT_EXAMPLES, glyph, promptTokens } from '../_kit/tokens';
import { type DrafterRow, NEW_TOKENS, type RuleComparison, type Setup, type TreeStepView, compareDrafters, compareRules, setup, treeStep } from './compute';

export const meta = {
  slug: 'speculation-trees',
  title: 'Speculation with token trees: Medusa heads, MTP and typical acceptance',
  summary: 'The shipped model drafts with DeepSeek\'s MTP chain or with Medusa heads building a tree of candidates, verified in one pass under a tree attention mask; the exact rule keeps the model\'s distribution, typical acceptance trades it for longer accepted runs.',
  order: 13,
};

const PROMPT_LEN = 48;

function treeTable(v: TreeStepView) {
  const rows = [{ node: 'root', tree: glyph(v.root), depth: 0, p: '', decision: 'committed (last token)' }];
  // Depth-first order so each node sits under its parent.
  const kids = (par: number) => v.tree.parent.map((q, i) => (q === par ? i : -1)).filter((i) => i >= 0);
  const walk = (par: number, indent: string) => {
    const list = kids(par);
    list.forEach((i, k) => {
      const last = k === list.length - 1;
      rows.push({
        node: String(i + 1), tree: `${indent}${last ? '└─' : '├─'} ${glyph(v.tree.tokens[i]!)}`, depth: v.depth[i]!, p: v.p[i]!.toFixed(3),
        decision: v.accepted[i] ? 'accepted' : v.judged[i] ? 'rejected' : 'not judged',
      });
      walk(i, indent + (last ? '   ' : '│  '));
    });
  };
  walk(-1, '');
  return {
    kind: 'table' as const,
    columns: [{ key: 'node', label: 'node' }, { key: 'tree', label: 'tree (token)' }, { key: 'depth', label: 'depth', align: 'right' as const }, { key: 'p', label: 'p(token) at parent', align: 'right' as const }, { key: 'decision', label: 'decision' }],
    rows,
    caption: `Emitted this step: ${v.emitted.map(glyph).join('')}`,
  };
}

function maskHeatmap(v: TreeStepView) {
  const T = v.tree.tokens.length + 1;
  const labels = ['root ' + glyph(v.root), ...v.tree.tokens.map((x, i) => `${i + 1} ${glyph(x)}`)];
  return {
    kind: 'heatmap' as const, rows: T, cols: T, values: Float32Array.from(v.mask), rowLabels: labels, colLabels: labels,
    rowTitle: 'query (node)', colTitle: 'key (node)', scale: 'sequential' as const, domain: [0, 1] as [number, number], valueLabel: '1 = attends',
  };
}

export const notebook: Notebook = {
  inputs: [
    { kind: 'text', name: 'text', label: 'Your text (the prompt)', value: TEXT_EXAMPLES[0]!.value, maxLength: 512, examples: TEXT_EXAMPLES, help: `Its first ${PROMPT_LEN} characters are the prompt.` },
    { kind: 'range', name: 'temperature', label: 'Temperature', min: 0, max: 1.5, step: 0.1, value: 1, help: '0: greedy verification; above 0: the exact rule (drafter comparison) at this temperature.' },
    { kind: 'range', name: 'treeSize', label: 'Medusa tree nodes', min: 1, max: 32, step: 1, value: 12, help: 'Size of the sparse tree grown from the heads\' measured top-k accuracies.' },
    { kind: 'range', name: 'gamma', label: 'MTP chain length γ', min: 1, max: 3, step: 1, value: 2, help: 'Tokens the MTP module drafts per step (chained on its own output state).' },
    { kind: 'select', name: 'rule', label: 'Accept rule (tree step)', value: 'exact', options: [{ value: 'exact', label: 'exact' }, { value: 'greedy', label: 'greedy' }, { value: 'typical', label: 'typical' }], help: 'Which rule decides the traced tree step.' },
    { kind: 'range', name: 'epsilon', label: 'Typical ε', min: 0.01, max: 0.5, step: 0.01, value: 0.09, help: 'Typical acceptance accepts x when p(x) > min(ε, δ·exp(−H(p))).' },
    { kind: 'range', name: 'delta', label: 'Typical δ', min: 0.01, max: 1, step: 0.01, value: 0.3, help: 'Scales the entropy-dependent part of the threshold.' },
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Seeds every random draw of the rules.' },
  ],
  cells: [
    cell('setup', ['backend'], (b: Backend) => setup(b), { kind: 'engine', detail: 'the kit\'s lessonModel and medusa.safetensors beside it' }),
    cell('ids', ['text'], (text: string) => promptTokens(text, PROMPT_LEN).ids, { kind: 'derived', detail: 'one character per token' }),
    cell('which', ['setup'], (s: Setup) => ({ kind: 'stats', items: [
      { label: 'model', value: s.name },
      { label: 'Medusa heads', value: s.trainedHeads ? `${s.heads.numHeads} trained heads (medusa.safetensors)` : 'untrained (each head = lm_head): no medusa.safetensors shipped' },
    ] }), { kind: 'engine' }),
    cell('drafters', ['setup', 'ids', 'treeSize', 'gamma', 'temperature', 'seed'], (s: Setup, ids: number[], n: number, g: number, t: number, seed: number) => compareDrafters(s, ids, n, g, t, seed),
      { kind: 'engine', detail: `speculateTree over ${NEW_TOKENS} new tokens, best of 2 runs timed in this page against generate` }),
    cell('drafterTable', ['drafters'], (rows: DrafterRow[]) => ({
      kind: 'table',
      columns: [{ key: 'drafter', label: 'drafter' }, { key: 'nodes', label: 'nodes / step', align: 'right' }, { key: 'tps', label: 'tokens / verification', align: 'right' }, { key: 'acc', label: 'mean accepted', align: 'right' }, { key: 'ms', label: 'ms', align: 'right' }, { key: 'speed', label: 'speed-up vs generate', align: 'right' }],
      rows: rows.map((r) => ({ drafter: r.drafter, nodes: r.nodes, tps: r.tokensPerStep.toFixed(2), acc: r.meanAccepted.toFixed(2), ms: r.ms.toFixed(0), speed: `${r.speedUp.toFixed(2)}×` })),
    }), { kind: 'engine', detail: 'measured on this machine' }),
    cell('drafterBars', ['drafters'], (rows: DrafterRow[]) => ({
      kind: 'bar', categories: rows.map((r) => r.drafter), series: [{ name: 'tokens per verification step', values: rows.map((r) => r.tokensPerStep) }, { name: 'wall-clock speed-up', values: rows.map((r) => r.speedUp) }], yLabel: 'tokens / step, ×',
    }), { kind: 'engine' }),
    cell('step', ['setup', 'ids', 'treeSize', 'temperature', 'rule', 'seed', 'epsilon', 'delta'], (s: Setup, ids: number[], n: number, t: number, rule: AcceptRule, seed: number, e: number, d: number) => treeStep(s, ids, n, t, rule, seed, e, d),
      { kind: 'engine', detail: 'MedusaDrafter.propose, verifyTree' }),
    cell('treeView', ['step'], (v: TreeStepView) => treeTable(v), { kind: 'engine', detail: 'the rule\'s decisions (tree.ts acceptPath)' }),
    cell('maskView', ['step'], (v: TreeStepView) => maskHeatmap(v), { kind: 'engine', detail: 'treeMask: ancestors and self' }),
    cell('rules', ['setup', 'ids', 'treeSize', 'temperature', 'epsilon', 'delta', 'seed'], (s: Setup, ids: number[], n: number, t: number, e: number, d: number, seed: number) => compareRules(s, ids, n, t, e, d, seed),
      { kind: 'engine', detail: '4000 runs of acceptPath on one verification\'s logits' }),
    cell('rulesTable', ['rules'], (rows: RuleComparison[]) => ({
      kind: 'table',
      columns: [{ key: 'rule', label: 'rule' }, { key: 'acc', label: 'mean accepted length', align: 'right' }, { key: 'tv', label: 'TV distance of the first token to p', align: 'right' }],
      rows: rows.map((r) => ({ rule: r.rule, acc: Number.isFinite(r.meanAccepted) ? r.meanAccepted.toFixed(3) : '', tv: r.tv.toFixed(4) })),
    }), { kind: 'engine' }),
  ],
  sections: [
    {
      id: 'drafters', title: 'Drafters side by side',
      prose: `Speculative decoding pays one target pass for several tokens when the drafts are accepted. DeepSeek-V3's MTP module drafts a **chain**: each token from the module's own state (*self* speculation, one extra block on the model). Medusa puts $K$ extra heads on the final hidden state $h_t$, head $k$ guessing token $t+k+1$ as $\\mathrm{lm\\_head}(h_t + \\mathrm{SiLU}(W_k h_t + b_k))$, trained with the trunk frozen; its top guesses form a **tree** of candidates, all verified in one pass. The table runs each on the same prompt for ${NEW_TOKENS} new tokens.`,
      controls: ['text', 'temperature', 'treeSize', 'gamma', 'seed'],
      views: [
        { cell: 'which', title: 'What runs' },
        { cell: 'drafterTable', title: 'Tokens per verification step and measured speed-up', caption: 'A bigger tree accepts more per step but the target scores every node: on a model this small each token costs the same compute, so fewer passes do not mean less time.' },
        { cell: 'drafterBars', title: 'Tokens per step against speed-up' },
      ],
      after: 'On a large model served from a GPU a pass over 1 token or 20 costs about the same (the weights are read once either way), and tokens per step becomes speed-up. Here every token is paid in arithmetic.',
    },
    {
      id: 'tree', title: 'One tree, one pass',
      prose: 'Every node sits at position (prompt length + depth) and attends to the prompt, its ancestors and itself, never to its siblings: the tree attention mask. Its logits then equal those of a plain forward over its own path (the engine\'s property test checks this). Only the accepted path\'s latents stay in the cache.',
      controls: ['treeSize', 'rule', 'temperature', 'seed'],
      views: [
        { cell: 'treeView', title: 'The drafted tree and the rule\'s decision per node', caption: 'p is the target\'s probability of the node\'s token at its parent. Siblings are tried in order; the first accepted child is followed.' },
        { cell: 'maskView', title: 'Tree attention mask', caption: 'Row: the query node; column: the key node. The prompt (not drawn) is visible to every node.' },
      ],
    },
    {
      id: 'typical', title: 'Typical acceptance against the exact rule',
      prose: 'The exact rule tries each child $x$ with probability $r(x)$ and removes it from $r$ when rejected, so the emitted token is distributed exactly as $p$. Medusa\'s typical acceptance takes $x$ whenever $p(x) > \\min(\\epsilon, \\delta e^{-H(p)})$: longer accepted runs, but not the model\'s distribution. Here both rules run 4000 times on the same logits.',
      controls: ['temperature', 'epsilon', 'delta', 'treeSize', 'seed'],
      views: [
        { cell: 'rulesTable', title: 'Accepted length and distance to the target', caption: 'The exact rule\'s distance stays at the noise floor of 4000 samples; typical acceptance moves away, most at high temperature and low thresholds.' },
      ],
    },
  ],
};
