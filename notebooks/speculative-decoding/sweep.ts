// Counts over speculate runs, shared by the page (the timeline's run) and the lesson's worker (the
// sweep at GAMMA_MAX, summarised there so only these few numbers cross to the page instead of
// every step's p and q).
import { type SpeculateResult, acceptanceProbability } from '$engine/speculate';
import { GAMMAS } from './lab';

/** Verified drafts (accepted ones and the rejection that ended a step) and accepted ones. */
export function verification(results: SpeculateResult[]): { verified: number; accepted: number; steps: number; emitted: number } {
  let verified = 0, accepted = 0, steps = 0, emitted = 0;
  for (const r of results) for (const s of r.steps) {
    verified += s.decisions?.length ?? 0;
    accepted += s.accepted;
    steps++;
    emitted += s.emitted.length;
  }
  return { verified, accepted, steps, emitted };
}

export interface Sweep {
  /** Measured tokens per step at each gamma of GAMMAS (steps at GAMMA_MAX cut at gamma). */
  tokensPerStep: number[];
  /** alpha measured as accepted / verified drafts. */
  alpha: number;
  steps: number;
  /** Per draft position i = 1..GAMMA_MAX: the mean over every step of alpha_i = sum min(p_i, q_i). */
  alphaAt: number[];
  proposed: number;
  acceptedTotal: number;
}

export function sweepOf(results: SpeculateResult[]): Sweep {
  const all = results.flatMap((r) => r.steps);
  const tokensPerStep = GAMMAS.map((g) => all.reduce((acc, s) => acc + Math.min(s.accepted, g) + 1, 0) / Math.max(1, all.length));
  const v = verification(results);
  // The trace holds p_i and q_i at every drafted position of a step, verified or not.
  const alphaAt = GAMMAS.map((i) => all.reduce((acc, s) => acc + acceptanceProbability(s.p![i - 1], s.q![i - 1]), 0) / Math.max(1, all.length));
  return {
    tokensPerStep,
    alpha: v.verified > 0 ? v.accepted / v.verified : 0,
    steps: all.length,
    alphaAt,
    proposed: results.reduce((a, r) => a + r.proposed, 0),
    acceptedTotal: results.reduce((a, r) => a + r.accepted, 0),
  };
}
