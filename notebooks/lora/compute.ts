// Engine work of the LoRA lesson: LoRA and full fine-tuning from the same model on the same
// batches, in the lesson's Web Worker (train.ts) to the slider's step; the update's singular values; merge against adapters run
// beside the frozen weights; greedy samples. Views only draw what these return.
import type { Backend } from '$kernels/backend';
import type { DeepSeekConfig } from '$engine/config';
import { generate } from '$engine/generate';
import { Model } from '$engine/model';
import type { Tensor } from '$engine/weights';
import { modelTensors } from '$engine/numerics/index';
import {
  type LoraState, type LoraTarget, adapterBackend, createLora, loraCounts, mergeLora, loraDelta, singularValues, weightDelta,
} from '$engine/train/lora';
import { type TrainParams, paramsFromTensors, paramsToTensors } from '$engine/train/params';
import { lessonModel } from '../_kit/shipped';
import { JobClient, type Progress, objectId } from '../_kit/train-job';
import { type FineTuneFinal, type FineTuneReport, type FineTuneRequest, MAX_STEPS, TARGET_SETS, TEXTS, fineTuneRunner } from './train';

export { TARGET_SETS, TEXTS };

export const PROMPTS: Record<string, string> = { arithmetic: '14+94=', alice: 'Alice was ' };

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

// Both runs train in the lesson's Web Worker (train.ts, worker.ts), to the slider's step. Without a
// Worker (Node: tests, prerender) only INLINE_STEPS steps run in-process.
const INLINE_STEPS = 2;
const client = new JobClient<FineTuneRequest, FineTuneReport, FineTuneFinal>(
  () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek LoRA runs' }), fineTuneRunner, { inlineSteps: INLINE_STEPS });

export type RunState = Progress<FineTuneReport, FineTuneFinal>;

/** LoRA (rank r, scale alpha/r, on the target set) and full fine-tuning from the base, to `steps` steps. */
export function fineTune(base: Base, text: string, targets: string, r: number, alpha: number, seed: number, steps: number): Generator<RunState | Promise<RunState>, void, unknown> {
  const key = [objectId(base), text, targets, r, alpha, seed].join('|');
  return client.follow(key, Math.min(steps, MAX_STEPS), { config: base.config, tensors: base.tensors, text: TEXTS[text] ?? TEXTS.arithmetic!, seed, targets: TARGET_SETS[targets] ?? TARGET_SETS.attention!, r, alpha });
}

/** The finished runs: the adapters, and the fully fine-tuned weights in the trainer's layout. */
export interface Tuned { step: number; adapters: LoraState; full_params: TrainParams }
export function tunedOf(base: Base, s: RunState): Tuned {
  const f = s.final!;
  return { step: s.reports.length, adapters: f.adapters, full_params: { ...base.params, data: f.full.data, buffers: f.full.buffers } };
}

/** Trainable numbers and the memory training them takes (fp32 weights, gradients, Adam's m and v). */
export function budget(base: Base, targets: LoraTarget[], r: number): { lora: number; full: number; adapted: number } {
  const c = loraCounts(createLora(base.params, targets, r, 1, 1));
  return { lora: c.adapter, full: base.params.data.length, adapted: c.adapted };
}

/** Singular values of the update of one weight: LoRA's merged s B A and full fine-tuning's ΔW. */
export interface Spectra { lora: number[]; full: number[]; rows: number; cols: number; dLora: Float64Array; dFull: Float64Array }
export function updateSpectra(base: Base, s: Tuned, name: string): Spectra {
  const [rows, cols] = base.params.shapes[name] as [number, number];
  const dLora = loraDelta(s.adapters, name, [rows, cols]);
  const dFull = weightDelta(base.params, s.full_params.data, name);
  return { lora: singularValues(dLora, rows, cols), full: singularValues(dFull, rows, cols), rows, cols, dLora, dFull };
}

/** Merged weights against adapters beside the frozen weights: the logits on a prompt. */
export function mergeCheck(base: Base, s: Tuned, prompt: number[], backend: Backend): { mergedVsBeside: number; mergedVsBase: number } {
  const merged = Model.fromTensors(base.config, mergeLora(base.tensors, s.adapters), { backend }).forward(prompt).logits;
  const weights = new Map([...base.tensors].map(([n, t]) => [n, t.data]));
  const beside = Model.fromTensors(base.config, base.tensors, { backend: adapterBackend(backend, weights, s.adapters) }).forward(prompt).logits;
  const plain = Model.fromTensors(base.config, base.tensors, { backend }).forward(prompt).logits;
  let a = 0, b = 0;
  for (let i = 0; i < merged.length; i++) { a = Math.max(a, Math.abs(merged[i]! - beside[i]!)); b = Math.max(b, Math.abs(merged[i]! - plain[i]!)); }
  return { mergedVsBeside: a, mergedVsBase: b };
}

/** Greedy continuations of the prompt by the base, the LoRA-merged and the fully fine-tuned model. */
export function samples(base: Base, s: Tuned, prompt: string, backend: Backend): { model: string; text: string }[] {
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
