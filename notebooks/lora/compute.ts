// Engine work of the LoRA lesson: LoRA and full fine-tuning from the same model on the same
// batches, one step of each per frame; the update's singular values; merge against adapters run
// beside the frozen weights; greedy samples. Views only draw what these return.
import type { Backend } from '$kernels/backend';
import type { DeepSeekConfig } from '$engine/config';
import { generate } from '$engine/generate';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { modelTensors } from '$engine/numerics/index';
import { createOptimizer, optimizerStep } from '$engine/train/adamw';
import {
  type LoraState, type LoraTarget, adapterBackend, createLora, createLoraOptimizer, loraCounts, loraGradient, loraOptimizerStep, mergeLora,
  loraDelta, singularValues, weightDelta,
} from '$engine/train/lora';
import { type TrainHparams, rowsGradient } from '$engine/train/objective';
import { type TrainParams, paramsFromTensors, paramsToTensors } from '$engine/train/params';
import { lessonModel } from '../_kit/shipped';

export const TEXTS: Record<string, string> = {
  arithmetic: '14+94=108\n67+31=98\n75-20=55\n79-21=58\n86+69=155\n40+31=71\n19+70=89\n73-71=2\n40+29=69\n65+58=123\n57-45=12\n95+85=180\n19-18=1\n93+73=166\n98-56=42\n52+0=52\n96-47=49\n1+52=53\n29-2=27\n6+73=79\n85+51=136\n',
  alice: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations in it, "and what is the use of a book," thought Alice, "without pictures or conversations?"',
};
export const PROMPTS: Record<string, string> = { arithmetic: '14+94=', alice: 'Alice was ' };

export const STEPS = 24;
const ROWS = 2, ROW_LEN = 16;
export const HP: TrainHparams = {
  lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias',
};
/** LoRA's usual learning rate is higher than full fine-tuning's: only the small adapters move. */
export const LORA_LR = 5e-3;

export const TARGET_SETS: Record<string, LoraTarget[]> = {
  attention: ['q', 'kv', 'o'],
  experts: ['experts', 'shared', 'dense'],
  all: ['q', 'kv', 'o', 'experts', 'shared', 'dense'],
};

export interface Base { config: DeepSeekConfig; tensors: Map<string, Tensor>; params: TrainParams; name: string }

const baseMemo = new WeakMap<object, Base>();
/** The model being adapted: the kit's lessonModel (shipped trained, the reader's own, or seeded random). */
export async function baseOf(weights: 'trained' | 'random', seed: number): Promise<Base> {
  const lm = await lessonModel(weights, undefined, seed);
  let b = baseMemo.get(lm.model.weights);
  if (!b) {
    const tensors = modelTensors(lm.model);
    baseMemo.set(lm.model.weights, (b = { config: lm.model.config, tensors, params: paramsFromTensors(lm.model.config, tensors), name: lm.name }));
  }
  return b;
}

const ids = (text: string) => Array.from(text, (c) => Math.min(c.charCodeAt(0), 127));

/** STEPS batches of ROWS windows of ROW_LEN characters of the text, seeded (small: each step is one
 *  forward and backward pass on the page's main thread). */
export function batchesOf(text: string, seed: number): number[][][] {
  const all = ids(text);
  let s = (seed * 2654435761) >>> 0;
  const next = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return Array.from({ length: STEPS }, () => Array.from({ length: ROWS }, () => {
    const at = Math.floor(next() * (all.length - ROW_LEN));
    return all.slice(at, at + ROW_LEN);
  }));
}

export interface RunState {
  step: number;
  lora: { loss: number[]; ms: number };
  full: { loss: number[]; ms: number };
  adapters: LoraState;
  /** The fully fine-tuned parameters (and routing biases), as they are after `step` steps. */
  full_params: TrainParams;
  done: boolean;
}

/**
 * LoRA (rank r, scale alpha/r, on the target set) and full fine-tuning from the same base on the
 * same batches, one step per pull of the generator (a frame in the page), LoRA's then full's.
 */
