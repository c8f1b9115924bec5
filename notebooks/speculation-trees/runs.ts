// The speculation-trees lesson's runs on a model with its Medusa heads: drafters side by side in
// counts, the tree size sweep, one traced tree step, and exact against typical acceptance over many
// runs of the rule. Pure engine work on a Setup (plain data and Models), so the same code runs on
// the page and in the lesson's worker (jobs.ts). Nothing here is timed: every number follows from
// the text, the controls and the seed, so a link reproduces the page.
import { type MedusaHeads, MedusaDrafter, parseTreeSpec } from '$engine/medusa';
import type { Model } from '$engine/model';
import { createRng, sampleFrom, samplingDistribution } from '$engine/sampling';
import { ModelDrafter, MtpDrafter } from '$engine/speculate';
import { ChainTreeDrafter, type DepthAcceptance, NoDrafter, type TreeDrafter, speculateTree } from '$engine/tree-speculate';
import { type AcceptRule, type TokenTree, acceptPath, entropy, treeMask, typicalThreshold } from '$engine/tree';
import { memoPer } from '../_kit/memo';
import { glyph } from '../_kit/tokens';

export interface Setup {
  model: Model;
  heads: MedusaHeads;
  name: string;
  /** True when trained heads were loaded. */
  trainedHeads: boolean;
  /** The separate small draft model (null when it is not shipped or could not be loaded) and its folder name. */
  small: Model | null;
  smallName: string | null;
}

/** Tokens each drafter comparison run writes. */
export const NEW_TOKENS = 48;
/** Runs of the rule on one verification's logits in the exact-against-typical comparison. */
export const RULE_RUNS = 3000;

/** The rule that keeps the model's distribution at this temperature: exact, or greedy at 0. */
export const exactRuleAt = (temperature: number): AcceptRule => (temperature > 0 ? 'exact' : 'greedy');

// ------------------------------------------------------------------ drafters side by side

export interface RunCounts {
  tokensPerStep: number; meanAccepted: number; steps: number; positionsPerToken: number;
  /** The engine's acceptance per draft depth (speculateTree's depthAcceptance). */
  depth: DepthAcceptance[];
}
export interface DrafterRow { drafter: string; nodes: number; exact: RunCounts; typical: RunCounts }

function counts(r: ReturnType<typeof speculateTree>): RunCounts {
  const emitted = r.steps.reduce((a, s) => a + s.emitted.length, 0);
  const positions = r.steps.reduce((a, s) => a + 1 + s.nodes, 0);
  return { tokensPerStep: r.tokensPerStep, meanAccepted: r.meanAccepted, steps: r.steps.length, positionsPerToken: positions / Math.max(1, emitted), depth: r.depthAcceptance };
}

// Runs remembered per model by what they depend on: moving one control recomputes only the runs it
// changes, and moving back costs nothing. Room for several settings' rows (4 drafters x 2 rules, the
// chain ones at every γ, the sweep's 6): a run's counts are a few numbers.
const remembered = memoPer<Model, RunCounts>(256);

/** One speculateTree run's counts; `drafter` names the drafter and its size (part of the memo key). */
function runOf(s: Setup, ids: number[], drafter: string, make: () => TreeDrafter, rule: AcceptRule, temperature: number, epsilon: number, delta: number, seed: number): RunCounts {
  const key = `${s.trainedHeads}|${drafter}|${rule}|${temperature}|${rule === 'typical' ? `${epsilon}|${delta}` : ''}|${seed}|${ids.join(',')}`;
  return remembered(s.model, key, () => counts(speculateTree(s.model, ids, { maxNewTokens: NEW_TOKENS, drafter: make(), rule, sampling: { temperature }, epsilon, delta, seed })));
}

const medusaOf = (s: Setup, n: number) => () => new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(n), s.heads));

/**
 * The drafters of one part of the comparison: 'tree', no drafting and the Medusa tree of `size`
 * nodes; 'chain', the MTP chain and the small draft model (when there is one) drafting `size` (γ)
 * tokens. A γ move changes only the chain's rows and a tree size move only the tree's, so the page
 * asks for each part on its own (joinDrafterRows puts them in the table's order).
 */
function draftersOf(s: Setup, part: 'tree' | 'chain', size: number): [string, string, number, () => TreeDrafter][] {
  if (part === 'tree') return [['no drafting', 'none', 0, () => new NoDrafter()], [`Medusa tree, ${size} nodes`, `medusa${size}`, size, medusaOf(s, size)]];
  return [
    [`MTP chain, γ = ${size}`, `mtp${size}`, size, () => new ChainTreeDrafter(new MtpDrafter(s.model), size)],
    ...(s.small ? [[`small model, γ = ${size}`, `small${size}`, size, () => new ChainTreeDrafter(new ModelDrafter(s.small!, s.model), size)] as [string, string, number, () => TreeDrafter]] : []),
  ];
}

