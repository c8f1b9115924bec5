// Settling the routers' correction biases on a trained model, with its weights frozen.
//
// During training the bias update (b_e += γ · sign(mean load − load_e)) chases a router whose
// weights keep moving: the last checkpoint's biases are one sample of a random walk of step γ
// around a target that drifts. With the weights frozen the target stands still, and the same
// update with a small γ settles each layer's load near even. The weights are not touched: only
// the non-gradient `mlp.gate.e_score_correction_bias` of each MoE layer (MTP modules included)
// changes, as DeepSeek-V3's own update would move it.
import type { Model } from '../model.js';
import { updateBias } from './adamw.js';
import { evaluateWindows, maxVio } from './eval.js';

export interface SettleStep {
  step: number;
  /** MaxVio of this step's batch per MoE layer (`model.layers.L.mlp`), before its update. */
  max_vio: Record<string, number>;
}

/** Each MoE layer's correction bias, by the prefix evaluateWindows counts loads under. */
export function correctionBiases(model: Model): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const layer of model.weights.layers) {
    if (layer.moe?.bias) out.set(`model.layers.${layer.index}.mlp`, layer.moe.bias);
  }
  model.weights.mtp.forEach((m, k) => {
    if (m.layer.moe?.bias) out.set(`model.layers.${model.config.num_hidden_layers + k}.mlp`, m.layer.moe.bias);
  });
  return out;
}

/**
 * `steps` bias updates of step `gamma`, each on the loads of the batch `rows(step)` (1-based) routed
 * by the model as it stands. The biases change in place (the router reads them in JavaScript, so no
 * backend holds a copy). Returns each step's per-layer MaxVio, measured before that step's update.
 */
export function settleBiases(model: Model, o: { steps: number; gamma: number; rows: (step: number) => number[][]; onStep?: (s: SettleStep) => void }): SettleStep[] {
  if (!(o.gamma > 0) || !Number.isFinite(o.gamma)) throw new RangeError(`settleBiases: gamma must be a positive number, got ${o.gamma}`);
  const biases = correctionBiases(model);
  if (biases.size === 0) throw new RangeError('settleBiases: the model has no MoE layer with an e_score_correction_bias');
  const history: SettleStep[] = [];
  for (let step = 1; step <= o.steps; step++) {
    const { loads } = evaluateWindows(model, o.rows(step));
    const max_vio: Record<string, number> = {};
    for (const [prefix, bias] of biases) {
      const load = loads[prefix];
      if (!load) continue;
      max_vio[prefix] = maxVio(load);
      updateBias(bias, load, o.gamma);
    }
    const s = { step, max_vio };
    history.push(s);
    o.onStep?.(s);
  }
  return history;
}
