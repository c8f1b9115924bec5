// The lesson's small MoE, forward and backward written out by hand (no autodiff):
//
//   z = [x, cos(Ω x + φ)]                   fixed random feature map (not trained), d = 2 + features
//   u = W_g z                               router logits, W_g = `mlp.gate.weight` [E, d]
//   s = sigmoid(u)  (or softmax)            affinities
//   experts, g = route(u, bias, settings)   the ENGINE's router (router.ts): bias only chooses; g from
//                                           the unbiased s, normalised over the chosen, times scale
//   y = Σ_k g_k FFN_k(z) [+ FFN_shared(z)]  FFN(z) = down(silu(gate z) * up z), SwiGLU, width h
//   out = W_o y + b_o                       class logits (or one regression output)
//
// The chosen set is piecewise constant in the parameters, so gradients reach W_g only through the
// gate weights of the chosen experts (and through any balance loss on the scores, balance.ts):
//   norm_topk_prob: g_k = c s_k / S, S = Σ_{j chosen} s_j  =>  ∂L/∂s_k = (c ∂L/∂g_k - Σ_j g_j ∂L/∂g_j) / S
//   otherwise:      g_k = c s_k                            =>  ∂L/∂s_k = c ∂L/∂g_k
//   sigmoid: ∂s/∂u = s (1 - s);  softmax: ∂L/∂u = s ⊙ (∂L/∂s - <s, ∂L/∂s>).
//
// Parameters live in one flat array (float32 for training, float64 for gradient checks) with named
// views in the Hugging Face layout ([out, in], as PyTorch's Linear stores them). Token dropping
// (a capacity per expert) is here too: it decides which (token, expert) pairs run.
import { type RouterSettings, type Routing, route } from '../router.js';
import { normal } from '../sampling.js';
import { streamRng } from './seeds.js';
import type { TaskKind } from './task.js';

export type Dtype = 'float32' | 'float64';
export type Vec = Float32Array | Float64Array;

export interface ModelConfig {
  /** Random Fourier features appended to the 2-D input (0: the model sees raw x; d = 2 + features). */
  features: number;
  /** Standard deviation of the feature frequencies Ω. */
  featureFrequency: number;
  /** Expert width h. */
  moe_intermediate_size: number;
  /** Head width: number of classes, or 1 for regression. */
  outputs: number;
  /** The router (scoring_func, top-k, groups, norm_topk_prob, routed_scaling_factor). */
  router: RouterSettings;
  /** 0 or 1: a shared expert (width h) that every token runs with weight 1. */
  n_shared_experts: number;
  /** Standard deviation of the initial gate weights (default 1/sqrt(d)). */
  gateInitStd?: number;
}

export interface ParamView {
  name: string;
  /** 'gate' | 'experts' | 'shared_experts' | 'head': the gradient check's parameter groups. */
  group: 'gate' | 'experts' | 'shared_experts' | 'head';
  offset: number;
  shape: number[];
  size: number;
}

export interface Model {
  config: ModelConfig;
  dtype: Dtype;
  /** Width of z (2 + features). */
  dim: number;
  /** The fixed feature map: frequencies Ω [features, 2] and phases φ [features]. */
  omega: Float64Array;
  phase: Float64Array;
  params: Vec;
  grads: Vec;
  layout: ParamView[];
  /** `mlp.gate.e_score_correction_bias` [E]: used by route() only to choose; never trained by gradient. */
  bias: Float32Array;
}

