// The expert-routing lesson's engine work: the models it builds (one ModelCache per kind), the
// router each one ran over the prompt (from the forward trace, helpers.ts), and the routings the
// sliders ask for, always by the engine's route(). Views (views.ts) only draw what this returns.
import type { Backend } from '$kernels/backend';
import { initModel } from '$engine/init';
import type { Model } from '$engine/model';
import { type RouterSettings, type Routing, route } from '$engine/router';
import type { BarChartData, HeatmapData } from '$components/charts/types';
import { parseConfig } from '$engine/config';
import { IdleJobs } from '../_kit/idle-jobs';
import { ModelCache } from '../_kit/model-cache';
import { type LessonModel, SHIPPED_RAW, lessonModel } from '../_kit/shipped';
import { ARITHMETIC, PROSE, promptTokens } from '../_kit/tokens';
import { TINY_RAW, promptIds, tinyConfig } from '../_kit/models';
import { type Captured, type Clamp, type RouterChoice, captureRouter, captureRouterFrom, isGrouped, usesBias } from './helpers';

export const MAX_PROMPT = 32;
/** The bias sweep: shifts of one expert's b_i. */
export const SWEEP = Array.from({ length: 41 }, (_, i) => Math.round((-1 + i * 0.05) * 100) / 100);
/** Fine-grained segmentation: N coarse experts, top-K, width W (the tiny model's expert), split by m. */
export const SEG_N = 16, SEG_K = 2, SEG_W = TINY_RAW.moe_intermediate_size;
export const SEG_M = [1, 2, 4, 8];
/** The segmented models all read one fixed-length prompt (so the prompt slider does not re-run four models). */
export const SEG_PROMPT = MAX_PROMPT;

// ------------------------------------------------------------------ models (memoised)
// initModel draws every tensor from its own seeded stream (~25-80 ms for the tiny model, more
// experts more draws). Keep the models of recent (seed, E) so sliding back is instant. Group counts, top-k,
// bias and the toggles do not change a weight, so they never re-initialise.
/** Recent models of each kind: enough for a whole sweep of the experts slider, and two seeds of segmented models. */
const mainModels = new ModelCache(10), segModels = new ModelCache(SEG_M.length * 2);

/** The page's model shape (the shipped model's; the tiny one before it is shipped). */
const RAW: Record<string, unknown> = SHIPPED_RAW ?? { ...TINY_RAW };

/**
 * The model the routing figures run: the shipped trained model when asked for at its own number of
 * experts; otherwise its shape with E experts and seeded random weights (never the reader's model).
 */
export async function pageModel(weights: string, seed: number, E: number, backend: Backend): Promise<LessonModel> {
  if (weights === 'trained' && E === Number(RAW.n_routed_experts)) {
    const lm = await lessonModel('trained', backend);
    if (lm.model.config.n_routed_experts === E) {
      // The first move of the experts slider (or the weights switch) needs this shape's seeded model,
      // drawn whole (~50 ms on the page's thread); drawn while the page is idle, that move only adds
      // or drops experts from it (initModel's reuse, ~3 ms).
      randomAhead.replace([() => seededModel(seed, E)]);
      return lm;
    }
  }
  return { model: seededModel(seed, E, backend), trained: false, name: `random weights (seed ${seed}), ${E} routed experts${weights === 'trained' ? ` (only ${Number(RAW.n_routed_experts)} experts are trained)` : ''}` };
}

const randomAhead = new IdleJobs();

/** The page's shape with E routed experts and weights drawn from `seed` (kept in mainModels). */
function seededModel(seed: number, E: number, backend?: Backend): Model {
  // Another number of experts with the same seed has the same tensors but the experts added or
  // dropped, the gate and the bias: drawn from the kept model with the most experts, only those are drawn
  // (initModel's reuse: the same values; 64 experts take ~2 ms instead of ~10).
  const make = () => {
    let reuse: Model | undefined;
    for (let e = 64; e >= 8 && !reuse; e -= 8) if (e !== E) reuse = mainModels.peek(`${seed}/${e}`);
    return initModel(parseConfig({ ...RAW, n_routed_experts: E }, { file: 'the page model' }), { seed, reuse });
  };
  return mainModels.get(`${seed}/${E}`, make, backend, true);
}

