// The speculation-trees lesson's setup: the shipped model with its Medusa heads (shipped beside it
// as medusa.safetensors; without them the heads are untrained, i.e. lm_head, and the page says so).
// The runs on it are in runs.ts (the heavy ones in the lesson's worker, jobs.ts). The small draft model
// (static/models/drafters/nanoseek-drafter, trained by the same trainer) is a separate file the page
// fetches once, like the heads; without it its rows are left out and the page says so.
import type { Backend } from '$kernels/backend';
import { loadModel } from '$engine/load';
import { type MedusaHeads, createMedusaHeads, medusaFromTensors } from '$engine/medusa';
import type { Model } from '$engine/model';
import { readSafetensors } from '$engine/safetensors';
import { lessonModel } from '../_kit/shipped';
import type { Setup } from './runs';

export * from './runs';

const headUrls = import.meta.glob('../../static/models/nanoseek-*/medusa.safetensors', { eager: true, query: '?url', import: 'default' }) as Record<string, string>;
const headEntry = Object.keys(headUrls).sort()[0];

const draftConfigs = import.meta.glob('../../static/models/drafters/*/config.json', { eager: true, query: '?raw', import: 'default' }) as Record<string, string>;
const draftUrls = import.meta.glob('../../static/models/drafters/*/model.safetensors', { eager: true, query: '?url', import: 'default' }) as Record<string, string>;
const draftEntry = Object.keys(draftConfigs).sort()[0];

let headBytes: Promise<Uint8Array | null> | null = null;
async function readHeads(): Promise<Uint8Array | null> {
  if (!headEntry) return null;
  if (typeof window === 'undefined') {
    const fs = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
    return new Uint8Array(await readFile(headEntry.replace(/^(\.\.\/)+/, '')));
  }
  const r = await fetch(headUrls[headEntry]!);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

let draftBytes: Promise<Uint8Array | null> | null = null;
async function readDraft(): Promise<Uint8Array | null> {
  if (!draftEntry) return null;
  const key = draftEntry.replace(/config\.json$/, 'model.safetensors');
  if (typeof window === 'undefined') {
    const fs = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
    return new Uint8Array(await readFile(key.replace(/^(\.\.\/)+/, '')));
  }
  const url = draftUrls[key];
  if (!url) return null;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

const smallModels = new WeakMap<Backend, Model>();
async function smallModel(backend: Backend): Promise<Model | null> {
  const hit = smallModels.get(backend);
  if (hit) return hit;
  draftBytes ??= readDraft().catch(() => null);
  const bytes = await draftBytes;
  if (!bytes || !draftEntry) return null;
  try {
    const m = loadModel(draftConfigs[draftEntry]!, bytes, { backend, configFile: draftEntry.replace(/^(\.\.\/)+/, '') });
    smallModels.set(backend, m);
    return m;
  } catch { return null; }
}

export async function setup(backend: Backend): Promise<Setup> {
  // The heads and the small model are fetched while the model loads, not after it.
  headBytes ??= readHeads().catch(() => null);
  draftBytes ??= readDraft().catch(() => null);
  const lm = await lessonModel('trained', backend);
  const bytes = await headBytes;
  let heads: MedusaHeads | null = null;
  if (bytes && lm.trained) {
    try { heads = medusaFromTensors(readSafetensors(bytes, 'medusa.safetensors').tensors, lm.model.config.hidden_size); } catch { heads = null; }
  }
  let small = await smallModel(backend);
  if (small && small.config.vocab_size !== lm.model.config.vocab_size) small = null;
  return {
    model: lm.model, heads: heads ?? createMedusaHeads(3, lm.model.config.hidden_size), name: lm.name, trainedHeads: heads !== null,
    small, smallName: small ? draftEntry!.split('/').at(-2)! : null,
  };
}
