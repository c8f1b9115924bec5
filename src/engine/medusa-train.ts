// Training Medusa heads with the trunk frozen (MEDUSA-1): the trunk's final states are computed once,
// then each head is fitted by AdamW on its own cross-entropy for token t+k+1. The gradient is small
// enough to write by hand: with Z = H W^T + b, A = SiLU(Z), H' = H + A, L = H' lm_head^T,
//   dL = softmax(L) - onehot(y);  dH' = dL lm_head;  dZ = dH' * SiLU'(Z);  dW = dZ^T H;  db = sum_t dZ.
// lm_head stays fixed (shared with the model).
import type { Backend } from '../../kernels/backend.js';
import { type MedusaHeads, medusaBlock } from './medusa.js';
import type { Model } from './model.js';
import { type Rng, createRng } from './sampling.js';

export interface HeadData {
  /** Final states H [N, d] of positions t. */
  states: Float32Array;
  /** targets[k][n]: the token t + k + 2 for head k (0-based), i.e. k + 1 beyond lm_head's. */
  targets: Int32Array[];
  count: number;
}

/** Run the frozen trunk over rows and keep (h_t, t+2 .. t+K+1) for every t with all targets inside the row. */
export function collectHeadData(model: Model, rows: number[][], numHeads: number): HeadData {
  const d = model.config.hidden_size;
  const targets = Array.from({ length: numHeads }, () => [] as number[]);
  let count = 0;
  const chunks: Float32Array[] = [];
  for (const row of rows) {
    const out = model.forward(row, { lastLogitsOnly: true });
    for (let t = 0; t + numHeads + 1 < row.length; t++) {
      chunks.push(out.hidden.subarray(t * d, (t + 1) * d));
      for (let k = 0; k < numHeads; k++) targets[k].push(row[t + k + 2]);
      count++;
    }
  }
  const H = new Float32Array(count * d);
  chunks.forEach((c, i) => H.set(c, i * d));
  return { states: H, targets: targets.map((t) => Int32Array.from(t)), count };
}

export interface HeadTrainOptions {
  steps: number;
  batch: number;
  lr: number;
  weightDecay?: number;
  seed?: number;
  /** Called every `logEvery` steps with the mean loss per head over those steps. */
  log?: (step: number, loss: number[]) => void;
  logEvery?: number;
}

/** Mean cross-entropy of head k over rows `idx`, and (when grads given) the gradient sums into them. */
export function headLoss(be: Backend, heads: MedusaHeads, lmHead: Float32Array, V: number, k: number, data: HeadData, idx: number[], grads?: { w: Float32Array; b: Float32Array }): number {
  const d = heads.hidden, B = idx.length;
  const H = new Float32Array(B * d);
  idx.forEach((n, i) => H.set(data.states.subarray(n * d, (n + 1) * d), i * d));
  const { out, z } = medusaBlock(be, heads, k, H, B);
  const L = be.matmulT(out, lmHead, B, d, V);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    const row = L.subarray(i * V, (i + 1) * V);
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, row[j]);
    let sum = 0;
    for (let j = 0; j < V; j++) { row[j] = Math.exp(row[j] - max); sum += row[j]; }
    const y = data.targets[k][idx[i]];
    loss -= Math.log(row[y] / sum);
    for (let j = 0; j < V; j++) row[j] = row[j] / sum / B; // dL, mean over the batch
    row[y] -= 1 / B;
  }
  if (grads) {
    const dH = be.matmul(L, lmHead, B, V, d);
    for (let i = 0; i < B * d; i++) {
      const s = 1 / (1 + Math.exp(-z[i]));
      dH[i] *= s * (1 + z[i] * (1 - s)); // SiLU'(z)
    }
    be.matmulTN(dH, H, d, B, d, grads.w);
    for (let i = 0; i < B; i++) for (let j = 0; j < d; j++) grads.b[j] += dH[i * d + j];
  }
  return loss / B;
}

/** Fit every head (AdamW, cosine decay) on `data`; returns the final loss per head. */
export function trainMedusaHeads(model: Model, heads: MedusaHeads, data: HeadData, opts: HeadTrainOptions): number[] {
  const be = model.backend, V = model.config.vocab_size, d = heads.hidden;
  const rng: Rng = createRng(opts.seed ?? 1);
  const wd = opts.weightDecay ?? 0, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const state = heads.weight.map(() => ({ mw: new Float32Array(d * d), vw: new Float32Array(d * d), mb: new Float32Array(d), vb: new Float32Array(d) }));
  const running = new Array(heads.numHeads).fill(0);
  const last = new Array(heads.numHeads).fill(0);
  const every = opts.logEvery ?? 50;
  for (let step = 1; step <= opts.steps; step++) {
    const lr = opts.lr * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / opts.steps));
    const idx = Array.from({ length: Math.min(opts.batch, data.count) }, () => Math.floor(rng() * data.count));
    for (let k = 0; k < heads.numHeads; k++) {
      const grads = { w: new Float32Array(d * d), b: new Float32Array(d) };
      const loss = headLoss(be, heads, model.weights.lmHead, V, k, data, idx, grads);
      running[k] += loss;
      last[k] = loss;
      const s = state[k], c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
      const upd = (p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, decay: number) => {
        for (let i = 0; i < p.length; i++) {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
          p[i] -= lr * ((m[i] / c1) / (Math.sqrt(v[i] / c2) + eps) + decay * p[i]);
        }
      };
      upd(heads.weight[k], grads.w, s.mw, s.vw, wd);
      upd(heads.bias[k], grads.b, s.mb, s.vb, 0);
    }
    if (opts.log && step % every === 0) {
      opts.log(step, running.map((r) => r / every));
      running.fill(0);
    }
  }
  return last;
}

/** Mean cross-entropy of every head on data (no update). */
export function medusaLoss(model: Model, heads: MedusaHeads, data: HeadData): number[] {
  const idx = Array.from({ length: data.count }, (_, i) => i);
  return heads.weight.map((_, k) => headLoss(model.backend, heads, model.weights.lmHead, model.config.vocab_size, k, data, idx));
}

/** accuracy[k][r]: the fraction of positions where head k's rank-r choice is the true token. */
export function topAccuracy(model: Model, heads: MedusaHeads, data: HeadData, ranks: number): number[][] {
  const be = model.backend, V = model.config.vocab_size, d = heads.hidden;
  return heads.weight.map((_, k) => {
    const { out } = medusaBlock(be, heads, k, data.states, data.count);
    const L = be.matmulT(out, model.weights.lmHead, data.count, d, V);
    const hits = new Array(ranks).fill(0);
    for (let n = 0; n < data.count; n++) {
      const row = L.subarray(n * V, (n + 1) * V), y = data.targets[k][n];
      let rank = 0;
      for (let j = 0; j < V; j++) if (row[j] > row[y] || (row[j] === row[y] && j < y)) rank++;
      if (rank < ranks) hits[rank]++;
    }
    return hits.map((h) => h / Math.max(1, data.count));
  });
}
