// Engine work of the linear-attention lesson: the model, its traced q, k, v for one layer and
// head, the variants run on them, and the swapped-layer evaluation. Memoised by what each
// depends on, so moving one slider recomputes only its own part.
import type { Backend } from '$kernels/backend';
import { initModel } from '$engine/init';
import type { LayerTrace, Model } from '$engine/model';
import {
  type AttentionResult, type HeadQKV, type SwapResult, type VariantSpec,
  headQKV, runVariant, swappedLayerBits,
} from '$engine/linear';
import { promptIds, tinyConfig } from '../_kit/models';

/** The model the lesson runs: the tiny DeepSeek-V3 with seeded weights. */
export interface LessonModel {
  model: Model;
  /** What it is, for captions. */
  name: string;
  trained: boolean;
}

const MEMO = 8;
const models = new Map<string, LessonModel>();
export function lessonModel(seed: number, backend: Backend): LessonModel {
  const key = `${seed}`;
  let m = models.get(key);
  if (!m) {
    const base = initModel(tinyConfig(), { seed });
    m = { model: base.withBackend(backend), name: `the tiny DeepSeek-V3 with seeded random weights (seed ${seed})`, trained: false };
    if (models.size >= MEMO) models.delete(models.keys().next().value!);
    models.set(key, m);
  } else if (m.model.backend !== backend) {
    m = { ...m, model: m.model.withBackend(backend) };
    models.set(key, m);
  }
  return m;
}

/** The prompt: T token ids, deterministic from the seed. */
export function lessonTokens(lm: LessonModel, T: number, seed: number): number[] {
  return promptIds(T, lm.model.config.vocab_size, seed);
}

const traces = new WeakMap<Model, Map<string, LayerTrace[]>>();
/** Every layer's trace of one forward over the prompt. */
export function traceOf(lm: LessonModel, tokens: number[]): LayerTrace[] {
  let byPrompt = traces.get(lm.model);
  if (!byPrompt) traces.set(lm.model, (byPrompt = new Map()));
  const key = tokens.join(',');
  let t = byPrompt.get(key);
  if (!t) {
    t = lm.model.forward(tokens, { trace: true }).trace!;
    if (byPrompt.size >= 4) byPrompt.delete(byPrompt.keys().next().value!);
    byPrompt.set(key, t);
  }
  return t;
}

export function headOf(lm: LessonModel, tokens: number[], layer: number, head: number): HeadQKV {
  return headQKV(lm.model, traceOf(lm, tokens)[layer], head);
}

/** The five attentions compared side by side. */
export function fiveVariants(features: number, chunk: number, seed: number): VariantSpec[] {
  return [
    { kind: 'softmax' },
    { kind: 'linear', phi: 'elu1' },
    { kind: 'performer', features, seed },
    { kind: 'normalised', phi: 'elu1' },
    { kind: 'chunked', chunk },
  ];
}

export interface Compared {
  head: HeadQKV;
  variants: VariantSpec[];
  results: AttentionResult[];
}

export function compare(head: HeadQKV, variants: VariantSpec[], headIndex: number): Compared {
  return { head, variants, results: variants.map((v) => runVariant(head, v, headIndex)) };
}

/** Bits per token of the prompt with one layer's attention swapped for each variant. */
export function swapAll(lm: LessonModel, tokens: number[], layer: number, variants: VariantSpec[]): SwapResult[] {
  return variants.map((v) => swappedLayerBits(lm.model, tokens, layer, v));
}
