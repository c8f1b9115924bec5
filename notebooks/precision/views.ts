// What the precision lesson draws: chart data built from the engine's numbers (compute.ts and
// src/engine/numerics). Nothing here rounds or quantises; it only lays numbers out.
import type { BarChartData, LineChartData, StatsData, TableData } from '$components/charts/types';
import { FORMATS, type FloatFormat, SCHEME_LABELS, decode, encode, fields, neighbours } from '$engine/numerics/index';
import type { OutlierResult } from '$engine/numerics/index';
import type { RunState, SchemeRow } from './compute';

const FORMAT_LIST: FloatFormat[] = Object.values(FORMATS);

/** x = mantissa x 10^power, negated when asked: the reader's value. */
export function valueOf(mantissa: number, power: number, negative: boolean): number {
  return (negative ? -1 : 1) * mantissa * 10 ** power;
}

const fmt = (v: number) => (Number.isFinite(v) ? (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(9))) : v.toExponential(6)) : String(v));

/** Each format's bits for x. */
export function bitsTable(x: number): TableData {
  return {
    kind: 'table',
    columns: [
      { key: 'format', label: 'format' },
      { key: 'sign', label: 'sign', align: 'right' },
      { key: 'exponent', label: 'exponent bits', align: 'right' },
      { key: 'mantissa', label: 'mantissa bits', align: 'right' },
      { key: 'code', label: 'code (hex)', align: 'right' },
    ],
    rows: FORMAT_LIST.map((f) => {
      const code = encode(f, x);
      const b = fields(f, code).bits;
      return {
        format: `${f.name} (1+${f.exponentBits}+${f.mantissaBits})`,
        sign: b.slice(0, 1),
        exponent: b.slice(1, 1 + f.exponentBits),
        mantissa: b.slice(1 + f.exponentBits),
        code: `0x${code.toString(16).padStart(f.bits / 4, '0')}`,
      };
    }),
  };
}

/** The value each format keeps for x, its two representable neighbours and the rounding error. */
export function valueTable(x: number): TableData {
  return {
    kind: 'table',
    columns: [
      { key: 'format', label: 'format' },
      { key: 'stored', label: 'value stored', align: 'right' },
      { key: 'below', label: 'next below', align: 'right' },
      { key: 'above', label: 'next above', align: 'right' },
      { key: 'relative', label: 'relative error', align: 'right' },
    ],
    rows: FORMAT_LIST.map((f) => {
      const v = decode(f, encode(f, x));
      const n = neighbours(f, x);
      const inRange = Math.abs(x) <= f.max;
      return {
        format: f.name,
        stored: fmt(v),
        below: inRange ? fmt(Math.max(n.below, -f.max)) : '-',
        above: inRange ? fmt(Math.min(n.above, f.max)) : '-',
        relative: Number.isFinite(v) && x !== 0 ? ((v - x) / x).toExponential(2) : Number.isFinite(v) ? '0' : 'overflow',
      };
    }),
  };
}

/** The range each format covers. */
export function rangeTable(): TableData {
  return {
    kind: 'table',
    columns: [
      { key: 'format', label: 'format' },
      { key: 'max', label: 'largest finite', align: 'right' },
      { key: 'minNormal', label: 'smallest normal', align: 'right' },
      { key: 'minSub', label: 'smallest subnormal', align: 'right' },
      { key: 'step', label: 'relative step', align: 'right' },
      { key: 'overflow', label: 'past the largest', align: 'left' },
    ],
    rows: FORMAT_LIST.map((f) => ({
      format: f.name,
      max: fmt(f.max),
      minNormal: fmt(f.minNormal),
      minSub: fmt(f.minSubnormal),
      step: (2 ** -f.mantissaBits).toExponential(2),
      overflow: f.special === 'ieee' ? 'infinity' : 'NaN',
    })),
  };
}

