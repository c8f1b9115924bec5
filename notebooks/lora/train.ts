// The LoRA lesson's training run (in its Web Worker, worker.ts; in-process where there is no
// Worker): from the same base weights on the same seeded batches of the new text, one LoRA step
// (loraGradient + loraOptimizerStep: only the adapters move) and one full fine-tuning step
// (rowsGradient + optimizerStep: every weight moves) per step(). The final payload is the
// adapters (for the page's merge check and formula box) and what the page shows of the runs at
// their last step. Imports only the engine (a worker has no page).
//
// What the page shows of the finished runs is computed here too, at the run's last step: the
// update's singular values and the greedy samples (updateSpectra, samples below). On the page's
// main thread they took most of 0.3-1 s of CPU after every finished run (three generations of 32
// characters, an SVD), in tasks of up to 50 ms, and the fully fine-tuned weights had to come to
// the page for them; now only their results do. The merge check stays on the page (compute.ts):
// its float32-rounding-sized differences are the page's compute backend's.
import type { Backend } from '$kernels/backend';
import type { DeepSeekConfig } from '$engine/config';
import { generate } from '$engine/generate';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { createOptimizer, optimizerStep } from '$engine/train/adamw';
import { evaluateWindows } from '$engine/train/eval';
import {
  type LoraState, type LoraTarget, createLora, createLoraOptimizer, loraDelta, loraGradient, loraOptimizerStep, mergeLora, mergedData, singularValues, weightDelta,
} from '$engine/train/lora';
import { type TrainHparams, rowsGradient } from '$engine/train/objective';
import { type TrainParams, modelFromParams, paramsFromTensors, paramsToTensors } from '$engine/train/params';
import type { Runner } from '../_kit/train-job';

export const TEXTS: Record<string, string> = {
  arithmetic: '14+94=108\n67+31=98\n75-20=55\n79-21=58\n86+69=155\n40+31=71\n19+70=89\n73-71=2\n40+29=69\n65+58=123\n57-45=12\n95+85=180\n19-18=1\n93+73=166\n98-56=42\n52+0=52\n96-47=49\n1+52=53\n29-2=27\n6+73=79\n85+51=136\n',
  alice: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations in it, "and what is the use of a book," thought Alice, "without pictures or conversations?"',
};

/** The most steps the lesson's slider asks for. */
export const MAX_STEPS = 40;
export const ROWS = 2, ROW_LEN = 16;
export const HP: TrainHparams = {
  lr: 3e-4, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias',
};
/** LoRA's usual learning rate is higher than full fine-tuning's: only the small adapters move. */
export const LORA_LR = 5e-3;

export const TARGET_SETS: Record<string, LoraTarget[]> = {
  attention: ['q', 'kv', 'o'],
  experts: ['experts', 'shared', 'dense'],
  all: ['q', 'kv', 'o', 'experts', 'shared', 'dense'],
};

const ids = (text: string) => Array.from(text, (c) => Math.min(c.charCodeAt(0), 127));

/** `count` batches of ROWS windows of ROW_LEN characters of the text, seeded. */
export function batchesOf(text: string, seed: number, count = MAX_STEPS): number[][][] {
  const all = ids(text);
  let s = (seed * 2654435761) >>> 0;
  const next = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return Array.from({ length: count }, () => Array.from({ length: ROWS }, () => {
    const at = Math.floor(next() * (all.length - ROW_LEN));
    return all.slice(at, at + ROW_LEN);
  }));
}

export const PROMPTS: Record<string, string> = { arithmetic: '14+94=', alice: 'Alice was ' };

/** The weight whose update the spectrum shows, for each target set (one the set adapts). */
export const SPECTRUM_WEIGHT: Record<string, string> = {
  attention: 'model.layers.0.self_attn.o_proj.weight',
  experts: 'model.layers.0.mlp.gate_proj.weight',
  all: 'model.layers.0.self_attn.o_proj.weight',
};

/** The base weights: by tensor name, and in the trainer's layout. */
export interface BaseWeights { config: DeepSeekConfig; tensors: ReadonlyMap<string, Tensor>; params: TrainParams }

/** Singular values of the update of one weight: LoRA's merged s B A and full fine-tuning's ΔW. */
export interface Spectra { lora: number[]; full: number[]; rows: number; cols: number; dLora: Float64Array; dFull: Float64Array }
export function updateSpectra(base: BaseWeights, adapters: LoraState, full: TrainParams, name: string): Spectra {
  const [rows, cols] = base.params.shapes[name] as [number, number];
  const dLora = loraDelta(adapters, name, [rows, cols]);
  const dFull = weightDelta(base.params, full.data, name);
  return { lora: singularValues(dLora, rows, cols), full: singularValues(dFull, rows, cols), rows, cols, dLora, dFull };
}

