// What the expert-routing lesson draws: chart data built from the routings and captures engine.ts
// returns (scores, choice scores, kept groups and group scores, chosen experts, gate weights, load),
// and the formula box's scope. Nothing here routes or runs a model.
import { glyph } from '../_kit/tokens';
import type { BarChartData, HeatmapData, LineChartData, StatsData, TableData } from '$components/charts/types';
import type { Model } from '$engine/model';
import { type RouterSettings, type Routing, topKIndices } from '$engine/router';
import { type BiasChoice, type Routings, type SegRun, type Sweep, SEG_K, SEG_N, SEG_W } from './engine';
import { type Captured, type RouterChoice, binomial, denseWeights, entropyBits, expertLoad, groupDigits, isGrouped, rowsOf, usesBias } from './helpers';

const tokenLabels = (prompt: number[]) => prompt.map((id, t) => `${t + 1}: ${glyph(id)}`);
export const fmt = (x: number, d = 3) => (x < 0 ? '\u2212' : '') + Math.abs(x).toFixed(d);
const ordinal = (n: number) => `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;

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

export function layerStats(cap: Captured, model: Model): StatsData {
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
}

export function scoresMap(r: Routings, ch: RouterChoice, cap: Captured): HeatmapData {
  return routeHeatmap(r.main.scores, r.main, ch.main, ch, cap.prompt, ch.main.scoring_func === 'sigmoid' ? 's = sigmoid(u · e)' : 's = softmax(u · e)');
}

export function weightsMap(r: Routings, ch: RouterChoice, cap: Captured): HeatmapData {
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
}

export function routerStats(r: Routings, ch: RouterChoice, cap: Captured, b: BiasChoice): StatsData {
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
}

export function choiceMap(r: Routings, ch: RouterChoice, cap: Captured): HeatmapData {
  return routeHeatmap(r.main.choiceScores, r.main, ch.main, ch, cap.prompt, usesBias(ch.main) ? 'choice score s + b' : 'choice score (= s: no bias)');
}

export function biasSweep(sw: Sweep, shift: number): LineChartData {
  const j = sw.expert;
  const series: LineChartData['series'] = [{ name: `tokens choosing expert ${j}`, points: sw.chosen, steps: true }];
  if (sw.grouped) series.push({ name: `tokens keeping expert ${j}'s group`, points: sw.eligible, style: 'dashed', steps: true });
  return { kind: 'line', series, xLabel: `shift added to b_${j}`, yLabel: 'tokens', yIntegers: true, markers: [{ x: shift, label: 'now' }] };
}

export function loadBars(r: Routings, ch: RouterChoice, b: BiasChoice): BarChartData {
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
    yIntegers: true,
    highlight: { category: String(b.expert), label: `expert ${b.expert}, the one whose bias moves` },
  };
}

export function biasStats(r: Routings, ch: RouterChoice, b: BiasChoice): StatsData {
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
}

export function explainTable(r: Routings, ch: RouterChoice, t: number, cap: Captured): TableData {
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
    caption: `Token ${t + 1} (${glyph(cap.prompt[t])}), every routed expert by choice score s + b; chosen: ${r.main.experts[t].join(', ')}. ${grouped ? (s.topk_method === 'noaux_tc' ? 'Group score: the sum of the group\'s two largest s + b.' : 'Group score: the group\'s largest s.') : 'No group limit: every expert is eligible.'}`,
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
}

export function groupStats(r: Routings, ch: RouterChoice, t: number, token: number): StatsData {
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
}

export function nodeMap(r: Routings, ch: RouterChoice, cap: Captured) {
  return nodeHeatmap(r.limited, r.free, ch, cap.prompt);
}

export function nodeBars(r: Routings, ch: RouterChoice): BarChartData {
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
    yIntegers: true,
    highlight: { category: `${ch.topkGroup} node${ch.topkGroup > 1 ? 's' : ''}`, label: `the limit M = ${ch.topkGroup}` },
  };
}

export function nodeStats(r: Routings, ch: RouterChoice): StatsData {
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
}

export function combosChart(m: number): LineChartData {
  return {
  kind: 'line',
  series: [
    { name: `C(${SEG_N}m, ${SEG_K}m): split and activate m x K`, points: Array.from({ length: 8 }, (_, i) => ({ x: i + 1, y: Number(binomial(SEG_N * (i + 1), SEG_K * (i + 1))) })) },
    { name: `C(${SEG_N}m, ${SEG_K}): split, still top-${SEG_K}`, points: Array.from({ length: 8 }, (_, i) => ({ x: i + 1, y: Number(binomial(SEG_N * (i + 1), SEG_K)) })), style: 'dashed' },
  ],
  xLabel: 'segmentation factor m',
  xIntegers: true,
  yLabel: 'possible expert combinations per token',
  yScale: 'log',
  yFormat: 'si',
  markers: [{ x: m, label: `m = ${m}` }],
};
}

export function segTable(runs: SegRun[], m: number): TableData {
  const cols = runs.map((r) => {
    const { E, k } = r;
    const load = expertLoad(r.traced, E);
    const sets = new Set(r.traced.experts.map((e) => [...e].sort((a, b) => a - b).join())).size;
    return {
      key: `m${r.m}`,
      label: r.m === m ? `m = ${r.m} (shown)` : `m = ${r.m}`,
      values: {
        E: String(E),
        k: String(k),
        width: String(r.width),
        params: r.routedWeights.toLocaleString('en-US'),
        active: (k * r.expertWeights).toLocaleString('en-US'),
        combos: groupDigits(binomial(E, k)),
        sets: `${sets} of ${r.tokens}`,
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
    caption: `${SEG_N} experts of width ${SEG_W}, top-${SEG_K}, each split into m. Every column is a model the engine built (its own seeded experts and router) routing the same ${runs[0].tokens}-token prompt: the models share every weight below the router, so the m = 1 model runs and each router routes its u_t (V3 router, no group limit).`,
    columns: [{ key: 'what', label: 'Quantity' }, ...cols.map((c) => ({ key: c.key, label: c.label, align: 'right' as const }))],
    rows: rows.map(([key, label]) => ({ what: label, ...Object.fromEntries(cols.map((c) => [c.key, c.values[key]])) })),
  };
}

export function segMap(runs: SegRun[], m: number): HeatmapData {
  const run = runs.find((r) => r.m === m)!, r = run.traced, E = run.E;
  return {
    kind: 'heatmap',
    rows: r.tokens,
    cols: E,
    values: r.scores,
    rowLabels: tokenLabels(run.prompt),
    colLabels: Array.from({ length: E }, (_, e) => String(e)),
    rowTitle: 'token (position: id)',
    colTitle: `routed expert (${E} of width ${SEG_W / m})`,
    scale: 'sequential',
    marks: { cells: chosenCells(r), label: `chosen: top ${run.k} by s + b` },
    valueLabel: 's = sigmoid(u · e)',
    digits: 3,
  };
}

export function segLoad(runs: SegRun[], m: number): LineChartData {
  return {
  kind: 'line',
  series: runs.map((run) => {
    const E = run.E;
    const load = expertLoad(run.traced, E).sort((a, b) => b - a);
    const mean = load.reduce((a, b) => a + b, 0) / E;
    return { name: `m = ${run.m} (${E} experts)${run.m === m ? ', shown above' : ''}`, points: load.map((l, i) => ({ x: (i + 0.5) / E, y: l / mean })) };
  }),
  xLabel: 'experts, busiest first (fraction of all experts)',
  yLabel: 'load / mean load',
};
}

export function scope(r: Routings, cap: Captured, b: BiasChoice, ch: RouterChoice) {
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
}
