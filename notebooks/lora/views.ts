// What the LoRA lesson draws: chart data from compute.ts's numbers, nothing recomputed.
import type { LineChartData, StatsData, TableData } from '$components/charts/types';
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

export function lossChart(s: RunState): LineChartData {
  return {
    kind: 'line',
    series: [
      { name: 'full fine-tuning', points: s.full.loss.map((y, i) => ({ x: i + 1, y })) },
      { name: 'LoRA', points: s.lora.loss.map((y, i) => ({ x: i + 1, y })), style: 'dashed' },
    ],
    xLabel: 'step',
    yLabel: 'training loss (nats per character, before the step)',
    xIntegers: true,
  };
}

export function timeStats(s: RunState): StatsData {
  const per = (ms: number, n: number) => (n > 0 ? ms / n : 0);
  return {
    kind: 'stats',
    items: [
      { label: 'steps done (both runs)', value: s.step },
      { label: 'LoRA: ms per step', value: per(s.lora.ms, s.lora.loss.length), digits: 1 },
      { label: 'full: ms per step', value: per(s.full.ms, s.full.loss.length), digits: 1 },
      { label: 'LoRA: last loss', value: s.lora.loss.at(-1) ?? NaN, digits: 3 },
      { label: 'full: last loss', value: s.full.loss.at(-1) ?? NaN, digits: 3 },
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
