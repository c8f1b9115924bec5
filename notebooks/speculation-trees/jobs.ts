// The speculation-trees lesson's heavy runs, as jobs of the kit's engine worker (_kit/engine-worker.ts):
// the drafters side by side (speculateTree over 48 tokens per drafter and rule), the tree size sweep
// and exact against typical acceptance (3,000 runs of each rule) took 60-170 ms of the page's main
// thread per slider move. A request carries the Setup's fields at its top level, so its two Models
// (the target and the small draft model) cross by their weights, once each.
import type { MedusaHeads } from '$engine/medusa';
import type { Model } from '$engine/model';
import { type Setup, compareDrafters, compareRules, sweepTreeSize } from './runs';

/** A Setup as a request carries it (its Models at the top level). */
export interface SetupRequest {
  model: Model;
  small: Model | null;
  heads: MedusaHeads;
  name: string;
  trainedHeads: boolean;
  smallName: string | null;
}

export const setupRequest = (s: Setup): SetupRequest => ({ model: s.model, small: s.small, heads: s.heads, name: s.name, trainedHeads: s.trainedHeads, smallName: s.smallName });
const setupOf = (r: SetupRequest): Setup => ({ model: r.model, small: r.small, heads: r.heads, name: r.name, trainedHeads: r.trainedHeads, smallName: r.smallName });

interface Knobs { ids: number[]; treeSize: number; temperature: number; epsilon: number; delta: number; seed: number }

export const jobs = {
  drafters: (r: SetupRequest & Knobs & { gamma: number }) => compareDrafters(setupOf(r), r.ids, r.treeSize, r.gamma, r.temperature, r.epsilon, r.delta, r.seed),
  sweep: (r: SetupRequest & Pick<Knobs, 'ids' | 'temperature' | 'seed'>) => sweepTreeSize(setupOf(r), r.ids, r.temperature, r.seed),
  rules: (r: SetupRequest & Knobs) => compareRules(setupOf(r), r.ids, r.treeSize, r.temperature, r.epsilon, r.delta, r.seed),
};
