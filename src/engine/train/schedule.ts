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