/** The rules each drafter runs under: the one that keeps the distribution, then typical acceptance. */
const rulesAt = (temperature: number): AcceptRule[] => [exactRuleAt(temperature), 'typical'];

/** One part's rows (see draftersOf), each drafter under both rules. Counts only, deterministic given the seed. */
export function drafterRows(s: Setup, ids: number[], part: 'tree' | 'chain', size: number, temperature: number, epsilon: number, delta: number, seed: number): DrafterRow[] {
  return draftersOf(s, part, size).map(([drafter, key, nodes, make]) => {
    const [exact, typical] = rulesAt(temperature).map((rule) => runOf(s, ids, key, make, rule, temperature, epsilon, delta, seed));
    return { drafter, nodes, exact: exact!, typical: typical! };
  });
}

/**
 * One run of a chain drafter at γ under one rule of drafterRows, kept in the memo it reads: the
 * page has the worker compute the other γ values' runs while nothing else waits, one run at a time,
 * so a γ move then finds its rows computed. Returns nothing (the rows come from drafterRows).
 */
export function chainRunAhead(s: Setup, ids: number[], drafter: 'mtp' | 'small', gamma: number, rule: 'exact' | 'typical', temperature: number, epsilon: number, delta: number, seed: number): void {
  const d = draftersOf(s, 'chain', gamma).find(([, key]) => key === `${drafter}${gamma}`);
  if (!d) return;
  runOf(s, ids, d[1], d[3], rule === 'exact' ? exactRuleAt(temperature) : 'typical', temperature, epsilon, delta, seed);
}

/** The table's order: no drafting, the chains, the Medusa tree. */
export function joinDrafterRows(tree: DrafterRow[], chain: DrafterRow[]): DrafterRow[] {
  return [tree[0]!, ...chain, ...tree.slice(1)];
}

/**
 * Each drafter over the same prompt, under the distribution-keeping rule and under typical
 * acceptance: tokens per verification step, mean accepted length, and target positions scored per
 * token written (the compute a step spends on its tree). Counts only, deterministic given the seed.
 */
export function compareDrafters(s: Setup, ids: number[], treeSize: number, gamma: number, temperature: number, epsilon: number, delta: number, seed: number): DrafterRow[] {
  return joinDrafterRows(drafterRows(s, ids, 'tree', treeSize, temperature, epsilon, delta, seed), drafterRows(s, ids, 'chain', gamma, temperature, epsilon, delta, seed));
}

/** Tree sizes of the sweep. */
export const SWEEP_SIZES = [1, 2, 4, 8, 16, 32];

export interface SweepPoint { nodes: number; counts: RunCounts }

/** The Medusa drafter at each tree size of SWEEP_SIZES under the distribution-keeping rule (counts only). */
export function sweepTreeSize(s: Setup, ids: number[], temperature: number, seed: number): SweepPoint[] {
  return SWEEP_SIZES.map((n) => ({ nodes: n, counts: runOf(s, ids, `medusa${n}`, medusaOf(s, n), exactRuleAt(temperature), temperature, 0, 0, seed) }));
}

// ------------------------------------------------------------------ one traced tree step

export type NodeStatus = 'accepted' | 'rejected' | 'unjudged';

export interface TreeNodeView {
  /** Parent node (-1: the root). */
  parent: number;
  depth: number;
  token: number;
  label: string;
  /** p(token) under the target at the parent (at the chosen temperature). */
  p: number;
  /** Entropy (nats) of the target's distribution at the parent, and the typical threshold there. */
  h: number;
  threshold: number;
  status: NodeStatus;
}

export interface TreeFigureData {
  rule: AcceptRule;
  temperature: number;
  epsilon: number;
  delta: number;
  root: string;
  /** The prompt's last characters, for context. */
  context: string;
  nodes: TreeNodeView[];
  /** The token written after the accepted path: a bonus (the path reached a leaf) or a replacement. */
  extra: { parent: number; depth: number; label: string; bonus: boolean };
  emitted: string;
  accepted: number;
  trainedHeads: boolean;
  /** Tree attention mask over [root, ...nodes] (1: attends). */
  mask: Uint8Array;
}

/** The Medusa tree drafted right after the prompt and the target's logits over it (root first, then each node). */
export interface TreeForward { tree: TokenTree; logits: Float32Array }

// The forward depends on the prompt and the tree size only: the rule, temperature, seed, ε and δ
// re-decide on the same logits (acceptPath, as verifyTree does), so their moves cost no forward.
const forwards = memoPer<Model, TreeForward>(40);

