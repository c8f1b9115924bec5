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

/** Route T tokens given their router logits [T, E] and the optional correction bias [E]. */
export function route(logits: ArrayLike<number>, tokens: number, bias: ArrayLike<number> | null, s: RouterSettings): Routing {
  const E = s.n_routed_experts;
  const scores = new Float32Array(tokens * E);
  const choiceScores = new Float32Array(tokens * E);
  const groups: number[][] = [], experts: number[][] = [], weights: number[][] = [];
  const grouped = s.topk_method !== 'greedy' && s.n_group > 1;
  const groupSize = E / s.n_group;
  const useBias = s.topk_method === 'noaux_tc' && bias !== null;
  const row = new Float64Array(E);
  const groupScores = grouped ? new Float64Array(tokens * s.n_group) : null;

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
    const choice = new Float64Array(E);
    for (let e = 0; e < E; e++) {
      choice[e] = useBias ? row[e] + bias![e] : row[e];
      scores[o + e] = row[e];
      choiceScores[o + e] = choice[e];
    }

    let kept: number[];
    if (grouped) {
      const groupScore = groupScores!.subarray(t * s.n_group, (t + 1) * s.n_group);
      for (let g = 0; g < s.n_group; g++) {
        const members = choice.subarray(g * groupSize, (g + 1) * groupSize);
        if (s.topk_method === 'noaux_tc') {
          // Sum of the group's two largest (one when a group holds a single expert).
          const best = topKIndices(members, Math.min(2, groupSize));
          groupScore[g] = best.reduce((acc, i) => acc + members[i], 0);
        } else {
          groupScore[g] = Math.max(...members);
        }
      }
      kept = topKIndices(groupScore, s.topk_group).sort((a, b) => a - b);
    } else {
      kept = Array.from({ length: s.n_group }, (_, g) => g);
    }
    const keptSet = new Set(kept);
    const chosen = topKIndices(choice, s.num_experts_per_tok, grouped ? (e) => keptSet.has(Math.floor(e / groupSize)) : undefined);
    let w = chosen.map((e) => row[e]);
    if (s.norm_topk_prob) {
      const sum = w.reduce((a, b) => a + b, 0);
      w = w.map((x) => x / sum);
    }
    w = w.map((x) => x * s.routed_scaling_factor);
    groups.push(kept);
    experts.push(chosen);
    weights.push(w);
  }
  const kept = logits instanceof Float32Array ? logits : Float32Array.from(logits);
  return { tokens, logits: kept, scores, choiceScores, groupScores, groups, experts, weights };
}
