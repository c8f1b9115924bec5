// The precision lesson's training run (in its Web Worker, worker.ts; in-process where there is no
// Worker): the trainer three times from the same weights on the same seeded batches, with
// gradients in FP32, rounded to FP16, and rounded to FP16 after loss scaling (the engine's
// lossScaleRun). One step() trains one step of each. Imports only the engine (a worker has no page).
import type { DeepSeekConfig } from '$engine/config';
import type { Tensor } from '$engine/weights';
import { type GradientMode, type LossScaleStep, lossScaleRun } from '$engine/numerics/index';
import type { TrainHparams } from '$engine/train/objective';
import type { Runner } from '../_kit/train-job';

export const TRAIN_HP: TrainHparams = {
  lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias',
};
/** The most steps the lesson's slider asks for. */
export const MAX_STEPS = 24;
const ROWS = 2, ROW_LEN = 16;

/** Three passages of the held-out stories (static/data/stories/val.txt), the model's kind of text. */
export const PASSAGES: Record<string, string> = {
  moon: 'So the good Moon made a light and went along with him, and the little trundle-bed boat went sailing down the streets into the main street of the village.',
  bear: 'Buster Bear yawned as he lay on his comfortable bed of leaves and watched the first early morning sunbeams creeping through the Green Forest.',
  alice: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading.',
};

/** What the runs train on: the three passages. */
const TRAIN_TEXT = Object.values(PASSAGES).join(' ');

/** `count` batches of ROWS rows of ROW_LEN characters (ASCII codes) from the text, seeded. */
export function batchesOf(seed: number, count = MAX_STEPS): number[][][] {
  const text = Array.from(TRAIN_TEXT, (c) => Math.min(c.charCodeAt(0), 127));
  let s = (seed * 2654435761) >>> 0;
  const next = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return Array.from({ length: count }, () => Array.from({ length: ROWS }, () => {
    const at = Math.floor(next() * (text.length - ROW_LEN));
    return text.slice(at, at + ROW_LEN);
  }));
}

export const MODES: readonly GradientMode[] = ['fp32', 'fp16', 'fp16-scaled'];

export interface LossScaleRequest { config: DeepSeekConfig; tensors: Map<string, Tensor>; seed: number; lossMultiplier: number; scale: number }
/** The settings that name a run (the lesson's controls, less the step count). */
export interface LossScaleSettings { seed: number; loss_log2: number; scale_log2: number }

/** The request of a run with these settings from these weights (the page and scripts/shipped-runs.ts build it alike). */
export function lossScaleRequest(config: DeepSeekConfig, tensors: Map<string, Tensor>, s: LossScaleSettings): LossScaleRequest {
  return { config, tensors, seed: s.seed, lossMultiplier: 2 ** s.loss_log2, scale: 2 ** s.scale_log2 };
}

/** The run shipped in shipped-run.json (the lesson's defaults; a test checks they are): its reports to MAX_STEPS. */
export const SHIPPED_RUN: { settings: LossScaleSettings } = { settings: { seed: 1, loss_log2: -14, scale_log2: 14 } };

/** One step of each run. */
export type LossScaleReport = Record<GradientMode, LossScaleStep>;

export const lossScaleRunner: Runner<LossScaleRequest, LossScaleReport, null> = (q, backend) => {
  const batches = batchesOf(q.seed);
  const runs = MODES.map((mode) => lossScaleRun(q.config, q.tensors, batches, TRAIN_HP, mode, { lossMultiplier: q.lossMultiplier, scale: q.scale, backend }));
  return {
    step() {
      const out = {} as LossScaleReport;
      MODES.forEach((mode, i) => {
        const r = runs[i]!.next();
        if (r.done) throw new Error(`the runs stop at ${MAX_STEPS} steps`);
        out[mode] = r.value;
      });
      return out;
    },
    final: () => null,
  };
};
