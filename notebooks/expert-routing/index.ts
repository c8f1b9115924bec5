// Lesson 4: expert routing. The tiny DeepSeek-V3 runs a prompt with `trace: true`; the lesson keeps
// the router logits u_t · e_i its MoE layer computed and routes them again with the engine's own
// `route()` for every slider setting (top-k, groups, bias, scoring, scaling), so only a change of
// architecture (E, seed) re-initialises the model. It shows the scores, the bias-corrected choice
// scores, the kept groups and chosen experts, the gate weights, why a token chose what it chose,
// node-limited traffic, and DeepSeekMoE's fine-grained segmentation as real models with m x E experts.
import type { BarChartData, HeatmapData, LineChartData, StatsData, TableData } from '$components/charts/types';
import type { Backend } from '$kernels/backend';
import { initModel } from '$engine/init';
import type { Model } from '$engine/model';
import { type RouterSettings, type Routing, route, topKIndices } from '$engine/router';
import { cell, type Notebook } from '../_kit/types';
import { ModelCache } from '../_kit/model-cache';
import { REAL_CONFIGS, TINY_RAW, promptIds, tinyConfig } from '../_kit/models';
import {
  type Captured, type Clamp, type RouterChoice, binomial, captureRouter, captureRouterFrom, denseWeights, entropyBits, expertLoad, groupDigits,
  isGrouped, log10Big, routerChoice, rowsOf, usesBias,
} from './helpers';

export const meta = {
  slug: 'expert-routing',
  title: 'Expert routing',
  summary: 'DeepSeekMoE\'s router as DeepSeek-V3 runs it: sigmoid affinities, a bias that only chooses, group (node) limits, gate weights, shared experts, and fine-grained segmentation, on the engine\'s own MoE layer.',
  order: 4,
};

const V3 = REAL_CONFIGS.find((c) => c.name === 'DeepSeek-V3')!.config;
const V2 = REAL_CONFIGS.find((c) => c.name === 'DeepSeek-V2')!.config;
const MAX_PROMPT = 32;
/** The bias sweep: shifts of one expert's b_i. */
const SWEEP = Array.from({ length: 41 }, (_, i) => Math.round((-1 + i * 0.05) * 100) / 100);
/** Fine-grained segmentation: N coarse experts, top-K, width W (the tiny model's expert), split by m. */
const SEG_N = 16, SEG_K = 2, SEG_W = TINY_RAW.moe_intermediate_size;
const SEG_M = [1, 2, 4, 8];
/** The segmented models all read one fixed-length prompt (so the prompt slider does not re-run four models). */
const SEG_PROMPT = MAX_PROMPT;

// ------------------------------------------------------------------ models (memoised)
// initModel draws every weight from one seeded stream (~25-80 ms for the tiny model, more experts
// more draws). Keep the models of recent (seed, E) so sliding back is instant. Group counts, top-k,
// bias and the toggles do not change a weight, so they never re-initialise.
/** Recent models of each kind: enough for a whole sweep of the experts slider, and two seeds of segmented models. */
const mainModels = new ModelCache(10), segModels = new ModelCache(SEG_M.length * 2);

/** The tiny model with E routed experts (its own router settings: the tiny defaults, 4 groups). */
function routingModel(seed: number, E: number, backend: Backend): Model {
  return mainModels.get(`${seed}/${E}`, () => initModel(tinyConfig({ n_routed_experts: E }), { seed }), backend);
}

/** The tiny model with each of N experts split into m: m*N experts of width W/m, top m*K, no group limit. */
function segmentedModel(seed: number, m: number, backend: Backend): Model {
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
function captured(model: Model, prompt: number[], from?: Captured): Captured {
  const hit = captures.get(model);
  if (hit && hit.prompt.join() === prompt.join()) return hit;
  const c = from ? captureRouterFrom(model, from) : captureRouter(model, prompt);
  captures.set(model, c);
  return c;
}

// ------------------------------------------------------------------ small helpers
const tokenLabels = (prompt: number[]) => prompt.map((id, t) => `${t + 1}: id ${id}`);
const fmt = (x: number, d = 3) => (x < 0 ? '\u2212' : '') + Math.abs(x).toFixed(d);
/** A big integer as TeX scientific notation: 4.1 \\times 10^{14}. */
const sciTex = (x: bigint) => { const l = log10Big(x), e = Math.floor(l); return `${(10 ** (l - e)).toFixed(1)} \\times 10^{${e}}`; };
const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;

interface BiasChoice {
  /** The bias vector handed to route(): the model's b with b_j shifted, or null when switched off. */
  bias: Float32Array | null;
  /** The model's own b, unshifted. */
  b0: Float32Array;
  expert: number;
  shift: number;
  clamp: Clamp | null;
}

interface Sweep {
  key: string;
  expert: number;
  grouped: boolean;
  chosen: { x: number; y: number }[];
  eligible: { x: number; y: number }[];
}
const sweeps = new WeakMap<Captured, Sweep>();

interface Routings {
  /** What the heatmaps show (the toggles' routing). */
  main: Routing;
  /** The same with b_j unshifted (for the load comparison). */
  unshifted: Routing;
  /** Group-limited and unrestricted routing of the same scores (node traffic). */
  limited: Routing;
  free: Routing;
}

function chosenCells(r: Routing): [number, number][] {
  return r.experts.flatMap((chosen, t) => chosen.map((e) => [t, e] as [number, number]));
}

/** Experts outside a token's kept groups (only when the routing applies a group limit). */
function droppedCells(r: Routing, s: RouterSettings): [number, number][] {
  if (!isGrouped(s)) return [];
  const size = s.n_routed_experts / s.n_group;
  const out: [number, number][] = [];
  r.groups.forEach((kept, t) => {
    for (let e = 0; e < s.n_routed_experts; e++) if (!kept.includes(Math.floor(e / size))) out.push([t, e]);
  });
  return out;
}

function expertLabels(E: number, groupSize: number, grouped: boolean): string[] {
  return Array.from({ length: E }, (_, e) => (grouped ? `${e} (g${Math.floor(e / groupSize)})` : String(e)));
}

function routeHeatmap(values: ArrayLike<number>, r: Routing, s: RouterSettings, ch: RouterChoice, prompt: number[], valueLabel: string): HeatmapData {
  const E = s.n_routed_experts;
  const dropped = droppedCells(r, s);
  return {
    kind: 'heatmap',
    rows: r.tokens,
    cols: E,
    values,
    rowLabels: tokenLabels(prompt),
    colLabels: expertLabels(E, ch.groupSize, isGrouped(s)),
    rowTitle: 'token (position: id)',
    colTitle: isGrouped(s) ? `routed expert (group of ${E / s.n_group})` : 'routed expert',
    scale: 'sequential',
    marks: { cells: chosenCells(r), label: `chosen: the top ${s.num_experts_per_tok} by s + b${isGrouped(s) ? ' in the kept groups' : ''}` },
    dimmed: dropped.length ? { cells: dropped, label: 'in a dropped group: not eligible for this token' } : undefined,
    valueLabel,
    digits: 3,
  };
}

/** Token t's group scores as route() ranked them (Routing.groupScores; only with a group limit). */
const groupScoresOf = (r: Routing, t: number, G: number): number[] => Array.from(r.groupScores!.subarray(t * G, (t + 1) * G));

/** Distinct groups (nodes) holding each token's chosen experts. */
function nodesPerToken(r: Routing, groupSize: number): number[] {
  return r.experts.map((chosen) => new Set(chosen.map((e) => Math.floor(e / groupSize))).size);
}

/** Tokens x nodes, twice side by side: chosen experts per node with the group limit, then without. */
function nodeHeatmap(limited: Routing, free: Routing, ch: RouterChoice, prompt: number[]): HeatmapData {
  const G = ch.nGroup, size = ch.groupSize, C = 2 * G, T = limited.tokens;
  const values = new Float32Array(T * C);
  const marks: [number, number][] = [];
  const dimmed: [number, number][] = [];
  [limited, free].forEach((r, half) => {
    r.experts.forEach((chosen, t) => chosen.forEach((e) => { values[t * C + half * G + Math.floor(e / size)]++; }));
  });
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      if (values[t * C + c] > 0) marks.push([t, c]);
      else if (c < G && isGrouped(ch.limited) && !limited.groups[t].includes(c)) dimmed.push([t, c]);
    }
  }
  return {
    kind: 'heatmap',
    rows: T,
    cols: C,
    values,
    rowLabels: tokenLabels(prompt),
    colLabels: [...Array.from({ length: G }, (_, g) => `limited ${g}`), ...Array.from({ length: G }, (_, g) => `free ${g}`)],
    rowTitle: 'token (position: id)',
    colTitle: `node: group-limited (left), free = unrestricted (right); ${size} experts per node`,
    scale: 'sequential',
    domain: [0, Math.max(1, ...values)],
    marks: { cells: marks, label: 'the token is sent to this node (one message)' },
    dimmed: dimmed.length ? { cells: dimmed, label: `group-limited: not among the token's ${ch.topkGroup === 1 ? 'one node' : `${ch.topkGroup} nodes`}` } : undefined,
    valueLabel: 'chosen experts on the node',
    digits: 0,
    showValues: true,
  };
}

