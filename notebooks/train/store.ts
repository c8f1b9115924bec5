// Runs kept in the browser's storage (IndexedDB), so a run survives a reload: its trainer state
// (weights, Adam moments, data position: one safetensors file) and what the page recorded of it.
// Keyed by the run's settings, so a link with the same settings finds it again. Browser only; every
// call is a no-op (or null) where there is no IndexedDB.
const DB = 'nanoseek-train';
const STORE = 'runs';
/** Runs kept at most (the oldest is dropped first). */
const KEEP = 4;

export interface SavedRun<H> { key: string; savedAt: number; state: Uint8Array; history: H }

function open(): Promise<IDBDatabase | null> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(null);
  return new Promise((resolve) => {
    const req = indexedDB.open(DB, 2);
    req.onupgradeneeded = (e) => {
      // Version 2 adds an index by savedAt, so pruning reads keys only (reading every saved run back,
      // weights included, to sort them held the page's thread for tens of milliseconds on each save).
      const store = e.oldVersion < 1 ? req.result.createObjectStore(STORE, { keyPath: 'key' }) : req.transaction!.objectStore(STORE);
      if (!store.indexNames.contains('savedAt')) store.createIndex('savedAt', 'savedAt');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
  });
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function loadRun<H>(key: string): Promise<SavedRun<H> | null> {
  const db = await open();
  if (!db) return null;
  try {
    return ((await done(db.transaction(STORE).objectStore(STORE).get(key))) as SavedRun<H> | undefined) ?? null;
  } finally {
    db.close();
  }
}

export async function saveRun<H>(run: SavedRun<H>): Promise<void> {
  const db = await open();
  if (!db) return;
  try {
    const store = db.transaction(STORE, 'readwrite').objectStore(STORE);
    await done(store.put(run));
    // Keys oldest first (by savedAt): drop all but the newest KEEP.
    const keys = await done(store.index('savedAt').getAllKeys());
    for (const key of keys.slice(0, Math.max(0, keys.length - KEEP))) await done(store.delete(key));
  } finally {
    db.close();
  }
}

export async function deleteRun(key: string): Promise<void> {
  const db = await open();
  if (!db) return;
  try {
    await done(db.transaction(STORE, 'readwrite').objectStore(STORE).delete(key));
  } finally {
    db.close();
  }
}

export async function clearRuns(): Promise<void> {
  const db = await open();
  if (!db) return;
  try {
    await done(db.transaction(STORE, 'readwrite').objectStore(STORE).clear());
  } finally {
    db.close();
  }
}
