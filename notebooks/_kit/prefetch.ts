// A slider's worker answers kept by value, with the values next to the last one asked computed
// ahead, one job at a time: a drag then finds each step's answer ready instead of waiting for the
// worker. The answers are the job's own (the same request a move would send); only when they are
// computed changes. Ahead goes the way the slider last moved first, then the other way.
// (Work done on the main thread ahead of a drag goes through idle-jobs.ts instead.)
import { Lru, keptJob } from './memo';
import type { InputSpec, RangeInput } from './types';

export interface AheadOptions<K> {
  /** The keys worth computing after `at` was asked (`from`: the one asked before it), nearest first. */
  around: (at: K, from: K | null) => K[];
  /** A key's identity (default: String(key)). */
  id?: (key: K) => string;
  /** Answers kept, the least recently used dropped first. */
  size?: number;
  /** Compute ahead only while this says so (e.g. only in a worker: in-process it would block the page). */
  enabled?: () => boolean;
}

/** The range slider `name` among a notebook's inputs. */
export function rangeInput(inputs: readonly InputSpec[], name: string): RangeInput {
  const i = inputs.find((x) => x.name === name);
  if (!i || i.kind !== 'range') throw new Error(`no slider ${name}`);
  return i;
}

/**
 * The values next to `value` on a range slider (halved and doubled on a log2 one), within its
 * bounds: one step each way, the side `towards` first (+1 up, -1 down: where a drag is heading),
 * then further that way up to `ahead` steps. Rounded as the slider's own values are (0.25 + 0.05
 * gives 0.3, not 0.30000000000000004), so they match the keys a move to them asks for.
 */
export function stepsAround(input: Pick<RangeInput, 'min' | 'max' | 'step' | 'log2'>, value: number, towards: 1 | -1 = 1, ahead = 1): number[] {
  const move = (k: number) => Number((input.log2 ? value * 2 ** k : value + k * input.step).toFixed(9));
  const out = [move(towards), move(-towards)];
  for (let i = 2; i <= ahead; i++) out.push(move(i * towards));
  return out.filter((v) => v >= input.min && v <= input.max);
}

/** `around` for one slider: `ahead` values the way it last moved (up at first), and one the other way. */
export function along(min: number, max: number, { step = 1, ahead = 3 } = {}): (at: number, from: number | null) => number[] {
  return (at, from) => stepsAround({ min, max, step }, at, from !== null && from > at ? -1 : 1, ahead);
}

export class Ahead<K, V> {
  readonly #compute: (key: K) => Promise<V>;
  readonly #around: (at: K, from: K | null) => K[];
  readonly #id: (key: K) => string;
  readonly #enabled: () => boolean;
  readonly #kept: Lru<Promise<V>>;
  #last: K | null = null;
  #from: K | null = null;
  #filling = false;

  constructor(compute: (key: K) => Promise<V>, options: AheadOptions<K>) {
    this.#compute = compute;
    this.#around = options.around;
    this.#id = options.id ?? String;
    this.#kept = new Lru(options.size ?? 128);
    this.#enabled = options.enabled ?? (() => true);
  }

  /** The answer for `key`: kept, or computed now; then the keys around it are computed ahead. */
  get(key: K): Promise<V> {
    if (this.#last === null || this.#id(key) !== this.#id(this.#last)) {
      this.#from = this.#last;
      this.#last = key;
    }
    const p = this.#get(key);
    p.then(() => this.#fill(), () => {});
    return p;
  }

  #get(key: K): Promise<V> {
    return keptJob(this.#kept, this.#id(key), () => this.#compute(key));
  }

  #next(): K | null {
    return this.#around(this.#last!, this.#from).find((k) => !this.#kept.has(this.#id(k))) ?? null;
  }

  async #fill(): Promise<void> {
    if (this.#filling) return;
    this.#filling = true;
    try {
      // Follows the newest key asked: one job at a time, so an asked key waits for one at most.
      for (let k = this.#next(); k !== null && this.#enabled(); k = this.#next()) {
        await this.#get(k).catch(() => {});
      }
    } finally {
      this.#filling = false;
    }
  }
}
