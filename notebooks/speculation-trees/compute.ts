// Engine work of the speculation-trees lesson: the shipped model with its Medusa heads (shipped
// beside it as medusa.safetensors; without them the heads are untrained, i.e. lm_head, and the page
// says so), drafters side by side, one traced tree step, and exact against typical acceptance over
// many runs of the rule on one verification's logits.
import type { Backend } from '$kernels/backend';
import { generate } from '$engine/generate';
import { type MedusaHeads, MedusaDrafter, createMedusaHeads, medusaFromTensors, parseTreeSpec } from '$engine/medusa';
import type { Model } from '$engine/model';
import { createRng, sampleFrom, samplingDistribution } from '$engine/sampling';
import { readSafetensors } from '$engine/safetensors';
import { MtpDrafter } from '$engine/speculate';
import { ChainTreeDrafter, NoDrafter, type TreeDrafter, speculateTree } from '$engine/tree-speculate';
import { type AcceptRule, type TokenTree, acceptPath, treeMask, verifyTree } from '$engine/tree';
import { lessonModel } from '../_kit/shipped';

const headUrls = import.meta.glob('../../static/models/nanoseek-*/medusa.safetensors', { eager: true, query: '?url', import: 'default' }) as Record<string, string>;
const headEntry = Object.keys(headUrls).sort()[0];

export interface Setup {
  model: Model;
  heads: MedusaHeads;
  name: string;
  /** True when trained heads were loaded. */
  trainedHeads: boolean;
}

let headBytes: Promise<Uint8Array | null> | null = null;
async function readHeads(): Promise<Uint8Array | null> {
  if (!headEntry) return null;
  if (typeof window === 'undefined') {
    const fs = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
    return new Uint8Array(await readFile(headEntry.replace(/^(\.\.\/)+/, '')));
  }
  const r = await fetch(headUrls[headEntry]!);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

export async function setup(backend: Backend): Promise<Setup> {
  const lm = await lessonModel('trained', backend);
  headBytes ??= readHeads().catch(() => null);
  const bytes = await headBytes;
  let heads: MedusaHeads | null = null;
  if (bytes && lm.trained) {
    try { heads = medusaFromTensors(readSafetensors(bytes, 'medusa.safetensors').tensors, lm.model.config.hidden_size); } catch { heads = null; }
  }
  return { model: lm.model, heads: heads ?? createMedusaHeads(3, lm.model.config.hidden_size), name: lm.name, trainedHeads: heads !== null };
}

export const NEW_TOKENS = 48;

export interface DrafterRow { drafter: string; nodes: number; tokensPerStep: number; meanAccepted: number; ms: number; speedUp: number }

/** Each drafter over the same prompt: tokens per verification step and the page's measured time against generate. */
export function compareDrafters(s: Setup, ids: number[], treeSize: number, gamma: number, temperature: number, seed: number): DrafterRow[] {
  const rule: AcceptRule = temperature > 0 ? 'exact' : 'greedy';
  const sampling = { temperature };
  const drafters: [string, number, () => TreeDrafter][] = [
    ['none', 0, () => new NoDrafter()],
    [`MTP chain (γ ${gamma})`, gamma, () => new ChainTreeDrafter(new MtpDrafter(s.model), gamma)],
    [`Medusa tree (${treeSize} nodes)`, treeSize, () => new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(treeSize), s.heads))],
  ];
  // Best of two runs each, so neither side pays the first run's warm-up (compilation, buffers).
  const best = <T>(f: () => T): { value: T; ms: number } => {
    let ms = Infinity, value!: T;
    for (let k = 0; k < 2; k++) { const t = performance.now(); value = f(); ms = Math.min(ms, performance.now() - t); }
    return { value, ms };
  };
  const plain = best(() => generate(s.model, ids, { maxNewTokens: NEW_TOKENS, sampling, seed })).ms;
  return drafters.map(([drafter, nodes, make]) => {
    const { value: r, ms } = best(() => speculateTree(s.model, ids, { maxNewTokens: NEW_TOKENS, drafter: make(), rule, sampling, seed }));
    return { drafter, nodes, tokensPerStep: r.tokensPerStep, meanAccepted: r.meanAccepted, ms, speedUp: plain / ms };
  });
}

