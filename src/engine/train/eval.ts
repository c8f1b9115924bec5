// What a trained model does on a text: bits per character of the next-token prediction, how often
// the MTP module's draft for t+2 equals the main model's own argmax at t+1 (greedy agreement), the
// expected acceptance of a sampled draft (sum over x of min(p, q), p the main model's distribution at
// t+1 and q the MTP module's for the same token), and the routed load of every MoE layer (MaxVio =
// max load / mean load - 1). Forward passes only, on the inference Model.
import type { Model } from '../model.js';

export interface EvalResult {
  /** Characters predicted (every window's tokens after its first). */
  characters: number;
  bits_per_char: number;
  /** MTP draft positions compared. */
  mtp_positions: number;
  mtp_greedy_agreement: number | null;
  mtp_sampled_acceptance: number | null;
  /** Per MoE layer prefix (the MTP block's included): tokens per routed expert (top-k slots). */
  loads: Record<string, number[]>;
  max_vio: Record<string, number>;
}

const LN2 = Math.log(2);

/** log-softmax normaliser of row r: max and log(sum exp(x - max)). */
function logSumExp(x: Float32Array, r: number, V: number): number {
  let m = -Infinity;
  for (let j = 0; j < V; j++) m = Math.max(m, x[r * V + j]!);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[r * V + j]! - m);
  return m + Math.log(s);
}

function argmax(x: Float32Array, r: number, V: number): number {
  let best = 0;
  for (let j = 1; j < V; j++) if (x[r * V + j]! > x[r * V + best]!) best = j;
  return best;
}

/** MaxVio of one layer's loads: max / mean - 1 (0 is perfectly even). */
export function maxVio(load: readonly number[]): number {
  const mean = load.reduce((a, b) => a + b, 0) / load.length;
  return mean > 0 ? Math.max(...load) / mean - 1 : 0;
}

/** Evaluate on windows of token ids (each window a separate sequence from position 0). */
export function evaluateWindows(model: Model, windows: readonly number[][]): EvalResult {
  const cfg = model.config, V = cfg.vocab_size, d = cfg.hidden_size;
  const hasMtp = model.weights.mtp.length > 0;
  let nats = 0, chars = 0, agree = 0, accept = 0, mtpN = 0;
  const loads: Record<string, number[]> = {};
  const count = (prefix: string, experts: number[][]) => {
    const l = (loads[prefix] ??= new Array(cfg.n_routed_experts ?? 0).fill(0));
    for (const row of experts) for (const e of row) l[e]++;
  };
  for (const ids of windows) {
    const T = ids.length;
    if (T < 2) continue;
    const out = model.forward(ids);
    for (let i = 0; i + 1 < T; i++) {
      nats += logSumExp(out.logits, i, V) - out.logits[i * V + ids[i + 1]!]!;
      chars++;
    }
    for (const [prefix, r] of Object.entries(out.routing)) count(prefix, r.experts);
    if (!hasMtp || T < 3) continue;
    // Row i of the MTP module reads h_i and the true t_{i+1}; it drafts t_{i+2}, which the main model predicts at row i+1.
    const mtp = model.mtpForward(0, out.hidden.subarray(0, (T - 1) * d), ids.slice(1));
    if (mtp.routing) count(`model.layers.${cfg.num_hidden_layers}.mlp`, mtp.routing.experts);
    for (let i = 0; i + 2 < T; i++) {
      if (argmax(mtp.logits, i, V) === argmax(out.logits, i + 1, V)) agree++;
      const lp = logSumExp(out.logits, i + 1, V), lq = logSumExp(mtp.logits, i, V);
      let s = 0;
      for (let j = 0; j < V; j++) s += Math.exp(Math.min(out.logits[(i + 1) * V + j]! - lp, mtp.logits[i * V + j]! - lq));
      accept += s;
      mtpN++;
    }
  }
  const max_vio: Record<string, number> = {};
  for (const [k, l] of Object.entries(loads)) max_vio[k] = maxVio(l);
  return {
    characters: chars,
    bits_per_char: chars > 0 ? nats / chars / LN2 : NaN,
    mtp_positions: mtpN,
    mtp_greedy_agreement: hasMtp && mtpN > 0 ? agree / mtpN : null,
    mtp_sampled_acceptance: hasMtp && mtpN > 0 ? accept / mtpN : null,
    loads,
    max_vio,
  };
}

/**
 * Lift of each expert on a kind of text: P(expert | that text) / P(expert | reference text), by
 * top-k slot shares. The largest lift of a layer says how concentrated that text is on one expert.
 */
export function expertLift(on: Record<string, number[]>, reference: Record<string, number[]>): Record<string, { lift: number[]; max: number; expert: number }> {
  const out: Record<string, { lift: number[]; max: number; expert: number }> = {};
  for (const [k, l] of Object.entries(on)) {
    const ref = reference[k];
    if (!ref) continue;
    const sa = l.reduce((a, b) => a + b, 0), sr = ref.reduce((a, b) => a + b, 0);
    const lift = l.map((v, e) => (ref[e]! > 0 ? (v / sa) / (ref[e]! / sr) : 0));
    const expert = lift.indexOf(Math.max(...lift));
    out[k] = { lift, max: lift[expert]!, expert };
  }
  return out;
}
