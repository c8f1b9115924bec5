// Speculative decoding with token trees: each step a tree drafter proposes a tree after the
// committed sequence, the target verifies it in one pass (tree.ts) and the accepted path plus one
// corrected or bonus token are committed. A chain drafter (MTP, a small model) is the tree with one
// child per node: with the exact rule it makes the same choices as speculate().
import { EngineInputError } from './errors.js';
import { checkMaxNewTokens } from './generate.js';
import { type Model, rowOf } from './model.js';
import { type Rng, type SamplingOptions, argmax, createRng, sampleFrom, samplingDistribution } from './sampling.js';
import type { Drafter } from './speculate.js';
import { type AcceptOptions, type AcceptRule, type NodeDecision, type TokenTree, chainTree, treeDepths, verifyTree } from './tree.js';

export interface TreeDrafter {
  readonly name: string;
  /** The target ran over `count` tokens from position `start`; `hidden` [count, d] are its final states. */
  observe(start: number, hidden: Float32Array, count: number): void;
  propose(seq: readonly number[], sampling: SamplingOptions, rng: Rng): TokenTree;
  commit(seq: readonly number[]): void;
}

/** A chain drafter of gamma tokens as a (one child per node) tree drafter. */
export class ChainTreeDrafter implements TreeDrafter {
  readonly name: string;
  constructor(private readonly drafter: Drafter, private readonly gamma: number) { this.name = drafter.name; }
  observe(start: number, hidden: Float32Array, count: number): void { this.drafter.observe(start, hidden, count); }
  propose(seq: readonly number[], sampling: SamplingOptions, rng: Rng): TokenTree {
    const d = this.drafter.propose(seq, this.gamma, sampling, rng);
    return chainTree(d.tokens, d.q);
  }
  commit(seq: readonly number[]): void { this.drafter.commit(seq); }
}

/** No drafting: every step verifies an empty tree (one target pass per token, the baseline). */
export class NoDrafter implements TreeDrafter {
  readonly name = 'none';
  observe(): void {}
  propose(): TokenTree { return { tokens: [], parent: [], q: [] }; }
  commit(): void {}
}

export interface TreeStep {
  nodes: number;
  accepted: number;
  emitted: number[];
  tree?: TokenTree;
  decisions?: NodeDecision[];
}

export interface TreeSpeculateOptions extends Omit<AcceptOptions, 'sampling'> {
  maxNewTokens: number;
  drafter: TreeDrafter;
  sampling?: SamplingOptions;
  seed?: number;
  trace?: boolean;
}

export interface TreeSpeculateResult {
  tokens: number[];
  firstToken: number;
  rule: AcceptRule;
  steps: TreeStep[];
  /** Target forward passes: the prefill plus one per step. */
  targetPasses: number;
  /** Mean tokens committed per verification step (accepted + 1). */
  tokensPerStep: number;
  /** Mean accepted length per step. */
  meanAccepted: number;
  /** acceptedAtDepth[k]: the fraction of all steps whose accepted path reached depth k + 1. */
  acceptedAtDepth: number[];
  /**
   * Per draft depth (entry k is depth k + 1): `tried`, the steps in which the rule judged a drafted
   * token at that depth (the walk got there: every shallower depth was accepted and the tree had a
   * node there); `accepted`, those in which one was accepted; `rate` = accepted / tried (NaN when
   * never tried). For a chain, rate[k] is how often draft k + 1 is accepted given drafts 1..k were.
   */
  depthAcceptance: DepthAcceptance[];
  nodesPerStep: number;
}

export interface DepthAcceptance { depth: number; tried: number; accepted: number; rate: number }

