// Small least-recently-used memos for the lesson's engine work. A cell recomputes whenever any of
// its inputs changes, even an input that does not matter for the current drafter (sigma while the
// MTP module drafts); keyed by what the work really depends on, going back to a setting is instant
// and an irrelevant input costs nothing. Values are only read after they are made, so sharing is safe.
export class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly size: number) {}

  get(key: string, make: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const value = make();
    if (this.map.size >= this.size) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
    return value;
  }

  /** Forget `key` (e.g. a promise that failed). */
  delete(key: string): void {
    this.map.delete(key);
  }
}

/** A stable id per object (models, backends), for memo keys. */
const ids = new WeakMap<object, number>();
let next = 1;
export function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = next++));
  return id;
}

