// LoRA (Hu et al. 2021): adapt a frozen weight W [out, in] by a low-rank update,
//   W' = W + (alpha / r) B A,   A [r, in] (small random), B [out, r] (zeros: W' = W at the start),
// training only A and B. Their gradients follow from the weight's own by the chain rule: with
// dW = dL/dW' (the gradient the trainer computes for the merged weight) and s = alpha / r,
//   dA = s B^T dW,   dB = s dW A^T.
// So the trainer's tape is reused unchanged: merge, take dW, project. Merging afterwards gives a
// plain checkpoint that computes what base + adapters compute; `adapterBackend` runs the adapters
// beside the frozen weights instead (x W^T + s (x A^T) B^T), for comparison.
import type { Backend } from '../../../kernels/backend.js';
import { EngineInputError } from '../errors.js';
import type { Tensor } from '../weights.js';
import { adamwUpdate, globalNorm } from './adamw.js';
import { type RowsGradient, type TrainHparams, gradientInto } from './objective.js';
import type { TrainParams } from './params.js';
import type { Vec } from './tape.js';

/** Projections LoRA can adapt, by group (Hugging Face names). */
export const LORA_TARGETS = {
  q: /\.self_attn\.(q_proj|q_a_proj|q_b_proj)\.weight$/,
  kv: /\.self_attn\.(kv_a_proj_with_mqa|kv_b_proj)\.weight$/,
  o: /\.self_attn\.o_proj\.weight$/,
  experts: /\.mlp\.experts\.\d+\.(gate_proj|up_proj|down_proj)\.weight$/,
  shared: /\.mlp\.shared_experts\.(gate_proj|up_proj|down_proj)\.weight$/,
  dense: /\.mlp\.(gate_proj|up_proj|down_proj)\.weight$/,
} as const;
export type LoraTarget = keyof typeof LORA_TARGETS;

export interface LoraAdapter {
  /** The adapted weight's name (e.g. model.layers.0.self_attn.o_proj.weight), [out, in]. */
  name: string;
  out: number;
  in: number;
  /** Offsets of A [r, in] and B [out, r] in LoraState.data. */
  a: number;
  b: number;
}

export interface LoraState {
  r: number;
  alpha: number;
  adapters: LoraAdapter[];
  /** Every adapter's A then B, flat (what the optimizer updates). */
  data: Float32Array;
}

/** Names of the trained tensors a set of target groups adapts. */
export function loraTargetNames(p: Pick<TrainParams, 'names' | 'shapes'>, targets: readonly LoraTarget[]): string[] {
  return p.names.filter((n) => p.shapes[n]!.length === 2 && targets.some((t) => LORA_TARGETS[t].test(n)));
}

/** Adapters on the chosen tensors: A uniform in +-1/sqrt(in) (seeded), B zero. */
export function createLora(p: Pick<TrainParams, 'names' | 'shapes'>, targets: readonly LoraTarget[] | readonly string[], r: number, alpha: number, seed: number): LoraState {
  if (!Number.isInteger(r) || r < 1) throw new EngineInputError(`LoRA rank r must be a positive integer (got ${r})`);
  if (!(alpha > 0)) throw new EngineInputError(`LoRA alpha must be > 0 (got ${alpha})`);
  const names = targets.every((t) => t in LORA_TARGETS) ? loraTargetNames(p, targets as LoraTarget[]) : [...targets];
  if (names.length === 0) throw new EngineInputError(`LoRA targets ${JSON.stringify(targets)} match no weight of this model`);
  const adapters: LoraAdapter[] = [];
  let total = 0;
  for (const name of names) {
    const shape = p.shapes[name];
    if (!shape || shape.length !== 2) throw new EngineInputError(`LoRA target ${JSON.stringify(name)} is not a trained matrix of this model`);
    const [out, inn] = shape as [number, number];
    adapters.push({ name, out, in: inn, a: total, b: total + r * inn });
    total += r * inn + out * r;
  }
  const data = new Float32Array(total);
  let s = (seed >>> 0) || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
  for (const ad of adapters) {
    const bound = 1 / Math.sqrt(ad.in);
    for (let i = 0; i < r * ad.in; i++) data[ad.a + i] = (2 * next() - 1) * bound;
  }
  return { r, alpha, adapters, data };
}

/** Trainable parameters of the adapters, and of the weights they adapt (what full fine-tuning of them would train). */
export function loraCounts(lora: LoraState): { adapter: number; adapted: number } {
  return { adapter: lora.data.length, adapted: lora.adapters.reduce((n, a) => n + a.out * a.in, 0) };
}