/** MedusaDrafter.propose on the prompt, then the target's forward over the tree under its mask (verifyTree's forward). */
export function treeForward(s: Setup, ids: number[], treeSize: number): TreeForward {
  return forwards(s.model, `${s.trainedHeads}|${treeSize}|${ids.join(',')}`, () => {
    const drafter = new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(treeSize), s.heads));
    const cache = s.model.createCache('absorbed');
    const pre = s.model.forward(ids.slice(0, -1), { cache });
    // The heads read the state of the prompt's second to last token (the last one is the root, not yet run).
    drafter.observe(0, pre.hidden, pre.tokens);
    const tree: TokenTree = drafter.propose(ids);
    const out = s.model.forward([ids[ids.length - 1]!, ...tree.tokens], { cache, tree: treeMask(tree) });
    // A copy: with a cache the logits live in the cache's buffers.
    return { tree, logits: out.logits.slice() };
  });
}

/** One verification of the Medusa tree right after the prompt, with the rule's decision on every node. */
export function treeStep(s: Setup, ids: number[], treeSize: number, temperature: number, rule: AcceptRule, seed: number, epsilon: number, delta: number): TreeFigureData {
  const { tree, logits } = treeForward(s, ids, treeSize);
  const sampling = { temperature };
  const V = s.model.config.vocab_size;
  const dists = new Map<number, Float64Array>();
  const dist = (row: number) => {
    let p = dists.get(row);
    if (!p) { p = samplingDistribution(logits.subarray(row * V, (row + 1) * V), sampling); dists.set(row, p); }
    return p;
  };
  // verifyTree's decision on its forward's logits: the same walk, the same draws.
  const v = acceptPath(tree, dist, { rule, sampling, epsilon, delta }, createRng(seed));
  const mask = treeMask(tree);
  const judged = new Set(v.decisions.map((d) => d.node));
  const nodes = tree.tokens.map((token, i): TreeNodeView => {
    const at = dist(tree.parent[i]! + 1);
    return {
      parent: tree.parent[i]!, depth: mask.depth[i + 1]!, token, label: glyph(token), p: at[token]!,
      h: entropy(at), threshold: typicalThreshold(at, epsilon, delta),
      status: v.path.includes(i) ? 'accepted' : judged.has(i) ? 'rejected' : 'unjudged',
    };
  });
  const last = v.path.length ? v.path[v.path.length - 1]! : -1;
  const bonus = !tree.parent.includes(last);
  return {
    rule, temperature, epsilon, delta, root: glyph(ids[ids.length - 1]!),
    context: ids.slice(-12, -1).map(glyph).join(''),
    nodes, extra: { parent: last, depth: v.path.length + 1, label: glyph(v.emitted[v.emitted.length - 1]!), bonus },
    emitted: v.emitted.map(glyph).join(''), accepted: v.path.length, trainedHeads: s.trainedHeads, mask: mask.ancestor,
  };
}

// ------------------------------------------------------------------ exact against typical

export interface RuleComparison { rule: string; meanAccepted: number; tv: number }

/**
 * Many runs of each rule on one verification's logits (the forward is deterministic, only the rule
 * draws): mean accepted length and the total-variation distance between the first emitted token's
 * histogram and the target's p; the last row is as many samples from p itself (the noise floor).
 */
export function compareRules(s: Setup, ids: number[], treeSize: number, temperature: number, epsilon: number, delta: number, seed: number, runs = RULE_RUNS): RuleComparison[] {
  const sampling = { temperature };
  const drafter = new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(treeSize), s.heads));
  const cache = s.model.createCache('absorbed');
  const pre = s.model.forward(ids.slice(0, -1), { cache });
  drafter.observe(0, pre.hidden, pre.tokens);
  const tree = drafter.propose(ids);
  const V = s.model.config.vocab_size;
  const out = s.model.forward([ids[ids.length - 1]!, ...tree.tokens], { cache, tree: treeMask(tree) });
  const rows = new Map<number, Float64Array>();
  const dist = (r: number) => { let p = rows.get(r); if (!p) { p = samplingDistribution(out.logits.subarray(r * V, (r + 1) * V), sampling); rows.set(r, p); } return p; };
  const target = dist(0);
  const tv = (c: Float64Array) => { let d = 0; for (let i = 0; i < V; i++) d += Math.abs(c[i]! / runs - target[i]!); return d / 2; };
  const rng = createRng(seed);
  const rules: [string, AcceptRule][] = [[temperature > 0 ? 'exact' : 'greedy (T = 0)', exactRuleAt(temperature)], [`typical, ε = ${epsilon}, δ = ${delta}`, 'typical']];
  const result: RuleComparison[] = rules.map(([name, rule]) => {
    const c = new Float64Array(V);
    let acc = 0;
    for (let n = 0; n < runs; n++) {
      const w = acceptPath(tree, dist, { rule, sampling, epsilon, delta }, rng);
      c[w.emitted[0]!]++;
      acc += w.path.length;
    }
    return { rule: name, meanAccepted: acc / runs, tv: tv(c) };
  });
  const noise = new Float64Array(V);
  for (let n = 0; n < runs; n++) noise[sampleFrom(target, rng)]++;
  result.push({ rule: `${runs} samples from p itself (noise floor)`, meanAccepted: NaN, tv: tv(noise) });
  return result;
}
