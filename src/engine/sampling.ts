// Seeded randomness and the sampling distribution of a logits row. Every random choice in the
// engine goes through an Rng made from a seed, so a lesson link or a test reproduces its numbers.
import { checkFinite } from './errors.js';

/** A seeded uniform generator on [0, 1). */
export interface Rng {
  (): number;
}

/** The four 32-bit words of sfc32's state for a seed (splitmix32 of the seed), warmed up. */
function sfc32State(seed: number): Uint32Array {
  let s = (Math.trunc(seed) >>> 0) ^ 0x9e3779b9;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const st = Uint32Array.of(split(), split(), split(), split());
  for (let i = 0; i < 12; i++) sfc32Next(st);
  return st;
}

/** One sfc32 step (Chris Doty-Humphrey's small fast counter) on a state, as a 32-bit integer. */
function sfc32Next(st: Uint32Array): number {
  const a = st[0], b = st[1], c = st[2], d = st[3];
  const t = (((a + b) >>> 0) + d) >>> 0;
  st[3] = (d + 1) >>> 0;
  st[0] = b ^ (b >>> 9);
  st[1] = (c + (c << 3)) >>> 0;
  const r = ((c << 21) | (c >>> 11)) >>> 0;
  st[2] = (r + t) >>> 0;
  return t;
}

/** sfc32, seeded through splitmix32. */
export function createRng(seed: number): Rng {
  const st = sfc32State(seed);
  return () => sfc32Next(st) / 4294967296;
}

/**
 * Fill `data` with uniform draws in [lo, hi) from the stream of `seed` (the same numbers as
 * createRng(seed) would give, scaled), in one tight loop: seeded model init draws a few hundred
 * thousand of these every time a lesson slider changes a dimension.
 */
export function fillUniform(data: Float32Array, seed: number, lo: number, hi: number): void {
  const st = sfc32State(seed);
  let a = st[0], b = st[1], c = st[2], d = st[3];
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < data.length; i++) {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((((c << 21) | (c >>> 11)) >>> 0) + t) >>> 0;
    data[i] = lo + t * scale;
  }
}

/**
 * A seeded stream of standard normal draws: the same numbers, in the same order, as calling
 * normal(createRng(seed)) again and again (two uniforms per draw, Box-Muller), but filled in one
 * tight loop per call. noisyCopy draws one per weight of a model (a few hundred thousand) whenever
 * a lesson slider changes the noise; a closure call per draw took ~0.5 s for the shipped model.
 */
export class NormalStream {
  readonly #st: Uint32Array;
  constructor(seed: number) {
    this.#st = sfc32State(seed);
  }
  /** out[i] = src[i] + scale * z_i for the stream's next src.length draws (float64 sum, stored as float32). */
  addScaled(src: Float32Array, scale: number, out: Float32Array): void {
    const st = this.#st;
    let a = st[0], b = st[1], c = st[2], d = st[3];
    const inv = 1 / 4294967296, twoPi = 2 * Math.PI;
    for (let i = 0; i < src.length; i++) {
      let t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((((c << 21) | (c >>> 11)) >>> 0) + t) >>> 0;
      const u = 1 - t * inv;
      t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((((c << 21) | (c >>> 11)) >>> 0) + t) >>> 0;
      out[i] = src[i] + scale * (Math.sqrt(-2 * Math.log(u)) * Math.cos(twoPi * (t * inv)));
    }
    st[0] = a; st[1] = b; st[2] = c; st[3] = d;
  }
}

/** A standard normal draw (Box-Muller). */
export function normal(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface SamplingOptions {
  /** 0 (or greedy) means argmax. */
  temperature: number;
  /** Keep only the k most likely tokens (0: off). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose mass reaches p (1: off). */
  topP?: number;
}

/**
 * The distribution a sampler draws from, over the whole vocabulary, in float64: softmax(logits / T)
 * restricted to the top-k and then to the top-p nucleus, renormalised. Temperature 0 gives a one-hot
 * on the argmax. Speculative decoding uses this same function for target and drafter.
 */
export function samplingDistribution(logits: ArrayLike<number>, opts: SamplingOptions): Float64Array {
  checkFinite(logits, 'the logits sampled from'); // NaN would pick token 0 (or throw) with no word why
  const V = logits.length;
  const p = new Float64Array(V);
  if (!(opts.temperature > 0)) {
    p[argmax(logits)] = 1;
    return p;
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < V; i++) { p[i] = Math.exp((logits[i] - max) / opts.temperature); sum += p[i]; }
  for (let i = 0; i < V; i++) p[i] /= sum;
  const topK = opts.topK ?? 0, topP = opts.topP ?? 1;
  if ((topK > 0 && topK < V) || topP < 1) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    let keep = topK > 0 ? Math.min(topK, V) : V;
    if (topP < 1) {
      let mass = 0, n = 0;
      while (n < keep) { mass += p[order[n]]; n++; if (mass >= topP) break; }
      keep = n;
    }
    const kept = new Set(order.slice(0, keep));
    let s = 0;
    for (let i = 0; i < V; i++) { if (!kept.has(i)) p[i] = 0; s += p[i]; }
    for (let i = 0; i < V; i++) p[i] /= s;
  }
  return p;
}

/** Draw an index from a (not necessarily normalised) non-negative weight vector. */
export function sampleFrom(weights: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  if (!(total > 0)) throw new Error('sampleFrom: the weights sum to zero');
  let u = rng() * total;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    last = i;
    u -= weights[i];
    if (u < 0) return i;
  }
  return last; // rounding left a sliver of mass: the last positive index
}

/** Index of the largest value (first on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
