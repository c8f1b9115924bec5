// The linear-attention lesson's heavy engine work, as jobs of the kit's engine worker
// (_kit/engine-worker.ts): the swapped-layer forwards (a model forward over the passage per
// variant, 20-330 ms each in Chromium here) and Performer's error curves (8 feature counts x 3
// draws), so a slider drag never waits behind them. The math is the engine's (src/engine/linear).
import { type HeadQKV, type VariantSpec, performerErrorCurve, swappedLayerBits } from '$engine/linear';
import type { Model } from '$engine/model';

export const jobs = {
  /** Bits per token of `tokens` with layer `layer`'s attention swapped for `variant`. */
  swap: (r: { model: Model; tokens: number[]; layer: number; variant: VariantSpec }) => swappedLayerBits(r.model, r.tokens, r.layer, r.variant),
  /** Performer's mean relative error against `exact` for each feature count. */
  performerCurve: (r: { head: HeadQKV; ms: number[]; draws: number; seed: number; orthogonal: boolean; exact: Float64Array }) =>
    performerErrorCurve(r.head, r.ms, r.draws, r.seed, r.orthogonal, r.exact),
};
