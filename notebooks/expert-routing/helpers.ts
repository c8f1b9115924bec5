// Helpers of the expert-routing lesson: the router of the tiny model's MoE layer as the engine's
// forward trace shows it (its input u_t, logits and routing), router settings from the sliders
// (clamped to what a config may hold), and exact binomial coefficients. Routing itself is always the
// engine's `route()`; nothing here decides which expert a token goes to.
import type { Model } from '$engine/model';
import { routeTokens } from '$engine/ffn';
import { type RouterSettings, type Routing, route } from '$engine/router';

/** The MoE layer of the tiny model as the engine ran it over a prompt. */
export interface Captured {
  model: Model;
  prompt: number[];
  tokens: number;
  /** Decoder layer index of the (first) DeepSeekMoE layer. */
  layer: number;
  /** u_t: the MoE layer's input (RMSNorm of the residual stream) [T, d], from the trace. */
  u: Float32Array;
  /** Router logits u_t · e_i [T, E], from the trace (the product moeForward routed). */
  logits: Float32Array;
  /** The gate weight [E, d] (rows e_i, `mlp.gate.weight`). */
  gate: Float32Array;
  /** The model's correction bias b (`mlp.gate.e_score_correction_bias`). */
  bias: Float32Array;
  /** The routing the forward pass itself made (trace[l].routing); from captureRouterFrom, routeTokens() on the same u_t. */
  traced: Routing;
  /** route() on the traced logits with the model's own settings reproduces `traced` exactly. */
  reproduces: boolean;
}

/**
 * Run the model over the prompt with `trace: true` and keep its MoE layer's input, logits and
 * routing, so the lesson can route again with other settings without running the model.
 */
export function captureRouter(model: Model, prompt: number[]): Captured {
  const layer = model.weights.layers.findIndex((w) => w.moe !== null);
  if (layer < 0) throw new Error('captureRouter: the model has no DeepSeekMoE layer');
  const moe = model.weights.layers[layer].moe!;
  if (!moe.bias) throw new Error('captureRouter: the MoE layer has no e_score_correction_bias (topk_method must be noaux_tc)');
  const t = model.forward(prompt, { trace: true }).trace!.find((x) => x.layer === layer)!;
  const traced = t.routing!;
  const again = route(traced.logits, prompt.length, moe.bias, model.router!);
  const reproduces = again.experts.every((e, i) => e.join() === traced.experts[i].join())
    && again.weights.every((w, i) => w.every((x, k) => x === traced.weights[i][k]));
  return { model, prompt, tokens: prompt.length, layer, u: t.moeInput!, logits: traced.logits, gate: moe.gate, bias: moe.bias, traced, reproduces };
}

/** What the router sliders ask for, before clamping. */
export interface RouterAsk {
  E: number;
  topk: number;
  nGroup: number;
  topkGroup: number;
  scaling: number;
  normalise: boolean;
  scoring: 'sigmoid' | 'softmax';
  groupLimit: boolean;
}

export interface Clamp { value: string; note: string }

export interface RouterChoice {
  /** The routing the heatmaps show (group limit as the toggle says). */
  main: RouterSettings;
  /** The same scores routed with the group (node) limit. */
  limited: RouterSettings;
  /** The same scores routed with no group limit (one group). */
  free: RouterSettings;
  /** Experts per group, groups (placement: experts i*E/G .. (i+1)*E/G - 1 live on group/node i). */
  groupSize: number;
  nGroup: number;
  topkGroup: number;
  /** What was clamped (value: "asked -> used", note: why), empty when nothing was. */
  clamps: Clamp[];
}

/**
 * RouterSettings for the engine's route(), valid as config.ts would demand: topk_group <= n_group,
 * top-k <= the experts in the kept groups. The group limit off means one group (route() then skips
 * the group step; DeepSeek-V3's bias still applies, which Hugging Face's `greedy` method would drop).
 */
