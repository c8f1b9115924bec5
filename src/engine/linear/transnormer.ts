// TransNormer (Qin et al. 2022, "The Devil in Linear Transformer") names two reasons linear
// attention trains badly: the denominator phi(q) . sum phi(k) can get arbitrarily small, which makes
// the gradients unbounded, and the weights spread over the whole context ("attention dilution"),
// losing the locality softmax has. Its answers, both here:
//   NormAttention: drop the denominator and normalise the output instead,
//       o_i = RMSNorm( sum_{j<=i} (phi(q_i) . phi(k_j)) v_j ) = RMSNorm( S_i^T phi(q_i) )
//     (the recurrent state is S alone, no z);
//   DiagAttention: softmax attention inside non-overlapping diagonal blocks of b tokens (the lower
//     layers), so each token only sees the earlier tokens of its own block.
import { type FeatureMapName } from './feature-maps.js';
import { KernelState, kernelWeights } from './kernel-attention.js';
import { linearInputs } from './linear-attention.js';
import { type AttentionResult, type HeadQKV, checkHead, dot } from './qkv.js';

/** RMSNorm without a learned gain (the swap has nothing trained to put there). */
export const RMS_EPS = 1e-6;

function rmsNormRow(x: Float64Array, o: number, n: number): number {
  let ss = 0;
  for (let c = 0; c < n; c++) ss += x[o + c] * x[o + c];
  const inv = 1 / Math.sqrt(ss / n + RMS_EPS);
  for (let c = 0; c < n; c++) x[o + c] *= inv;
  return inv;
}

/** NormAttention, parallel form; weights are the effective mixing matrix (row i scaled by its norm). */
export function normAttentionParallel(h: HeadQKV, phi: FeatureMapName = 'elu1'): AttentionResult {
  const x = linearInputs(h, phi);
  const { T, dv } = h;
  const weights = kernelWeights(x, false);
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j <= i; j++) {
      const a = weights[i * T + j];
      for (let c = 0; c < dv; c++) out[i * dv + c] += a * h.v[j * dv + c];
    }
    const inv = rmsNormRow(out, i * dv, dv);
    for (let j = 0; j <= i; j++) weights[i * T + j] *= inv;
  }
  return { out, weights };
}

/** NormAttention, recurrent form: the state is S = sum phi(k) v^T only. */
export function normAttentionRecurrent(h: HeadQKV, phi: FeatureMapName = 'elu1'): Float64Array {
  const x = linearInputs(h, phi);
  const { T, dv } = h;
  const state = new KernelState(x.m, dv, false);
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) {
    state.update(x.fk, i * x.m, h.v, i * dv);
    state.read(x.fq, i * x.m, out, i * dv);
    rmsNormRow(out, i * dv, dv);
  }
  return out;
}

/** First token of the diagonal block of token i. */
const blockStart = (i: number, b: number) => i - (i % b);

/** DiagAttention (block-local causal softmax), parallel form. */
export function blockSoftmaxParallel(h: HeadQKV, block: number): AttentionResult {
  checkHead(h, 'blockSoftmax');
  if (!(Number.isInteger(block) && block >= 1)) throw new RangeError('blockSoftmax: block must be a positive integer');
  const { T, dk, dv, q, k, v, scale } = h;
  const weights = new Float64Array(T * T);
  const out = new Float64Array(T * dv);
  for (let i = 0; i < T; i++) {
    const s0 = blockStart(i, block);
    let max = -Infinity;
    for (let j = s0; j <= i; j++) { const s = scale * dot(q, i * dk, k, j * dk, dk); weights[i * T + j] = s; max = Math.max(max, s); }
    let sum = 0;
    for (let j = s0; j <= i; j++) { const e = Math.exp(weights[i * T + j] - max); weights[i * T + j] = e; sum += e; }
    for (let j = s0; j <= i; j++) {
      weights[i * T + j] /= sum;
      for (let c = 0; c < dv; c++) out[i * dv + c] += weights[i * T + j] * v[j * dv + c];
    }
  }
  return { out, weights };
}

/** DiagAttention for decoding: a buffer of the current block's keys and values (at most b tokens). */
export function blockSoftmaxRecurrent(h: HeadQKV, block: number): Float64Array {
  checkHead(h, 'blockSoftmax');
  const { T, dk, dv, q, k, v, scale } = h;
  const out = new Float64Array(T * dv);
  let keys: number[] = [];
  for (let i = 0; i < T; i++) {
    if (i % block === 0) keys = []; // a new block: forget the old one
    keys.push(i);
    const s = keys.map((j) => scale * dot(q, i * dk, k, j * dk, dk));
    const max = Math.max(...s);
    const e = s.map((x) => Math.exp(x - max));
    const sum = e.reduce((a, b) => a + b, 0);
    keys.forEach((j, n) => { for (let c = 0; c < dv; c++) out[i * dv + c] += (e[n] / sum) * v[j * dv + c]; });
  }
  return out;
}
