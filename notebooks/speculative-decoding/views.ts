// The data the lesson's two custom figures draw (Timeline.svelte, Decisions.svelte), built from the
// engine's speculate trace. The components only draw these numbers; nothing here runs the model.
import { acceptanceProbability, type SpeculateResult, type SpeculativeStep } from '$engine/speculate';

/** One verification step as the timeline draws it. */
export interface TimelineStep {
  /** Drafts the target verified, in order: every accepted one, then the rejected one if any. */
  drafts: { token: number; accepted: boolean; p: number; q: number }[];
  /** Drafts proposed after the first rejection: never verified, thrown away. */
  discarded: number;
  /** How the step's last token was made, and the token. */
  last: 'resampled' | 'bonus';
  final: number;
}

export interface TimelineData {
  kind: 'speculative-timeline';
  prompt: number[];
  /** The prefill's token (the target alone, before any drafting). */
  firstToken: number;
  gamma: number;
  drafter: string;
  steps: TimelineStep[];
  /** 0-based index of the inspected step. */
  selected: number;
  /** How each token id is shown (characters for the trained model's ASCII vocabulary); ids when absent. */
  labels?: string[];
}

export function timelineData(run: SpeculateResult, prompt: number[], gamma: number, drafter: string, selected: number, labels?: string[]): TimelineData {
  return {
    labels,
    kind: 'speculative-timeline',
    prompt,
    firstToken: run.firstToken,
    gamma,
    drafter,
    steps: run.steps.map((s) => ({
      drafts: (s.decisions ?? []).map((d) => ({ token: d.token, accepted: d.accepted, p: d.p, q: d.q })),
      discarded: s.proposed - (s.decisions?.length ?? 0),
      last: s.last,
      final: s.emitted[s.emitted.length - 1],
    })),
    selected,
  };
}

/** One decision of the inspected step: a verified draft, or the bonus token. */
export interface DecisionPanel {
  /** "draft 1 of 3", "bonus". */
  label: string;
  outcome: 'accepted' | 'rejected' | 'bonus';
  /** Token ids shown, in the order drawn (all of them for a small vocabulary). */
  tokens: number[];
  /** p, q, min(p, q) and (after a rejection) the residual norm(max(0, p - q)), for the shown tokens. */
  p: number[];
  q: number[] | null;
  overlap: number[] | null;
  residual: number[] | null;
  /** The drafted token x (null for the bonus), and the token this decision emitted. */
  drafted: number | null;
  emitted: number;
  /** p(x), q(x), the acceptance chance min(1, p(x)/q(x)), and alpha = sum over the whole vocabulary of min(p, q). */
  pX: number | null;
  qX: number | null;
  acceptChance: number | null;
  alpha: number | null;
  /** Mass of p and q outside the shown tokens (a large vocabulary shows only its top tokens). */
  hiddenP: number;
  hiddenQ: number;
}

export interface DecisionsData {
  kind: 'speculative-decisions';
  /** 1-based step shown, and how many the run has. */
  step: number;
  steps: number;
  gamma: number;
  vocab: number;
  /** How each token id is shown; ids when absent. */
  labels?: string[];
  /** The step's target pass: how many positions it scored (gamma + 1). */
  panels: DecisionPanel[];
}

/** Tokens to draw: the whole vocabulary if small, else the `top` most likely under p or q plus the ones that matter here. */
function shownTokens(p: Float64Array, q: Float64Array | null, must: number[], top: number): number[] {
  const V = p.length;
  if (V <= 16) return Array.from({ length: V }, (_, i) => i);
  const score = (i: number) => Math.max(p[i], q ? q[i] : 0);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => score(b) - score(a) || a - b);
  const keep = new Set(order.slice(0, top));
  for (const t of must) keep.add(t);
  return [...keep].sort((a, b) => p[b] - p[a] || a - b);
}

function residualOf(p: Float64Array, q: Float64Array): Float64Array {
  const r = Float64Array.from(p, (x, i) => Math.max(0, x - q[i]));
  const mass = r.reduce((a, b) => a + b, 0);
  return mass > 0 ? r.map((x) => x / mass) : Float64Array.from(p);
}

export function decisionsData(step: SpeculativeStep, index: number, count: number, top = 10, labels?: string[]): DecisionsData {
  const p = step.p!, q = step.q!;
  const decisions = step.decisions ?? [];
  const V = p[0].length;
  const panels: DecisionPanel[] = decisions.map((d, i) => {
    const rejected = !d.accepted;
    const emitted = step.emitted[i];
    const tokens = shownTokens(p[i], q[i], [d.token, emitted], top);
    const residual = rejected ? residualOf(p[i], q[i]) : null;
    const pick = (x: ArrayLike<number>) => tokens.map((t) => x[t]);
    const shownP = tokens.reduce((a, t) => a + p[i][t], 0), shownQ = tokens.reduce((a, t) => a + q[i][t], 0);
    return {
      label: `draft ${i + 1} of ${step.proposed}`,
      outcome: rejected ? 'rejected' : 'accepted',
      tokens,
      p: pick(p[i]),
      q: pick(q[i]),
      overlap: tokens.map((t) => Math.min(p[i][t], q[i][t])),
      residual: residual ? pick(residual) : null,
      drafted: d.token,
      emitted,
      pX: d.p,
      qX: d.q,
      acceptChance: d.q > 0 ? Math.min(1, d.p / d.q) : 0,
      alpha: acceptanceProbability(p[i], q[i]),
      hiddenP: Math.max(0, 1 - shownP),
      hiddenQ: Math.max(0, 1 - shownQ),
    };
  });
  if (step.last === 'bonus') {
    const pb = p[step.proposed];
    const emitted = step.emitted[step.emitted.length - 1];
    const tokens = shownTokens(pb, null, [emitted], top);
    const shownP = tokens.reduce((a, t) => a + pb[t], 0);
    panels.push({
      label: `bonus: position ${step.proposed + 1}`,
      outcome: 'bonus',
      tokens,
      p: tokens.map((t) => pb[t]),
      q: null,
      overlap: null,
      residual: null,
      drafted: null,
      emitted,
      pX: null,
      qX: null,
      acceptChance: null,
      alpha: null,
      hiddenP: Math.max(0, 1 - shownP),
      hiddenQ: 0,
    });
  }
  return { kind: 'speculative-decisions', step: index + 1, steps: count, gamma: step.proposed, vocab: V, panels, labels };
}
