// A seeded random checkpoint for any valid config: the same seed gives the same weights on every
// machine, so a test or a lesson link reproduces its numbers without downloading a model.
import type { DeepSeekConfig } from './config.js';
import { Model } from './model.js';
import { NormalStream, createRng, fillUniform, normal } from './sampling.js';
import { type Tensor, namedTensors, tensorSpecs } from './weights.js';

export interface InitOptions {
  seed: number;
  /** Spread of the router's correction bias (DeepSeek-V3 learns it during training; 0 = none). */
  biasScale?: number;
  /**
   * A model made earlier by initModel with the same seed and biasScale: its tensors whose name and
   * shape are unchanged are shared instead of drawn again (each tensor has its own seeded stream,
   * so they are exactly what would be drawn). A lesson slider that changes one dimension then
   * redraws only the tensors that dimension touches.
   */
  reuse?: Model | null;
}

/** FNV-1a of a tensor name, mixed into the seed: every tensor draws from its own stream. */
function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}


/** data[i] = mean + std * N(0, 1), both Box-Muller outputs used. */
function fillNormal(data: Float32Array, rng: () => number, mean: number, std: number): void {
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng())), a = 2 * Math.PI * rng();
    data[i] = mean + std * r * Math.cos(a);
    if (i + 1 < data.length) data[i + 1] = mean + std * r * Math.sin(a);
  }
}

const made = new WeakMap<Model, { seed: number; biasScale: number; tensors: Map<string, Tensor> }>();

/**
 * Linear weights uniform with variance 1/fan_in keep activations at unit scale through the tiny
 * stack (an untrained model whose numbers are worth looking at; uniform rather than normal because
 * a lesson re-draws them when a slider changes a dimension, and it is 5x cheaper); embeddings
 * ~ N(0, 1); RMSNorm weights 1 plus small noise; the routing bias uniform in [-biasScale, biasScale].
 */
export function initTensors(cfg: DeepSeekConfig, options: InitOptions): Map<string, Tensor> {
  const biasScale = options.biasScale ?? 0.05;
  const earlier = options.reuse ? made.get(options.reuse) : undefined;
  const reusable = earlier && earlier.seed === options.seed && earlier.biasScale === biasScale ? earlier.tensors : null;
  const tensors = new Map<string, Tensor>();
  for (const spec of tensorSpecs(cfg)) {
    const old = reusable?.get(spec.name);
    if (old && old.shape.length === spec.shape.length && old.shape.every((d, i) => d === spec.shape[i])) {
      tensors.set(spec.name, old);
      continue;
    }
    const rng = createRng(streamSeed(options.seed, spec.name));
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    switch (spec.kind) {
      // U(-sqrt(3) std, sqrt(3) std): zero mean, variance 1/fan_in (PyTorch's Linear default is uniform too).
      case 'linear': fillUniform(data, streamSeed(options.seed, spec.name), -Math.sqrt(3 / spec.shape[1]), Math.sqrt(3 / spec.shape[1])); break;
      case 'embedding': fillNormal(data, rng, 0, 1); break;
      case 'norm': fillNormal(data, rng, 1, 0.1); break;
      case 'bias': for (let i = 0; i < data.length; i++) data[i] = (2 * rng() - 1) * biasScale; break;
    }
    tensors.set(spec.name, { shape: [...spec.shape], data });
  }
  return tensors;
}

/** A model with seeded random weights. */
export function initModel(cfg: DeepSeekConfig, options: InitOptions): Model {
  const tensors = initTensors(cfg, options);
  const model = Model.fromTensors(cfg, tensors, { file: `init(seed ${options.seed})` });
  made.set(model, { seed: options.seed, biasScale: options.biasScale ?? 0.05, tensors });
  return model;
}

/**
 * A copy of a model with Gaussian noise on every weight: each tensor gets noise of standard
 * deviation `sigma` times that tensor's own RMS. sigma = 0 is an exact copy; a drafter made this
 * way agrees with its target less and less as sigma grows.
 */
export function noisyCopy(model: Model, options: { sigma: number; seed: number }): Model {
  const draws = new NormalStream(options.seed);
  const tensors = new Map<string, Tensor>();
  const copied = new Map<Float32Array, Float32Array>(); // tied or shared tensors stay shared
  const noisy = (data: Float32Array): Float32Array => {
    const done = copied.get(data);
    if (done) return done;
    let ss = 0;
    for (let i = 0; i < data.length; i++) ss += data[i] * data[i];
    const scale = options.sigma * Math.sqrt(ss / Math.max(1, data.length));
    // One draw per element, in order, from one stream over all tensors; a zero scale draws none.
    const out = scale > 0 ? new Float32Array(data.length) : Float32Array.from(data);
    if (scale > 0) draws.addScaled(data, scale, out);
    copied.set(data, out);
    return out;
  };
  for (const [name, t] of namedTensors(model.config, model.weights)) tensors.set(name, { shape: t.shape, data: noisy(t.data) });
  return Model.fromTensors(model.config, tensors, { file: `noisy copy (sigma ${options.sigma}, seed ${options.seed})`, backend: model.backend });
}