export function* fineTune(base: Base, batches: number[][][], targets: LoraTarget[], r: number, alpha: number, seed: number): Generator<RunState> {
  const adapters = createLora(base.params, targets, r, alpha, seed);
  const loraOpt = createLoraOptimizer(adapters);
  const full: TrainParams = { ...base.params, data: base.params.data.slice(), buffers: Object.fromEntries(Object.entries(base.params.buffers).map(([k, v]) => [k, v.slice()])) };
  const fullOpt = createOptimizer(full);
  const state: RunState = { step: 0, lora: { loss: [], ms: 0 }, full: { loss: [], ms: 0 }, adapters, full_params: full, done: false };
  yield { ...state };
  for (let s = 0; s < batches.length; s++) {
    const rows = batches[s]!;
    let t0 = performance.now();
    const lg = loraGradient(base.params, adapters, rows, HP);
    loraOptimizerStep(adapters, loraOpt, Array.from(lg.grads, (v) => v / rows.length), HP, LORA_LR);
    const loraMs = performance.now() - t0;
    state.lora = { loss: [...state.lora.loss, lg.loss / rows.length], ms: state.lora.ms + loraMs };
    yield { ...state }; // one step per frame: the LoRA step, then the full one
    t0 = performance.now();
    const fg = rowsGradient(full, rows, HP);
    optimizerStep(full, fullOpt, fg.grads.map((v) => v / rows.length), fg.loads, HP, HP.lr);
    const fullMs = performance.now() - t0;
    state.step = s + 1;
    state.full = { loss: [...state.full.loss, fg.loss / rows.length], ms: state.full.ms + fullMs };
    state.done = s === batches.length - 1;
    yield { ...state };
  }
}

/** Trainable numbers and the memory training them takes (fp32 weights, gradients, Adam's m and v). */
export function budget(base: Base, targets: LoraTarget[], r: number): { lora: number; full: number; adapted: number } {
  const c = loraCounts(createLora(base.params, targets, r, 1, 1));
  return { lora: c.adapter, full: base.params.data.length, adapted: c.adapted };
}

/** Singular values of the update of one weight: LoRA's merged s B A and full fine-tuning's ΔW. */
export function updateSpectra(base: Base, s: RunState, name: string): { lora: number[]; full: number[]; rows: number; cols: number } {
  const [rows, cols] = base.params.shapes[name] as [number, number];
  const dLora = loraDelta(s.adapters, name, [rows, cols]);
  return { lora: singularValues(dLora, rows, cols), full: singularValues(weightDelta(base.params, s.full_params.data, name), rows, cols), rows, cols };
}

/** Merged weights against adapters beside the frozen weights: the logits on a prompt. */
export function mergeCheck(base: Base, s: RunState, prompt: number[], backend: Backend): { mergedVsBeside: number; mergedVsBase: number } {
  const merged = Model.fromTensors(base.config, mergeLora(base.tensors, s.adapters), { backend }).forward(prompt).logits;
  const weights = new Map([...base.tensors].map(([n, t]) => [n, t.data]));
  const beside = Model.fromTensors(base.config, base.tensors, { backend: adapterBackend(backend, weights, s.adapters) }).forward(prompt).logits;
  const plain = Model.fromTensors(base.config, base.tensors, { backend }).forward(prompt).logits;
  let a = 0, b = 0;
  for (let i = 0; i < merged.length; i++) { a = Math.max(a, Math.abs(merged[i]! - beside[i]!)); b = Math.max(b, Math.abs(merged[i]! - plain[i]!)); }
  return { mergedVsBeside: a, mergedVsBase: b };
}

/** Greedy continuations of the prompt by the base, the LoRA-merged and the fully fine-tuned model. */
export function samples(base: Base, s: RunState, prompt: string, backend: Backend): { model: string; text: string }[] {
  const p = ids(prompt);
  const run = (tensors: ReadonlyMap<string, Tensor>) => {
    const out = generate(Model.fromTensors(base.config, tensors, { backend }), p, { maxNewTokens: 32, sampling: { temperature: 0 } });
    return String.fromCharCode(...out.tokens);
  };
  const fullTensors = paramsToTensors(s.full_params);
  return [
    { model: 'before (base)', text: run(base.tensors) },
    { model: `LoRA, merged (step ${s.step})`, text: run(mergeLora(base.tensors, s.adapters)) },
    { model: `full fine-tuning (step ${s.step})`, text: run(fullTensors) },
  ];
}