export interface TreeStepView { tree: TokenTree; depth: number[]; p: number[]; accepted: boolean[]; judged: boolean[]; emitted: number[]; mask: Uint8Array; root: number }

/** One verification of the Medusa tree right after the prompt, with the rule's decision per node. */
export function treeStep(s: Setup, ids: number[], treeSize: number, temperature: number, rule: AcceptRule, seed: number, epsilon: number, delta: number): TreeStepView {
  const drafter = new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(treeSize), s.heads));
  const cache = s.model.createCache('absorbed');
  const prefix = ids.slice(0, -1);
  if (prefix.length > 0) {
    const pre = s.model.forward(prefix, { cache });
    drafter.observe(0, pre.hidden, pre.tokens);
  }
  // The heads read the state of the prompt's second to last token (the last one is the root, not yet run).
  const tree = prefix.length > 0 ? drafter.propose(ids) : { tokens: [], parent: [], q: [] };
  const v = verifyTree(s.model, cache, ids[ids.length - 1]!, tree, { rule, sampling: { temperature }, epsilon, delta }, createRng(seed));
  const V = s.model.config.vocab_size;
  const dist = (row: number) => samplingDistribution(v.logits.subarray(row * V, (row + 1) * V), { temperature: Math.max(temperature, 1e-6) });
  const depth = treeMask(tree).depth;
  const p = tree.tokens.map((x, i) => dist(tree.parent[i] + 1)[x]!);
  const judged = tree.tokens.map((_, i) => v.decisions.some((d) => d.node === i));
  const accepted = tree.tokens.map((_, i) => v.path.includes(i));
  return { tree, depth: Array.from(depth).slice(1), p, accepted, judged, emitted: v.emitted, mask: treeMask(tree).ancestor, root: ids[ids.length - 1]! };
}

export interface RuleComparison { rule: string; meanAccepted: number; tv: number }

/**
 * Many runs of each rule on one verification's logits (the forward is deterministic, only the rule
 * draws): mean accepted length and the total-variation distance between the first emitted token's
 * histogram and the target's p; the last row is n samples from p itself (the noise floor).
 */
export function compareRules(s: Setup, ids: number[], treeSize: number, temperature: number, epsilon: number, delta: number, seed: number, runs = 4000): RuleComparison[] {
  const t = Math.max(temperature, 0.05);
  const drafter = new MedusaDrafter(s.model, s.heads, parseTreeSpec(String(treeSize), s.heads));
  const cache = s.model.createCache('absorbed');
  const prefix = ids.slice(0, -1);
  const pre = s.model.forward(prefix.length ? prefix : ids.slice(0, 1), { cache });
  drafter.observe(0, pre.hidden, pre.tokens);
  if (!prefix.length) cache.truncate(0);
  const tree = prefix.length ? drafter.propose(ids) : { tokens: [], parent: [], q: [] };
  const V = s.model.config.vocab_size;
  const out = s.model.forward([ids[ids.length - 1]!, ...tree.tokens], { cache, tree: treeMask(tree) });
  const rows = new Map<number, Float64Array>();
  const dist = (r: number) => { let p = rows.get(r); if (!p) { p = samplingDistribution(out.logits.subarray(r * V, (r + 1) * V), { temperature: t }); rows.set(r, p); } return p; };
  const target = dist(0);
  const tv = (counts: Float64Array) => { let d = 0; for (let i = 0; i < V; i++) d += Math.abs(counts[i]! / runs - target[i]!); return d / 2; };
  const rng = createRng(seed);
  const result: RuleComparison[] = (['exact', 'typical'] as const).map((rule) => {
    const counts = new Float64Array(V);
    let acc = 0;
    for (let n = 0; n < runs; n++) {
      const w = acceptPath(tree, dist, { rule, sampling: { temperature: t }, epsilon, delta }, rng);
      counts[w.emitted[0]!]++;
      acc += w.path.length;
    }
    return { rule, meanAccepted: acc / runs, tv: tv(counts) };
  });
  const noise = new Float64Array(V);
  for (let n = 0; n < runs; n++) noise[sampleFrom(target, rng)]++;
  result.push({ rule: `${runs} samples from p (noise floor)`, meanAccepted: NaN, tv: tv(noise) });
  return result;
}
