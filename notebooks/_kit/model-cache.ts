// The one cache of models a lesson builds. initModel draws every weight from seeded streams
// (25-80 ms for the tiny model), so a lesson keeps the models of its recent settings: sliding back
// to a setting is then instant. Each entry is keyed by everything its weights depend on (seed and
// dimensions, never a display toggle), is bound to each page backend once (so a bound model is the
// same object on every hit and per-model memos keep working), and the least recently used goes first.
import type { Backend } from '$kernels/backend';
import type { Model } from '$engine/model';
import { substituteUserModel } from './user-model';

interface Entry { base: Model; bound: WeakMap<Backend, Model> }

export class ModelCache {
  private readonly map = new Map<string, Entry>();

  /** `size`: how many models to keep (enough for one sweep of the slider that changes them). */
  constructor(readonly size: number) {}

  /**
   * The model of `key` (made by `make` on a miss), computing on `backend` when one is given.
   * `ownWeights`: never hand out the reader's trained model instead (a "random weights" switch).
   */
  get(key: string, make: () => Model, backend?: Backend, ownWeights = false): Model {
    let e = this.map.get(key);
    if (e) this.map.delete(key);
    else {
      e = { base: make(), bound: new WeakMap() };
      if (this.map.size >= this.size) this.map.delete(this.map.keys().next().value!);
    }
    this.map.set(key, e);
    // The model the reader trained in the train lesson, when chosen and of exactly this config (user-model.ts).
    const theirs = ownWeights ? null : substituteUserModel(e.base, backend);
    if (theirs) return theirs;
    if (!backend) return e.base;
    let m = e.bound.get(backend);
    if (!m) e.bound.set(backend, (m = e.base.withBackend(backend)));
    return m;
  }

  /** The unbound model of `key` if it is kept (e.g. to share its tensors through initModel's `reuse`). */
  peek(key: string): Model | undefined {
    return this.map.get(key)?.base;
  }
}
