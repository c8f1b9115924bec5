// Independent seeded streams from one playground seed. Each use (initial weights, the feature map,
// the cluster layout, the batch of step n, the evaluation set) gets its own stream, so changing one
// knob (say the batch size) does not reshuffle the others, and two runs that differ only in their
// balancing strategy see the same initial weights and the same batches.
import { createRng, type Rng } from '../sampling.js';

/** A 32-bit seed for stream `stream` (and sub-index `index`) of `seed`, by an integer hash. */
export function deriveSeed(seed: number, stream: string, index = 0): number {
  let h = (Math.trunc(seed) >>> 0) ^ 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (index >>> 0), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** A generator on a derived stream. */
export function streamRng(seed: number, stream: string, index = 0): Rng {
  return createRng(deriveSeed(seed, stream, index));
}
