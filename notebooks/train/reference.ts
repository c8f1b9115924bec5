// Reference figures drawn beside the live run, labelled as such. Copied by hand (constants, never
// read at run time) from the anchors README of this project's PyTorch twin (tinyseek.py: the same
// shapes, data, split and recipe, trained with torch on 2 pinned cores), and from DeepSeek-V3's
// report. Bits per character are on the held-out stories.

export const ANCHORS_SOURCE = 'PyTorch twin of nanoseek (tinyseek.py), anchors README, figures measured by the project';

/** A twin run's held-out bits per character at characters seen (ranges over seeds as [lo, hi]). */
export interface TwinCurve {
  name: string;
  /** Which page model it matches. */
  shape: 'golden-b' | 'm';
  points: { chars: number; lo: number; hi: number }[];
}

export const TWIN_CURVES: TwinCurve[] = [
  // S (golden-b shape), 3 seeds, batch 16 x 129: 2.86 at 0.6M, 2.58-2.74 at 1M, 2.34-2.45 at 2M, 2.14-2.18 at 4.6-6.2M.
  { name: 'PyTorch twin, golden-b shape, batch 16×129 (3 seeds)', shape: 'golden-b', points: [
    { chars: 0.6e6, lo: 2.86, hi: 2.86 }, { chars: 1e6, lo: 2.58, hi: 2.74 }, { chars: 2e6, lo: 2.34, hi: 2.45 }, { chars: 5.4e6, lo: 2.14, hi: 2.18 },
  ] },
  // S, batch 8 x 65: 2.61 at 0.6M, 2.47 at 1M, 2.27 at 2M, 2.18 at 3.2M.
  { name: 'PyTorch twin, golden-b shape, batch 8×65', shape: 'golden-b', points: [
    { chars: 0.6e6, lo: 2.61, hi: 2.61 }, { chars: 1e6, lo: 2.47, hi: 2.47 }, { chars: 2e6, lo: 2.27, hi: 2.27 }, { chars: 3.2e6, lo: 2.18, hi: 2.18 },
  ] },
  // M (d 96, 3 layers): 2.59 at 0.6M, 2.33 at 1M, 2.07 at 2M, 2.01 at 2.6M.
  { name: 'PyTorch twin, d 96 × 3 layers', shape: 'm', points: [
    { chars: 0.6e6, lo: 2.59, hi: 2.59 }, { chars: 1e6, lo: 2.33, hi: 2.33 }, { chars: 2e6, lo: 2.07, hi: 2.07 }, { chars: 2.6e6, lo: 2.01, hi: 2.01 },
  ] },
];

/** After training, on the held-out stories: MTP greedy agreement and sampled acceptance (S: 3 seeds). */
export const TWIN_MTP = {
  'golden-b': { greedy: [0.77, 0.79], sampled: [0.81, 0.83] },
  m: { greedy: [0.82, 0.82], sampled: [0.85, 0.85] },
} as const;

/** MaxVio with bias balancing after training (twin), and untrained. */
export const TWIN_MAXVIO = { bias: [0.03, 0.06], untrained: [0.7, 1.5], none: 0.9, aux: [0.12, 0.27] } as const;

/** DeepSeek-V3 report §5.4.3: the MTP module's second token is accepted 85-90% of the time. */
export const V3_ACCEPTANCE = { lo: 0.85, hi: 0.9, source: 'DeepSeek-V3 Technical Report, §5.4.3 (arXiv:2412.19437)' } as const;
