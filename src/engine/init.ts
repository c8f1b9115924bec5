// A seeded random checkpoint for any valid config: the same seed gives the same weights on every
// machine, so a test or a lesson link reproduces its numbers without downloading a model.
import type { DeepSeekConfig } from './config.js';
import { Model } from './model.js';
import { createRng, normal } from './sampling.js';
import { type Tensor, tensorSpecs } from './weights.js';

export interface InitOptions {
  seed: number;
  /** Spread of the router's correction bias (DeepSeek-V3 learns it during training; 0 = none). */
  biasScale?: number;
}

/**
 * Linear weights ~ N(0, 1/fan_in) keep activations at unit scale through the tiny stack (an
 * untrained model whose numbers are worth looking at); embeddings ~ N(0, 1); RMSNorm weights 1
 * plus small noise; the routing bias uniform in [-biasScale, biasScale].
 */
export function initTensors(cfg: DeepSeekConfig, options: InitOptions): Map<string, Tensor> {
  const rng = createRng(options.seed);
  const biasScale = options.biasScale ?? 0.05;
  const tensors = new Map<string, Tensor>();
  for (const spec of tensorSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    switch (spec.kind) {
      case 'linear': {
        const std = 1 / Math.sqrt(spec.shape[1]);
        for (let i = 0; i < n; i++) data[i] = normal(rng) * std;
        break;
      }
      case 'embedding':
        for (let i = 0; i < n; i++) data[i] = normal(rng);
        break;
      case 'norm':
        for (let i = 0; i < n; i++) data[i] = 1 + 0.1 * normal(rng);
        break;
      case 'bias':
        for (let i = 0; i < n; i++) data[i] = (2 * rng() - 1) * biasScale;
        break;
    }
    tensors.set(spec.name, { shape: [...spec.shape], data });
  }
  return tensors;
}

/** A model with seeded random weights. */
export function initModel(cfg: DeepSeekConfig, options: InitOptions): Model {
  return Model.fromTensors(cfg, initTensors(cfg, options), { file: `init(seed ${options.seed})` });
}
