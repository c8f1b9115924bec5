// Token-tree verification (SpecInfer, Miao et al. 2023; Medusa, Cai et al. 2024). A drafter proposes
// a tree of candidate continuations; the target scores every node in ONE forward pass: node t sits
// at position start + depth(t) and attends to the cached prefix, its ancestors and itself (a tree
// attention mask), so its logits equal those of a plain forward over the prefix and its path. One
// path is then accepted by a rule, and only that path's latents stay in the cache.
// Rules:
//   exact   recursive rejection over siblings: the children of a node are tried in order, child x
//           drawn from q is accepted with probability min(1, r(x)/q(x)), and on rejection r becomes
//           norm(max(0, r - q)), starting from r = p. A child chosen deterministically (a top-k
//           pick, q = null) counts as q = one-hot(x). If every child is rejected a token is drawn
//           from r. The output is distributed exactly as sampling from the target.
//   greedy  accept the child equal to argmax p; otherwise emit argmax p.
//   typical Medusa's typical acceptance: accept the first child with p(x) > min(epsilon, delta·exp(-H(p)));
//           otherwise draw from p. Longer accepted paths, but NOT the target distribution.
import type { KVCache } from './cache.js';
import { EngineInputError } from './errors.js';
import type { TreeMask } from './mla.js';
import { type Model, rowOf } from './model.js';
import { type Rng, type SamplingOptions, argmax, sampleFrom, samplingDistribution } from './sampling.js';

export type AcceptRule = 'exact' | 'greedy' | 'typical';
export const ACCEPT_RULES: readonly AcceptRule[] = ['exact', 'greedy', 'typical'];

/** A drafted token tree below the root (the last committed token, not yet in the target's cache). */
export interface TokenTree {
  /** Node tokens, parents before children. */
  tokens: number[];
  /** Parent node index, or -1 for a child of the root. */
  parent: number[];
  /** The distribution each node was drawn from; null when it was picked deterministically (top-k). */
  q: (Float64Array | null)[];
}

export interface AcceptOptions {
  rule: AcceptRule;
  sampling: SamplingOptions;
  /** Typical acceptance: the threshold is min(epsilon, delta·exp(-H(p))) (Medusa's defaults 0.09, 0.3). */
  epsilon?: number;
  delta?: number;
}

export interface NodeDecision {
  /** Tree node index (0-based, as in TokenTree). */
  node: number;
  depth: number;
  token: number;
  /** p(token) under the target at the node's parent. */
  p: number;
  accepted: boolean;
}

export interface TreeVerification {
  /** Accepted node indices, root to leaf. */
  path: number[];
  /** The accepted tokens then the corrected or bonus one. */
  emitted: number[];
  /** Every child judged, in the order the rule looked at them. */
  decisions: NodeDecision[];
  /** The rule that ran. */
  rule: AcceptRule;
  /** Target logits of the root then every node [1 + n, vocab]; hidden [1 + n, d]. */
  logits: Float32Array;
  hidden: Float32Array;
}

/** Depth of every node (root children: 1). Throws on a parent that does not come first. */
export function treeDepths(tree: TokenTree): number[] {
  const n = tree.tokens.length;
  if (tree.parent.length !== n || tree.q.length !== n) throw new EngineInputError('token tree: tokens, parent and q must have one entry per node');
  const depth: number[] = [];
  for (let i = 0; i < n; i++) {
    const par = tree.parent[i];
    if (!Number.isInteger(par) || par < -1 || par >= i) throw new EngineInputError(`token tree: parent[${i}] = ${par} must be -1 or an earlier node`);
    depth.push(par < 0 ? 1 : depth[par] + 1);
  }
  return depth;
}

/** The mask over [root, ...nodes]: position offsets by depth and ancestor-or-self flags. */
export function treeMask(tree: TokenTree): TreeMask {
  const depths = treeDepths(tree), T = tree.tokens.length + 1;
  const depth = new Int32Array(T), ancestor = new Uint8Array(T * T);
  ancestor[0] = 1;
  for (let i = 1; i < T; i++) {
    depth[i] = depths[i - 1];
    const par = tree.parent[i - 1] + 1; // row of the parent (0: root)
    ancestor.set(ancestor.subarray(par * T, par * T + T), i * T);
    ancestor[i * T + i] = 1;
  }
  return { depth, ancestor };
}

/** Children of the root (-1) and of each node, in node order. */
function childrenOf(tree: TokenTree): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  tree.parent.forEach((par, i) => {
    const list = kids.get(par);
    if (list) list.push(i);
    else kids.set(par, [i]);
  });
  return kids;
}

/** Shannon entropy in nats. */
export function entropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log(p[i]);
  return h;
}

/** Medusa's typical-acceptance threshold for a distribution of entropy h (nats): min(epsilon, delta·exp(-h)). */
export function typicalThresholdAt(h: number, epsilon = 0.09, delta = 0.3): number {
  return Math.min(epsilon, delta * Math.exp(-h));
}

