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

/** A slider's range, as its input declares it. */
export interface Steps { min: number; max: number; step: number }

/**
 * Values a reader is likely to move a slider to next from `value`: after a move, the next two in
 * the same direction, then one back; before any move, one either side. `previous` is the value the
 * caller last saw (undefined at first). Rounded as the slider's own values are (0.1 + 0.2 -> 0.3).
 */
export function nextValues(value: number, previous: number | undefined, s: Steps): number[] {
  const dir = previous === undefined || previous === value ? 0 : Math.sign(value - previous);
  const ks = dir === 0 ? [1, -1] : [dir, 2 * dir, -dir];
  return ks.map((k) => Number((value + k * s.step).toFixed(9))).filter((x) => x >= s.min && x <= s.max);
}

/**
 * Work done ahead of the reader, one job at a time: a drag only ever has one speculative job in the
 * engine worker ahead of the one the picture needs, and a newer `start` drops the rest of the queue.
 */
export class Prefetch {
  #generation = 0;

  /** Run `jobs` in order, each after the previous one settled, until the next `start`. */
  start(jobs: (() => Promise<unknown>)[]): void {
    const generation = ++this.#generation;
    const step = (i: number): void => {
      if (i >= jobs.length || generation !== this.#generation) return;
      jobs[i]().then(() => step(i + 1), () => step(i + 1));
    };
    step(0);
  }
}
