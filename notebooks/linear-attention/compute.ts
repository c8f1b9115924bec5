// Engine work of the linear-attention lesson: the model, its traced q, k, v for one layer and
// head, the variants run on them, and the swapped-layer evaluation. Memoised by what each
// depends on, so moving one slider recomputes only its own part.
import type { Backend } from '$kernels/backend';
import {
  type AttentionResult, type HeadQKV, type SwapResult, type VariantSpec,
  headQKV, runVariantBoth,
} from '$engine/linear';
import type { LayerTrace, Model } from '$engine/model';
import { charTokenizer } from '$engine/tokenizer';
import { type LessonModel, lessonModel as kitModel } from '../_kit/shipped';
import { EngineWorker, type Where } from '../_kit/engine-worker';
import { memoPer } from '../_kit/memo';
import { jobs } from './jobs';

export type { LessonModel };

/**
 * The model the page runs, from the lesson kit: the reader's (the train lesson's "use this model
 * in the other lessons"), else the shipped trained model, else its shape with seeded weights.
 */
export async function lessonModel(backend: Backend): Promise<LessonModel> {
  // The worker (started as the lesson loaded) gets the model's weights as soon as they are here,
  // and copies them while the page computes its maps: the swapped-layer forwards and Performer's
  // curves are asked for right after, and no longer wait for it.
  const lm = await kitModel('trained', backend);
  background.warm(lm.model);
  return lm;
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

// 6 prompts per model: the one shown, its neighbours computed ahead (seed ± 1, see mapsWork) and
// the last few a drag passed.
const traces = memoPer<Model, LayerTrace[]>(6);
/** Every layer's trace of one forward over the prompt. */
export function traceOf(lm: LessonModel, tokens: number[]): LayerTrace[] {
  return traces(lm.model, tokens.join(','), () => lm.model.forward(tokens, { trace: true }).trace!);
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
  const trace = traceOf(lm, tokens);
  let byHead = heads.get(trace);
  if (!byHead) heads.set(trace, (byHead = new Map()));
  const l = clampLayer(lm, layer), hd = Math.min(head, lm.model.config.num_attention_heads - 1);
  const key = `${l}/${hd}/${T}`;
  let out = byHead.get(key);
  if (!out) {
    const h = headQKV(lm.model, trace[l], hd);
    out = T >= h.T ? h : { ...h, T, q: h.q.slice(0, T * h.dk), k: h.k.slice(0, T * h.dk), v: h.v.slice(0, T * h.dv) };
    byHead.set(key, out);
  }
  return out;
}
/** The heads taken from each trace, by layer, head and T: the same object again, so the variants' memo below finds it. */
const heads = new WeakMap<LayerTrace[], Map<string, HeadQKV>>();

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

// Each variant's two forms, by the head's q, k, v and the variant: moving the features slider
// recomputes Performer only, the chunk slider the chunked attention only, and dragging back to a
// setting recomputes nothing.
// 24: enough for a sweep of one slider (m has 9 values, C 5) next to the fixed variants.
const variantRuns = memoPer<HeadQKV, ReturnType<typeof runVariantBoth>>(24);
function runBoth(head: HeadQKV, v: VariantSpec, headIndex: number): ReturnType<typeof runVariantBoth> {
  return variantRuns(head, `${headIndex}/${JSON.stringify(v)}`, () => runVariantBoth(head, v, headIndex));
}

export function compare(head: HeadQKV, variants: VariantSpec[], headIndex: number, prompt: number[]): Compared {
  const runs = variants.map((v) => runBoth(head, v, headIndex));
  return {
    head, variants, labels: tokenText(prompt),
    results: runs.map((r) => r.result),
    recurrent: runs.map((r) => r.recurrent),
  };
}

/** One setting of the maps' sliders. */
export interface MapsSetting { prompt: number[]; layer: number; head: number; T: number; features: number; chunk: number; seed: number }

/**
 * The engine work of the maps (the cells qkv and compared) at one setting, as jobs of a few
 * milliseconds each: the traced forward over the prompt, then each attention's two forms. Run ahead
 * for the neighbouring settings (_kit/idle-jobs.ts), they leave in the memo exactly what the cells will
 * ask for; the jobs already done cost a lookup.
 */
export function mapsWork(lm: LessonModel, s: MapsSetting): (() => unknown)[] {
  return [
    () => traceOf(lm, s.prompt),
    ...fiveVariants(s.features, s.chunk, s.seed).map((v) => () => runBoth(headOf(lm, s.prompt, s.layer, s.head, s.T), v, s.head)),
  ];
}

/** The lesson's Web Worker for the swapped-layer forwards and Performer's error curves (jobs.ts). */
export const background = new EngineWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nanoseek linear attention' }), jobs);
// Started as the lesson loads (every visit asks it for the swapped-layer forwards): a worker is
// created only between the page's tasks, and the first cells run as one long task.
background.warm();

export type PlacedSwap = SwapResult & { where: Where };

/** Bits per token of the prompt with one layer's attention swapped for a variant (in the worker). */
export async function swapOne(lm: LessonModel, tokens: number[], layer: number, variant: VariantSpec): Promise<PlacedSwap> {
  const { value, where } = await background.runWhere('swap', { model: lm.model, tokens, layer: clampLayer(lm, layer), variant });
  return { ...value, where };
}
