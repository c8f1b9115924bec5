// The attention variants of this folder behind one description, so a lesson, a test and the
// swapped-layer evaluation run the same thing by name.
import { createRng } from '../sampling.js';
import { chunkedInputs, mixedChunkParallel, mixedChunkRecurrent } from './flash.js';
import { linearAttentionParallel, linearAttentionRecurrent } from './linear-attention.js';
import { kernelAttentionParallel, kernelAttentionRecurrent } from './kernel-attention.js';
import { performerInputs, performerParallel, performerRecurrent } from './performer.js';
import { type AttentionResult, type HeadQKV, softmaxAttention } from './qkv.js';
import { blockSoftmaxParallel, blockSoftmaxRecurrent, normAttentionParallel, normAttentionRecurrent } from './transnormer.js';

export type VariantSpec =
  | { kind: 'softmax' }
  | { kind: 'linear'; phi: 'elu1' | 'relu' }
  | { kind: 'performer'; features: number; seed: number; orthogonal?: boolean }
  | { kind: 'normalised'; phi: 'elu1' | 'relu' }
  | { kind: 'block'; block: number }
  | { kind: 'chunked'; chunk: number };

export function variantLabel(v: VariantSpec): string {
  switch (v.kind) {
    case 'softmax': return 'softmax';
    case 'linear': return `linear (${v.phi === 'elu1' ? 'elu+1' : 'ReLU'})`;
    case 'performer': return `Performer (m = ${v.features})`;
    case 'normalised': return 'normalised (TransNormer)';
    case 'block': return `block softmax (b = ${v.block})`;
    case 'chunked': return `chunked (FLASH, C = ${v.chunk})`;
  }
}

/** The random features of head `head` are drawn from their own stream of the seed. */
const performerRng = (seed: number, head: number) => createRng(seed * 977 + head * 7919 + 1);

/** Parallel form (with the T x T mixing matrix). */
export function runVariant(h: HeadQKV, v: VariantSpec, head = 0): AttentionResult {
  switch (v.kind) {
    case 'softmax': return softmaxAttention(h);
    case 'linear': return linearAttentionParallel(h, v.phi);
    case 'performer': return performerParallel(h, { features: v.features, rng: performerRng(v.seed, head), orthogonal: v.orthogonal });
    case 'normalised': return normAttentionParallel(h, v.phi);
    case 'block': return blockSoftmaxParallel(h, v.block);
    case 'chunked': return mixedChunkParallel(chunkedInputs(h, v.chunk));
  }
}

/** Recurrent (decoding) form: one token at a time through the variant's state. */
export function runVariantRecurrent(h: HeadQKV, v: VariantSpec, head = 0): Float64Array {
  switch (v.kind) {
    case 'softmax': {
      // Softmax has no fixed-size state: decoding keeps every key and value (the KV cache).
      return softmaxAttention(h).out;
    }
    case 'linear': return linearAttentionRecurrent(h, v.phi);
    case 'performer': return performerRecurrent(h, { features: v.features, rng: performerRng(v.seed, head), orthogonal: v.orthogonal });
    case 'normalised': return normAttentionRecurrent(h, v.phi);
    case 'block': return blockSoftmaxRecurrent(h, v.block);
    case 'chunked': return mixedChunkRecurrent(chunkedInputs(h, v.chunk));
  }
}

/**
 * Both forms at once, equal to runVariant and runVariantRecurrent: Performer's random features and
 * the chunked attention's features are drawn once for the two (a lesson shows both side by side).
 */
export function runVariantBoth(h: HeadQKV, v: VariantSpec, head = 0): { result: AttentionResult; recurrent: Float64Array } {
  switch (v.kind) {
    case 'softmax': {
      const result = softmaxAttention(h);
      return { result, recurrent: result.out };
    }
    case 'performer': {
      const x = performerInputs(h, { features: v.features, rng: performerRng(v.seed, head), orthogonal: v.orthogonal });
      return { result: kernelAttentionParallel(x), recurrent: kernelAttentionRecurrent(x) };
    }
    case 'chunked': {
      const x = chunkedInputs(h, v.chunk);
      return { result: mixedChunkParallel(x), recurrent: mixedChunkRecurrent(x) };
    }
    default: return { result: runVariant(h, v, head), recurrent: runVariantRecurrent(h, v, head) };
  }
}

/**
 * Numbers one head keeps between decode steps after T tokens: softmax keeps every key and value;
 * the linear kinds a fixed state (S and z); block and chunked attention the open block's keys and
 * values (at most b or C tokens, plus, for chunked, the linear state of the closed chunks).
 */
export function variantStateNumbers(v: VariantSpec, T: number, dk: number, dv: number): number {
  switch (v.kind) {
    case 'softmax': return T * (dk + dv);
    case 'linear': return dk * dv + dk;
    case 'performer': return v.features * dv + v.features;
    case 'normalised': return dk * dv;
    case 'block': return Math.min(v.block, T) * (dk + dv);
    case 'chunked': return Math.min(v.chunk, T) * (dk + dv) + dk * dv + dk;
  }
}
