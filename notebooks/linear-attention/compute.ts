// Engine work of the linear-attention lesson: the model, its traced q, k, v for one layer and
// head, the variants run on them, and the swapped-layer evaluation. Memoised by what each
// depends on, so moving one slider recomputes only its own part.
import type { Backend } from '$kernels/backend';
import {
  type AttentionResult, type HeadQKV, type SwapResult, type VariantSpec,
  headQKV, runVariant, runVariantRecurrent, swappedLayerBits,
} from '$engine/linear';
import type { LayerTrace, Model } from '$engine/model';
import { charTokenizer } from '$engine/tokenizer';
import { type LessonModel, lessonModel as kitModel } from '../_kit/shipped';

export type { LessonModel };

/**
 * The model the page runs, from the lesson kit: the reader's (the train lesson's "use this model
 * in the other lessons"), else the shipped trained model, else its shape with seeded weights.
 */
export function lessonModel(backend: Backend): Promise<LessonModel> {
  return kitModel('trained', backend);
}

/**
 * The text every prompt is cut from: the opening of the stories corpus's validation split
 * (static/data/stories/val.txt, public-domain children's books), encoded one ASCII character per
 * token, so cross-entropies are bits per character on any model with this 128-id vocabulary.
 */
const TEXT = 'So the good Moon made a light and went along with him, and the little trundle-bed boat went sailing down the streets into the main street of the village. They rolled past the town hall and the schoolhouse and the church; but nobody saw little Jack Rollaround, because everybody was in bed, asleep. "Why don\'t the people come to see me?" he shouted. High up on the church steeple, the Weather-vane answered, "It is no time for people to be in the streets; decent folk are in their beds."';
const TEXT_IDS = charTokenizer.encode(TEXT);

/** T tokens of the text, starting at a place picked by the seed. */
export function lessonTokens(T: number, seed: number): number[] {
  if (T > TEXT_IDS.length) throw new RangeError(`lessonTokens: at most ${TEXT_IDS.length} tokens`);
  const start = (seed * 37) % (TEXT_IDS.length - T + 1);
  return TEXT_IDS.slice(start, start + T);
}

/** The characters of a prompt (row labels). */
export function tokenText(ids: number[]): string[] {
  return ids.map((id) => JSON.stringify(charTokenizer.tokenText(id)).slice(1, -1).replace(/^ $/, '␣'));
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

/** A layer and head that exist in this model (a reader's model may have fewer than the tiny one). */
export function clampLayer(lm: LessonModel, layer: number): number {
  return Math.min(layer, lm.model.config.num_hidden_layers - 1);
}

/**
 * The head's q, k, v for the first T tokens of the prompt. The model is causal, so they are the
 * first T rows of a forward over the whole prompt: one traced forward serves every T (the context
 * slider then costs no forward).
 */
export function headOf(lm: LessonModel, tokens: number[], layer: number, head: number, T = tokens.length): HeadQKV {
  const h = headQKV(lm.model, traceOf(lm, tokens)[clampLayer(lm, layer)], Math.min(head, lm.model.config.num_attention_heads - 1));
  if (T >= h.T) return h;
  return { ...h, T, q: h.q.slice(0, T * h.dk), k: h.k.slice(0, T * h.dk), v: h.v.slice(0, T * h.dv) };
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
  /** The same attentions decoded token by token through their fixed-size states. */
  recurrent: Float64Array[];
  /** The prompt's characters. */
  labels: string[];
}

export function compare(head: HeadQKV, variants: VariantSpec[], headIndex: number, prompt: number[]): Compared {
  return {
    head, variants, labels: tokenText(prompt),
    results: variants.map((v) => runVariant(head, v, headIndex)),
    recurrent: variants.map((v) => runVariantRecurrent(head, v, headIndex)),
  };
}

/** Bits per token of the prompt with one layer's attention swapped for a variant. */
export function swapOne(lm: LessonModel, tokens: number[], layer: number, variant: VariantSpec): SwapResult {
  return swappedLayerBits(lm.model, tokens, clampLayer(lm, layer), variant);
}
