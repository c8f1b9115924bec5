// What the LoRA lesson draws: chart data from compute.ts's numbers, nothing recomputed.
import type { LineChartData, StatsData, TableData } from '$components/charts/types';
import type { LoraState } from '$engine/train/lora';
import type { RunState } from './compute';

export function budgetTable(b: { lora: number; full: number; adapted: number }, r: number, alpha: number): TableData {
  // fp32 weights being trained: the value, its gradient, and Adam's m and v (4 bytes each)
  const bytes = (n: number) => 4 * 3 * n;
  return {
    kind: 'table',
    columns: [
      { key: 'method', label: 'method' },
      { key: 'trained', label: 'trained numbers', align: 'right', format: 'si' },
      { key: 'share', label: 'of the model', align: 'right', format: 'percent' },
      { key: 'memory', label: 'gradients + Adam state', align: 'right', format: 'bytes' },
    ],
    rows: [
      { method: 'full fine-tuning', trained: b.full, share: 1, memory: bytes(b.full) },
      { method: `LoRA, rank ${r} (update scale α/r = ${Number((alpha / r).toPrecision(3))})`, trained: b.lora, share: b.lora / b.full, memory: bytes(b.lora) },
      { method: 'the weights LoRA adapts', trained: b.adapted, share: b.adapted / b.full, memory: bytes(b.adapted) },
    ],
  };
}

/**
 * Bits per character on the whole new text after each step, minus the model's before fine-tuning
 * (step 0 is 0): both runs. Relative to the start, so a small change is not lost against an axis from 0.
 */
export function lossChart(s: RunState): LineChartData {
  const base = s.reports[0]?.baseText;
  const from = (y: (r: RunState['reports'][number]) => number) => (base === undefined ? [] : [
    { x: 0, y: 0 },
    ...s.reports.map((r, i) => ({ x: i + 1, y: y(r) - base })),
  ]);
  return {
    kind: 'line',
    series: [
      { name: 'full fine-tuning', points: from((r) => r.fullText) },
      { name: 'LoRA', points: from((r) => r.loraText), style: 'dashed' },
    ],
    xLabel: `step (${s.reports.length} of ${s.target}${s.done ? '' : ', training'})`,
    yLabel: 'change in bits per character on the whole new text',
    xIntegers: true,
  };
}

/** The training loss of each step's batch (before its update), both runs. */
export function batchLossChart(s: RunState): LineChartData {
  return {
    kind: 'line',
    series: [
      { name: 'full fine-tuning', points: s.reports.map((r, i) => ({ x: i + 1, y: r.full })) },
      { name: 'LoRA', points: s.reports.map((r, i) => ({ x: i + 1, y: r.lora })), style: 'dashed' },
    ],
    xLabel: `step (${s.reports.length} of ${s.target})`,
    yLabel: 'training loss of the step\'s batch (nats per character)',
    xIntegers: true,
  };
}

export function runStats(s: RunState): StatsData {
  const last = s.reports.at(-1);
  return {
    kind: 'stats',
    items: [
      { label: 'steps done (both runs)', value: s.reports.length },
      { label: 'base: bits / char on the text', value: last?.baseText ?? NaN, digits: 3 },
      { label: 'LoRA: bits / char on the text', value: last?.loraText ?? NaN, digits: 3 },
      { label: 'full: bits / char on the text', value: last?.fullText ?? NaN, digits: 3 },
    ],
  };
}

export function spectrumChart(sp: { lora: number[]; full: number[] }, r: number): LineChartData {
  const floor = 1e-12;
  return {
    kind: 'line',
    series: [
      { name: 'full fine-tuning ΔW', points: sp.full.map((y, i) => ({ x: i + 1, y: Math.max(y, floor) })) },
      { name: `LoRA ΔW = (α/r) B A`, points: sp.lora.map((y, i) => ({ x: i + 1, y: Math.max(y, floor) })), style: 'dashed' },
    ],
    xLabel: 'singular value index (largest first)',
    yLabel: 'singular value of the update (floor 1e-12)',
    yScale: 'log',
    xIntegers: true,
    markers: [{ x: r, label: `r = ${r}` }],
  };
}

export function mergeStats(m: { mergedVsBeside: number; mergedVsBase: number }): StatsData {
  return {
    kind: 'stats',
    items: [
      { label: 'merged vs base: max |Δ logit|', value: m.mergedVsBase, format: 'sci' },
      { label: 'merged vs adapters beside W: max |Δ logit|', value: m.mergedVsBeside, format: 'sci', note: 'float32 rounding' },
    ],
  };
}

export function samplesTable(rows: { model: string; text: string }[], prompt: string): TableData {
  const show = (t: string) => t.replace(/\n/g, '↵');
  return {
    kind: 'table',
    columns: [{ key: 'model', label: 'model' }, { key: 'text', label: `greedy continuation of "${show(prompt)}"` }],
    rows: rows.map((r) => ({ model: r.model, text: show(r.text) })),
  };
}

type Matrix = { rows: number; cols: number; data: Float32Array | Float64Array };

/** The formula box's names: one adapted weight's A, B and both updates, their singular values, the losses. */
export function formulaScope(adapters: LoraState, name: string, sp: { lora: number[]; full: number[]; rows: number; cols: number; dLora: Float64Array; dFull: Float64Array }, s: RunState): Record<string, number | number[] | Matrix> {
  const ad = adapters.adapters.find((a) => a.name === name)!;
  const R = adapters.r;
  return {
    A: { rows: R, cols: ad.in, data: adapters.data.slice(ad.a, ad.a + R * ad.in) },
    B: { rows: ad.out, cols: R, data: adapters.data.slice(ad.b, ad.b + ad.out * R) },
    s: adapters.alpha / R,
    r: R,
    dW_lora: { rows: sp.rows, cols: sp.cols, data: sp.dLora },
    dW_full: { rows: sp.rows, cols: sp.cols, data: sp.dFull },
    sv_lora: sp.lora,
    sv_full: sp.full,
    loss_lora: s.reports.map((x) => x.lora),
    loss_full: s.reports.map((x) => x.full),
    bpc_lora: s.reports.map((x) => x.loraText),
    bpc_full: s.reports.map((x) => x.fullText),
  };
}
