// Medusa heads (Cai et al. 2024, MEDUSA-1): K extra decoding heads on the main model's final hidden
// state h_t (after model.norm). Head k (1-based) is one residual block plus the shared lm_head,
//   logits_k = lm_head(h_t + SiLU(W_k h_t + b_k)),
// and predicts token t+k+1 (lm_head itself predicts t+1). Trained with the trunk frozen
// (medusa-train.ts). W_k starts at zero, so an untrained head is lm_head. Drafting: from the state
// of the last token the target ran, head k's top choices fill depth k of a fixed sparse tree.
import type { Backend } from '../../kernels/backend.js';
import { EngineInputError } from './errors.js';
import type { Model } from './model.js';
import type { Tensor } from './weights.js';
import type { TokenTree } from './tree.js';
import type { TreeDrafter } from './tree-speculate.js';

export interface MedusaHeads {
  numHeads: number;
  hidden: number;
  /** W_k [d, d] (torch Linear [out, in]) and b_k [d] per head. */
  weight: Float32Array[];
  bias: Float32Array[];
  /** accuracy[k][i]: how often head k's rank-i choice was the true token (held-out, measured after training); sizes the sparse tree. */
  accuracy: number[][];
}

export function createMedusaHeads(numHeads: number, hidden: number): MedusaHeads {
  if (!Number.isInteger(numHeads) || numHeads < 1 || numHeads > 8) throw new EngineInputError(`Medusa heads: numHeads must be an integer in 1..8 (got ${numHeads})`);
  return {
    numHeads, hidden,
    weight: Array.from({ length: numHeads }, () => new Float32Array(hidden * hidden)),
    bias: Array.from({ length: numHeads }, () => new Float32Array(hidden)),
    accuracy: [],
  };
}

export const silu = (z: number) => z / (1 + Math.exp(-z));

/** The residual block of head k on rows H [T, d]: H + SiLU(H W_k^T + b_k), and the pre-activation Z. */
export function medusaBlock(be: Backend, heads: MedusaHeads, k: number, H: Float32Array, T: number): { out: Float32Array; z: Float32Array } {
  const d = heads.hidden;
  const z = be.matmulT(H, heads.weight[k], T, d, d);
  const out = new Float32Array(T * d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) {
    const i = t * d + j;
    z[i] += heads.bias[k][j];
    out[i] = H[i] + silu(z[i]);
  }
  return { out, z };
}

/** Head k's logits [T, V] on final hidden states H [T, d]. */
export function medusaLogits(model: Model, heads: MedusaHeads, k: number, H: Float32Array, T: number): Float32Array {
  const cfg = model.config;
  return model.backend.matmulT(medusaBlock(model.backend, heads, k, H, T).out, model.weights.lmHead, T, cfg.hidden_size, cfg.vocab_size);
}

/** Tensors as Medusa names them (medusa_head.{k}.0.linear), plus the measured accuracies. */
export function medusaToTensors(heads: MedusaHeads): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const d = heads.hidden;
  for (let k = 0; k < heads.numHeads; k++) {
    out[`medusa_head.${k}.0.linear.weight`] = { shape: [d, d], data: heads.weight[k] };
    out[`medusa_head.${k}.0.linear.bias`] = { shape: [d], data: heads.bias[k] };
  }
  const R = heads.accuracy[0]?.length ?? 0;
  if (R > 0) out.medusa_top_accuracy = { shape: [heads.numHeads, R], data: Float32Array.from(heads.accuracy.flat()) };
  return out;
}

export function medusaFromTensors(tensors: ReadonlyMap<string, Tensor>, hidden: number, file = 'medusa.safetensors'): MedusaHeads {
  let K = 0;
  while (tensors.has(`medusa_head.${K}.0.linear.weight`)) K++;
  if (K === 0) throw new EngineInputError(`${file}: no medusa_head.0.0.linear.weight tensor: not a Medusa heads file`);
  const heads = createMedusaHeads(K, hidden);
  for (let k = 0; k < K; k++) {
    const w = tensors.get(`medusa_head.${k}.0.linear.weight`)!, b = tensors.get(`medusa_head.${k}.0.linear.bias`);
    if (w.shape.join() !== `${hidden},${hidden}`) throw new EngineInputError(`${file}: medusa_head.${k}.0.linear.weight has shape [${w.shape}], expected [${hidden}, ${hidden}] (the model's hidden_size)`);
    if (!b || b.shape.join() !== `${hidden}`) throw new EngineInputError(`${file}: medusa_head.${k}.0.linear.bias missing or not [${hidden}]`);
    heads.weight[k] = Float32Array.from(w.data);
    heads.bias[k] = Float32Array.from(b.data);
  }
  const acc = tensors.get('medusa_top_accuracy');
  if (acc && acc.shape.length === 2 && acc.shape[0] === K) {
    const R = acc.shape[1];
    heads.accuracy = Array.from({ length: K }, (_, k) => Array.from(acc.data.subarray(k * R, (k + 1) * R)));
  }
  return heads;
}

/** A tree as Medusa writes it: a list of paths of ranks, e.g. [[0], [1], [0, 0]]; every prefix of a path is itself listed. */
export type RankPaths = number[][];

