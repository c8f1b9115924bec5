// The load-balancing lesson's data: 2-D points drawn from K Gaussian blobs ("clusters"), each with a
// class label (classification) or a local linear target (regression). The `skew` knob makes the
// clusters' frequencies follow a Zipf law, p_k ∝ (k + 1)^-skew: at 0 every cluster is equally
// likely; at 1.5 with 6 clusters the first takes about half the tokens. A skewed task is where
// balance matters: a router that follows the data sends most tokens to the few experts that own the
// frequent clusters.
import { normal, type Rng } from '../sampling.js';
import { streamRng } from './seeds.js';

export type TaskKind = 'classify' | 'regress';

export interface TaskOptions {
  seed: number;
  /** K, the number of blobs (default 6). */
  clusters?: number;
  /** Zipf exponent of the cluster frequencies (default 1.5; 0 = uniform). */
  skew?: number;
  /** 'classify' (default) or 'regress'. */
  kind?: TaskKind;
  /** Classification: cluster k has label k % classes (default: one class per cluster). */
  classes?: number;
  /** Standard deviation of each blob (default 0.15, in an input square of half-width ~1.25). */
  spread?: number;
  /** Regression: standard deviation of the noise added to targets (default 0). */
  noise?: number;
}

export interface Cluster {
  center: [number, number];
  /** Probability of drawing a point from this cluster (the frequencies sum to 1). */
  frequency: number;
  /** Class label (classification). */
  label: number;
  /** Regression target: offset + slope · (x - center). */
  offset: number;
  slope: [number, number];
}

/** A task is plain data (serialisable); sampling needs only it and an Rng. */
export interface Task {
  kind: TaskKind;
  seed: number;
  skew: number;
  spread: number;
  noise: number;
  /** Number of classes (classification) or 1 (regression): the model's output width. */
  outputs: number;
  clusters: Cluster[];
  /** Points lie (almost all) in the square [-extent, extent]^2; the ownership grid covers it. */
  extent: number;
}

export interface Batch {
  size: number;
  /** Points [size, 2], row-major. */
  x: Float64Array;
  /** The cluster each point came from. */
  cluster: Int32Array;
  /** Class labels (classification; zeros for regression). */
  labels: Int32Array;
  /** Regression targets (zeros for classification). */
  targets: Float64Array;
}

const EXTENT = 1.25;
const CENTER_RANGE = 0.8;

export function makeTask(options: TaskOptions): Task {
  const K = options.clusters ?? 6;
  const skew = options.skew ?? 1.5;
  const kind = options.kind ?? 'classify';
  const classes = options.classes ?? K;
  const spread = options.spread ?? 0.15;
  const noise = options.noise ?? 0;
  if (!Number.isInteger(K) || K < 1 || K > 64) throw new RangeError(`makeTask: clusters must be an integer in 1..64, got ${K}`);
  if (!(skew >= 0)) throw new RangeError(`makeTask: skew must be >= 0, got ${skew}`);
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`makeTask: classes must be an integer >= 2, got ${classes}`);
  if (!(spread > 0)) throw new RangeError(`makeTask: spread must be > 0, got ${spread}`);

  // Centers: uniform in the inner square, rejecting ones closer than `minDist` to an earlier one
  // (relaxing the distance if the square gets crowded).
  const rng = streamRng(options.seed, 'task');
  const centers: [number, number][] = [];
  let minDist = Math.max(4 * spread, 0.35);
  for (let tries = 0; centers.length < K; tries++) {
    if (tries > 0 && tries % 500 === 0) minDist *= 0.8;
    const c: [number, number] = [(2 * rng() - 1) * CENTER_RANGE, (2 * rng() - 1) * CENTER_RANGE];
    if (centers.every(([a, b]) => Math.hypot(a - c[0], b - c[1]) >= minDist)) centers.push(c);
  }
  const raw = centers.map((_, k) => Math.pow(k + 1, -skew));
  const total = raw.reduce((a, b) => a + b, 0);
  const clusters: Cluster[] = centers.map((center, k) => ({
    center,
    frequency: raw[k] / total,
    label: k % classes,
    offset: normal(rng),
    slope: [normal(rng), normal(rng)],
  }));
  return { kind, seed: options.seed, skew, spread, noise, outputs: kind === 'classify' ? classes : 1, clusters, extent: EXTENT };
}

/** Draw `batchSize` points: a cluster by frequency, then a Gaussian around its center. */
export function sampleBatch(task: Task, batchSize: number, rng: Rng): Batch {
  const x = new Float64Array(batchSize * 2);
  const cluster = new Int32Array(batchSize);
  const labels = new Int32Array(batchSize);
  const targets = new Float64Array(batchSize);
  const K = task.clusters.length;
  for (let t = 0; t < batchSize; t++) {
    let u = rng(), k = 0;
    while (k < K - 1 && u >= task.clusters[k].frequency) { u -= task.clusters[k].frequency; k++; }
    const c = task.clusters[k];
    const dx = task.spread * normal(rng), dy = task.spread * normal(rng);
    x[2 * t] = c.center[0] + dx;
    x[2 * t + 1] = c.center[1] + dy;
    cluster[t] = k;
    labels[t] = c.label;
    targets[t] = task.kind === 'regress' ? c.offset + c.slope[0] * dx + c.slope[1] * dy + task.noise * normal(rng) : 0;
  }
  return { size: batchSize, x, cluster, labels, targets };
}