/** The model in each scheme against FP32. */
export function schemeTable(rows: SchemeRow[]): TableData {
  return {
    kind: 'table',
    columns: [
      { key: 'scheme', label: 'format' },
      { key: 'bytes', label: 'weights', align: 'right', format: 'bytes' },
      { key: 'bpc', label: 'bits / char', align: 'right' },
      { key: 'delta', label: 'vs FP32', align: 'right' },
      { key: 'agreement', label: 'top-1 agreement', align: 'right', format: 'percent' },
      { key: 'maxAbs', label: 'max |Δ logit|', align: 'right' },
    ],
    rows: rows.map((r) => ({
      scheme: SCHEME_LABELS[r.scheme],
      bytes: r.bytes,
      bpc: r.bitsPerChar.toFixed(4),
      delta: (r.bitsPerChar - r.refBitsPerChar >= 0 ? '+' : '') + (r.bitsPerChar - r.refBitsPerChar).toFixed(4),
      agreement: r.agreement,
      maxAbs: r.maxAbsDiff.toExponential(2),
    })),
  };
}

export function schemeBars(rows: SchemeRow[]): BarChartData {
  return {
    kind: 'bar',
    categories: rows.map((r) => SCHEME_LABELS[r.scheme]),
    series: [{ name: 'mean |Δ logit| against FP32', values: rows.map((r) => r.meanAbsDiff) }],
    yLabel: 'mean |Δ logit|',
  };
}

/** Per-row relative error with the outlier, per tensor against fine-grained scales. */
export function outlierRows(r: OutlierResult, group: number, fineLabel: string): LineChartData {
  const groups = Math.ceil(r.rows / group);
  const mean = (e: number[], g: number) => {
    const part = e.slice(g * group, (g + 1) * group);
    return part.reduce((a, b) => a + b, 0) / part.length;
  };
  return {
    kind: 'line',
    series: [
      { name: 'per-tensor scale', points: Array.from({ length: groups }, (_, g) => ({ x: g, y: Math.max(mean(r.tensor.rowError, g), 1e-6) })) },
      { name: fineLabel, points: Array.from({ length: groups }, (_, g) => ({ x: g, y: Math.max(mean(r.fine.rowError, g), 1e-6) })), style: 'dashed' },
    ],
    xLabel: group > 1 ? `routed expert (${group} rows each; the outlier is in expert ${Math.floor(r.outlier.row / group)})` : `token position (the outlier is in token ${r.outlier.row})`,
    yLabel: 'relative FP8 error of the other values',
    yScale: 'log',
    xIntegers: true,
    markers: [{ x: Math.floor(r.outlier.row / group), label: 'outlier' }],
  };
}

export function outlierSweep(sweep: { factor: number; tensor: number; fine: number }[], fineLabel: string, factor: number): LineChartData {
  return {
    kind: 'line',
    series: [
      { name: 'per-tensor scale', points: sweep.map((s) => ({ x: s.factor, y: s.tensor })) },
      { name: fineLabel, points: sweep.map((s) => ({ x: s.factor, y: s.fine })), style: 'dashed' },
    ],
    xLabel: 'outlier size (times the largest other value)',
    yLabel: 'relative FP8 error outside the outlier\'s block or tile',
    xScale: 'log',
    yScale: 'log',
    markers: factor > 1 ? [{ x: factor, label: 'slider' }] : [],
  };
}

export function outlierStats(r: OutlierResult, fineLabel: string): StatsData {
  return {
    kind: 'stats',
    items: [
      { label: 'per tensor: relative error', value: r.tensor.relError, format: 'sci' },
      { label: `per tensor: error outside the outlier's ${fineLabel.includes('tile') ? 'tile' : 'block'}`, value: r.tensor.outside, format: 'sci' },
      { label: 'per tensor: values flushed to 0', value: r.tensor.flushed, format: 'percent' },
      { label: `${fineLabel}: relative error`, value: r.fine.relError, format: 'sci' },
      { label: `${fineLabel}: error outside the outlier's ${fineLabel.includes('tile') ? 'tile' : 'block'}`, value: r.fine.outside, format: 'sci' },
      { label: `${fineLabel}: values flushed to 0`, value: r.fine.flushed, format: 'percent' },
    ],
  };
}