/** Character classes the lift map conditions on, and the two kinds of text. */
const CLASSES = ['letter', 'space', 'punctuation', 'digit', '+ - =', 'newline'] as const;
function classOf(id: number): string | null {
  const ch = String.fromCharCode(id);
  if (/[A-Za-z]/.test(ch)) return 'letter';
  if (ch === ' ') return 'space';
  if (/[0-9]/.test(ch)) return 'digit';
  if (ch === '+' || ch === '-' || ch === '=') return '+ - =';
  if (ch === '\n') return 'newline';
  if (/[!-/:-@[-`{-~]/.test(ch)) return 'punctuation';
  return null;
}
/** Characters of each example text the lift map reads. */
export const LIFT_CHARS = 256;

/**
 * What each routed expert does: lift = P(expert | class) / P(expert) over the prose and the
 * arithmetic example texts, from the first MoE layer's routing in the forward trace. As log2, so
 * 0 is "as often as anywhere", +1 twice as often, -1 half as often.
 */
export function liftMap(lm: LessonModel): HeatmapData {
  const model = lm.model, E = model.config.n_routed_experts ?? 0;
  const layer = model.config.first_k_dense_replace;
  const rows: string[] = [...CLASSES, 'prose text', 'arithmetic text'];
  const counts = rows.map(() => new Float64Array(E)), totals = new Float64Array(rows.length);
  const all = new Float64Array(E);
  let allTotal = 0;
  for (const [kind, text] of [['prose text', PROSE], ['arithmetic text', ARITHMETIC]] as const) {
    const ids = promptTokens(text, LIFT_CHARS).ids;
    // The forward's routing of that layer; no trace: the attention maps of 256 tokens are not read.
    const routing = model.forward(ids).routing[`model.layers.${layer}.mlp`]!;
    ids.forEach((id, t) => {
      const cls = classOf(id);
      for (const e of routing.experts[t]) {
        all[e]++; allTotal++;
        for (const r of [cls, kind]) if (r) { const i = rows.indexOf(r); counts[i][e]++; totals[i]++; }
      }
    });
  }
  const values: number[] = [];
  for (let r = 0; r < rows.length; r++) for (let e = 0; e < E; e++) {
    const p = totals[r] > 0 ? counts[r][e] / totals[r] : 0, q = all[e] / allTotal;
    values.push(p > 0 && q > 0 ? Math.max(-4, Math.min(4, Math.log2(p / q))) : -4);
  }
  return {
    kind: 'heatmap', rows: rows.length, cols: E, values, scale: 'diverging', domain: [-3, 3], digits: 2,
    rowLabels: rows, colLabels: Array.from({ length: E }, (_, e) => String(e)), rowTitle: 'the token is', colTitle: 'routed expert',
    valueLabel: `log2 lift P(expert | row) / P(expert), layer ${layer} (${lm.trained ? 'trained' : 'random weights'})`,
  };
}

/** The correction bias each MoE layer of the model holds (the trained values, or zeros untrained). */
export function learnedBias(lm: LessonModel): BarChartData {
  const model = lm.model, E = model.config.n_routed_experts ?? 0;
  const layers = model.weights.layers.map((l, i) => ({ l, i })).filter(({ l }) => l.moe?.bias);
  return {
    kind: 'bar',
    categories: Array.from({ length: E }, (_, e) => String(e)),
    series: layers.map(({ l, i }) => ({ name: `layer ${i}`, values: Array.from(l.moe!.bias!) })),
    yLabel: `e_score_correction_bias b_i (${lm.trained ? 'as training left it' : 'random weights: zeros'})`,
  };
}

/** The tiny model with each of N experts split into m: m*N experts of width W/m, top m*K, no group limit. */
export function segmentedModel(seed: number, m: number, backend?: Backend): Model {
  const cfg = tinyConfig({ n_routed_experts: SEG_N * m, num_experts_per_tok: SEG_K * m, moe_intermediate_size: SEG_W / m, n_group: 1, topk_group: 1 });
  // Every tensor but the MoE layer's has the same name and shape for each m, so the same seeded
  // values: the split models reuse the unsplit one's instead of drawing them again.
  let reuse: Model | undefined;
  if (m !== 1) {
    segmentedModel(seed, 1, backend);
    reuse = segModels.peek(`${seed}/1`);
  }
  return segModels.get(`${seed}/${m}`, () => initModel(cfg, { seed, reuse }), backend);
}

const captures = new WeakMap<Model, Captured>();
/** The model's router over the prompt, kept per model; with `from`, routed from that capture's u_t (captureRouterFrom). */
export function captured(model: Model, prompt: number[], from?: Captured): Captured {
  const hit = captures.get(model);
  if (hit && hit.prompt.join() === prompt.join()) return hit;
  const c = from ? captureRouterFrom(model, from) : captureRouter(model, prompt);
  captures.set(model, c);
  return c;
}

export interface BiasChoice {
  /** The bias vector handed to route(): the model's b with b_j shifted, or null when switched off. */
  bias: Float32Array | null;
  /** The model's own b, unshifted. */
  b0: Float32Array;
  expert: number;
  shift: number;
  clamp: Clamp | null;
}

export interface Sweep {
  key: string;
  expert: number;
  grouped: boolean;
  chosen: { x: number; y: number }[];
  eligible: { x: number; y: number }[];
}
const sweeps = new WeakMap<Captured, Sweep>();

export interface Routings {
  /** What the heatmaps show (the toggles' routing). */
  main: Routing;
  /** The same with b_j unshifted (for the load comparison). */
  unshifted: Routing;
  /** Group-limited and unrestricted routing of the same scores (node traffic). */
  limited: Routing;
  free: Routing;
}

export function biasChoice(cap: Captured, useBias: boolean, expert: number, j: number, shift: number): BiasChoice {
  const E = cap.bias.length;
  let bias: Float32Array | null = null;
  if (useBias) {
    bias = Float32Array.from(cap.bias);
    bias[j] += shift;
  }
  return { bias, b0: cap.bias, expert: j, shift, clamp: j !== expert ? { value: `expert ${expert} \u2192 ${j}`, note: `the model has ${E} routed experts` } : null };
}

export function routings(cap: Captured, ch: RouterChoice, b: BiasChoice): Routings {
  // Identical settings are routed once (with the group limit on, the heatmaps' routing is the limited one).
  const done = new Map<string, Routing>();
  const routeOnce = (bias: Float32Array | null, s: RouterSettings) => {
    const key = JSON.stringify(s) + (bias === b.bias ? 'b' : 'b0');
    let r = done.get(key);
    if (!r) done.set(key, (r = route(cap.logits, cap.tokens, bias, s)));
    return r;
  };
  const main = routeOnce(b.bias, ch.main);
  return {
    main,
    unshifted: b.bias && b.shift !== 0 ? routeOnce(cap.bias, ch.main) : main,
    limited: routeOnce(b.bias, ch.limited),
    free: routeOnce(b.bias, ch.free),
  };
}

export function sweep(cap: Captured, ch: RouterChoice, j: number, useBias: boolean): Sweep {
  const s = ch.main;
  // The token counts do not depend on the gate scale or the normalisation: keep the last sweep
  // for the settings that do, so those two sliders do not re-run it.
  const key = JSON.stringify([s.n_routed_experts, s.num_experts_per_tok, s.n_group, s.topk_group, s.scoring_func, s.topk_method, j, useBias]);
  const hit = sweeps.get(cap);
  if (hit && hit.key === key) return hit;
  const out: Sweep = { key, expert: j, grouped: isGrouped(s), chosen: [], eligible: [] };
  const T = cap.tokens, E = s.n_routed_experts, size = E / s.n_group, n = SWEEP.length;
  const biased = useBias && usesBias(s);
  // Raising b_j only raises s_j + b_j and its group's score, so once a shift sends a token to
  // expert j (or keeps j's group), every larger shift does too: find each token's first such
  // shift by bisection, asking route() about that one token at a time.
  const chosenFrom = new Array<number>(T).fill(n), keptFrom = new Array<number>(T).fill(n);
  if (biased) {
    const bias = Float32Array.from(cap.bias);
    const probe = (t: number, i: number) => {
      bias[j] = cap.bias[j] + SWEEP[i];
      const r = route(cap.logits.subarray(t * E, (t + 1) * E), 1, bias, s);
      return { chosen: r.experts[0].includes(j), kept: r.groups[0].includes(Math.floor(j / size)) };
    };
    const first = (t: number, lo: number, test: (p: { chosen: boolean; kept: boolean }) => boolean) => {
      let a = lo, b = n;
      while (a < b) { const mid = (a + b) >> 1; if (test(probe(t, mid))) b = mid; else a = mid + 1; }
      return a;
    };
    for (let t = 0; t < T; t++) {
      keptFrom[t] = out.grouped ? first(t, 0, (p) => p.kept) : 0;
      chosenFrom[t] = first(t, keptFrom[t], (p) => p.chosen);
    }
  } else {
    // No bias in the choice: the shift changes nothing.
    const r = route(cap.logits, T, null, s);
    r.experts.forEach((e, t) => { if (e.includes(j)) chosenFrom[t] = 0; });
    r.groups.forEach((g, t) => { if (g.includes(Math.floor(j / size))) keptFrom[t] = 0; });
  }
  SWEEP.forEach((x, i) => {
    out.chosen.push({ x, y: chosenFrom.filter((f) => f <= i).length });
    if (out.grouped) out.eligible.push({ x, y: keptFrom.filter((f) => f <= i).length });
  });
  sweeps.set(cap, out);
  return out;
}

/** What the segmentation figures read of one segmented model and its routing of the prompt (plain data: it comes from the worker). */
export interface SegRun {
  m: number;
  prompt: number[];
  tokens: number;
  /** Routed experts mN, experts per token mK, and each expert's width. */
  E: number;
  k: number;
  width: number;
  /** Weights of one routed expert, and of all routed experts of the layer (counted in the model). */
  expertWeights: number;
  routedWeights: number;
  /** The MoE layer's routing of the prompt (the forward's, or its gate on the same u_t). */
  traced: Routing;
}

export function segRuns(seed: number, backend?: Backend): SegRun[] {
  const prompt = promptIds(SEG_PROMPT, TINY_RAW.vocab_size, seed);
  // The split models share every weight below the MoE layer's router with the unsplit one, so
  // they see the same u_t: only the m = 1 model runs; the others route its captured u_t.
  const base = captured(segmentedModel(seed, 1, backend), prompt);
  return SEG_M.map((m) => {
    const cap = m === 1 ? base : captured(segmentedModel(seed, m, backend), prompt, base);
    const cfg = cap.model.config, moe = cap.model.weights.layers[cap.layer].moe!;
    const size = (x: { gate: Float32Array; up: Float32Array; down: Float32Array }) => x.gate.length + x.up.length + x.down.length;
    return {
      m, prompt, tokens: cap.tokens, E: cfg.n_routed_experts!, k: cfg.num_experts_per_tok, width: moe.experts[0].width,
      expertWeights: size(moe.experts[0]), routedWeights: moe.experts.reduce((a, x) => a + size(x), 0), traced: cap.traced,
    };
  });
}
