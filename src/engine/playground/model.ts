// The lesson's small MoE, its forward pass recorded on the trainer's tape (src/engine/train/tape.ts),
// so its gradients come from the same rules that train nanoseek:
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
// gate weights of the chosen experts (and through any balance loss on the scores, balance.ts).
// Parameters live in one flat array (float32 for training, float64 for gradient checks) with named
// views in the Hugging Face layout ([out, in], as PyTorch's Linear stores them). Token dropping
// (a capacity per expert) is here too: it decides which (token, expert) pairs run.
import { loopBackend } from '../../../kernels/loop.js';
import { referenceBackend } from '../../../kernels/reference.js';
import { type RouterSettings, type Routing, route } from '../router.js';
import { type Node, Tape as Graph } from '../train/tape.js';
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

export interface PlaygroundModel {
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
export function createModel(cfg: ModelConfig, seed: number, dtype: Dtype = 'float32'): PlaygroundModel {
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
export function param(model: PlaygroundModel, name: string): Vec {
  const v = model.layout.find((p) => p.name === name);
  if (!v) throw new Error(`param: no parameter named ${name}`);
  return model.params.subarray(v.offset, v.offset + v.size);
}

/** z = [x, cos(Ω x + φ)] for T points x [T, 2]. */
export function features(model: PlaygroundModel, x: Float64Array, T: number): Float64Array {
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
export function routerLogits(model: PlaygroundModel, z: Float64Array, T: number): Vec {
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
export function routeLogits(model: PlaygroundModel, logits: Vec, T: number): Routing {
  return route(logits, T, model.bias, model.config.router);
}

/** Tokens each expert may run per batch at capacity factor `cf`: ceil(cf · T · K / E); null: no capacity. */
export function capacityFor(cf: number | null, T: number, K: number, E: number): number | null {
  return cf === null || !Number.isFinite(cf) ? null : Math.ceil((cf * T * K) / E);
}

/**
 * (token, expert) pairs a capacity drops from a batch with this load per expert: each expert runs
 * min(load, capacity) of its tokens, so the rest, Σ max(0, load − capacity), are dropped. Also what a
 * capacity would have dropped from a run that had none (the routing, as recorded, is the same).
 */
export function overflow(load: ArrayLike<number>, capacity: number): number {
  let n = 0;
  for (let e = 0; e < load.length; e++) n += Math.max(0, load[e] - capacity);
  return n;
}

export interface PlaygroundForwardOptions {
  /**
   * Capacity factor: each expert runs at most ceil(capacityFactor * T * K / E) tokens per batch, in
   * token order; the rest of its tokens are dropped for that expert (their other experts still run,
   * the weights are not renormalised). null: no capacity, nothing dropped (DeepSeek-V3).
   */
  capacityFactor: number | null;
}

/** What one forward pass shows (the lesson's trace) and what its backward pass needs. */
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
  /** MoE output y [T, d] and head output [T, outputs]. */
  y: Float64Array;
  out: Float64Array;
  /** The recorded graph: its scores and output nodes take the loss gradients in backward(). */
  graph: { tape: Graph; scores: Node; out: Node };
}

/** Forward pass for T points x [T, 2], recorded for backward(). */
export function forward(model: PlaygroundModel, x: Float64Array, T: number, options: PlaygroundForwardOptions): Tape {
  const cfg = model.config, rs = cfg.router;
  const E = rs.n_routed_experts, K = rs.num_experts_per_tok, h = cfg.moe_intermediate_size, d = model.dim, C = cfg.outputs;
  const f64 = model.dtype === 'float64';
  const g = new Graph(f64 ? referenceBackend : loopBackend, model.dtype);
  const P = (name: string): Node => {
    const v = model.layout.find((p) => p.name === name)!;
    return g.param(model.params.subarray(v.offset, v.offset + v.size), model.grads.subarray(v.offset, v.offset + v.size));
  };
  const z = features(model, x, T);
  const zn = g.leaf(f64 ? z : Float32Array.from(z));
  const u = g.linear(zn, P('mlp.gate.weight'), T, d, E);
  const s = rs.scoring_func === 'sigmoid' ? g.sigmoid(u) : g.softmax(u, T, E);
  const routing = routeLogits(model, u.data, T);

  const capacity = capacityFor(options.capacityFactor, T, K, E);
  const slotExpert = new Int32Array(T * K), slotRan = new Uint8Array(T * K);
  const load = new Int32Array(E), ran = new Int32Array(E);
  let dropped = 0;
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const sl = t * K + k, e = routing.experts[t][k];
      slotExpert[sl] = e;
      load[e]++;
      if (capacity !== null && ran[e] >= capacity) { dropped++; continue; }
      ran[e]++;
      slotRan[sl] = 1;
    }
  }
  const gate = g.gateWeights(s, slotExpert, T, E, K, rs.norm_topk_prob, rs.routed_scaling_factor);
  const swiglu = (prefix: string, xs: Node, n: number): Node => {
    const a = g.linear(xs, P(`${prefix}.gate_proj.weight`), n, d, h), b = g.linear(xs, P(`${prefix}.up_proj.weight`), n, d, h);
    return g.linear(g.swiglu(a, b, n * h), P(`${prefix}.down_proj.weight`), n, h, d);
  };
  // Each expert runs once on the batch of the tokens it kept.
  const tokens: Int32Array[] = [], slots: Int32Array[] = [];
  for (let e = 0; e < E; e++) { tokens.push(new Int32Array(ran[e])); slots.push(new Int32Array(ran[e])); }
  const fill = new Int32Array(E);
  for (let sl = 0; sl < T * K; sl++) {
    if (!slotRan[sl]) continue;
    const e = slotExpert[sl], r = fill[e]++;
    tokens[e][r] = Math.floor(sl / K);
    slots[e][r] = sl;
  }
  const ys = tokens.map((tok, e) => (tok.length === 0 ? null : swiglu(`mlp.experts.${e}`, g.gatherRows(zn, tok, d), tok.length)));
  const base = cfg.n_shared_experts > 0 ? swiglu('mlp.shared_experts', zn, T) : g.leaf(g.alloc(T * d));
  const y = g.combineExperts(base, ys, tokens, slots, gate, d);
  const out = g.addBias(g.linear(y, P('head.weight'), T, d, C), P('head.bias'), T, C);
  return {
    tokens: T, z, logits: u.data.slice(), scores: Float64Array.from(s.data), routing,
    slotExpert, slotWeight: Float64Array.from(gate.data), slotRan, load, ran, dropped, capacity,
    y: Float64Array.from(y.data), out: Float64Array.from(out.data), graph: { tape: g, scores: s, out },
  };
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

/**
 * Backward pass: sets model.grads to ∂L/∂params given ∂L/∂out [T, outputs] and, optionally, an
 * extra ∂L/∂s [T, E] on the unbiased scores (a balance loss). Returns ∂L/∂s in total (for traces).
 * Runs the tape recorded by forward() (once: a tape is spent by its backward pass).
 */
export function backward(model: PlaygroundModel, tape: Tape, dOut: Float64Array, dScores: Float64Array | null): Float64Array {
  const { tape: g, scores, out } = tape.graph;
  model.grads.fill(0);
  out.grad = model.dtype === 'float64' ? Float64Array.from(dOut) : Float32Array.from(dOut);
  if (dScores) scores.grad = model.dtype === 'float64' ? Float64Array.from(dScores) : Float32Array.from(dScores);
  g.backward();
  const ds = scores.grad ? Float64Array.from(scores.grad) : new Float64Array(scores.data.length);
  g.release(); // the trace keeps copies, not the tape's buffers
  return ds;
}