/** W + (alpha / r) B A for one adapter, computed in float64, written into `w` (length out x in). */
function addDelta(w: Vec, lora: LoraState, ad: LoraAdapter): void {
  const r = lora.r, s = lora.alpha / r, A = lora.data, B = lora.data;
  for (let o = 0; o < ad.out; o++) {
    for (let i = 0; i < ad.in; i++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += B[ad.b + o * r + k]! * A[ad.a + k * ad.in + i]!;
      w[o * ad.in + i] = w[o * ad.in + i]! + s * acc;
    }
  }
}

/** The base parameters with every adapter merged in (a copy; float64 when asked, for checks). */
export function mergedData(base: Pick<TrainParams, 'data' | 'offsets'>, lora: LoraState, dtype: 'float32' | 'float64' = 'float32'): Vec {
  const data = dtype === 'float64' ? Float64Array.from(base.data) : base.data.slice();
  for (const ad of lora.adapters) addDelta(data.subarray(base.offsets[ad.name]!, base.offsets[ad.name]! + ad.out * ad.in), lora, ad);
  return data;
}

/** The base checkpoint's tensors with the adapters merged (every other tensor shared, not copied). */
export function mergeLora(base: ReadonlyMap<string, Tensor>, lora: LoraState): Map<string, Tensor> {
  const out = new Map(base);
  for (const ad of lora.adapters) {
    const t = base.get(ad.name);
    if (!t) throw new EngineInputError(`mergeLora: the checkpoint has no tensor ${JSON.stringify(ad.name)}`);
    const w = t.data.slice();
    addDelta(w, lora, ad);
    out.set(ad.name, { shape: t.shape, data: w });
  }
  return out;
}

/** The adapters alone, named as PEFT names them (`<module>.lora_A.weight`, `<module>.lora_B.weight`). */
export function loraTensors(lora: LoraState): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const ad of lora.adapters) {
    const mod = ad.name.replace(/\.weight$/, '');
    out.set(`${mod}.lora_A.weight`, { shape: [lora.r, ad.in], data: lora.data.slice(ad.a, ad.a + lora.r * ad.in) });
    out.set(`${mod}.lora_B.weight`, { shape: [ad.out, lora.r], data: lora.data.slice(ad.b, ad.b + ad.out * lora.r) });
  }
  return out;
}

export interface LoraGradient extends Omit<RowsGradient, 'grads'> {
  /** d(sum of per-row losses)/d(adapter parameters), in LoraState.data's layout. */
  grads: Vec;
}

/**
 * Forward and backward with the adapters merged, then dA = s B^T dW and dB = s dW A^T for each
 * adapter. Sums over the rows, like rowsGradient. The base is not changed.
 */
export function loraGradient(base: TrainParams, lora: LoraState, rows: number[][], hp: TrainHparams, options: { backend?: Backend; dtype?: 'float32' | 'float64' } = {}): LoraGradient {
  const dtype = options.dtype ?? 'float32';
  const data = mergedData(base, lora, dtype);
  const dW = dtype === 'float64' ? new Float64Array(data.length) : new Float32Array(data.length);
  const r = gradientInto({ ...base, data }, dW, rows, hp, { backend: options.backend, dtype });
  const grads = dtype === 'float64' ? new Float64Array(lora.data.length) : new Float32Array(lora.data.length);
  const R = lora.r, s = lora.alpha / R, P = lora.data;
  for (const ad of lora.adapters) {
    const o0 = base.offsets[ad.name]!;
    // dA[k, i] = s sum_o B[o, k] dW[o, i]
    for (let k = 0; k < R; k++) {
      for (let i = 0; i < ad.in; i++) {
        let acc = 0;
        for (let o = 0; o < ad.out; o++) acc += P[ad.b + o * R + k]! * dW[o0 + o * ad.in + i]!;
        grads[ad.a + k * ad.in + i] = s * acc;
      }
    }
    // dB[o, k] = s sum_i dW[o, i] A[k, i]
    for (let o = 0; o < ad.out; o++) {
      for (let k = 0; k < R; k++) {
        let acc = 0;
        for (let i = 0; i < ad.in; i++) acc += dW[o0 + o * ad.in + i]! * P[ad.a + k * ad.in + i]!;
        grads[ad.b + o * R + k] = s * acc;
      }
    }
  }
  return { ...r, grads };
}

export interface LoraOptimizer { step: number; m: Float32Array; v: Float32Array }
export const createLoraOptimizer = (lora: LoraState): LoraOptimizer => ({ step: 0, m: new Float32Array(lora.data.length), v: new Float32Array(lora.data.length) });

/**
 * One LoRA update from MEAN adapter gradients: global-norm clipping and AdamW on A and B only
 * (decoupled decay on both: they are matrices). The base weights and routing biases stay frozen.
 */