/** Every combination of the top widths[0] at depth 1, top widths[1] below each, ... */
export function fullTree(widths: number[]): RankPaths {
  let level: number[][] = [[]];
  const out: RankPaths = [];
  for (const w of widths) {
    level = level.flatMap((p) => Array.from({ length: w }, (_, i) => [...p, i]));
    out.push(...level);
  }
  return out;
}

/**
 * The `size` paths of highest estimated acceptance (the product of the per-depth rank accuracies),
 * grown best-first so every prefix is in: Medusa's sparse tree construction from measured accuracies.
 */
export function sparseTree(accuracy: number[][], size: number): RankPaths {
  const K = accuracy.length;
  const score = (p: number[]) => p.reduce((s, r, k) => s * (accuracy[k][r] ?? 0), 1);
  const out: RankPaths = [];
  let frontier: number[][] = K > 0 ? accuracy[0].map((_, i) => [i]) : [];
  while (out.length < size && frontier.length > 0) {
    let best = 0;
    for (let i = 1; i < frontier.length; i++) if (score(frontier[i]) > score(frontier[best])) best = i;
    const p = frontier[best];
    frontier.splice(best, 1);
    out.push(p);
    if (p.length < K) frontier = frontier.concat(accuracy[p.length].map((_, i) => [...p, i]));
  }
  return out;
}

/** --tree SPEC: "N" (a sparse tree of N nodes from the heads' accuracies) or "a,b,c" (full tree, top a then b then c). */
export function parseTreeSpec(spec: string, heads: MedusaHeads): RankPaths {
  if (/^\d+$/.test(spec)) {
    const n = Number(spec);
    if (n < 1 || n > 256) throw new EngineInputError(`--tree ${spec}: a sparse tree has 1..256 nodes`);
    const acc = heads.accuracy.length === heads.numHeads ? heads.accuracy
      : Array.from({ length: heads.numHeads }, (_, k) => Array.from({ length: 10 }, (_, i) => 1 / ((i + 1) * (k + 2)))); // no measurement: a decaying guess
    return sparseTree(acc, n);
  }
  const widths = spec.split(',').map(Number);
  if (widths.some((w) => !Number.isInteger(w) || w < 1 || w > 16)) throw new EngineInputError(`--tree ${JSON.stringify(spec)}: give N (sparse tree size) or branching factors like 3,2,1 (each 1..16)`);
  if (widths.length > heads.numHeads) throw new EngineInputError(`--tree ${spec}: ${widths.length} levels but only ${heads.numHeads} Medusa heads`);
  const paths = fullTree(widths);
  if (paths.length > 256) throw new EngineInputError(`--tree ${spec}: ${paths.length} nodes (at most 256)`);
  return paths;
}

/** Order paths so parents come first and build parent indices. */
function indexPaths(paths: RankPaths): { paths: RankPaths; parent: number[] } {
  const sorted = [...paths].sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
  const at = new Map(sorted.map((p, i) => [p.join(), i]));
  const parent = sorted.map((p) => {
    if (p.length === 1) return -1;
    const i = at.get(p.slice(0, -1).join());
    if (i === undefined) throw new EngineInputError(`Medusa tree: path [${p}] has no parent path [${p.slice(0, -1)}]`);
    return i;
  });
  return { paths: sorted, parent };
}

/** Ranks of a row, best first (the top `n`). */
function topIndices(row: Float32Array, n: number): number[] {
  return Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b).slice(0, n);
}

/**
 * Drafts a tree from the heads: from h of the last token the target ran (the committed sequence's
 * second to last), head k's rank-r token sits at depth k for each path whose k-th rank is r.
 */
export class MedusaDrafter implements TreeDrafter {
  readonly name = 'medusa';
  private readonly hidden = new Map<number, Float32Array>();
  private readonly tree: { paths: RankPaths; parent: number[] };
  private readonly width: number[];

  constructor(private readonly model: Model, private readonly heads: MedusaHeads, paths: RankPaths) {
    if (heads.hidden !== model.config.hidden_size) throw new EngineInputError(`Medusa heads are for hidden_size ${heads.hidden}, the model has ${model.config.hidden_size}`);
    this.tree = indexPaths(paths);
    if (this.tree.paths.some((p) => p.length > heads.numHeads)) throw new EngineInputError(`Medusa tree deeper than the ${heads.numHeads} heads`);
    this.width = Array.from({ length: heads.numHeads }, (_, k) => 1 + Math.max(-1, ...this.tree.paths.filter((p) => p.length > k).map((p) => p[k])));
  }

  get nodes(): number { return this.tree.paths.length; }

  observe(start: number, hidden: Float32Array, count: number): void {
    const d = this.model.config.hidden_size;
    for (let i = 0; i < count; i++) this.hidden.set(start + i, hidden.slice(i * d, (i + 1) * d));
  }

  propose(seq: readonly number[]): TokenTree {
    const h = this.hidden.get(seq.length - 2);
    if (!h) throw new Error(`MedusaDrafter: no target hidden state for position ${seq.length - 2}`);
    const choices = this.width.map((w, k) => (w > 0 ? topIndices(medusaLogits(this.model, this.heads, k, h, 1), w) : []));
    const tokens = this.tree.paths.map((p) => choices[p.length - 1][p[p.length - 1]]);
    return { tokens, parent: [...this.tree.parent], q: tokens.map(() => null) };
  }

  commit(seq: readonly number[]): void {
    for (const pos of [...this.hidden.keys()]) if (pos < seq.length - 2) this.hidden.delete(pos);
  }
}