function newVec(dtype: Dtype, n: number): Vec {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Offsets of the parameter blocks inside the flat array. */
interface Offsets { gate: number; experts: number; expertSize: number; shared: number; headW: number; headB: number; total: number }

function offsets(cfg: ModelConfig, d: number): Offsets {
  const E = cfg.router.n_routed_experts, h = cfg.moe_intermediate_size;
  const expertSize = 3 * h * d;
  const gate = 0, experts = E * d;
  const shared = experts + E * expertSize;
  const headW = shared + (cfg.n_shared_experts > 0 ? expertSize : 0);
  const headB = headW + cfg.outputs * d;
  return { gate, experts, expertSize, shared, headW, headB, total: headB + cfg.outputs };
}

/** Build a model with seeded initial weights (`seed` picks the weights and the feature map). */
export function createModel(cfg: ModelConfig, seed: number, dtype: Dtype = 'float32'): Model {
  const E = cfg.router.n_routed_experts, h = cfg.moe_intermediate_size, F = cfg.features, d = 2 + F;
  if (cfg.n_shared_experts !== 0 && cfg.n_shared_experts !== 1) throw new RangeError(`createModel: n_shared_experts must be 0 or 1, got ${cfg.n_shared_experts}`);
  const off = offsets(cfg, d);
  const layout: ParamView[] = [];
  const add = (name: string, group: ParamView['group'], offset: number, shape: number[]) =>
    layout.push({ name, group, offset, shape, size: shape.reduce((a, b) => a * b, 1) });
  add('mlp.gate.weight', 'gate', off.gate, [E, d]);
  const expert = (prefix: string, group: ParamView['group'], base: number) => {
    add(`${prefix}.gate_proj.weight`, group, base, [h, d]);
    add(`${prefix}.up_proj.weight`, group, base + h * d, [h, d]);
    add(`${prefix}.down_proj.weight`, group, base + 2 * h * d, [d, h]);
  };
  for (let e = 0; e < E; e++) expert(`mlp.experts.${e}`, 'experts', off.experts + e * off.expertSize);
  if (cfg.n_shared_experts > 0) expert('mlp.shared_experts', 'shared_experts', off.shared);
  add('head.weight', 'head', off.headW, [cfg.outputs, d]);
  add('head.bias', 'head', off.headB, [cfg.outputs]);

  const params = newVec(dtype, off.total);
  const rng = streamRng(seed, 'init');
  const fill = (o: number, n: number, std: number) => { for (let i = 0; i < n; i++) params[o + i] = std * normal(rng); };
  fill(off.gate, E * d, cfg.gateInitStd ?? 1 / Math.sqrt(d));
  const initExpert = (base: number) => {
    fill(base, 2 * h * d, 1 / Math.sqrt(d));
    fill(base + 2 * h * d, d * h, 1 / Math.sqrt(h));
  };
  for (let e = 0; e < E; e++) initExpert(off.experts + e * off.expertSize);
  if (cfg.n_shared_experts > 0) initExpert(off.shared);
  fill(off.headW, cfg.outputs * d, 1 / Math.sqrt(d));

  const frng = streamRng(seed, 'features');
  const omega = new Float64Array(F * 2), phase = new Float64Array(F);
  for (let i = 0; i < F * 2; i++) omega[i] = cfg.featureFrequency * normal(frng);
  for (let i = 0; i < F; i++) phase[i] = 2 * Math.PI * frng();

  return { config: cfg, dtype, dim: d, omega, phase, params, grads: newVec(dtype, off.total), layout, bias: new Float32Array(E) };
}

/** A named parameter block as a view into the flat array (writes go to the model). */
export function param(model: Model, name: string): Vec {
  const v = model.layout.find((p) => p.name === name);
  if (!v) throw new Error(`param: no parameter named ${name}`);
  return model.params.subarray(v.offset, v.offset + v.size);
}

/** z = [x, cos(Ω x + φ)] for T points x [T, 2]. */
export function features(model: Model, x: Float64Array, T: number): Float64Array {
  const F = model.config.features, d = model.dim, z = new Float64Array(T * d);
  const { omega, phase } = model;
  for (let t = 0; t < T; t++) {
    const x0 = x[2 * t], x1 = x[2 * t + 1], o = t * d;
    z[o] = x0;
    z[o + 1] = x1;
    for (let f = 0; f < F; f++) z[o + 2 + f] = Math.cos(omega[2 * f] * x0 + omega[2 * f + 1] * x1 + phase[f]);
  }
  return z;
}

/** Router logits u = z W_g^T [T, E], in the model's dtype (route() reads them as they are). */
export function routerLogits(model: Model, z: Float64Array, T: number): Vec {
  const E = model.config.router.n_routed_experts, d = model.dim, P = model.params;
  const u = newVec(model.dtype, T * E);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += P[e * d + j] * z[t * d + j];
      u[t * E + e] = acc;
    }
  }
  return u;
}

