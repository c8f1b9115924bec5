// The shipped trained model (static/models/nanoseek-<name>/: config.json, model.safetensors,
// tokenizer.json, committed by the trainer issue) as the lessons' default model. Its config and
// tokenizer are small and known when the page is built; its weights are a separate file the page
// fetches once (vite emits it as a hashed asset under the site's base path, so the browser caches
// it and the page JS stays small). In Node (the tests, the prerendered thumbnails) the same file is
// read from disk. When it cannot be had, the lesson falls back to the same shape with seeded random
// weights and says so. A model the reader trained in the train lesson replaces it through the kit's
// ModelCache (user-model.ts) when its config is exactly the shipped one.
import type { Backend } from '$kernels/backend';
import { parseConfig, type DeepSeekConfig } from '$engine/config';
import { initModel } from '$engine/init';
import { loadModel } from '$engine/load';
import type { Model } from '$engine/model';
import { parseTokenizerJson, type CharTokenizer } from '$engine/tokenizer';
import { TINY_CONFIG_JSON } from '$engine/tiny';
import { ModelCache } from './model-cache';
import { userModelInfo } from './user-model';

const configs = import.meta.glob('../../static/models/nanoseek-*/config.json', { eager: true, import: 'default' }) as Record<string, Record<string, unknown>>;
const tokenizers = import.meta.glob('../../static/models/nanoseek-*/tokenizer.json', { eager: true, query: '?raw', import: 'default' }) as Record<string, string>;
const weightUrls = import.meta.glob('../../static/models/nanoseek-*/model.safetensors', { eager: true, query: '?url', import: 'default' }) as Record<string, string>;

const entry = Object.keys(configs).sort()[0];
const folder = entry?.split('/').at(-2);

/** The shipped model's folder name, e.g. "nanoseek-stories" (null before the trainer ships one). */
export const SHIPPED_NAME: string | null = folder ?? null;

/** The keys of the shipped config.json (the tiny golden-b shape stands in before one is shipped). */
export const SHIPPED_RAW: Record<string, unknown> | null = entry ? configs[entry]! : null;

/** The shipped model's config, parsed (null before one is shipped). */
export const SHIPPED_CONFIG: DeepSeekConfig | null = entry ? parseConfig(configs[entry]!, { file: `static/models/${folder}/config.json` }) : null;

/** The shipped tokenizer, checked against the config (token id = ASCII code). */
export const TOKENIZER: CharTokenizer | null = entry && SHIPPED_CONFIG
  ? parseTokenizerJson(tokenizers[entry.replace(/config\.json$/, 'tokenizer.json')]!, `static/models/${folder}/tokenizer.json`, SHIPPED_CONFIG.vocab_size)
  : null;

/** Which weights a lesson runs: the shipped trained ones, or seeded random ones in the same shape. */
export type Weights = 'trained' | 'random';

export interface LessonModel {
  model: Model;
  /** True when the weights were trained (the shipped model or the reader's). */
  trained: boolean;
  /** What the page says it runs, e.g. "the shipped model nanoseek-stories". */
  name: string;
  /** True when these are the shipped weights themselves (not the reader's, not random). */
  shipped?: boolean;
}

let weightBytes: Promise<Uint8Array | null> | null = null;

async function readWeights(): Promise<Uint8Array | null> {
  if (!entry) return null;
  const key = entry.replace(/config\.json$/, 'model.safetensors');
  if (typeof window === 'undefined') {
    // Node: read the file from the repository (run from its root, as npm scripts and vitest are).
    const fs = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
    return new Uint8Array(await readFile(`static/models/${folder}/model.safetensors`));
  }
  const r = await fetch(weightUrls[key]!);
  if (!r.ok) throw new Error(`HTTP ${r.status} for ${weightUrls[key]}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The shipped weights' bytes, fetched or read once per page (null when none is shipped or it failed). */
function shippedBytes(): Promise<Uint8Array | null> {
  weightBytes ??= readWeights().catch(() => null);
  return weightBytes;
}

/**
 * Start fetching the shipped weights now (a lesson's module calls this as it loads, so the 2 MB
 * arrive while the page starts instead of after its first cell asks). Browser only: in Node the
 * file is read when asked.
 */
export function prefetchShippedWeights(): void {
  if (typeof window !== 'undefined' && typeof fetch === 'function') void shippedBytes();
}

let weightsSha: Promise<string | null> | null = null;
/**
 * The SHA-256 (hex) of the shipped model.safetensors, as the page has it: what a lesson's shipped
 * record (shipped-runs.ts) was computed from must match it. Null without Web Crypto (a page served
 * over plain http from another host): such a page computes everything itself.
 */
export function shippedWeightsSha256(): Promise<string | null> {
  weightsSha ??= shippedBytes().then(async (bytes) => {
    const subtle = globalThis.crypto?.subtle;
    if (!bytes || !subtle) return null;
    const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }).catch(() => null);
  return weightsSha;
}

const models = new ModelCache(4);
let shippedBase: Model | null = null;

/** The seed of the "random weights" model when a lesson has no seed of its own. */
export const RANDOM_SEED = 1;

/**
 * The model a lesson runs: `weights` 'trained' is the shipped model (or the reader's own, trained
 * in the train lesson, when it has exactly the shipped config); 'random' is the same shape with
 * seeded random weights (never the reader's). Before a model is shipped, or when its weights
 * cannot be read, 'trained' falls back to the random one and `trained` says false.
 */
export async function lessonModel(weights: Weights, backend?: Backend, seed = RANDOM_SEED): Promise<LessonModel> {
  const cfg = SHIPPED_CONFIG;
  if (weights === 'trained' && cfg) {
    if (!shippedBase) {
      const bytes = await shippedBytes();
      if (bytes) shippedBase ??= loadModel(JSON.stringify(SHIPPED_RAW), bytes, { configFile: `static/models/${folder}/config.json`, weightsFile: `static/models/${folder}/model.safetensors` });
    }
    if (shippedBase) {
      const base = shippedBase;
      const own = models.get('shipped', () => base, backend, true);
      const model = models.get('shipped', () => base, backend);
      const info = userModelInfo();
      const name = model !== own && info ? `your model from the train lesson (${info.label}, step ${info.step})` : `the shipped model ${folder} (trained on the stories)`;
      return { model, trained: true, name, shipped: model === own };
    }
  }
  const shape = cfg ?? parseConfig({ ...TINY_CONFIG_JSON }, { file: 'the tiny model' });
  const model = models.get(`random/${seed}`, () => initModel(shape, { seed }), backend, true);
  const why = weights === 'trained' ? ' (the trained weights could not be loaded)' : '';
  return { model, trained: false, shipped: false, name: `${cfg ? `${folder}'s shape` : 'the tiny model'} with seeded random weights (seed ${seed})${why}` };
}
