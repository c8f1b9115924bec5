// A bound model's weights by their checkpoint names again (the inverse of bindWeights), so a model
// from anywhere (seeded, loaded, the reader's own) can be stored in another format. The arrays are
// the model's own, not copies.
import type { Model } from '../model.js';
import { type Tensor, namedTensors } from '../weights.js';

/** Every tensor the model's config needs, by name, sharing the model's arrays (weights.ts's one name table). */
export function modelTensors(model: Model): Map<string, Tensor> {
  return namedTensors(model.config, model.weights);
}