/**
 * The engine's route() on these logits. A float64 model hands it float64 logits, so the gate
 * weights it returns are computed unrounded (the finite-difference gradient check needs that).
 */
export function routeLogits(model: Model, logits: Vec, T: number): Routing {
  return route(logits, T, model.bias, model.config.router);
}

export interface ForwardOptions {
  /**
   * Capacity factor: each expert runs at most ceil(capacityFactor * T * K / E) tokens per batch, in
   * token order; the rest of its tokens are dropped for that expert (their other experts still run,
   * the weights are not renormalised). null: no capacity, nothing dropped (DeepSeek-V3).
   */
  capacityFactor: number | null;
}

/** Everything the backward pass (and the lesson's trace) needs from one forward pass. */
export interface Tape {
  tokens: number;
  z: Float64Array;
  logits: Vec;
  /** The unbiased affinities s [T, E], float64. */
  scores: Float64Array;
  routing: Routing;
  /** Per (token, slot k) [T*K]: the expert, its gate weight, whether it ran (0: dropped). */
  slotExpert: Int32Array;
  slotWeight: Float64Array;
  slotRan: Uint8Array;
  /** Tokens each expert was chosen for (the router's load) and how many it ran [E]. */
  load: Int32Array;
  ran: Int32Array;
  /** (token, expert) pairs dropped by the capacity. */
  dropped: number;
  capacity: number | null;
  /** Expert caches per slot: pre-activations a = gate z, b = up z, m = silu(a) b [T*K*h]; out o [T*K*d]. */
  a: Float64Array;
  b: Float64Array;
  m: Float64Array;
  o: Float64Array;
  /** Shared expert caches [T*h], [T*h], [T*h] (empty without one). */
  sa: Float64Array;
  sb: Float64Array;
  sm: Float64Array;
  /** MoE output y [T, d] and head output [T, outputs]. */
  y: Float64Array;
  out: Float64Array;
}

/** One SwiGLU expert on one token: caches a, b, m at `ho` (and its output at `oo`); adds w * down(m) into y. */
function expertForward(
  P: Vec, base: number, h: number, d: number, z: Float64Array, zo: number,
  a: Float64Array, b: Float64Array, m: Float64Array, ho: number,
  o: Float64Array | null, oo: number, y: Float64Array, yo: number, w: number,
): void {
  const up = base + h * d, dn = base + 2 * h * d;
  for (let i = 0; i < h; i++) {
    let ai = 0, bi = 0;
    const gi = base + i * d, ui = up + i * d;
    for (let j = 0; j < d; j++) { const zj = z[zo + j]; ai += P[gi + j] * zj; bi += P[ui + j] * zj; }
    a[ho + i] = ai;
    b[ho + i] = bi;
    m[ho + i] = (ai / (1 + Math.exp(-ai))) * bi;
  }
  for (let r = 0; r < d; r++) {
    let acc = 0;
    const dr = dn + r * h;
    for (let i = 0; i < h; i++) acc += P[dr + i] * m[ho + i];
    if (o) o[oo + r] = acc;
    y[yo + r] += w * acc;
  }
}