/** Gradient magnitudes by power of two, against FP16's range. */
export function gradientHistogram(hist: { exponent: number; count: number }[], scaled: { exponent: number; count: number }[], scaleLog2: number): BarChartData {
  return {
    kind: 'bar',
    categories: hist.map((h, i) => (i === 0 ? `≤${h.exponent}` : i === hist.length - 1 ? `≥${h.exponent}` : String(h.exponent))),
    series: [
      { name: 'gradients x loss multiplier', values: hist.map((h) => h.count) },
      { name: `x loss scale 2^${scaleLog2}`, values: scaled.map((h) => h.count) },
    ],
    yLabel: 'gradients per power of two',
    yScale: 'linear',
    highlight: { category: '-15', label: '2^-15: the last binade below FP16\'s smallest normal 2^-14' },
  };
}

export function underflowStats(plain: { underflow: number; subnormal: number; nonzero: number }, scaled: { underflow: number; subnormal: number; overflow: number; nonzero: number }, scaleLog2: number): StatsData {
  const pct = (n: number, d: number) => (d > 0 ? n / d : 0);
  return {
    kind: 'stats',
    items: [
      { label: 'FP16, no scaling: gradients lost to 0', value: pct(plain.underflow, plain.nonzero), format: 'percent' },
      { label: 'FP16, no scaling: subnormal', value: pct(plain.subnormal, plain.nonzero), format: 'percent' },
      { label: `FP16, scale 2^${scaleLog2}: lost to 0`, value: pct(scaled.underflow, scaled.nonzero), format: 'percent' },
      { label: `FP16, scale 2^${scaleLog2}: overflowed`, value: pct(scaled.overflow, scaled.nonzero), format: 'percent' },
    ],
  };
}

const MODE_LABELS = { fp32: 'FP32 gradients', fp16: 'FP16 gradients', 'fp16-scaled': 'FP16 + loss scaling' } as const;

export function runChart(s: RunState): LineChartData {
  return {
    kind: 'line',
    series: (Object.keys(MODE_LABELS) as (keyof typeof MODE_LABELS)[]).map((m, i) => ({
      name: MODE_LABELS[m],
      points: s.reports.map((r) => ({ x: r[m].step, y: r[m].loss })),
      style: i === 0 ? 'line' : i === 1 ? 'dashed' : 'points',
    })),
    xLabel: `step (${s.reports.length} of ${s.target}${s.done ? '' : ', training'})`,
    yLabel: 'training loss (nats per character, before the step)',
    xIntegers: true,
  };
}

export function runTable(s: RunState): TableData {
  return {
    kind: 'table',
    columns: [
      { key: 'mode', label: 'gradients' },
      { key: 'steps', label: 'steps done', align: 'right' },
      { key: 'loss', label: 'last loss', align: 'right' },
      { key: 'underflow', label: 'mean share lost to 0', align: 'right', format: 'percent' },
      { key: 'skipped', label: 'steps skipped (overflow)', align: 'right' },
      { key: 'scale', label: 'loss scale now', align: 'right' },
    ],
    rows: (Object.keys(MODE_LABELS) as (keyof typeof MODE_LABELS)[]).map((m) => {
      const st = s.reports.map((r) => r[m]);
      const last = st.at(-1);
      return {
        mode: MODE_LABELS[m],
        steps: st.length,
        loss: last ? last.loss.toFixed(4) : '-',
        underflow: st.length ? st.reduce((a, b) => a + b.underflow, 0) / st.length : 0,
        skipped: st.filter((x) => x.skipped).length,
        scale: m === 'fp16-scaled' && last ? `2^${Math.log2(last.skipped ? last.scale / 2 : last.scale)}` : '-',
      };
    }),
  };
}

/** The formula box's names: the value in each format, the model's rows, the outlier matrix, the runs' losses. */
export function formulaScope(x: number, rows: SchemeRow[], m: { data: Float32Array; rows: number; cols: number }, s: RunState): Record<string, number | number[] | { rows: number; cols: number; data: Float32Array }> {
  const loss = (mode: keyof typeof MODE_LABELS) => s.reports.map((r) => r[mode].loss);
  return {
    x,
    stored: FORMAT_LIST.map((f) => decode(f, encode(f, x))),
    bpc: rows.map((r) => r.bitsPerChar),
    agreement: rows.map((r) => r.agreement),
    bytes: rows.map((r) => r.bytes),
    W: { rows: m.rows, cols: m.cols, data: m.data },
    loss_fp32: loss('fp32'),
    loss_fp16: loss('fp16'),
    loss_scaled: loss('fp16-scaled'),
  };
}
