// The speculation-trees lesson's heavy runs, as jobs of the kit's engine worker (_kit/engine-worker.ts):
// the drafters side by side (speculateTree over 48 tokens per drafter and rule), the tree size sweep
// and exact against typical acceptance (3,000 runs of each rule) took 60-170 ms of the page's main
// thread per slider move. A request is the Setup spread with the controls: the Setup's two Models
// (the target and the small draft model) are at its top level, so they cross by their weights, once each.
// The drafters come in two parts (runs.ts drafterRows): a γ move asks only for the chain rows, a
// tree size move only for the tree's; chainRun computes one chain run ahead while the worker is idle.
import { type Setup, chainRunAhead, compareRules, drafterRows, sweepTreeSize } from './runs';

interface Knobs { ids: number[]; treeSize: number; temperature: number; epsilon: number; delta: number; seed: number }
type Rules = Pick<Knobs, 'ids' | 'temperature' | 'epsilon' | 'delta' | 'seed'>;

export const jobs = {
  drafterRows: (r: Setup & Rules & { part: 'tree' | 'chain'; size: number }) => drafterRows(r, r.ids, r.part, r.size, r.temperature, r.epsilon, r.delta, r.seed),
  chainRun: (r: Setup & Rules & { drafter: 'mtp' | 'small'; gamma: number; rule: 'exact' | 'typical' }) => chainRunAhead(r, r.ids, r.drafter, r.gamma, r.rule, r.temperature, r.epsilon, r.delta, r.seed),
  sweep: (r: Setup & Pick<Knobs, 'ids' | 'temperature' | 'seed'>) => sweepTreeSize(r, r.ids, r.temperature, r.seed),
  rules: (r: Setup & Knobs) => compareRules(r, r.ids, r.treeSize, r.temperature, r.epsilon, r.delta, r.seed),
};