/** Forward pass for T points x [T, 2]. */
export function forward(model: Model, x: Float64Array, T: number, options: ForwardOptions): Tape {
  const cfg = model.config, rs = cfg.router;
  const E = rs.n_routed_experts, K = rs.num_experts_per_tok, h = cfg.moe_intermediate_size, d = model.dim, C = cfg.outputs;
  const P = model.params, off = offsets(cfg, d);
  const z = features(model, x, T);
  const logits = routerLogits(model, z, T);
  const scores = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    const o = t * E;
    if (rs.scoring_func === 'sigmoid') {
      for (let e = 0; e < E; e++) scores[o + e] = 1 / (1 + Math.exp(-logits[o + e]));
    } else {
      let max = -Infinity, sum = 0;
      for (let e = 0; e < E; e++) max = Math.max(max, logits[o + e]);
      for (let e = 0; e < E; e++) { scores[o + e] = Math.exp(logits[o + e] - max); sum += scores[o + e]; }
      for (let e = 0; e < E; e++) scores[o + e] /= sum;
    }
  }
  const routing = routeLogits(model, logits, T);

  const cf = options.capacityFactor;
  const capacity = cf === null || !Number.isFinite(cf) ? null : Math.ceil((cf * T * K) / E);
  const slotExpert = new Int32Array(T * K), slotWeight = new Float64Array(T * K), slotRan = new Uint8Array(T * K);
  const load = new Int32Array(E), ran = new Int32Array(E);
  let dropped = 0;
  const a = new Float64Array(T * K * h), b = new Float64Array(T * K * h), m = new Float64Array(T * K * h);
  const o = new Float64Array(T * K * d), y = new Float64Array(T * d);
  for (let t = 0; t < T; t++) {
    const chosen = routing.experts[t], w = routing.weights[t];
    for (let k = 0; k < K; k++) {
      const s = t * K + k, e = chosen[k];
      slotExpert[s] = e;
      slotWeight[s] = w[k];
      load[e]++;
      if (capacity !== null && ran[e] >= capacity) { dropped++; continue; }
      ran[e]++;
      slotRan[s] = 1;
      expertForward(P, off.experts + e * off.expertSize, h, d, z, t * d, a, b, m, s * h, o, s * d, y, t * d, w[k]);
    }
  }
  const sh = cfg.n_shared_experts > 0 ? T * h : 0;
  const sa = new Float64Array(sh), sb = new Float64Array(sh), sm = new Float64Array(sh);
  if (cfg.n_shared_experts > 0) for (let t = 0; t < T; t++) expertForward(P, off.shared, h, d, z, t * d, sa, sb, sm, t * h, null, 0, y, t * d, 1);

  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      let acc = P[off.headB + c];
      const wc = off.headW + c * d;
      for (let r = 0; r < d; r++) acc += P[wc + r] * y[t * d + r];
      out[t * C + c] = acc;
    }
  }
  return { tokens: T, z, logits, scores, routing, slotExpert, slotWeight, slotRan, load, ran, dropped, capacity, a, b, m, o, sa, sb, sm, y, out };
}

export interface TaskLoss {
  /** Mean cross-entropy (classification) or mean 0.5 (out - target)^2 (regression). */
  loss: number;
  /** Fraction of argmax = label (classification); null for regression. */
  accuracy: number | null;
  /** ∂loss/∂out [T, outputs]. */
  dOut: Float64Array;
}

/** The task loss on the head outputs and its gradient. */
export function taskLoss(tape: Tape, kind: TaskKind, labels: Int32Array, targets: Float64Array): TaskLoss {
  const T = tape.tokens, C = tape.out.length / T, out = tape.out;
  const dOut = new Float64Array(T * C);
  let loss = 0, correct = 0;
  if (kind === 'classify') {
    for (let t = 0; t < T; t++) {
      const o = t * C;
      let max = -Infinity, arg = 0;
      for (let c = 0; c < C; c++) if (out[o + c] > max) { max = out[o + c]; arg = c; }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(out[o + c] - max);
      const label = labels[t];
      loss += Math.log(sum) + max - out[o + label];
      if (arg === label) correct++;
      for (let c = 0; c < C; c++) dOut[o + c] = (Math.exp(out[o + c] - max) / sum - (c === label ? 1 : 0)) / T;
    }
    return { loss: loss / T, accuracy: correct / T, dOut };
  }
  for (let t = 0; t < T; t++) {
    const r = out[t * C] - targets[t];
    loss += 0.5 * r * r;
    dOut[t * C] = r / T;
  }
  return { loss: loss / T, accuracy: null, dOut };
}

