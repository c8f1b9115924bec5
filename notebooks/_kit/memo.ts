// Values kept by key, at most `size`, the least recently used dropped first: a slider swept back
// and forth finds what it computed moments ago. memoPer keeps one such memo per object (a signal,
// an attention head, a model): the values live as long as their object (a WeakMap).
export class Lru<V> {
  readonly #map = new Map<string, V>();
  constructor(private readonly size: number) {}

  /** The value kept for `key` (now the most recently used), or `make()`'s, kept. */
  get(key: string, make: () => V): V {
    if (this.#map.has(key)) {
      const hit = this.#map.get(key)!;
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const value = make();
    if (this.#map.size >= this.size) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, value);
    return value;
  }

  /** Is a value kept for `key` (without using it)? */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** The value kept for `key`, without using it. */
  peek(key: string): V | undefined {
    return this.#map.get(key);
  }

  /** Forget `key` (e.g. a promise that failed). */
  delete(key: string): void {
    this.#map.delete(key);
  }
}

/** A job's promise kept by key in `lru`, or `make()`'s, kept; one that fails is dropped (if still the one kept), so asking again retries. */
export function keptJob<T>(lru: Lru<Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  return lru.get(key, () => {
    const made = make();
    made.catch(() => { if (lru.peek(key) === made) lru.delete(key); });
    return made;
  });
}

export function memoPer<O extends object, V>(size: number): (owner: O, key: string, make: () => V) => V {
  const all = new WeakMap<O, Lru<V>>();
  return (owner, key, make) => {
    let m = all.get(owner);
    if (!m) all.set(owner, (m = new Lru<V>(size)));
    return m.get(key, make);
  };
}
