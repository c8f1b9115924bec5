// The speculation-trees lesson's heavy runs, as jobs of the kit's engine worker (_kit/engine-worker.ts):
// the drafters side by side (speculateTree over 48 tokens per drafter and rule), the tree size sweep
// and exact against typical acceptance (3,000 runs of each rule) took 60-170 ms of the page's main
// thread per slider move. A request is the Setup spread with the controls: the Setup's two Models
// (the target and the small draft model) are at its top level, so they cross by their weights, once each.
import { type Setup, compareDrafters, compareRules, sweepTreeSize } from './runs';

interface Knobs { ids: number[]; treeSize: number; temperature: number; epsilon: number; delta: number; seed: number }

export const jobs = {
  drafters: (r: Setup & Knobs & { gamma: number }) => compareDrafters(r, r.ids, r.treeSize, r.gamma, r.temperature, r.epsilon, r.delta, r.seed),
  sweep: (r: Setup & Pick<Knobs, 'ids' | 'temperature' | 'seed'>) => sweepTreeSize(r, r.ids, r.temperature, r.seed),
  rules: (r: Setup & Knobs) => compareRules(r, r.ids, r.treeSize, r.temperature, r.epsilon, r.delta, r.seed),
};