/** Backward of one SwiGLU expert on one token, given ∂L/∂(its output) = scale * dy: accumulates into G. */
function expertBackward(
  P: Vec, G: Vec, base: number, h: number, d: number, z: Float64Array, zo: number,
  a: Float64Array, b: Float64Array, m: Float64Array, ho: number,
  dy: Float64Array, dyo: number, scale: number, dm: Float64Array,
): void {
  const up = base + h * d, dn = base + 2 * h * d;
  dm.fill(0);
  for (let r = 0; r < d; r++) {
    const dr = scale * dy[dyo + r], row = dn + r * h;
    if (dr === 0) continue;
    for (let i = 0; i < h; i++) { G[row + i] += dr * m[ho + i]; dm[i] += P[row + i] * dr; }
  }
  for (let i = 0; i < h; i++) {
    const ai = a[ho + i], bi = b[ho + i], sg = 1 / (1 + Math.exp(-ai));
    const da = dm[i] * bi * sg * (1 + ai * (1 - sg)), db = dm[i] * ai * sg;
    const gi = base + i * d, ui = up + i * d;
    for (let j = 0; j < d; j++) { const zj = z[zo + j]; G[gi + j] += da * zj; G[ui + j] += db * zj; }
  }
}

/**
 * Backward pass: sets model.grads to ∂L/∂params given ∂L/∂out [T, outputs] and, optionally, an
 * extra ∂L/∂s [T, E] on the unbiased scores (a balance loss). Returns ∂L/∂s in total (for traces).
 */
export function backward(model: Model, tape: Tape, dOut: Float64Array, dScores: Float64Array | null): Float64Array {
  const cfg = model.config, rs = cfg.router;
  const E = rs.n_routed_experts, K = rs.num_experts_per_tok, h = cfg.moe_intermediate_size, d = model.dim, C = cfg.outputs;
  const P = model.params, G = model.grads, off = offsets(cfg, d), T = tape.tokens;
  G.fill(0);
  const { z, y, scores } = tape;

  // Head.
  const dy = new Float64Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      const g = dOut[t * C + c], wc = off.headW + c * d;
      if (g === 0) continue;
      G[off.headB + c] += g;
      for (let r = 0; r < d; r++) { G[wc + r] += g * y[t * d + r]; dy[t * d + r] += P[wc + r] * g; }
    }
  }

  // Experts, and ∂L/∂g per slot.
  const dm = new Float64Array(h);
  const dg = new Float64Array(T * K);
  for (let s = 0; s < T * K; s++) {
    if (!tape.slotRan[s]) continue;
    const t = (s / K) | 0, e = tape.slotExpert[s];
    let dot = 0;
    for (let r = 0; r < d; r++) dot += dy[t * d + r] * tape.o[s * d + r];
    dg[s] = dot;
    expertBackward(P, G, off.experts + e * off.expertSize, h, d, z, t * d, tape.a, tape.b, tape.m, s * h, dy, t * d, tape.slotWeight[s], dm);
  }
  if (cfg.n_shared_experts > 0) {
    for (let t = 0; t < T; t++) expertBackward(P, G, off.shared, h, d, z, t * d, tape.sa, tape.sb, tape.sm, t * h, dy, t * d, 1, dm);
  }

  // Gate weights -> scores (chosen experts only), plus any balance-loss gradient on all scores.
  const ds = dScores ? Float64Array.from(dScores) : new Float64Array(T * E);
  const c = rs.routed_scaling_factor;
  for (let t = 0; t < T; t++) {
    if (rs.norm_topk_prob) {
      let S = 0, gdg = 0;
      for (let k = 0; k < K; k++) {
        const s = t * K + k;
        S += scores[t * E + tape.slotExpert[s]];
        gdg += tape.slotWeight[s] * dg[s];
      }
      for (let k = 0; k < K; k++) {
        const s = t * K + k;
        ds[t * E + tape.slotExpert[s]] += (c * dg[s] - gdg) / S;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const s = t * K + k;
        ds[t * E + tape.slotExpert[s]] += c * dg[s];
      }
    }
  }

  // Scores -> logits -> W_g.
  for (let t = 0; t < T; t++) {
    const o = t * E;
    let inner = 0;
    if (rs.scoring_func === 'softmax') for (let e = 0; e < E; e++) inner += scores[o + e] * ds[o + e];
    for (let e = 0; e < E; e++) {
      const se = scores[o + e];
      const du = rs.scoring_func === 'sigmoid' ? ds[o + e] * se * (1 - se) : se * (ds[o + e] - inner);
      if (du === 0) continue;
      const row = off.gate + e * d;
      for (let j = 0; j < d; j++) G[row + j] += du * z[t * d + j];
    }
  }
  return ds;
}
