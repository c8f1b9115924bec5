// The training loop around the trainer core: draw a batch, get its summed gradient (one thread or
// two), divide by the rows, take one optimizer step at the scheduled learning rate, and report what
// the step measured. No I/O: the CLI saves checkpoints and prints; a lesson can drive the same loop.
import type { Backend } from '../../../kernels/backend.js';
import type { TrainerState } from './checkpoint.js';
import { BatchSampler, SavedRng, windows } from './data.js';
import { evaluateWindows, maxVio, type EvalResult } from './eval.js';
import { type TrainHparams, divideInPlace, lrAt, modelFromParams, optimizerStep } from './index.js';
import { biasGammaAtStep } from './schedule.js';
import type { GradientRunner } from './workers.js';

const LN2 = Math.log(2);

/** What one step measured (means over the batch's rows). */
export interface StepRecord {
  step: number;
  lr: number;
  loss: number;
  main: number;
  mtp: number;
  balance: number;
  /** main / ln 2: training bits per character. */
  bits_per_char: number;
  grad_norm: number;
  /** The routing-bias step γ this step used (its schedule's value). */
  bias_gamma: number;
  /** MTP draft == main argmax at t+1, on the batch (when the core reports it). */
  mtp_agreement: number | null;
  /** Per MoE layer prefix: max load / mean load - 1 over this batch. */
  max_vio: Record<string, number>;
  characters: number;
}

export function hparamsOf(o: TrainerState['options']): TrainHparams {
  return {
    lr: o.lr, betas: o.betas, eps: o.eps, weight_decay: o.weight_decay, max_grad_norm: o.max_grad_norm,
    mtp_lambda: o.mtp_lambda, balance_alpha: o.balance_alpha, bias_gamma: o.bias_gamma, balancing: o.balancing,
  };
}

/** The sampler of a state: training ids, its seq_len, and its RNG words (advanced as batches are drawn). */
export function samplerOf(state: TrainerState, trainIds: Uint8Array): BatchSampler {
  return new BatchSampler(trainIds, state.options.seq_len, new SavedRng(state.rng));
}

/** The learning rate of step `step` (1-based) of the run. */
export function lrOfStep(o: TrainerState['options'], step: number): number {
  return lrAt(step, { lr: o.lr, warmup: o.warmup, total: o.steps, minLrRatio: o.min_lr_ratio });
}

/** The routing-bias step γ of step `step` (1-based) of the run. */
export function biasGammaOfStep(o: TrainerState['options'], step: number): number {
  return biasGammaAtStep(step, { gamma: o.bias_gamma, total: o.steps, minRatio: o.bias_gamma_min_ratio ?? o.min_lr_ratio, schedule: o.bias_gamma_schedule ?? 'constant' });
}

/**
 * The loads the bias update reads: this batch's, or with options.bias_load_decay d > 0, each layer's
 * average over recent batches (avg = d * avg + (1 - d) * load; the first batch's load starts it),
 * kept in state.loadAvg. DeepSeek-V3 moves each bias by the sign of its expert's load on a batch of
 * millions of tokens; on a batch of a few hundred characters an expert's load is skewed (most
 * batches hold none of the text it takes, a few hold much), so the sign of one batch's load is
 * settled where the median batch is even, not the mean: the average is a larger batch for the sign.
 */
export function balanceLoads(state: TrainerState, loads: Record<string, number[]>): Record<string, ArrayLike<number>> {
  const d = state.options.bias_load_decay ?? 0;
  if (state.options.balancing !== 'bias' || !(d > 0)) return loads;
  const avg = (state.loadAvg ??= {});
  for (const [k, l] of Object.entries(loads)) {
    const a = avg[k];
    if (!a) { avg[k] = Float32Array.from(l); continue; }
    for (let e = 0; e < a.length; e++) a[e] = d * a[e]! + (1 - d) * l[e]!;
  }
  return avg;
}

/** One optimizer step; mutates the state (params, optimizer, step, RNG words, load average). */
export async function trainStep(state: TrainerState, sampler: BatchSampler, runner: GradientRunner): Promise<StepRecord> {
  const o = state.options, hp = hparamsOf(o);
  const rows = sampler.next(o.batch);
  const g = await runner.gradient(state.params, rows, hp);
  const n = g.rows;
  const mean = g.grads;
  divideInPlace(mean, n);
  const step = state.step + 1;
  const lr = lrOfStep(o, step);
  const bias_gamma = biasGammaOfStep(o, step);
  const { grad_norm } = optimizerStep(state.params, state.opt, mean, balanceLoads(state, g.loads), { ...hp, bias_gamma }, lr);
  state.step = step;
  state.rng = Array.from(sampler.rng.state);
  const max_vio: Record<string, number> = {};
  for (const [k, l] of Object.entries(g.loads)) max_vio[k] = maxVio(l);
  return {
    step, lr, loss: g.loss / n, main: g.main / n, mtp: g.mtp / n, balance: g.balance / n,
    bits_per_char: g.main / n / LN2, grad_norm, bias_gamma,
    mtp_agreement: g.agree && g.agree.count > 0 ? g.agree.mtpGreedy / g.agree.count : null,
    max_vio, characters: o.batch * o.seq_len,
  };
}

/** Evaluate the current parameters on the first `maxWindows` windows of a text's ids. */
export function evaluateState(state: TrainerState, ids: ArrayLike<number>, maxWindows = Infinity, backend?: Backend): EvalResult {
  return evaluateWindows(modelFromParams(state.params, backend), windows(ids, state.options.seq_len, maxWindows));
}
