// Engine work of the LoRA lesson: LoRA and full fine-tuning from the same model on the same
// batches, in the lesson's Web Worker (train.ts) to the slider's step, which also computes, at that
// step, the update's singular values and greedy samples; the merge against adapters run beside the
// frozen weights (on the page's backend). Views only draw what these return.
import type { DeepSeekConfig } from '$engine/config';
import type { Tensor } from '$engine/weights';
import { modelTensors } from '$engine/numerics/index';
import type { Backend } from '$kernels/backend';
import { Model } from '$engine/model';
import { type LoraState, type LoraTarget, adapterBackend, createLora, loraCounts, mergeLora } from '$engine/train/lora';
import { type TrainParams, paramsFromTensors } from '$engine/train/params';
import { lessonModel, shippedWeightsSha256 } from '../_kit/shipped';
import { type ShippedRunsRecord, knownRun, shippedRuns } from '../_kit/shipped-runs';
import { JobClient, type Progress, objectId } from '../_kit/train-job';
import {
  type FineTuneFinal, type FineTuneReport, type FineTuneRequest, type Spectra, MAX_STEPS, PROMPTS, SPECTRUM_WEIGHT, TARGET_SETS, TEXTS, fineTuneRequest, fineTuneRunner,
} from './train';
import shippedRunUrl from './shipped-run.json?url';

export { PROMPTS, SPECTRUM_WEIGHT, TARGET_SETS, TEXTS, type Spectra };

export interface Base {
  config: DeepSeekConfig; tensors: Map<string, Tensor>; params: TrainParams; name: string;
  /** The run at the lesson's defaults, computed ahead from these weights (only for the shipped model). */
  shippedRuns: ShippedRunsRecord<FineTuneReport, FineTuneFinal> | null;
}

// The default run on the shipped model, computed ahead by scripts/shipped-runs.ts (the worker's runner and kernels).
const shippedRecord = shippedRuns<FineTuneReport, FineTuneFinal>(shippedRunUrl, 'notebooks/lora/shipped-run.json');

const baseMemo = new WeakMap<object, Base>();
/** The model being adapted: the kit's lessonModel (shipped trained, the reader's own, or seeded random). */
export async function baseOf(weights: 'trained' | 'random', seed: number): Promise<Base> {
  const record = weights === 'trained' ? shippedRecord(shippedWeightsSha256()) : null;
  const lm = await lessonModel(weights, undefined, seed);
  let b = baseMemo.get(lm.model.weights);
  if (!b) {
    const tensors = modelTensors(lm.model);
    const shipped = lm.shipped && record ? await record : null;
    baseMemo.set(lm.model.weights, (b = { config: lm.model.config, tensors, params: paramsFromTensors(lm.model.config, tensors), name: lm.name, shippedRuns: shipped }));
  }
  return b;
}

// Both runs train in the lesson's Web Worker (train.ts, worker.ts), to the slider's step. Without a
// Worker (Node: tests, prerender) only INLINE_STEPS steps run in-process.
const INLINE_STEPS = 2;
const client = new JobClient<FineTuneRequest, FineTuneReport, FineTuneFinal>(
  () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek LoRA runs' }), fineTuneRunner, { inlineSteps: INLINE_STEPS });

export type RunState = Progress<FineTuneReport, FineTuneFinal>;

/** LoRA (rank r, scale alpha/r, on the target set) and full fine-tuning from the base, to `steps` steps. */
export function fineTune(base: Base, text: string, targets: string, r: number, alpha: number, seed: number, steps: number): Generator<RunState | Promise<RunState>, void, unknown> {
  const key = [objectId(base), text, targets, r, alpha, seed].join('|');
  const settings = { text, targets, r, alpha, seed };
  return client.follow(key, Math.min(steps, MAX_STEPS), fineTuneRequest(base.config, base.tensors, settings), knownRun(base.shippedRuns, settings));
}

/** The finished runs at the slider's step: the adapters, and what the worker computed of both runs there. */
export interface Tuned { step: number; adapters: LoraState; spectra: Spectra; samples: { model: string; text: string }[] }
export function tunedOf(s: RunState): Tuned {
  const f = s.final!;
  return { step: s.reports.length, adapters: f.adapters, spectra: f.spectra, samples: f.samples };
}

/** Trainable numbers and the memory training them takes (fp32 weights, gradients, Adam's m and v). */
export function budget(base: Base, targets: LoraTarget[], r: number): { lora: number; full: number; adapted: number } {
  const c = loraCounts(createLora(base.params, targets, r, 1, 1));
  return { lora: c.adapter, full: base.params.data.length, adapted: c.adapted };
}

export interface MergeCheck { mergedVsBeside: number; mergedVsBase: number }
/** Merged weights against adapters beside the frozen weights: the logits on a prompt. */
export function mergeCheck(base: Base, adapters: LoraState, prompt: number[], backend: Backend): MergeCheck {
  const merged = Model.fromTensors(base.config, mergeLora(base.tensors, adapters), { backend }).forward(prompt).logits;
  const weights = new Map([...base.tensors].map(([n, t]) => [n, t.data]));
  const beside = Model.fromTensors(base.config, base.tensors, { backend: adapterBackend(backend, weights, adapters) }).forward(prompt).logits;
  const plain = Model.fromTensors(base.config, base.tensors, { backend }).forward(prompt).logits;
  let a = 0, b = 0;
  for (let i = 0; i < merged.length; i++) { a = Math.max(a, Math.abs(merged[i]! - beside[i]!)); b = Math.max(b, Math.abs(merged[i]! - plain[i]!)); }
  return { mergedVsBeside: a, mergedVsBase: b };
}
