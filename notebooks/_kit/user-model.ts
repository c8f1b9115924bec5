// A model the reader trained (the train lesson's "Use this model in the other lessons"): kept in the
// browser (the checkpoint bundle in IndexedDB, a short description in localStorage so a page can
// tell synchronously that one is chosen). The page shell preloads it (preloadUserModel); from then
// on the kit's ModelCache hands it out instead of any model of exactly its config (same shapes:
// a lesson whose sliders change the shape keeps its own model there), and tells the shell, which
// shows a note with the way back (clearUserModel). Browser only: in Node every call says "none".
import type { Backend } from '$kernels/backend';
import { readBundle } from '$engine/bundle';
import { configToJson } from '$engine/config';
import { loadModel } from '$engine/load';
import type { Model } from '$engine/model';

export interface UserModelInfo { label: string; step: number; savedAt: number }

const INFO_KEY = 'nanoseek.userModel';
const DB = 'nanoseek-user-model';
const STORE = 'bundle';

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** The chosen model's description, or null (the lessons use their own). */
export function userModelInfo(): UserModelInfo | null {
  const raw = storage()?.getItem(INFO_KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as UserModelInfo;
    return typeof v.label === 'string' ? v : null;
  } catch {
    return null;
  }
}

function db(): Promise<IDBDatabase | null> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(null);
  return new Promise((resolve) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
  });
}

/** Choose a checkpoint bundle (writeBundle's tar) for the other lessons. */
export async function setUserModel(bundle: Uint8Array, info: UserModelInfo): Promise<void> {
  const d = await db();
  if (!d) return;
  await new Promise<void>((resolve, reject) => {
    const tx = d.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(bundle, 'current');
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  }).finally(() => d.close());
  storage()?.setItem(INFO_KEY, JSON.stringify(info));
  cached = null;
}

/** Back to the lessons' own models. */
export function clearUserModel(): void {
  storage()?.removeItem(INFO_KEY);
  cached = null;
  void db().then((d) => {
    if (!d) return;
    const tx = d.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete('current');
    tx.oncomplete = () => d.close();
  });
}

let cached: { savedAt: number; model: Promise<Model | null> } | null = null;

/** The reader's model (loaded once per choice), or null when none is chosen or it cannot be read. */
export function userModel(backend?: Backend): Promise<Model | null> {
  const info = userModelInfo();
  if (!info) return Promise.resolve(null);
  if (cached?.savedAt !== info.savedAt) {
    cached = {
      savedAt: info.savedAt,
      model: db().then(async (d) => {
        if (!d) return null;
        const bytes = await new Promise<Uint8Array | undefined>((resolve) => {
          const req = d.transaction(STORE).objectStore(STORE).get('current');
          req.onsuccess = () => resolve(req.result as Uint8Array | undefined);
          req.onerror = () => resolve(undefined);
        }).finally(() => d.close());
        if (!bytes) return null;
        const files = readBundle(bytes, 'the model you trained');
        return loadModel(new TextDecoder().decode(files.get('config.json')!), files.get('model.safetensors')!, { configFile: 'config.json', weightsFile: 'model.safetensors' });
      }).catch(() => null),
    };
  }
  return cached.model.then((m) => (m && backend ? m.withBackend(backend) : m));
}

// ---- the substitution the kit's ModelCache asks for ----

let loaded: { savedAt: number; model: Model; bound: WeakMap<Backend, Model>; key: string } | null = null;
const usedListeners = new Set<() => void>();
let used = false;

/** Load the chosen model now (the shell calls it on every lesson page); true when one is ready. */
export async function preloadUserModel(): Promise<boolean> {
  const info = userModelInfo();
  if (!info) { loaded = null; return false; }
  const model = await userModel();
  if (!model || userModelInfo()?.savedAt !== info.savedAt) return false;
  loaded = { savedAt: info.savedAt, model, bound: new WeakMap(), key: JSON.stringify(configToJson(model.config)) };
  return true;
}

/** The reader's model in place of `base` when one is loaded and has exactly base's config; else null. */
export function substituteUserModel(base: Model, backend?: Backend): Model | null {
  if (!loaded || userModelInfo()?.savedAt !== loaded.savedAt) return null;
  if (JSON.stringify(configToJson(base.config)) !== loaded.key) return null;
  if (!used) { used = true; for (const f of [...usedListeners]) f(); }
  if (!backend) return loaded.model;
  let m = loaded.bound.get(backend);
  if (!m) loaded.bound.set(backend, (m = loaded.model.withBackend(backend)));
  return m;
}

/** Whether some cell on this page got the reader's model; `onUsed` hears the first time. */
export function userModelUsed(onUsed?: () => void): boolean {
  if (onUsed) usedListeners.add(onUsed);
  return used;
}

/** Stop substituting on this page (after clearUserModel, or before leaving it). */
export function forgetUserModel(): void {
  loaded = null;
  used = false;
  usedListeners.clear();
}
