// The DeepSeekMoE gate, as one pure function over the router logits u·e_i of a batch of tokens.
// DeepSeek-V3 (noaux_tc): s = sigmoid(logits); c = s + bias is used only to choose; a group scores
// the sum of its two largest c; the topk_group best groups are kept; the top-k c inside them are
// chosen; their weights are the unbiased s, normalised over the chosen when norm_topk_prob, then
// times routed_scaling_factor. DeepSeek-V2 (group_limited_greedy): softmax scores, a group scores
// its max, no bias. greedy: no group limit.
import type { DeepSeekConfig, ScoringFunc, TopkMethod } from './config.js';

export interface RouterSettings {
  n_routed_experts: number;
  num_experts_per_tok: number;
  n_group: number;
  topk_group: number;
  routed_scaling_factor: number;
  norm_topk_prob: boolean;
  scoring_func: ScoringFunc;
  topk_method: TopkMethod;
}

export function routerSettings(cfg: DeepSeekConfig): RouterSettings {
  if (cfg.n_routed_experts === null) throw new Error('routerSettings: the config has no routed experts');
  return {
    n_routed_experts: cfg.n_routed_experts,
    num_experts_per_tok: cfg.num_experts_per_tok,
    n_group: cfg.n_group,
    topk_group: cfg.topk_group,
    routed_scaling_factor: cfg.routed_scaling_factor,
    norm_topk_prob: cfg.norm_topk_prob,
    scoring_func: cfg.scoring_func,
    topk_method: cfg.topk_method,
  };
}

export interface Routing {
  tokens: number;
  /** Router logits u_t · e_i [T, E] (the gate's product, the input of everything below). */
  logits: Float32Array;
  /** Affinities s [T, E] (sigmoid or softmax of the logits). */
  scores: Float32Array;
  /** Scores used for choosing [T, E]: s + bias (noaux_tc), else s. */
  choiceScores: Float32Array;
  /** Group scores [T, n_group] the kept groups were ranked by (noaux_tc: sum of the group's two largest choice scores; group_limited_greedy: its largest); null without a group limit. */
  groupScores: Float64Array | null;
  /** Per token, the kept groups in ascending order (all groups when there is no group limit). */
  groups: number[][];
  /** Per token, the chosen experts, by descending choice score (ties: lower index first). */
  experts: number[][];
  /** Per token, the gate weight of each chosen expert (aligned with `experts`). */
  weights: number[][];
}

/** Indices of the k largest values of `v` (descending; ties keep the lower index first). */
export function topKIndices(v: ArrayLike<number>, k: number, allowed?: (i: number) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < v.length; i++) if (!allowed || allowed(i)) idx.push(i);
  idx.sort((a, b) => (v[b] - v[a]) || (a - b));
  return idx.slice(0, k);
}

/** Scratch of route(), grown as needed and reused by every call (route never re-enters itself). */
const groupPicks: number[] = [];
let scratchRow = new Float64Array(0), scratchChoice = new Float64Array(0), scratchTaken = new Uint8Array(0), scratchGroup = new Uint8Array(0);
function scratch(E: number, groups: number): void {
  if (scratchRow.length < E) {
    scratchRow = new Float64Array(E);
    scratchChoice = new Float64Array(E);
    scratchTaken = new Uint8Array(E);
  }
  if (scratchGroup.length < groups) scratchGroup = new Uint8Array(groups);
}

/**
 * Write into `picks` (emptied first) the indices of the k largest of v[from..from+n) (relative to
 * `from`), descending, ties to the lower index: what topKIndices returns, by repeated selection
 * (k scans of n, no sort and no arrays made). `allowed`, when given, masks groups of `groupSize`.
 */
function topKInto(v: Float64Array, from: number, n: number, k: number, picks: number[], allowed: Uint8Array | null, groupSize: number): void {
  const taken = scratchTaken;
  for (let i = 0; i < n; i++) taken[i] = 0;
  let count = 0;
  for (; count < k; count++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (taken[i] || (allowed && !allowed[Math.floor(i / groupSize)])) continue;
      if (best < 0 || v[from + i] > v[from + best]) best = i;
    }
    if (best < 0) break;
    taken[best] = 1;
    picks[count] = best; // in place: an array of the same length each step keeps its storage
  }
  setLength(picks, count);
}

/** Shorten or extend (pushing) `a` to `n` elements, touching nothing when it already has n. */
function setLength(a: number[], n: number): void {
  if (a.length > n) a.length = n;
  while (a.length < n) a.push(0);
}

const NO_LOGITS = new Float32Array(0);