/** Depth-by-depth acceptance from each step's decisions and accepted path length (see TreeSpeculateResult.depthAcceptance). */
export function depthAcceptanceOf(steps: readonly { decisions: readonly { depth: number }[]; accepted: number }[]): DepthAcceptance[] {
  const tried: number[] = [], accepted: number[] = [];
  for (const s of steps) {
    const depths = new Set(s.decisions.map((d) => d.depth));
    for (const k of depths) {
      tried[k - 1] = (tried[k - 1] ?? 0) + 1;
      if (s.accepted >= k) accepted[k - 1] = (accepted[k - 1] ?? 0) + 1;
    }
  }
  return Array.from({ length: tried.length }, (_, k) => {
    const t = tried[k] ?? 0, a = accepted[k] ?? 0;
    return { depth: k + 1, tried: t, accepted: a, rate: t > 0 ? a / t : NaN };
  });
}

export function speculateTree(target: Model, prompt: readonly number[], options: TreeSpeculateOptions): TreeSpeculateResult {
  target.checkTokens(prompt);
  checkMaxNewTokens(options.maxNewTokens);
  const sampling = options.sampling ?? { temperature: 0 };
  const rng = createRng(options.seed ?? 0);
  const V = target.config.vocab_size;
  const { drafter } = options;
  const cache = target.createCache('absorbed');
  const pre = target.forward(prompt, { cache });
  drafter.observe(0, pre.hidden, pre.tokens);
  const pFirst = samplingDistribution(rowOf(pre.logits, pre.tokens - 1, V), sampling);
  const firstToken = options.rule === 'greedy' ? argmax(pFirst) : sampleFrom(pFirst, rng);
  const seq = [...prompt, firstToken];
  const steps: TreeStep[] = [];
  const depthHits: number[] = [];
  const d = target.config.hidden_size;
  let nodes = 0;
  const judged: { decisions: NodeDecision[]; accepted: number }[] = [];
  while (seq.length - prompt.length < options.maxNewTokens) {
    const tree = drafter.propose(seq, sampling, rng);
    const start = cache.length;
    const v = verifyTree(target, cache, seq[seq.length - 1], tree, { ...options, sampling }, rng);
    // The target's states of the root and the accepted path, as consecutive positions.
    const rows = [0, ...v.path.map((i) => i + 1)];
    const hidden = new Float32Array(rows.length * d);
    rows.forEach((r, i) => hidden.set(v.hidden.subarray(r * d, (r + 1) * d), i * d));
    drafter.observe(start, hidden, rows.length);
    seq.push(...v.emitted);
    drafter.commit(seq);
    for (let k = 0; k < v.path.length; k++) depthHits[k] = (depthHits[k] ?? 0) + 1;
    nodes += tree.tokens.length;
    judged.push({ decisions: v.decisions, accepted: v.path.length });
    const step: TreeStep = { nodes: tree.tokens.length, accepted: v.path.length, emitted: v.emitted };
    if (options.trace) Object.assign(step, { tree, decisions: v.decisions });
    steps.push(step);
  }
  const S = Math.max(1, steps.length);
  const maxDepth = steps.length ? Math.max(0, ...steps.map((s) => (s.tree ? Math.max(0, ...treeDepths(s.tree)) : s.accepted))) : 0;
  const acceptedAtDepth = Array.from({ length: Math.max(maxDepth, depthHits.length) }, (_, k) => (depthHits[k] ?? 0) / S);
  return {
    tokens: seq.slice(prompt.length, prompt.length + options.maxNewTokens),
    firstToken,
    rule: options.rule,
    steps,
    targetPasses: 1 + steps.length,
    tokensPerStep: steps.reduce((a, s) => a + s.emitted.length, 0) / S,
    meanAccepted: steps.reduce((a, s) => a + s.accepted, 0) / S,
    acceptedAtDepth,
    depthAcceptance: depthAcceptanceOf(judged),
    nodesPerStep: nodes / S,
  };
}

/** The --accept value as a rule, or a clear error. */
export function checkRule(rule: string): AcceptRule {
  if (rule !== 'exact' && rule !== 'greedy' && rule !== 'typical') throw new EngineInputError(`--accept must be exact, greedy or typical (got ${JSON.stringify(rule)})`);
  return rule;
}
