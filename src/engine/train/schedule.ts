// The learning-rate schedule: linear warm-up to the peak, then cosine decay to a floor.
export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Warm-up steps (lr * step / warmup for step <= warmup). */
  warmup: number;
  /** Total steps; the cosine reaches the floor here and stays there after. */
  total: number;
  /** The floor as a fraction of the peak (e.g. 0.1). */
  minLrRatio: number;
}

/** Learning rate of step `step` (1-based: the first update is step 1). */
export function lrAt(step: number, s: LrSchedule): number {
  if (s.warmup > 0 && step <= s.warmup) return (s.lr * step) / s.warmup;
  const span = s.total - s.warmup;
  const progress = span > 0 ? Math.min(1, Math.max(0, (step - s.warmup) / span)) : 1;
  return s.lr * (s.minLrRatio + (1 - s.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** How the routing-bias step γ moves over a run: fixed, or along the learning rate's cosine (no warm-up). */
export type BiasGammaSchedule = 'constant' | 'cosine';

/**
 * γ of step `step` (1-based). 'cosine' falls from γ at the first step to γ·minRatio at `total`, as the
 * learning rate does after warm-up: each step moves every bias by a full ±γ in answer to one small
 * batch, so a late model's biases wander around the even point by about γ; shrinking γ as the weights
 * settle keeps the final snapshot near it. (DeepSeek-V3 lowered γ too: 0.001, then 0 at the end.)
 */
export function biasGammaAtStep(step: number, s: { gamma: number; total: number; minRatio: number; schedule: BiasGammaSchedule }): number {
  if (s.schedule === 'constant') return s.gamma;
  const progress = s.total > 1 ? Math.min(1, Math.max(0, (step - 1) / (s.total - 1))) : 1;
  return s.gamma * (s.minRatio + (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
