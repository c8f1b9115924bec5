// The closing note's swapped-layer figures: measured once over more held-out text than a page
// should compute live, by scripts/linear-swap.ts, into measured.json beside this file. The record
// names the weights it was measured on (SHA-256 of model.safetensors, and the model card's own
// bits per character): when the shipped model is replaced the lesson says the record is stale
// instead of showing numbers of another model (and tests/linear-measured.test.ts fails until the
// script is run again).
import type { TableData } from '$components/charts/types';
import type { DeepSeekConfig } from '$engine/config';
import { type VariantSpec, crossover, layerDecodeCost } from '$engine/linear';

/** The variants the script swaps in, with the labels of the record and the table. */
export const MEASURED_VARIANTS: { label: string; spec: VariantSpec }[] = [
  { label: 'linear elu+1', spec: { kind: 'linear', phi: 'elu1' } },
  { label: 'linear ReLU', spec: { kind: 'linear', phi: 'relu' } },
  { label: 'Performer m=64', spec: { kind: 'performer', features: 64, seed: 1 } },
  { label: 'Performer m=256', spec: { kind: 'performer', features: 256, seed: 1 } },
  { label: 'TransNormer', spec: { kind: 'normalised', phi: 'elu1' } },
  { label: 'block b=8', spec: { kind: 'block', block: 8 } },
  { label: 'block b=64', spec: { kind: 'block', block: 64 } },
  { label: 'FLASH C=8', spec: { kind: 'chunked', chunk: 8 } },
  { label: 'FLASH C=64', spec: { kind: 'chunked', chunk: 64 } },
];

export interface MeasuredRecord {
  command: string;
  model: string;
  weightsSha256: string;
  /** trained.stories.bits_per_char of the model's figures.json when it was measured. */
  cardBitsPerChar: number | null;
  text: string;
  unswapped: number;
  layers: { layer: number; bits: Record<string, number> }[];
  seconds: number;
}

/** Crossover contexts (tokens) of each caching attention against a linear-attention and an SSM layer, with the default options. */
export function crossovers(cfg: DeepSeekConfig): { growing: string; fixed: string; bytes: number | null; flops: number | null }[] {
  const rows = [];
  for (const g of ['MHA', 'GQA', 'MQA', 'MLA'] as const) {
    for (const f of ['linear', 'SSM'] as const) {
      const G = layerDecodeCost(cfg, g), F = layerDecodeCost(cfg, f);
      rows.push({ growing: g, fixed: f, bytes: crossover(G, F, 'bytes'), flops: crossover(G, F, 'flops') });
    }
  }
  return rows;
}

/** Why the record cannot be shown for the shipped model, or null when it belongs to it. */
export function staleness(rec: MeasuredRecord | null, shippedModel: string | null, cardBitsPerChar: number | null): string | null {
  const run = rec?.command ?? 'nice -n 15 npx tsx scripts/linear-swap.ts';
  if (!rec) return `No measurement is recorded yet: run \`${run}\`.`;
  if (!shippedModel || rec.model !== `static/models/${shippedModel}`) return `The record was measured on ${rec.model}, which is not the model shipped now: run \`${run}\` again.`;
  if (cardBitsPerChar !== rec.cardBitsPerChar) return `The shipped model was replaced after the record was measured (its card says ${cardBitsPerChar ?? 'nothing'} bits per character, the record's model ${rec.cardBitsPerChar}): run \`${run}\` again.`;
  return null;
}

export function measuredSwapTable(rec: MeasuredRecord | null, stale: string | null): TableData {
  if (!rec || stale) {
    return { kind: 'table', columns: [{ key: 'note', label: 'not measured for this model' }], rows: [{ note: stale ?? 'no record' }] };
  }
  return {
    kind: 'table',
    columns: [{ key: 'variant', label: 'attention swapped in' }, ...rec.layers.map((l) => ({ key: `l${l.layer}`, label: `layer ${l.layer}`, align: 'right' as const }))],
    rows: [
      { variant: 'softmax (as trained)', ...Object.fromEntries(rec.layers.map((l) => [`l${l.layer}`, rec.unswapped.toFixed(3)])) },
      ...MEASURED_VARIANTS.map(({ label }) => ({ variant: label, ...Object.fromEntries(rec.layers.map((l) => [`l${l.layer}`, l.bits[label]?.toFixed(3) ?? '-'])) })),
    ],
    caption: `${rec.model}, ${rec.text}. Unswapped: ${rec.unswapped.toFixed(3)} bits per character. Measured by \`${rec.command}\` (${Math.round(rec.seconds)} s on 2 cores), not live.`,
  };
}

/** The swaps that cost the least and the most, per layer, in words (for the closing note). */
export function swapSummary(rec: MeasuredRecord | null, stale: string | null): TableData {
  if (!rec || stale) return { kind: 'table', columns: [{ key: 'note', label: 'not measured for this model' }], rows: [{ note: stale ?? 'no record' }] };
  return {
    kind: 'table',
    columns: [
      { key: 'layer', label: 'layer swapped' },
      { key: 'best', label: 'closest to softmax', align: 'right' },
      { key: 'bestNoSoftmax', label: 'best without any softmax', align: 'right' },
      { key: 'worst', label: 'furthest', align: 'right' },
    ],
    rows: rec.layers.map((l) => {
      const entries = MEASURED_VARIANTS.map(({ label }) => [label, l.bits[label] ?? NaN] as const).filter(([, b]) => Number.isFinite(b));
      const byBits = [...entries].sort((a, b) => a[1] - b[1]);
      const noSoftmax = byBits.filter(([label]) => !label.startsWith('block'));
      const fmt = ([label, b]: readonly [string, number]) => `${label}: ${b - rec.unswapped >= 0 ? '+' : ''}${(b - rec.unswapped).toFixed(2)}`;
      return { layer: `layer ${l.layer}`, best: fmt(byBits[0]!), bestNoSoftmax: fmt(noSoftmax[0]!), worst: fmt(byBits.at(-1)!) };
    }),
    caption: 'Change in bits per character against the unswapped model. Block softmax keeps softmax inside local blocks; FLASH keeps it nowhere (squared ReLU in its chunks).',
  };
}