export function routerChoice(a: RouterAsk): RouterChoice {
  const clamps: Clamp[] = [];
  const nGroup = Math.min(a.nGroup, a.E);
  if (nGroup !== a.nGroup) clamps.push({ value: `n_group ${a.nGroup} \u2192 ${nGroup}`, note: `at most one group per expert (E = ${a.E})` });
  const topkGroup = Math.min(a.topkGroup, nGroup);
  if (topkGroup !== a.topkGroup) clamps.push({ value: `topk_group ${a.topkGroup} \u2192 ${topkGroup}`, note: `a token cannot keep more groups than n_group = ${nGroup}` });
  const groupSize = a.E / nGroup;
  const keptExperts = topkGroup * groupSize;
  const limit = a.groupLimit ? keptExperts : a.E;
  const K = Math.min(a.topk, limit);
  if (K !== a.topk) {
    clamps.push({
      value: `top-k ${a.topk} \u2192 ${K}`,
      note: a.groupLimit
        ? `${topkGroup > 1 ? `the ${topkGroup} kept groups hold` : 'the one kept group holds'} only ${topkGroup} x ${groupSize} = ${keptExperts} experts (config validation refuses more)`
        : `there are only E = ${a.E} experts`,
    });
  }
  const grouped = a.scoring === 'sigmoid' ? 'noaux_tc' : 'group_limited_greedy';
  const base = {
    n_routed_experts: a.E,
    routed_scaling_factor: a.scaling,
    norm_topk_prob: a.normalise,
    scoring_func: a.scoring,
  };
  const limitedK = Math.min(K, keptExperts);
  const limited: RouterSettings = { ...base, num_experts_per_tok: limitedK, n_group: nGroup, topk_group: topkGroup, topk_method: grouped };
  const free: RouterSettings = { ...base, num_experts_per_tok: limitedK, n_group: 1, topk_group: 1, topk_method: a.scoring === 'sigmoid' ? 'noaux_tc' : 'greedy' };
  const main: RouterSettings = a.groupLimit ? limited : { ...free, num_experts_per_tok: K };
  return { main, limited, free, groupSize, nGroup, topkGroup, clamps };
}

/** Does this routing apply a group limit (route() groups only then)? */
export function isGrouped(s: RouterSettings): boolean {
  return s.topk_method !== 'greedy' && s.n_group > 1;
}

/** Is the bias used to choose (DeepSeek-V3's noaux_tc only)? */
export function usesBias(s: RouterSettings): boolean {
  return s.topk_method === 'noaux_tc';
}

/** C(n, k) exactly. */
export function binomial(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  k = Math.min(k, n - k);
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

/** log10 of a positive bigint (exact to double precision). */
export function log10Big(x: bigint): number {
  const s = x.toString();
  const head = Number(s.slice(0, 15));
  return Math.log10(head) + (s.length - Math.min(15, s.length));
}

/** 4426165368n -> "4,426,165,368". */
export function groupDigits(x: bigint): string {
  return x.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Tokens routed to each expert [E]. */
export function expertLoad(r: Routing, E: number): number[] {
  const load = new Array<number>(E).fill(0);
  for (const chosen of r.experts) for (const e of chosen) load[e]++;
  return load;
}

/** Shannon entropy (bits) of a load vector as a distribution. */
export function entropyBits(load: number[]): number {
  const total = load.reduce((a, b) => a + b, 0);
  let h = 0;
  for (const l of load) if (l > 0) h -= (l / total) * Math.log2(l / total);
  return h;
}

/** The gate weights as a dense [T, E] matrix, zeros where an expert was not chosen. */
export function denseWeights(r: Routing, E: number): Float32Array {
  const w = new Float32Array(r.tokens * E);
  r.experts.forEach((chosen, t) => chosen.forEach((e, k) => { w[t * E + e] = r.weights[t][k]; }));
  return w;
}

/** Rows of a row-major [rows, cols] matrix as number[][] (the formula scope's format). */
export function rowsOf(a: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => a[r * cols + c]));
}

/** Same typed arrays (the same memory, not just equal values) at every leaf of two weight trees. */
function sameArrays(a: unknown, b: unknown): boolean {
  if (a instanceof Float32Array || b instanceof Float32Array) {
    return a instanceof Float32Array && b instanceof Float32Array && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameArrays((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The router of `model` over the prompt `base` captured, without running the model again: when
 * every weight up to the MoE layer's router is the very same memory as base.model's (seeded init
 * with `reuse` shares unchanged tensors), the MoE layer's input u_t is base.u exactly, so the
 * engine's gate alone (routeTokens, what moeForward runs) routes it. Otherwise it runs the model
 * (captureRouter).
 */
export function captureRouterFrom(model: Model, base: Captured): Captured {
  const layer = base.layer;
  const mine = model.weights, theirs = base.model.weights;
  const shared = mine.layers[layer]?.moe !== null && sameArrays(mine.embed, theirs.embed)
    && mine.layers.slice(0, layer).every((w, l) => sameArrays(w, theirs.layers[l]))
    && sameArrays(mine.layers[layer].attn, theirs.layers[layer].attn)
    && sameArrays(mine.layers[layer].inputNorm, theirs.layers[layer].inputNorm)
    && sameArrays(mine.layers[layer].postAttentionNorm, theirs.layers[layer].postAttentionNorm)
    && model.config.hidden_size === base.model.config.hidden_size;
  if (!shared) return captureRouter(model, base.prompt);
  const moe = mine.layers[layer].moe!;
  if (!moe.bias) throw new Error('captureRouterFrom: the MoE layer has no e_score_correction_bias (topk_method must be noaux_tc)');
  const traced = routeTokens(model.backend, model.router!, moe, base.u, base.tokens, model.config.hidden_size);
  return { model, prompt: base.prompt, tokens: base.tokens, layer, u: base.u, logits: traced.logits, gate: moe.gate, bias: moe.bias, traced, reproduces: true };
}