/** An empty Routing for `tokens` tokens under settings `s`, to fill (route's `into`). */
export function emptyRouting(tokens: number, s: RouterSettings): Routing {
  const E = s.n_routed_experts, grouped = s.topk_method !== 'greedy' && s.n_group > 1;
  return {
    tokens,
    logits: NO_LOGITS, // route() sets the logits it was given
    scores: new Float32Array(tokens * E),
    choiceScores: new Float32Array(tokens * E),
    groupScores: grouped ? new Float64Array(tokens * s.n_group) : null,
    groups: Array.from({ length: tokens }, () => []),
    experts: Array.from({ length: tokens }, () => []),
    weights: Array.from({ length: tokens }, () => []),
  };
}

/** Can route() fill `r` for `tokens` tokens under `s` without allocating? */
export function routingFits(r: Routing, tokens: number, s: RouterSettings): boolean {
  const grouped = s.topk_method !== 'greedy' && s.n_group > 1;
  return r.tokens === tokens && r.scores.length === tokens * s.n_routed_experts && (r.groupScores !== null) === grouped &&
    (!grouped || r.groupScores!.length === tokens * s.n_group);
}

/**
 * Route T tokens given their router logits [T, E] and the optional correction bias [E]. With
 * `into` (an earlier result that routingFits these tokens, e.g. the last decode step's), the
 * result is written there, arrays and all, and nothing is allocated; `logits` is then kept by
 * reference when it is a Float32Array.
 */
export function route(logits: ArrayLike<number>, tokens: number, bias: ArrayLike<number> | null, s: RouterSettings, into?: Routing): Routing {
  const E = s.n_routed_experts;
  const grouped = s.topk_method !== 'greedy' && s.n_group > 1;
  const groupSize = E / s.n_group;
  const useBias = s.topk_method === 'noaux_tc' && bias !== null;
  const r = into && routingFits(into, tokens, s) ? into : emptyRouting(tokens, s);
  const { scores, choiceScores, groupScores } = r;
  scratch(E, s.n_group);
  const row = scratchRow, choice = scratchChoice, keptMask = scratchGroup;

  for (let t = 0; t < tokens; t++) {
    const o = t * E;
    if (s.scoring_func === 'sigmoid') {
      for (let e = 0; e < E; e++) row[e] = 1 / (1 + Math.exp(-logits[o + e]));
    } else {
      let max = -Infinity;
      for (let e = 0; e < E; e++) max = Math.max(max, logits[o + e]);
      let sum = 0;
      for (let e = 0; e < E; e++) { row[e] = Math.exp(logits[o + e] - max); sum += row[e]; }
      for (let e = 0; e < E; e++) row[e] /= sum;
    }
    for (let e = 0; e < E; e++) {
      choice[e] = useBias ? row[e] + bias![e] : row[e];
      scores[o + e] = row[e];
      choiceScores[o + e] = choice[e];
    }

    const kept = r.groups[t], chosen = r.experts[t], w = r.weights[t];
    if (grouped) {
      const go = t * s.n_group;
      for (let g = 0; g < s.n_group; g++) {
        const from = g * groupSize;
        if (s.topk_method === 'noaux_tc') {
          // Sum of the group's two largest (one when a group holds a single expert).
          topKInto(choice, from, groupSize, Math.min(2, groupSize), groupPicks, null, 1);
          let sum = 0;
          for (let i = 0; i < groupPicks.length; i++) sum += choice[from + groupPicks[i]];
          groupScores![go + g] = sum;
        } else {
          let max = -Infinity;
          for (let i = 0; i < groupSize; i++) max = Math.max(max, choice[from + i]);
          groupScores![go + g] = max;
        }
      }
      topKInto(groupScores as unknown as Float64Array, go, s.n_group, s.topk_group, kept, null, 1);
      // ascending group order (insertion sort: a handful of groups)
      for (let i = 1; i < kept.length; i++) {
        const x = kept[i];
        let j = i - 1;
        for (; j >= 0 && kept[j] > x; j--) kept[j + 1] = kept[j];
        kept[j + 1] = x;
      }
      keptMask.fill(0, 0, s.n_group);
      for (let i = 0; i < kept.length; i++) keptMask[kept[i]] = 1;
    } else {
      setLength(kept, s.n_group);
      for (let g = 0; g < s.n_group; g++) kept[g] = g;
    }
    topKInto(choice, 0, E, s.num_experts_per_tok, chosen, grouped ? keptMask : null, groupSize);
    setLength(w, chosen.length);
    for (let i = 0; i < chosen.length; i++) w[i] = row[chosen[i]];
    if (s.norm_topk_prob) {
      let sum = 0;
      for (let i = 0; i < w.length; i++) sum += w[i];
      for (let i = 0; i < w.length; i++) w[i] = w[i] / sum;
    }
    for (let i = 0; i < w.length; i++) w[i] = w[i] * s.routed_scaling_factor;
  }
  r.logits = logits instanceof Float32Array ? logits : Float32Array.from(logits);
  return r;
}