// ------------------------------------------------------------------ the notebook
export const notebook: Notebook = {
  inputs: [
    { kind: 'range', name: 'seed', label: 'Weights seed', min: 0, max: 99, step: 1, value: 1, help: 'The tiny model (and the prompt) come from this seed: the same seed gives the same numbers everywhere.' },
    { kind: 'range', name: 'promptLength', label: 'Prompt length', min: 4, max: MAX_PROMPT, step: 1, value: 12, unit: 'tokens', help: 'Tokens run through the model; each is one row of the heatmaps.' },
    { kind: 'range', name: 'experts', label: 'Routed experts N_r (n_routed_experts)', min: 8, max: 64, step: 8, value: 16, unit: 'experts', help: 'A multiple of 8, so every group count divides it. The model is re-initialised with this many experts.' },
    { kind: 'range', name: 'topk', label: 'Experts per token K_r (num_experts_per_tok)', min: 1, max: 16, step: 1, value: 4, unit: 'experts', help: 'Routed experts each token runs; clamped to the experts of the kept groups.' },
    { kind: 'range', name: 'routed_scaling_factor', label: 'Gate scale (routed_scaling_factor)', min: 0.5, max: 16, step: 0.5, value: 2.5, help: 'The chosen weights are multiplied by this (2.5 in DeepSeek-V3, 16 in DeepSeek-V2).' },
    { kind: 'toggle', name: 'normalise', label: 'Normalise the chosen weights (norm_topk_prob)', value: true, help: 'Divide the chosen experts\' scores by their sum (DeepSeek-V3: on; DeepSeek-V2: off).' },
    {
      kind: 'select', name: 'scoring', label: 'Scores (scoring_func)', value: 'sigmoid', help: 'DeepSeek-V3 scores each expert with a sigmoid and chooses with the bias; DeepSeek-V2 took a softmax over all experts and had no bias.',
      options: [{ value: 'sigmoid', label: 'sigmoid, bias, top-2 group score (DeepSeek-V3, noaux_tc)' }, { value: 'softmax', label: 'softmax, no bias, max group score (DeepSeek-V2, group_limited_greedy)' }],
    },
    { kind: 'toggle', name: 'useBias', label: 'Use the correction bias b (e_score_correction_bias)', value: true, help: 'Add b_i to the scores when choosing (DeepSeek-V3 only; the softmax router ignores it).' },
    { kind: 'range', name: 'expert', label: 'Expert whose bias you move (j)', min: 0, max: 63, step: 1, value: 0, help: 'Clamped to the last expert when the model has fewer.' },
    { kind: 'range', name: 'biasShift', label: 'Bias shift added to b_j', min: -1, max: 1, step: 0.01, value: 0, format: (v: number) => (v > 0 ? `+${v.toFixed(2)}` : v.toFixed(2).replace('-', '\u2212')), help: 'Added to the model\'s own b_j: positive draws tokens to expert j, negative pushes them away.' },
    { kind: 'toggle', name: 'groupLimit', label: 'Group limit (off: one group)', value: true, help: 'Route only inside the topk_group best groups. Off: every expert is eligible.' },
    { kind: 'range', name: 'n_group', label: 'Groups (n_group)', min: 1, max: 8, step: 1, value: 4, log2: true, unit: 'groups', help: 'Experts split into this many equal groups (nodes). Changes no weight.' },
    { kind: 'range', name: 'topk_group', label: 'Kept groups M (topk_group)', min: 1, max: 8, step: 1, value: 2, unit: 'groups', help: 'Groups each token may use; clamped to n_group.' },
    { kind: 'range', name: 'token', label: 'Token to explain', min: 1, max: MAX_PROMPT, step: 1, value: 1, help: 'Position in the prompt; clamped to the prompt length.' },
    { kind: 'range', name: 'm', label: 'Segmentation factor m', min: 1, max: 8, step: 1, value: 4, log2: true, help: 'Each of 16 experts split into m experts of 1/m the width; top-2 becomes top-2m.' },
  ],
  cells: [
    cell('prompt', ['promptLength', 'seed'], (n: number, seed: number) => promptIds(n, TINY_RAW.vocab_size, seed), { kind: 'derived', detail: 'token ids' }),
    cell('model', ['seed', 'experts', 'backend'], (seed: number, E: number, backend: Backend) => routingModel(seed, E, backend),
      { kind: 'engine', detail: 'initModel(tinyConfig({ n_routed_experts }), { seed })' }),
    cell('captured', ['model', 'prompt'], (model: Model, prompt: number[]) => captured(model, prompt),
      { kind: 'engine', detail: 'model.forward(prompt, { trace: true }), router logits u_t · e_i kept as the engine computed them' }),
    cell('choice', ['experts', 'topk', 'n_group', 'topk_group', 'routed_scaling_factor', 'normalise', 'scoring', 'groupLimit'],
      (E: number, topk: number, nGroup: number, topkGroup: number, scaling: number, normalise: boolean, scoring: 'sigmoid' | 'softmax', groupLimit: boolean) =>
        routerChoice({ E, topk, nGroup, topkGroup, scaling, normalise, scoring, groupLimit }),
      { kind: 'derived', detail: 'RouterSettings from the sliders, clamped as config validation requires' }),
    cell('expertIndex', ['expert', 'experts'], (expert: number, E: number) => Math.min(expert, E - 1), { kind: 'derived', detail: 'the expert slider, clamped to the experts the model has' }),
    cell('biasChoice', ['captured', 'useBias', 'expert', 'expertIndex', 'biasShift'], (cap: Captured, useBias: boolean, expert: number, j: number, shift: number): BiasChoice => {
      const E = cap.bias.length;
      let bias: Float32Array | null = null;
      if (useBias) {
        bias = Float32Array.from(cap.bias);
        bias[j] += shift;
      }
      return { bias, b0: cap.bias, expert: j, shift, clamp: j !== expert ? { value: `expert ${expert} \u2192 ${j}`, note: `the model has ${E} routed experts` } : null };
    }, { kind: 'engine', detail: 'the model\'s mlp.gate.e_score_correction_bias, one entry shifted' }),
    cell('routings', ['captured', 'choice', 'biasChoice'], (cap: Captured, ch: RouterChoice, b: BiasChoice): Routings => {
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
    }, { kind: 'engine', detail: 'route(logits, T, bias, settings), the engine\'s router' }),

    // ---------------------------------------------------------- the MoE layer
    cell('layerStats', ['captured', 'model'], (cap: Captured, model: Model): StatsData => {
      const cfg = model.config, moe = model.weights.layers[cap.layer].moe!;
      const perExpert = moe.experts[0].gate.length + moe.experts[0].up.length + moe.experts[0].down.length;
      const shared = moe.shared ? moe.shared.gate.length + moe.shared.up.length + moe.shared.down.length : 0;
      return {
        kind: 'stats',
        items: [
          { label: 'MoE layer', value: `layer ${cap.layer}`, note: `model.layers.${cap.layer}.mlp; ${cfg.first_k_dense_replace === 1 ? 'layer 0 is' : `layers 0..${cfg.first_k_dense_replace - 1} are`} dense (first_k_dense_replace = ${cfg.first_k_dense_replace})` },
          { label: 'Routed experts N_r', value: cfg.n_routed_experts!, note: `each a SwiGLU FFN of width ${moe.experts[0].width}: ${perExpert.toLocaleString('en-US')} weights` },
          { label: 'Shared experts N_s (always run)', value: cfg.n_shared_experts, note: moe.shared ? `one SwiGLU FFN of width ${moe.shared.width}: ${shared.toLocaleString('en-US')} weights` : 'none' },
          { label: 'Gate weight e_i (mlp.gate.weight)', value: `${cfg.n_routed_experts} x ${cfg.hidden_size}` },
          { label: 'route() on the captured logits reproduces the forward pass\'s routing', value: cap.reproduces ? 'yes, bit for bit' : 'NO', note: `with the model's own settings: top-${cfg.num_experts_per_tok}, ${cfg.n_group} groups, keep ${cfg.topk_group}` },
        ],
      };
    }, { kind: 'engine' }),

    // ---------------------------------------------------------- scores, choice, weights
    cell('scoresMap', ['routings', 'choice', 'captured'], (r: Routings, ch: RouterChoice, cap: Captured): HeatmapData =>
      routeHeatmap(r.main.scores, r.main, ch.main, ch, cap.prompt, ch.main.scoring_func === 'sigmoid' ? 's = sigmoid(u · e)' : 's = softmax(u · e)'),
    { kind: 'engine', detail: 'Routing.scores, .experts, .groups from route()' }),
    cell('weightsMap', ['routings', 'choice', 'captured'], (r: Routings, ch: RouterChoice, cap: Captured): HeatmapData => {
      const E = ch.main.n_routed_experts, Ns = cap.model.config.n_shared_experts, T = r.main.tokens, C = E + Ns;
      const w = denseWeights(r.main, E);
      const values = new Float32Array(T * C);
      const marks: [number, number][] = [];
      for (let t = 0; t < T; t++) {
        values.set(w.subarray(t * E, (t + 1) * E), t * C);
        for (let i = 0; i < Ns; i++) { values[t * C + E + i] = 1; marks.push([t, E + i]); }
        for (const e of r.main.experts[t]) marks.push([t, e]);
      }
      return {
        kind: 'heatmap',
        rows: T,
        cols: C,
        values,
        rowLabels: tokenLabels(cap.prompt),
        colLabels: [...expertLabels(E, ch.groupSize, isGrouped(ch.main)), ...Array.from({ length: Ns }, (_, i) => `shared ${i + 1}`)],
        rowTitle: 'token (position: id)',
        colTitle: `expert (routed, then shared)`,
        scale: 'sequential',
        marks: { cells: marks, label: 'runs for this token: its chosen routed experts and every shared expert' },
        valueLabel: 'gate weight g (shared: 1)',
        digits: 3,
      };
    }, { kind: 'engine', detail: 'Routing.weights from route(); shared experts enter with weight 1 (moeForward)' }),
    cell('routerStats', ['routings', 'choice', 'captured', 'biasChoice'], (r: Routings, ch: RouterChoice, cap: Captured, b: BiasChoice): StatsData => {
      const s = ch.main, T = r.main.tokens;
      const sums = r.main.weights.map((w) => w.reduce((a, x) => a + x, 0));
      const load = expertLoad(r.main, s.n_routed_experts);
      const idle = load.filter((l) => l === 0).length;
      const items: StatsData['items'] = [
        { label: 'Router in effect', value: `${s.scoring_func}, ${s.topk_method}`, note: `top-${s.num_experts_per_tok} of ${s.n_routed_experts}; ${isGrouped(s) ? `${s.n_group} groups, keep ${s.topk_group}` : 'no group limit'}; ${usesBias(s) && b.bias ? 'bias used to choose' : 'no bias'}` },
        { label: 'Gate weights per token, summed', value: `${fmt(Math.min(...sums))} .. ${fmt(Math.max(...sums))}`, note: s.norm_topk_prob ? `normalised: each row sums to routed_scaling_factor = ${s.routed_scaling_factor}` : `not normalised: routed_scaling_factor x the sum of the chosen scores` },
        { label: 'Experts no token chose', value: idle, unit: `of ${s.n_routed_experts}`, note: `${T} tokens x ${s.num_experts_per_tok} = ${T * s.num_experts_per_tok} routed activations` },
        { label: 'Shared experts, run by every token', value: cap.model.config.n_shared_experts },
      ];
      for (const c of ch.clamps) items.push({ label: 'Clamped', value: c.value, note: c.note });
      return { kind: 'stats', items };
    }, { kind: 'engine' }),

    // ---------------------------------------------------------- the bias
    cell('choiceMap', ['routings', 'choice', 'captured'], (r: Routings, ch: RouterChoice, cap: Captured): HeatmapData =>
      routeHeatmap(r.main.choiceScores, r.main, ch.main, ch, cap.prompt, usesBias(ch.main) ? 'choice score s + b' : 'choice score (= s: no bias)'),
    { kind: 'engine', detail: 'Routing.choiceScores from route()' }),
    cell('sweep', ['captured', 'choice', 'expertIndex', 'useBias'], (cap: Captured, ch: RouterChoice, j: number, useBias: boolean): Sweep => {
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
    }, { kind: 'engine', detail: 'route() on one token at a time, bisecting over the shifts of b_j' }),
    cell('biasSweep', ['sweep', 'biasShift'], (sw: Sweep, shift: number): LineChartData => {
      const j = sw.expert;
      const series: LineChartData['series'] = [{ name: `tokens choosing expert ${j}`, points: sw.chosen }];
      if (sw.grouped) series.push({ name: `tokens keeping expert ${j}'s group`, points: sw.eligible, style: 'dashed' });
      return { kind: 'line', series, xLabel: `shift added to b_${j}`, yLabel: 'tokens', markers: [{ x: shift, label: 'now' }] };
    }, { kind: 'engine', detail: 'route() on one token at a time, bisecting over the shifts of b_j' }),
    cell('loadBars', ['routings', 'choice', 'biasChoice'], (r: Routings, ch: RouterChoice, b: BiasChoice): BarChartData => {
      const E = ch.main.n_routed_experts;
      const now = expertLoad(r.main, E), before = expertLoad(r.unshifted, E);
      const shifted = b.shift !== 0 && b.bias !== null;
      return {
        kind: 'bar',
        categories: Array.from({ length: E }, (_, e) => String(e)),
        series: shifted
          ? [{ name: 'the model\'s own b', values: before }, { name: `b_${b.expert} shifted by ${b.shift > 0 ? '+' : ''}${b.shift.toFixed(2)}`, values: now }]
          : [{ name: b.bias ? 'the model\'s own b' : 'no bias', values: now }],
        yLabel: 'tokens routed to the expert',
        highlight: { category: String(b.expert), label: `expert ${b.expert}, the one whose bias moves` },
      };
    }, { kind: 'engine', detail: 'tokens per expert from route()' }),
    cell('biasStats', ['routings', 'choice', 'biasChoice'], (r: Routings, ch: RouterChoice, b: BiasChoice): StatsData => {
      const j = b.expert;
      const count = (x: Routing) => x.experts.filter((e) => e.includes(j)).length;
      let maxDiff = 0;
      for (let i = 0; i < r.main.scores.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r.main.choiceScores[i] - r.main.scores[i]));
      // The weight of j where chosen, against its unbiased score normalised over the chosen.
      const items: StatsData['items'] = [
        { label: `b_${j}`, value: b.bias ? fmt(b.bias[j], 3) : 'off', note: `the model's own b_${j} = ${fmt(b.b0[j], 3)}${b.shift ? `, shifted by ${b.shift > 0 ? '+' : ''}${b.shift.toFixed(2)}` : ''}` },
        { label: `Tokens choosing expert ${j}`, value: count(r.main), unit: `of ${r.main.tokens}`, note: b.shift && b.bias ? `${count(r.unshifted)} with the unshifted bias` : undefined },
        { label: 'Largest |c - s| (what the bias moved)', value: maxDiff, format: 'sci', digits: 2 },
      ];
      if (!usesBias(ch.main)) items.push({ label: 'Bias ignored', value: 'softmax router', note: 'DeepSeek-V2\'s router (group_limited_greedy) has no correction bias; route() uses it only with noaux_tc' });
      else if (!b.bias) items.push({ label: 'Bias off', value: 'c = s', note: 'route() was given no bias' });
      if (b.clamp) items.push({ label: 'Clamped', value: b.clamp.value, note: b.clamp.note });
      return { kind: 'stats', items };
    }, { kind: 'engine' }),

    // ---------------------------------------------------------- groups, token by token
    cell('tokenIndex', ['token', 'prompt'], (token: number, prompt: number[]) => Math.min(token, prompt.length) - 1, { kind: 'derived', detail: 'the token slider, clamped to the prompt' }),
    cell('explainTable', ['routings', 'choice', 'tokenIndex', 'captured'], (r: Routings, ch: RouterChoice, t: number, cap: Captured): TableData => {
      const s = ch.main, E = s.n_routed_experts, grouped = isGrouped(s), size = E / s.n_group, K = s.num_experts_per_tok;
      const row = r.main.scores.subarray(t * E, (t + 1) * E), c = r.main.choiceScores.subarray(t * E, (t + 1) * E);
      const kept = new Set(r.main.groups[t]);
      const gScore = grouped ? groupScoresOf(r.main, t, s.n_group) : [];
      const gRank = grouped ? topKIndices(gScore, s.n_group) : [];
      const eligible = topKIndices(c, E, (e) => kept.has(Math.floor(e / size)));
      const rows = topKIndices(c, E).map((e) => {
        const g = Math.floor(e / size);
        const k = r.main.experts[t].indexOf(e);
        const rank = eligible.indexOf(e) + 1;
        const gr = gRank.indexOf(g) + 1;
        let why: string;
        if (k >= 0) why = 'chosen';
        else if (!kept.has(g)) why = 'group dropped';
        else why = `not in the top ${K}`;
        return {
          expert: grouped ? `${e} (g${g})` : String(e),
          s: fmt(row[e]),
          b: fmt(c[e] - row[e]),
          c: fmt(c[e]),
          groupScore: grouped ? `${fmt(gScore[g])} (${ordinal(gr)})` : '-',
          rank: rank > 0 ? rank : '-',
          weight: k >= 0 ? fmt(r.main.weights[t][k]) : '0',
          why,
        };
      });
      return {
        kind: 'table',
        caption: `Token ${t + 1} (id ${cap.prompt[t]}), every routed expert by choice score s + b; chosen: ${r.main.experts[t].join(', ')}. ${grouped ? (s.topk_method === 'noaux_tc' ? 'Group score: the sum of the group\'s two largest s + b.' : 'Group score: the group\'s largest s.') : 'No group limit: every expert is eligible.'}`,
        columns: [
          { key: 'expert', label: grouped ? 'Expert (group)' : 'Expert' },
          { key: 's', label: 's', align: 'right' },
          { key: 'b', label: 'b', align: 'right' },
          { key: 'c', label: 's + b', align: 'right' },
          { key: 'groupScore', label: 'Group score (rank)', align: 'right' },
          { key: 'rank', label: 'Rank', align: 'right' },
          { key: 'weight', label: 'Weight g', align: 'right' },
          { key: 'why', label: 'Why' },
        ],
        rows,
      };
    }, { kind: 'engine', detail: 'scores, kept groups, group scores, chosen experts and weights from route(); ranks derived from them' }),
    cell('groupStats', ['routings', 'choice', 'tokenIndex', 'token'], (r: Routings, ch: RouterChoice, t: number, token: number): StatsData => {
      const s = ch.main, grouped = isGrouped(s);
      let consistent = true;
      if (grouped) {
        r.main.groups.forEach((kept, i) => {
          const mine = topKIndices(groupScoresOf(r.main, i, s.n_group), s.topk_group).sort((a, b) => a - b);
          if (mine.join() !== kept.join()) consistent = false;
        });
      }
      const items: StatsData['items'] = [
        { label: `Token ${t + 1}: kept groups`, value: grouped ? r.main.groups[t].map((g) => `g${g}`).join(', ') : 'all (no group limit)', note: grouped ? `${s.topk_group} of ${s.n_group} groups, ${s.topk_group * (s.n_routed_experts / s.n_group)} eligible experts` : undefined },
        { label: `Token ${t + 1}: chosen experts`, value: r.main.experts[t].join(', '), note: `weights ${r.main.weights[t].map((w) => fmt(w)).join(', ')}` },
      ];
      if (grouped) items.push({ label: 'Group scores in the table rank the groups as route() kept them', value: consistent ? 'yes, every token' : 'NO' });
      if (t + 1 !== token) items.push({ label: 'Clamped', value: `token ${token} \u2192 ${t + 1}`, note: `the prompt has ${t + 1} tokens` });
      for (const c of ch.clamps) items.push({ label: 'Clamped', value: c.value, note: c.note });
      return { kind: 'stats', items };
    }, { kind: 'engine' }),

    // ---------------------------------------------------------- nodes
    cell('nodeMap', ['routings', 'choice', 'captured'], (r: Routings, ch: RouterChoice, cap: Captured) => nodeHeatmap(r.limited, r.free, ch, cap.prompt),
      { kind: 'engine', detail: 'route() with the group limit and with one group, chosen experts per node counted' }),
    cell('nodeBars', ['routings', 'choice'], (r: Routings, ch: RouterChoice): BarChartData => {
      const G = ch.nGroup;
      const hist = (n: number[]) => Array.from({ length: G }, (_, i) => n.filter((x) => x === i + 1).length);
      return {
        kind: 'bar',
        categories: Array.from({ length: G }, (_, i) => `${i + 1} node${i ? 's' : ''}`),
        series: [
          { name: `group-limited (at most ${ch.topkGroup} node${ch.topkGroup > 1 ? 's' : ''})`, values: hist(nodesPerToken(r.limited, ch.groupSize)) },
          { name: 'unrestricted', values: hist(nodesPerToken(r.free, ch.groupSize)) },
        ],
        yLabel: 'tokens',
        highlight: { category: `${ch.topkGroup} node${ch.topkGroup > 1 ? 's' : ''}`, label: `the limit M = ${ch.topkGroup}` },
      };
    }, { kind: 'engine', detail: 'distinct nodes per token, from route()' }),
    cell('nodeStats', ['routings', 'choice'], (r: Routings, ch: RouterChoice): StatsData => {
      const lim = nodesPerToken(r.limited, ch.groupSize), free = nodesPerToken(r.free, ch.groupSize);
      const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
      const E = ch.main.n_routed_experts;
      const affinity = (x: Routing) => x.experts.reduce((acc, chosen, t) => acc + chosen.reduce((a, e) => a + x.scores[t * E + e], 0), 0);
      const changed = r.limited.experts.filter((e, t) => [...e].sort((a, b) => a - b).join() !== [...r.free.experts[t]].sort((a, b) => a - b).join()).length;
      const items: StatsData['items'] = [
        { label: 'Cross-node messages, group-limited', value: sum(lim), note: `${(sum(lim) / lim.length).toFixed(2)} nodes per token, at most ${Math.max(...lim)}` },
        { label: 'Cross-node messages, unrestricted', value: sum(free), note: `${(sum(free) / free.length).toFixed(2)} nodes per token, at most ${Math.max(...free)}` },
        { label: 'Traffic saved by the limit', value: sum(free) ? 1 - sum(lim) / sum(free) : 0, format: 'percent' },
        { label: 'Tokens whose experts the limit changed', value: changed, unit: `of ${lim.length}` },
        { label: 'Affinity kept (sum of chosen s, limited / unrestricted)', value: affinity(r.limited) / affinity(r.free), format: 'percent', digits: 4 },
      ];
      if (ch.nGroup === 1) items.push({ label: 'One node', value: 'nothing to limit', note: 'raise n_group' });
      if (ch.limited.num_experts_per_tok !== ch.main.num_experts_per_tok) items.push({ label: 'Top-k for this comparison', value: ch.limited.num_experts_per_tok, note: `the ${ch.topkGroup} kept groups hold only ${ch.topkGroup * ch.groupSize} experts` });
      return { kind: 'stats', items };
    }, { kind: 'engine' }),

    // ---------------------------------------------------------- fine-grained segmentation
    cell('segRuns', ['seed', 'backend'], (seed: number, backend: Backend) => {
      const prompt = promptIds(SEG_PROMPT, TINY_RAW.vocab_size, seed);
      // The split models share every weight below the MoE layer's router with the unsplit one, so
      // they see the same u_t: only the m = 1 model runs; the others route its captured u_t.
      const base = captured(segmentedModel(seed, 1, backend), prompt);
      return SEG_M.map((m) => ({ m, cap: m === 1 ? base : captured(segmentedModel(seed, m, backend), prompt, base) }));
    },
    { kind: 'engine', detail: 'initModel(tinyConfig({ n_routed_experts: 16m, num_experts_per_tok: 2m, moe_intermediate_size: 24/m })); the m = 1 model runs with trace, each model\'s router routes its u_t' }),
    cell('combosChart', ['m'], (m: number): LineChartData => ({
      kind: 'line',
      series: [
        { name: `C(${SEG_N}m, ${SEG_K}m): split and activate m x K`, points: Array.from({ length: 8 }, (_, i) => ({ x: i + 1, y: Number(binomial(SEG_N * (i + 1), SEG_K * (i + 1))) })) },
        { name: `C(${SEG_N}m, ${SEG_K}): split, still top-${SEG_K}`, points: Array.from({ length: 8 }, (_, i) => ({ x: i + 1, y: Number(binomial(SEG_N * (i + 1), SEG_K)) })), style: 'dashed' },
      ],
      xLabel: 'segmentation factor m',
      yLabel: 'possible expert combinations per token',
      yScale: 'log',
      yFormat: 'si',
      markers: [{ x: m, label: `m = ${m}` }],
    }), { kind: 'derived', detail: 'exact binomial coefficients (BigInt)' }),
    cell('segTable', ['segRuns', 'm'], (runs: { m: number; cap: Captured }[], m: number): TableData => {
      const cols = runs.map(({ m: mm, cap }) => {
        const moe = cap.model.weights.layers[cap.layer].moe!;
        const cfg = cap.model.config, E = cfg.n_routed_experts!, k = cfg.num_experts_per_tok;
        const size = (x: { gate: Float32Array; up: Float32Array; down: Float32Array }) => x.gate.length + x.up.length + x.down.length;
        const load = expertLoad(cap.traced, E);
        const sets = new Set(cap.traced.experts.map((e) => [...e].sort((a, b) => a - b).join())).size;
        return {
          key: `m${mm}`,
          label: mm === m ? `m = ${mm} (shown)` : `m = ${mm}`,
          values: {
            E: String(E),
            k: String(k),
            width: String(moe.experts[0].width),
            params: moe.experts.reduce((a, x) => a + size(x), 0).toLocaleString('en-US'),
            active: (k * size(moe.experts[0])).toLocaleString('en-US'),
            combos: groupDigits(binomial(E, k)),
            sets: `${sets} of ${cap.tokens}`,
            used: `${load.filter((l) => l > 0).length} of ${E}`,
            entropy: `${(100 * entropyBits(load) / Math.log2(E)).toFixed(1)}%`,
          } as Record<string, string>,
        };
      });
      const rows: [string, string][] = [
        ['E', 'Routed experts mN'],
        ['k', 'Experts per token mK'],
        ['width', 'Expert width (moe_intermediate_size)'],
        ['params', 'Routed expert weights in the layer'],
        ['active', 'Routed weights run per token'],
        ['combos', 'Possible expert sets C(mN, mK)'],
        ['sets', 'Distinct expert sets among the tokens'],
        ['used', 'Experts used by some token'],
        ['entropy', 'Load entropy / log2(mN)'],
      ];
      return {
        kind: 'table',
        caption: `${SEG_N} experts of width ${SEG_W}, top-${SEG_K}, each split into m. Every column is a model the engine built (its own seeded experts and router) routing the same ${runs[0].cap.tokens}-token prompt: the models share every weight below the router, so the m = 1 model runs and each router routes its u_t (V3 router, no group limit).`,
        columns: [{ key: 'what', label: 'Quantity' }, ...cols.map((c) => ({ key: c.key, label: c.label, align: 'right' as const }))],
        rows: rows.map(([key, label]) => ({ what: label, ...Object.fromEntries(cols.map((c) => [c.key, c.values[key]])) })),
      };
    }, { kind: 'engine', detail: 'weights counted in each model, routing from its forward trace' }),
    cell('segMap', ['segRuns', 'm'], (runs: { m: number; cap: Captured }[], m: number): HeatmapData => {
      const cap = runs.find((r) => r.m === m)!.cap, r = cap.traced, E = cap.model.config.n_routed_experts!;
      return {
        kind: 'heatmap',
        rows: r.tokens,
        cols: E,
        values: r.scores,
        rowLabels: tokenLabels(cap.prompt),
        colLabels: Array.from({ length: E }, (_, e) => String(e)),
        rowTitle: 'token (position: id)',
        colTitle: `routed expert (${E} of width ${SEG_W / m})`,
        scale: 'sequential',
        marks: { cells: chosenCells(r), label: `chosen: top ${cap.model.config.num_experts_per_tok} by s + b` },
        valueLabel: 's = sigmoid(u · e)',
        digits: 3,
      };
    }, { kind: 'engine', detail: 'trace[1].routing of the segmented model' }),
    cell('segLoad', ['segRuns', 'm'], (runs: { m: number; cap: Captured }[], m: number): LineChartData => ({
      kind: 'line',
      series: runs.map(({ m: mm, cap }) => {
        const E = cap.model.config.n_routed_experts!;
        const load = expertLoad(cap.traced, E).sort((a, b) => b - a);
        const mean = load.reduce((a, b) => a + b, 0) / E;
        return { name: `m = ${mm} (${E} experts)${mm === m ? ', shown above' : ''}`, points: load.map((l, i) => ({ x: (i + 0.5) / E, y: l / mean })) };
      }),
      xLabel: 'experts, busiest first (fraction of all experts)',
      yLabel: 'load / mean load',
    }), { kind: 'engine', detail: 'tokens per expert from each model\'s routing' }),

    // ---------------------------------------------------------- formula scope
    cell('scope', ['routings', 'captured', 'biasChoice', 'choice'], (r: Routings, cap: Captured, b: BiasChoice, ch: RouterChoice) => {
      const T = cap.tokens, E = ch.main.n_routed_experts, d = cap.model.config.hidden_size;
      const chosen = new Float32Array(T * E);
      chosen.fill(0);
      r.main.experts.forEach((es, t) => es.forEach((e) => { chosen[t * E + e] = 1; }));
      return {
        s: rowsOf(r.main.scores, T, E),
        c: rowsOf(r.main.choiceScores, T, E),
        w: rowsOf(denseWeights(r.main, E), T, E),
        chosen: rowsOf(chosen, T, E),
        bias: Array.from(b.bias ?? new Float32Array(E)),
        b0: Array.from(b.b0),
        logits: rowsOf(cap.logits, T, E),
        u: rowsOf(cap.u, T, d),
        Wg: rowsOf(cap.gate, E, d),
        rsf: ch.main.routed_scaling_factor,
        K: ch.main.num_experts_per_tok,
      };
    }, { kind: 'engine' }),
  ],
  sections: [
    {
      id: 'moe-layer',
      title: 'A DeepSeekMoE layer',
      prose: `From its fourth layer on, DeepSeek-V3 replaces the feed-forward network with DeepSeekMoE ([DeepSeek-V3 §2.1.2](https://arxiv.org/abs/2412.19437)). For the FFN input $u_t$ of token $t$, $N_s$ **shared** experts always run and $K_r$ of $N_r$ **routed** experts run, each scaled by a gate value $g_{i,t}$:

$$h'_t = u_t + \\sum_{i=1}^{N_s} \\mathrm{FFN}^{(s)}_i(u_t) + \\sum_{i=1}^{N_r} g_{i,t}\\, \\mathrm{FFN}^{(r)}_i(u_t).$$

Every expert is a small SwiGLU FFN. DeepSeek-V3 has $N_s = ${V3.n_shared_experts}$, $N_r = ${V3.n_routed_experts}$, $K_r = ${V3.num_experts_per_tok}$ experts of width ${V3.moe_intermediate_size} (its config.json). The tiny model here has $d = ${TINY_RAW.hidden_size}$, one dense layer, then one MoE layer with $N_s = ${TINY_RAW.n_shared_experts}$ and $N_r$ routed experts of width ${TINY_RAW.moe_intermediate_size}. (In the code $u_t$ is the RMSNorm of the residual stream and the residual added back is the stream itself.)

The engine runs the prompt through the model with \`model.forward(tokens, { trace: true })\`. The lesson keeps the router logits $u_t^\\top e_i$ exactly as the engine computed them inside that pass, and calls the engine's router, \`route(logits, tokens, bias, settings)\`, on them again whenever a slider below changes a routing setting. Only the number of experts and the seed re-initialise the model.`,
      controls: ['seed', 'promptLength', 'experts'],
      views: [{ cell: 'layerStats', title: 'The MoE layer of the tiny model', caption: 'The last line is the check that routing again from the captured logits is the model\'s own routing.' }],
    },
    {
      id: 'scores',
      title: 'Affinities, top-k and gate weights',
      prose: `Each routed expert $i$ has a centroid $e_i$, a row of \`mlp.gate.weight\`. DeepSeek-V3 scores token $t$ against each with a sigmoid, keeps the $K_r$ best, and normalises the kept scores:

$$s_{i,t} = \\mathrm{Sigmoid}(u_t^\\top e_i),$$

$$g'_{i,t} = \\begin{cases} s_{i,t}, & s_{i,t} + b_i \\in \\mathrm{Topk}(\\{ s_{j,t} + b_j \\mid 1 \\le j \\le N_r \\}, K_r), \\\\ 0, & \\text{otherwise,} \\end{cases}$$

$$g_{i,t} = \\frac{g'_{i,t}}{\\sum_{j=1}^{N_r} g'_{j,t}}.$$

The released code then multiplies $g_{i,t}$ by \`routed_scaling_factor\` (${V3.routed_scaling_factor} in DeepSeek-V3's config.json), so each token's gate weights add up to that factor, not to 1. DeepSeek-V2 instead took a softmax over all experts, $s_{i,t} = \\mathrm{Softmax}_i(u_t^\\top e_i)$, and used the top-$K_r$ scores unnormalised (its config: \`norm_topk_prob\` ${V2.norm_topk_prob}, \`routed_scaling_factor\` ${V2.routed_scaling_factor}). A sigmoid scores each expert on its own; a softmax makes all $N_r$ compete for one unit of mass, so its scores shrink as $N_r$ grows.

Outlined cells are the chosen experts; hatched ones sit in a group the token may not use (next sections). Hover or focus a cell (arrow keys move) to read its number.`,
      controls: ['topk', 'routed_scaling_factor', 'normalise', 'scoring'],
      views: [
        { cell: 'scoresMap', title: 'Scores s (tokens x routed experts), chosen experts outlined', caption: 'The engine\'s Routing.scores. A chosen cell is not always the largest of its row: the bias and the group limit also decide.' },
        { cell: 'weightsMap', title: 'Gate weights g, and the shared expert', caption: 'Zero where an expert was not chosen. The last column is the shared expert: no gate, weight 1, every token.' },
        { cell: 'routerStats', title: 'The router in effect' },
      ],
      after: 'The weights come from the unbiased scores $s_{i,t}$: the bias of the next section changes *which* experts run, never how much each one counts.',
    },
    {
      id: 'bias',
      title: 'The bias chooses, it does not weigh',
      prose: `DeepSeek-V3 balances its experts without an auxiliary loss: each routed expert carries a bias $b_i$ (\`e_score_correction_bias\`) that is added to its score only to choose, $s_{i,t} + b_i$ in the Topk above. During training $b_i$ is lowered by $\\gamma$ when expert $i$ is overloaded and raised when it is underloaded (lesson 5 trains this). The tiny model's $b$ is not trained: the engine initialises it uniformly in $[-0.05, 0.05]$.

Pick an expert $j$ and shift its bias. A positive shift pulls tokens to it, a negative one pushes them away, and the gate weights of the chosen experts still come from the unbiased $s$.`,
      controls: ['useBias', 'expert', 'biasShift'],
      views: [
        { cell: 'choiceMap', title: 'Choice scores c = s + b, chosen experts outlined', caption: 'Routing.choiceScores: what the router ranks. Column j moves as a whole when you shift b_j.' },
        { cell: 'biasSweep', title: 'Tokens sent to expert j as its bias shifts', caption: 'Counted with route() on the same logits at 41 shifts. With the group limit, the bias also lifts its group\'s score and can keep the group (dashed).' },
        { cell: 'loadBars', title: 'Tokens per expert', caption: 'The outlined expert is j. Tokens it gains come from other experts: each token still runs exactly K_r routed experts.' },
        { cell: 'biasStats', title: 'Expert j' },
      ],
    },
    {
      id: 'groups',
      title: 'Group-limited routing, one token at a time',
      prose: `DeepSeek-V3's code (\`topk_method: noaux_tc\`) does not pick the top $K_r$ among all experts at once. It splits the $N_r$ experts into \`n_group\` equal groups, scores each group by the sum of its two largest $s_{j,t} + b_j$, keeps the \`topk_group\` best groups, and takes the top $K_r$ inside them only. DeepSeek-V2 (\`group_limited_greedy\`) scored a group by its largest softmax score. DeepSeek-V3 uses ${V3.n_group} groups and keeps ${V3.topk_group}.

The table goes through every expert for one token, by choice score: its group's score, whether the group was kept, its rank among the eligible experts, and whether it made the top $K_r$. An expert with a high score can lose because its group lost.`,
      controls: ['groupLimit', 'n_group', 'topk_group', 'token'],
      views: [
        { cell: 'groupStats', title: 'The chosen token' },
        { cell: 'explainTable', title: 'Why each expert was or was not chosen' },
      ],
      after: 'Kept groups, chosen experts and weights are route()\'s. The group scores and ranks in the table are worked out here from route()\'s choice scores; the stat above checks they keep the same groups route() kept, for every token.',
    },
    {
      id: 'nodes',
      title: 'Node-limited routing: fewer nodes per token',
      prose: `Why groups? In training, DeepSeek-V3's experts are spread over many GPUs, and a token's hidden state must travel to every node that hosts one of its experts (over InfiniBand between nodes, NVLink inside one). Node-limited routing caps that: each token is sent to at most $M$ nodes, chosen by the sum of the highest $K_r/M$ affinities on each node (DeepSeek-V3 §2.1.2; $M = ${V3.topk_group}$, so with $K_r = ${V3.num_experts_per_tok}$ the top ${V3.num_experts_per_tok / V3.topk_group}). With one group per node that is exactly the group limit above: \`n_group\` nodes, \`topk_group\` $= M$. The engine sums the top two whatever the sliders, as DeepSeek-V3's code does.

Below, each group is a node. The same scores are routed twice by \`route()\`: with the group limit and without it (one group). A message is one token sent to one node; the charts count them.`,
      views: [
        { cell: 'nodeMap', title: 'Chosen experts per node: group-limited, then unrestricted', caption: 'Left, each token uses at most topk_group nodes (hatched: nodes it may not use); right, the same scores without the limit. Every outlined cell is one message.' },
        { cell: 'nodeBars', title: 'Nodes per token' },
        { cell: 'nodeStats', title: 'Messages and what the limit costs' },
      ],
      after: 'The limit trades a little affinity (the chosen scores add up to slightly less than the unrestricted best) for a hard bound on each token\'s cross-node traffic, which lets communication overlap with computation. The sliders of the previous section (groups, kept groups, top-k) change this picture too.',
    },
    {
      id: 'segmentation',
      title: 'Fine-grained experts and shared-expert isolation',
      prose: `DeepSeekMoE ([Dai et al., 2024](https://arxiv.org/abs/2401.06066)) makes experts small. **Fine-grained segmentation** splits each of $N$ experts into $m$ experts of $1/m$ the intermediate width and activates $mK$ instead of $K$: the same weights and the same work per token, but far more ways to combine experts, $\\binom{mN}{mK}$ instead of $\\binom{N}{K}$. The paper's example: $N = 16$ and top-2 give $\\binom{16}{2} = 120$ combinations; $m = 4$ gives $\\binom{64}{8} = 4{,}426{,}165{,}368$.

Here the engine builds each $m$ as a model of its own: $16m$ experts of width $24/m$, top-$2m$, the V3 router without group limit, the same seed and prompt. The table counts each model's weights and its routing of the prompt.`,
      controls: ['m'],
      views: [
        { cell: 'combosChart', title: 'Expert combinations a token can use (log scale)', caption: 'k = 10^3, M = 10^6, G = 10^9, T = 10^12, P = 10^15, E = 10^18. Splitting alone (dashed) adds little; splitting and activating m times as many is what multiplies the combinations.' },
        { cell: 'segTable', title: 'Same weights, same work, more combinations' },
        { cell: 'segMap', title: 'Scores of the segmented model (tokens x experts), chosen outlined' },
        { cell: 'segLoad', title: 'How the routing spreads over the experts', caption: 'Experts sorted by how many tokens they got, load over the mean (1 = even). A short prompt leaves many fine experts idle.' },
      ],
      after: `**Shared-expert isolation**, DeepSeekMoE's second idea, sets $K_s$ experts apart that every token runs, to hold common knowledge so the routed experts need not each keep a copy of it. To keep the work constant, the routed side then activates $mK - K_s$ of $mN - K_s$. DeepSeek-V3 keeps ${V3.n_shared_experts} shared expert next to ${V3.n_routed_experts} routed, ${V3.num_experts_per_tok} per token: $\\binom{${V3.n_routed_experts}}{${V3.num_experts_per_tok}} \\approx ${sciTex(binomial(V3.n_routed_experts!, V3.num_experts_per_tok))}$ combinations, before the group limit narrows them.`,
    },
    {
      id: 'limits',
      title: 'What the tiny model can and cannot show',
      prose: `Every score, choice and weight on this page is the engine's, computed the way DeepSeek-V3's code routes. But the tiny model is **untrained**: its centroids $e_i$ are random, so which expert a token prefers means nothing, no expert has specialised, and its bias is random noise rather than the outcome of load balancing. In a trained model the experts specialise (the DeepSeekMoE paper measures less redundancy among fine-grained experts than among coarse ones) and the bias is adjusted until every expert gets its share of tokens; lesson 5 (load balancing) trains a small MoE to show that part. What carries over unchanged is the mechanism: how scores, bias, groups, top-k and normalisation turn router logits into the experts that run and their weights, and what the group limit and fine-grained experts cost and buy.`,
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'sum(w[1, :])',
    examples: [
      'sum(w[1, :])',
      'max(abs(c - s))',
      'sum(chosen, 2)\'',
      'sum(chosen, 1)',
      'max(abs(sigmoid(u * Wg\') - s))',
      'max(abs(logits - u * Wg\'))',
      'sum(w .* chosen) / sum(chosen)',
    ],
    descriptions: {
      s: 'scores s = sigmoid (or softmax) of the router logits, tokens x routed experts',
      c: 'choice scores s + b (= s without bias), tokens x experts',
      w: 'gate weights g x routed_scaling_factor, zero where not chosen, tokens x experts',
      chosen: '1 where the expert was chosen for the token, else 0',
      bias: 'the bias route() used (b with b_j shifted; zeros when off)',
      b0: 'the model\'s own e_score_correction_bias',
      logits: 'router logits u_t · e_i as the engine computed them, tokens x experts',
      u: 'the MoE layer\'s input u_t, tokens x d',
      Wg: 'the gate weight (rows e_i), experts x d',
      rsf: 'routed_scaling_factor',
      K: 'experts per token in effect',
    },
  },
};