export function loraOptimizerStep(lora: LoraState, state: LoraOptimizer, meanGrads: ArrayLike<number>, hp: TrainHparams, lr: number): { grad_norm: number } {
  const norm = globalNorm(meanGrads);
  const scale = norm > hp.max_grad_norm ? hp.max_grad_norm / (norm + 1e-6) : 1;
  adamwUpdate(lora.data, meanGrads, state, { lr, betas: hp.betas, eps: hp.eps, weight_decay: hp.weight_decay }, [[0, lora.data.length]], scale);
  return { grad_norm: norm };
}

/**
 * A Backend that runs the adapters beside the frozen weights: a matmulT whose B operand is an
 * adapted weight (the very array the model binds) adds s (x A^T) B^T to x W^T.
 */
export function adapterBackend(inner: Backend, weights: ReadonlyMap<string, Float32Array>, lora: LoraState): Backend {
  const byWeight = new Map<Float32Array, LoraAdapter>();
  for (const ad of lora.adapters) {
    const w = weights.get(ad.name);
    if (w) byWeight.set(w, ad);
  }
  const s = lora.alpha / lora.r, R = lora.r;
  return {
    name: `${inner.name} + LoRA r=${R}`,
    matmul: (a, b, m, k, n, out) => inner.matmul(a, b, m, k, n, out),
    matmulTN: (a, b, m, k, n, out) => inner.matmulTN(a, b, m, k, n, out),
    softmaxRows: (x, rows, cols, out) => inner.softmaxRows(x, rows, cols, out),
    rmsNorm: (x, w, rows, cols, eps, out) => inner.rmsNorm(x, w, rows, cols, eps, out),
    rope: (x, rows, dim, positions, theta, out) => inner.rope(x, rows, dim, positions, theta, out),
    swiglu: (g, u, n, out) => inner.swiglu(g, u, n, out),
    causalAttention: (q, k, v, nq, nk, dk, dv, scale, offset, out, weights) => inner.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, out, weights),
    matmulT(a, b, m, k, n, out) {
      const ad = byWeight.get(b);
      const y = inner.matmulT(a, b, m, k, n, out);
      if (!ad) return y;
      const xa = inner.matmulT(a, lora.data.subarray(ad.a, ad.a + R * ad.in), m, k, R); // [m, r]
      const delta = inner.matmulT(xa, lora.data.subarray(ad.b, ad.b + ad.out * R), m, R, n); // [m, out]
      for (let i = 0; i < y.length; i++) y[i] = y[i]! + s * delta[i]!;
      return y;
    },
  };
}


/**
 * Singular values of a [rows, cols] matrix, largest first (one-sided Jacobi in float64: rotate
 * column pairs until all are orthogonal; the column norms are then the singular values). For the
 * lesson's ΔW: a LoRA update has at most r nonzero ones.
 */
export function singularValues(m: ArrayLike<number>, rows: number, cols: number): number[] {
  // Work on the side with fewer columns: the singular values of M and M^T are the same.
  const t = cols > rows;
  const R = t ? cols : rows, C = t ? rows : cols;
  const a = new Float64Array(R * C); // column-major: column j at [j*R, (j+1)*R)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    const v = m[i * cols + j]!;
    if (t) a[i * R + j] = v; else a[j * R + i] = v;
  }
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < C - 1; p++) {
      for (let q = p + 1; q < C; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let k = 0; k < R; k++) {
          const x = a[p * R + k]!, y = a[q * R + k]!;
          alpha += x * x; beta += y * y; gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const tt = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + tt * tt), s = c * tt;
        for (let k = 0; k < R; k++) {
          const x = a[p * R + k]!, y = a[q * R + k]!;
          a[p * R + k] = c * x - s * y;
          a[q * R + k] = s * x + c * y;
        }
      }
    }
    if (off < 1e-14) break;
  }
  const out: number[] = [];
  for (let j = 0; j < C; j++) {
    let ss = 0;
    for (let k = 0; k < R; k++) ss += a[j * R + k]! * a[j * R + k]!;
    out.push(Math.sqrt(ss));
  }
  return out.sort((x, y) => y - x);
}

/** ΔW = W_after - W_before of one tensor of two parameter sets in the same layout. */
export function weightDelta(before: Pick<TrainParams, 'offsets' | 'shapes'> & { data: ArrayLike<number> }, after: ArrayLike<number>, name: string): Float64Array {
  const o = before.offsets[name]!, n = before.shapes[name]!.reduce((x, y) => x * y, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = after[o + i]! - before.data[o + i]!;
  return d;
}

/** The update (alpha / r) B A of one adapted weight, in float64 ([out, in]); zeros if it has no adapter. */
export function loraDelta(lora: LoraState, name: string, shape: readonly [number, number]): Float64Array {
  const d = new Float64Array(shape[0] * shape[1]);
  const ad = lora.adapters.find((a) => a.name === name);
  if (ad) addDelta(d, lora, ad);
  return d;
}