/** The threshold a child's p(x) must exceed under typical acceptance at a node whose target distribution is p. */
export function typicalThreshold(p: ArrayLike<number>, epsilon = 0.09, delta = 0.3): number {
  return typicalThresholdAt(entropy(p), epsilon, delta);
}

/**
 * Walk the tree from the root choosing one child per level by `rule`, given the target's sampling
 * distribution at the root and at every node (dist(row): row 0 = root, row i + 1 = node i).
 * Pure (no model): tests and lessons run it many times on one forward's logits.
 */
export function acceptPath(tree: TokenTree, dist: (row: number) => Float64Array, opts: AcceptOptions, rng: Rng): { path: number[]; emitted: number[]; decisions: NodeDecision[] } {
  const kids = childrenOf(tree), depths = treeDepths(tree);
  const path: number[] = [], emitted: number[] = [], decisions: NodeDecision[] = [];
  const eps = opts.epsilon ?? 0.09, delta = opts.delta ?? 0.3;
  let at = -1;
  for (;;) {
    const p = dist(at + 1);
    const children = kids.get(at) ?? [];
    let next = -1;
    let r = p; // exact: what is left of p after the rejected siblings
    for (const c of children) {
      const x = tree.tokens[c];
      let ok: boolean;
      if (opts.rule === 'greedy') ok = x === argmax(p);
      else if (opts.rule === 'typical') ok = p[x] > typicalThreshold(p, eps, delta);
      else {
        const q = tree.q[c];
        const u = rng();
        const qx = q ? q[x] : 1;
        ok = qx > 0 && u < r[x] / qx;
        if (!ok) {
          const rest = new Float64Array(r.length);
          let mass = 0;
          for (let i = 0; i < r.length; i++) { rest[i] = Math.max(0, r[i] - (q ? q[i] : i === x ? 1 : 0)); mass += rest[i]; }
          if (mass > 0) { for (let i = 0; i < r.length; i++) rest[i] /= mass; r = rest; }
          // mass 0 only when r == q, where rejection has probability 0: keep r.
        }
      }
      decisions.push({ node: c, depth: depths[c], token: x, p: p[x], accepted: ok });
      if (ok) { next = c; break; }
    }
    if (next < 0) {
      emitted.push(opts.rule === 'greedy' ? argmax(p) : sampleFrom(r, rng));
      return { path, emitted, decisions };
    }
    path.push(next);
    emitted.push(tree.tokens[next]);
    at = next;
  }
}

/**
 * Verify a tree after the committed `root` token: one target forward over [root, ...tree] with the
 * tree mask on the absorbed cache (which must hold exactly the tokens before root), then the rule,
 * then the cache keeps the root and the accepted path only, moved to consecutive positions (their
 * keys were rotated at position start + depth, which is where they end up, so they stay valid).
 */
export function verifyTree(target: Model, cache: KVCache, root: number, tree: TokenTree, opts: AcceptOptions, rng: Rng): TreeVerification {
  if (cache.path !== 'absorbed') throw new EngineInputError(`tree verification runs on the absorbed cache (got ${cache.path})`);
  if (!ACCEPT_RULES.includes(opts.rule)) throw new EngineInputError(`accept rule must be one of ${ACCEPT_RULES.join(', ')} (got ${String(opts.rule)})`);
  const start = cache.length, V = target.config.vocab_size;
  const mask = treeMask(tree);
  const out = target.forward([root, ...tree.tokens], { cache, tree: mask });
  const rows = new Map<number, Float64Array>();
  const dist = (row: number) => {
    let p = rows.get(row);
    if (!p) { p = samplingDistribution(rowOf(out.logits, row, V), opts.sampling); rows.set(row, p); }
    return p;
  };
  const walk = acceptPath(tree, dist, opts, rng);
  keepRows(cache, start, [0, ...walk.path.map((i) => i + 1)]);
  return { ...walk, rule: opts.rule, logits: out.logits, hidden: out.hidden };
}

/** Keep cache rows start + rows[i] at start + i (rows increasing, rows[0] = 0) and drop the rest. */
export function keepRows(cache: KVCache, start: number, rows: number[]): void {
  for (const l of cache.layers) {
    const dc = l.ckv.width, dr = l.kPe.width;
    rows.forEach((r, i) => {
      if (r === i) return;
      l.ckv.data.copyWithin((start + i) * dc, (start + r) * dc, (start + r + 1) * dc);
      l.kPe.data.copyWithin((start + i) * dr, (start + r) * dr, (start + r + 1) * dr);
    });
  }
  cache.truncate(start + rows.length);
}

/** A chain as a tree: node i is the child of node i - 1. */
export function chainTree(tokens: number[], q: (Float64Array | null)[]): TokenTree {
  return { tokens: [...tokens], parent: tokens.map((_, i) => i - 1), q: [...q] };
}