/** Greedy continuations of the prompt by the base, the LoRA-merged and the fully fine-tuned model. */
export function samples(base: BaseWeights, adapters: LoraState, full: TrainParams, step: number, prompt: string, backend: Backend): { model: string; text: string }[] {
  const p = ids(prompt);
  const run = (tensors: ReadonlyMap<string, Tensor>) => {
    const out = generate(Model.fromTensors(base.config, tensors, { backend }), p, { maxNewTokens: 32, sampling: { temperature: 0 } });
    return String.fromCharCode(...out.tokens);
  };
  return [
    { model: 'before (base)', text: run(base.tensors) },
    { model: `LoRA, merged (step ${step})`, text: run(mergeLora(base.tensors, adapters)) },
    { model: `full fine-tuning (step ${step})`, text: run(paramsToTensors(full)) },
  ];
}

/** The settings that name a run (the lesson's controls, less the step count). */
export interface FineTuneSettings { text: string; targets: string; r: number; alpha: number; seed: number }

/** The request of a run with these settings from these base weights (the page and scripts/shipped-runs.ts build it alike). */
export function fineTuneRequest(config: DeepSeekConfig, tensors: Map<string, Tensor>, s: FineTuneSettings): FineTuneRequest {
  return {
    config, tensors, text: TEXTS[s.text] ?? TEXTS.arithmetic!, seed: s.seed, targets: TARGET_SETS[s.targets] ?? TARGET_SETS.attention!, r: s.r, alpha: s.alpha,
    spectrumWeight: SPECTRUM_WEIGHT[s.targets] ?? SPECTRUM_WEIGHT.attention!, prompt: PROMPTS[s.text] ?? 'a',
  };
}

/** The run shipped in shipped-run.json (the lesson's defaults; a test checks they are): its reports to MAX_STEPS, its final payload at `step`. */
export const SHIPPED_RUN: { settings: FineTuneSettings; step: number } = { settings: { text: 'arithmetic', targets: 'attention', r: 4, alpha: 8, seed: 1 }, step: 16 };

export interface FineTuneRequest {
  config: DeepSeekConfig; tensors: Map<string, Tensor>; text: string; seed: number; targets: LoraTarget[]; r: number; alpha: number;
  /** The weight whose update's singular values the page shows, and the prompt of the samples. */
  spectrumWeight: string; prompt: string;
}
/**
 * One step of both runs: the batch's mean loss (nats) before the update; bits per character on the
 * whole text after it (and the base's, before any step); the time each step took here (not drawn: a link reproduces
 * the losses, not the timings).
 */
export interface FineTuneReport { lora: number; full: number; loraText: number; fullText: number; baseText: number; loraMs: number; fullMs: number }
/** At the last step: the adapters, the update's singular values and the samples. */
export interface FineTuneFinal { adapters: LoraState; spectra: Spectra; samples: { model: string; text: string }[] }

export const fineTuneRunner: Runner<FineTuneRequest, FineTuneReport, FineTuneFinal> = (q, backend) => {
  const base = paramsFromTensors(q.config, q.tensors);
  const batches = batchesOf(q.text, q.seed);
  const adapters = createLora(base, q.targets, q.r, q.alpha, q.seed);
  const loraOpt = createLoraOptimizer(adapters);
  const full: TrainParams = { ...base, data: base.data.slice(), buffers: Object.fromEntries(Object.entries(base.buffers).map(([k, v]) => [k, v.slice()])) };
  const fullOpt = createOptimizer(full);
  // Bits per character over the whole text (one window), the engine's evaluation.
  const window = [ids(q.text).slice(0, q.config.max_position_embeddings)];
  const textLoss = (p: TrainParams) => evaluateWindows(modelFromParams(p, backend), window).bits_per_char;
  const baseText = textLoss(base);
  let step = 0;
  return {
    step() {
      const rows = batches[step];
      if (!rows) throw new Error(`the runs stop at ${MAX_STEPS} steps`);
      step++;
      let t0 = performance.now();
      const lg = loraGradient(base, adapters, rows, HP, { backend });
      loraOptimizerStep(adapters, loraOpt, Array.from(lg.grads, (v) => v / rows.length), HP, LORA_LR);
      const loraMs = performance.now() - t0;
      t0 = performance.now();
      const fg = rowsGradient(full, rows, HP, backend);
      optimizerStep(full, fullOpt, fg.grads.map((v) => v / rows.length), fg.loads, HP, HP.lr);
      const fullMs = performance.now() - t0;
      const loraText = textLoss({ ...base, data: mergedData(base, adapters) as Float32Array });
      return { lora: lg.loss / rows.length, full: fg.loss / rows.length, loraText, fullText: textLoss(full), baseText, loraMs, fullMs };
    },
    final: () => {
      const weights: BaseWeights = { config: q.config, tensors: q.tensors, params: base };
      const now = { ...adapters, data: adapters.data.slice() };
      return {
        adapters: now,
        spectra: updateSpectra(weights, now, full, q.spectrumWeight),
        samples: samples(weights, now, full, step, q.prompt, backend),
      };
    },
  };
};
