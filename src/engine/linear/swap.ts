// "Swap one layer's attention, no retraining": the model's forward with one layer's per-head
// softmax mixing replaced by a variant, run on that layer's own q, k, v (its projections, W_O, the
// other layers and the FFNs are untouched), and the next-token cross-entropy it then reaches.
import type { HeadMixer } from '../mla.js';
import type { Model } from '../model.js';
import { type VariantSpec, runVariant } from './variants.js';

/** A HeadMixer (mla.ts) that runs a variant on one head's float32 q [T, dk], k [N, dk], v [N, dv]. */
export function variantMixer(v: VariantSpec): HeadMixer {
  return (head, q, k, vals, T, N, start, scale) => {
    if (start !== 0 || N !== T) throw new Error('variantMixer: the swapped layer runs on a whole sequence (no cache)');
    const dk = q.length / T, dv = vals.length / N;
    const r = runVariant({ T, dk, dv, q: Float64Array.from(q), k: Float64Array.from(k), v: Float64Array.from(vals), scale }, v, head);
    return Float32Array.from(r.out);
  };
}

/** Mean bits per token of predicting tokens[t+1] from position t (log-softmax in float64). */
export function bitsPerToken(logits: Float32Array, tokens: readonly number[], vocab: number): number {
  let total = 0;
  for (let t = 0; t + 1 < tokens.length; t++) {
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) max = Math.max(max, logits[t * vocab + j]);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(logits[t * vocab + j] - max);
    total += (Math.log(sum) + max - logits[t * vocab + tokens[t + 1]]) / Math.LN2;
  }
  return total / (tokens.length - 1);
}

export interface SwapResult {
  variant: VariantSpec;
  layer: number;
  /** Bits per predicted token; divide by characters per token for bits per character. */
  bitsPerToken: number;
}

/** Cross-entropy (bits per token) with layer `layer`'s attention replaced by `variant` (softmax: the model as it is). */
export function swappedLayerBits(model: Model, tokens: readonly number[], layer: number, variant: VariantSpec): SwapResult {
  if (!(Number.isInteger(layer) && layer >= 0 && layer < model.config.num_hidden_layers)) {
    throw new RangeError(`swappedLayerBits: layer ${layer} is not a decoder layer (0..${model.config.num_hidden_layers - 1})`);
  }
  if (tokens.length < 2) throw new RangeError('swappedLayerBits: need at least two tokens');
  const r = model.forward(tokens, variant.kind === 'softmax' ? {} : { replaceAttention: { layer, mixer: variantMixer(variant) } });
  return { variant, layer, bitsPerToken: bitsPerToken(r.logits, tokens, model.config.vocab_size) };
}
