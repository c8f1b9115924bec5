// Pure helpers shared by the chart components: text measuring (estimated, so layout is the same in
// Node, at prerender and in the browser), colour scales, ticks in each number format, heatmap paths
// and the generated descriptions. No DOM.
import { interpolateCividis, interpolateRdBu, interpolateViridis, pathRound, scaleLog, type SymbolType, tickStep, ticks as d3ticks } from './d3';
import { formatNumber, formatTicks, type NumberFormat } from './format';
import type { Provenance } from './types';

/** Font sizes in the SVGs, in px: never below 13 (read on a projector at the back of a room). */
export const FONT = { tick: 13, label: 14, title: 16, legend: 13 } as const;

/** Height of a ColorBar legend (title, ramp, tick labels), px. */
export const COLORBAR_HEIGHT = 60;

/** Line height of the chart title, px. */
export const TITLE_LINE = 21;

// ---------------------------------------------------------------- text

/**
 * Estimated width of `text` at `size` px, erring wide: the advance widths of DejaVu Sans (the widest
 * common system sans; Linux default), so labels never collide in narrower fonts. For layout only.
 */
export function textWidth(text: string, size: number): number {
  let em = 0;
  for (const ch of text) {
    if (' .,:;\'|!il1jtfr()[]{}'.includes(ch)) em += 0.36;
    else if ('mwMW@%'.includes(ch)) em += 0.95;
    else if ('−=+×^~<>±÷≤≥→'.includes(ch)) em += 0.84;
    else if (ch >= 'A' && ch <= 'Z') em += 0.72;
    else if (ch >= '0' && ch <= '9') em += 0.64;
    else em += 0.62;
  }
  return em * size;
}

/** Cut `text` to fit `maxWidth` px, ending with "…" when cut. */
export function truncate(text: string, maxWidth: number, size: number): string {
  if (textWidth(text, size) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(chars.join('') + '…', size) > maxWidth) chars.pop();
  return chars.join('') + '…';
}

/** Break `text` into lines of at most `maxWidth` px at spaces (a too-long word gets a line of its own). */
export function wrapText(text: string, maxWidth: number, size: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line} ${w}` : w;
    if (line && textWidth(next, size) > maxWidth) {
      lines.push(line);
      line = w;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

// ---------------------------------------------------------------- colour

export const LEVELS = 256;

export interface ColourScale {
  kind: 'sequential' | 'diverging' | 'categorical';
  domain: [number, number];
  /** Position of a value on the colour ramp, 0..1 (clamped); NaN for a non-finite value. */
  t(v: number): number;
  /** Index into `palette` (0..LEVELS-1), or -1 for a non-finite value. */
  level(v: number): number;
  /** LEVELS colours sampled along the ramp (viridis has exactly 256, so nothing is lost). */
  palette: string[];
  /** The ramp itself, t in 0..1. */
  interpolate(t: number): string;
  /** Name of the colour scheme, for the description. */
  scheme: string;
}

/** Negative values blue, positive red, zero near white: RdBu reversed (colour-blind safe). */
export function interpolateBlueRed(t: number): string {
  return interpolateRdBu(1 - t);
}

/** Min and max of the finite values (NaN, NaN when there are none). */
export function finiteExtent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

/** The colour domain: the given one, else [min, max] (sequential) or [-m, m] with m = max |v| (diverging). */
export function heatmapDomain(values: ArrayLike<number>, scale: 'sequential' | 'diverging' | 'categorical', domain?: [number, number]): [number, number] {
  if (domain && Number.isFinite(domain[0]) && Number.isFinite(domain[1])) return [domain[0], domain[1]];
  const [lo, hi] = finiteExtent(values);
  if (!Number.isFinite(lo)) return scale === 'diverging' ? [-1, 1] : [0, 1];
  if (scale === 'diverging') {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-m, m];
  }
  return lo === hi ? [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5] : [lo, hi];
}

/**
 * Colours of categories (e.g. which expert owns a cell): Okabe–Ito's eight, black for its grey, so
 * every pair stays apart for simulated protanopia, deuteranopia and tritanopia
 * (tests/colour-vision.test.ts). In the hue order of the series colours (blue, vermillion, green,
 * purple, orange, ...), so category i and series i share a hue. A ninth category repeats the first:
 * categorical heatmaps also draw the borders between categories and print each region's index.
 */
export const CATEGORY_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#000000', '#56b4e9', '#f0e442'] as const;

function categoricalScale(domain: [number, number]): ColourScale {
  const [lo, hi] = domain;
  const n = CATEGORY_COLOURS.length;
  const count = Math.max(1, Math.round(hi) - Math.round(lo) + 1);
  const level = (v: number) => (Number.isFinite(v) ? (((Math.round(v) - Math.round(lo)) % n) + n) % n : -1);
  return {
    kind: 'categorical',
    domain: [lo, hi],
    t: (v) => (Number.isFinite(v) ? Math.min(1, Math.max(0, (Math.round(v) - Math.round(lo) + 0.5) / count)) : NaN),
    level,
    palette: [...CATEGORY_COLOURS],
    interpolate: (t) => CATEGORY_COLOURS[level(Math.round(lo) + Math.min(count - 1, Math.floor(t * count)))],
    scheme: `${count} categories in Okabe–Ito colours${count > n ? ` (repeating after ${n}; each region's index is printed)` : ''}`,
  };
}

/** Sampled ramps, computed once per scheme (they do not depend on the domain). */
const PALETTES = new Map<string, string[]>();

export function colourScale(kind: 'sequential' | 'diverging' | 'categorical', domain: [number, number], cividis = false): ColourScale {
  if (kind === 'categorical') return categoricalScale(domain);
  const [lo, hi] = domain;
  const interpolate = kind === 'diverging' ? interpolateBlueRed : cividis ? interpolateCividis : interpolateViridis;
  let t: (v: number) => number;
  if (kind === 'diverging') {
    // Piecewise about 0: [lo, 0] -> [0, 0.5], [0, hi] -> [0.5, 1], so 0 is always the neutral colour.
    t = (v) => {
      if (!Number.isFinite(v)) return NaN;
      const x = v < 0 ? (lo < 0 ? 0.5 - (0.5 * v) / lo : 0) : hi > 0 ? 0.5 + (0.5 * v) / hi : 1;
      return x < 0 ? 0 : x > 1 ? 1 : x;
    };
  } else {
    const span = hi - lo;
    t = (v) => {
      if (!Number.isFinite(v)) return NaN;
      const x = span > 0 ? (v - lo) / span : 0.5;
      return x < 0 ? 0 : x > 1 ? 1 : x;
    };
  }
  const paletteKey = kind === 'diverging' ? 'diverging' : cividis ? 'cividis' : 'viridis';
  let palette = PALETTES.get(paletteKey);
  if (!palette) PALETTES.set(paletteKey, (palette = Array.from({ length: LEVELS }, (_, i) => interpolate(i / (LEVELS - 1)))));
  return {
    kind,
    domain: [lo, hi],
    t,
    level: (v) => {
      const x = t(v);
      return Number.isNaN(x) ? -1 : Math.round(x * (LEVELS - 1));
    },
    palette,
    interpolate,
    scheme: kind === 'diverging' ? 'blue–white–red diverging, centred on 0' : cividis ? 'cividis' : 'viridis',
  };
}

/** Parse "rgb(r, g, b)" or "#rrggbb" to [r, g, b] in 0..255. */
export function parseColour(c: string): [number, number, number] {
  const m = /^rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = /^#([0-9a-f]{6})$/i.exec(c);
  if (h) {
    const n = parseInt(h[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  return [128, 128, 128];
}

/** WCAG relative luminance of a colour string. */
export function luminance(c: string): number {
  const [r, g, b] = parseColour(c).map((x) => {
    const s = x / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Black or white, whichever contrasts more with the background colour `c`. */
export function textOn(c: string): '#000000' | '#ffffff' {
  const l = luminance(c);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

/** Colour-bar ticks: about `count` round values inside the domain (for diverging, 0 is always one). */
export function colourTicks(scale: ColourScale, count = 5): number[] {
  const [lo, hi] = scale.domain;
  if (scale.kind === 'diverging' && lo < 0 && hi > 0) {
    const half = Math.max(2, Math.round(count / 2));
    const neg = d3ticks(lo, 0, half);
    const pos = d3ticks(0, hi, half);
    return [...new Set([...neg, ...pos])].sort((a, b) => a - b);
  }
  return d3ticks(lo, hi, count);
}

// ---------------------------------------------------------------- ticks in number formats

const LOG1024 = Math.log(1024);

/** The binary unit (1, 1024, 1024², ...) that numbers up to |m| are shown in. */
function byteUnit(m: number): number {
  if (!(m >= 1024)) return 1;
  return 1024 ** Math.floor(Math.log(m) / LOG1024 + 1e-12);
}

/** A linear domain extended to round tick values (binary-round for bytes: 0, 2 GiB, 4 GiB, ...). */
export function niceDomain(lo: number, hi: number, count: number, format: NumberFormat = 'plain'): [number, number] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }
  const unit = format === 'bytes' ? byteUnit(Math.max(Math.abs(lo), Math.abs(hi))) : 1;
  const step = tickStep(lo / unit, hi / unit, count) * unit;
  if (!(step > 0)) return [lo, hi];
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

/** Round tick values in [lo, hi]; for bytes they are round in the binary unit of the larger end. */
export function linearTicks(lo: number, hi: number, count: number, format: NumberFormat = 'plain'): number[] {
  const unit = format === 'bytes' ? byteUnit(Math.max(Math.abs(lo), Math.abs(hi))) : 1;
  return d3ticks(lo / unit, hi / unit, Math.max(1, count)).map((t) => t * unit);
}

/** The log base an axis in this format uses: 2 for bytes (1 KiB, 1 MiB, ... fall on powers of 2), else 10. */
/** Ticks of a count axis: only whole numbers (a count of 2.5 tokens is not a tick anyone can read). */
export function wholeTicks(values: number[]): number[] {
  return values.filter((v) => Math.abs(v - Math.round(v)) < 1e-9).map((v) => Math.round(v));
}

export function logBase(format: NumberFormat = 'plain'): number {
  return format === 'bytes' ? 2 : 10;
}

/** Powers of the base in [lo, hi] (lo > 0), thinned to at most `count` (bytes: every 10th power first). */
export function logTicks(lo: number, hi: number, count: number, format: NumberFormat = 'plain'): number[] {
  const base = logBase(format);
  if (!(lo > 0) || !(hi >= lo)) return [];
  const e0 = Math.ceil(Math.log(lo) / Math.log(base) - 1e-9);
  const e1 = Math.floor(Math.log(hi) / Math.log(base) + 1e-9);
  const n = e1 - e0 + 1;
  if (n < 2) {
    // Less than a decade: fall back to d3's log ticks (1, 2, 5 and so on inside the range).
    const s = scaleLog().base(base).domain([lo, hi]);
    const t = s.ticks(count);
    return t.length > count ? t.filter((_, i) => i % Math.ceil(t.length / count) === 0) : t;
  }
  const steps = format === 'bytes' ? [1, 2, 5, 10, 20, 30] : [1, 2, 3, 5, 10];
  const step = steps.find((s) => Math.ceil(n / s) <= count) ?? Math.ceil(n / count);
  const out: number[] = [];
  for (let e = e0; e <= e1; e++) if (((e % step) + step) % step === 0) out.push(base ** e);
  if (out.length === 0) out.push(base ** e0);
  return out;
}

/** A log domain extended to whole powers of the base around [lo, hi]. */
export function niceLogDomain(lo: number, hi: number, format: NumberFormat = 'plain'): [number, number] {
  const base = logBase(format);
  if (!(lo > 0)) return [1, base];
  const a = base ** Math.floor(Math.log(lo) / Math.log(base) + 1e-9);
  let b = base ** Math.ceil(Math.log(hi) / Math.log(base) - 1e-9);
  if (b <= a) b = a * base;
  return [a, b];
}

/** Tick labels for an axis in `format` (distinct labels for distinct ticks). */
export function tickLabels(ticks: number[], format: NumberFormat = 'plain', log = false): string[] {
  return formatTicks(ticks, format, !log);
}

// ---------------------------------------------------------------- heatmap geometry

/** One SVG path per colour level used: runs of equal-colour cells along a row merge into one rectangle. */
export function heatmapPaths(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  scale: ColourScale,
  cw: number,
  ch: number,
): { level: number; d: string }[] {
  const parts = new Map<number, string[]>();
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const n = rows * cols;
  const levels = new Int16Array(n);
  for (let i = 0; i < n; i++) levels[i] = scale.level(values[i]);
  for (let r = 0; r < rows; r++) {
    const y = r2(r * ch);
    const h = r2((r + 1) * ch) - y;
    let c = 0;
    while (c < cols) {
      const level = levels[r * cols + c];
      let end = c + 1;
      while (end < cols && levels[r * cols + end] === level) end++;
      const x0 = r2(c * cw);
      const w = r2(end * cw) - x0;
      let list = parts.get(level);
      if (!list) parts.set(level, (list = []));
      list.push(`M${x0},${y}h${r2(w)}v${r2(h)}h${r2(-w)}z`);
      c = end;
    }
  }
  return [...parts].sort((a, b) => a[0] - b[0]).map(([level, list]) => ({ level, d: list.join('') }));
}

/**
 * A path of rectangles over [row, col] cells, inset by `inset` px (for outlines and hatching). Each
 * cell is its own rectangle when inset (an outline per cell); with no inset, the cells next to each
 * other in a row are one rectangle (the same area, far fewer subpaths to parse and paint: a
 * triangle of masked cells is a run per row, not a rectangle per cell).
 */
export function cellsPath(cells: readonly (readonly [number, number])[], rows: number, cols: number, cw: number, ch: number, inset = 0): string {
  const r2 = (x: number) => Math.round(x * 100) / 100;
  let d = '';
  if (inset === 0) {
    const on = new Uint8Array(Math.max(0, rows * cols));
    for (const [r, c] of cells) if (r >= 0 && r < rows && c >= 0 && c < cols) on[r * cols + c] = 1;
    for (let r = 0; r < rows; r++) {
      const y = r2(r * ch);
      const h = r2((r + 1) * ch) - y;
      for (let c = 0; c < cols; c++) {
        if (!on[r * cols + c]) continue;
        let end = c + 1;
        while (end < cols && on[r * cols + end]) end++;
        const x0 = r2(c * cw);
        const w = r2(r2(end * cw) - x0);
        d += `M${x0},${y}h${w}v${r2(h)}h${r2(-w)}z`;
        c = end;
      }
    }
    return d;
  }
  for (const [r, c] of cells) {
    if (r < 0 || r >= rows || c < 0 || c >= cols) continue;
    const w = Math.max(0, cw - 2 * inset);
    const h = Math.max(0, ch - 2 * inset);
    d += `M${r2(c * cw + inset)},${r2(r * ch + inset)}h${r2(w)}v${r2(h)}h${r2(-w)}z`;
  }
  return d;
}

/** Every `step`-th index of 0..n-1 such that labels `size` px apart do not overlap at `spacing` px per index. */
export function labelStep(spacing: number, size: number): number {
  return spacing <= 0 ? 1 : Math.max(1, Math.ceil(size / spacing));
}

// ---------------------------------------------------------------- provenance and descriptions

/** "Source: …" text for a Provenance. */
export function provenanceText(p: Provenance | undefined): string {
  if (!p) return '';
  switch (p.kind) {
    case 'engine':
      return `Source: computed live by the tiny engine${p.detail ? ` (${p.detail})` : ''}`;
    case 'derived':
      return `Source: derived from engine numbers${p.detail ? ` (${p.detail})` : ''}`;
    case 'published':
      return `Source: ${p.citation}`;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export interface HeatmapSummary {
  rows: number;
  cols: number;
  rowTitle?: string;
  colTitle?: string;
  valueLabel: string;
  min: number;
  max: number;
  argmax?: [number, number];
  rowLabels?: string[];
  colLabels?: string[];
  scheme: string;
  marks?: { count: number; label: string };
  dimmed?: { count: number; label: string };
  missing: number;
  digits: number;
}

export function describeHeatmap(s: HeatmapSummary): string {
  const rowsPart = s.rowTitle ? `${plural(s.rows, 'row')} (${s.rowTitle})` : plural(s.rows, 'row');
  const colsPart = s.colTitle ? `${plural(s.cols, 'column')} (${s.colTitle})` : plural(s.cols, 'column');
  const f = (v: number) => formatNumber(v, 'plain', s.digits);
  const range = s.min <= s.max ? `from ${f(s.min)} to ${f(s.max)}` : '(no values)';
  let text = `Heatmap, ${rowsPart} by ${colsPart}, ${s.valueLabel} ${range}, coloured ${s.scheme}`;
  if (s.argmax) {
    const [r, c] = s.argmax;
    text += `; largest at row ${s.rowLabels?.[r] ?? r}, column ${s.colLabels?.[c] ?? c}`;
  }
  if (s.marks && s.marks.count > 0) text += `; ${plural(s.marks.count, 'cell')} outlined: ${s.marks.label}`;
  if (s.dimmed && s.dimmed.count > 0) text += `; ${plural(s.dimmed.count, 'cell')} hatched: ${s.dimmed.label}`;
  if (s.missing > 0) text += `; ${plural(s.missing, 'cell')} without a value`;
  return `${text}. Focus the chart and use the arrow keys to read each cell.`;
}

/** Legend entries laid out left to right, wrapping at `maxWidth`: each entry is a swatch then its label. */
export function legendFlow(labels: string[], maxWidth: number, swatchW = 30, rowH = 22): { items: { x: number; y: number; label: string }[]; height: number } {
  const items: { x: number; y: number; label: string }[] = [];
  let x = 0;
  let y = 0;
  for (const raw of labels) {
    const label = truncate(raw, Math.max(40, maxWidth - swatchW - 8), FONT.legend);
    const w = swatchW + 6 + textWidth(label, FONT.legend) + 22;
    if (x > 0 && x + w > maxWidth) {
      x = 0;
      y += rowH;
    }
    items.push({ x, y, label });
    x += w;
  }
  return { items, height: labels.length ? y + rowH : 0 };
}

/** Pick tick values for an axis so that their labels do not overlap (`gap` px between labels). */
export function fitTicks(
  make: (count: number) => number[],
  label: (ticks: number[]) => string[],
  length: number,
  horizontal: boolean,
  start: number,
): { values: number[]; labels: string[] } {
  for (let count = Math.max(2, start); ; count--) {
    const values = make(count);
    const labels = label(values);
    if (count <= 2 || values.length <= 2) return { values, labels };
    const need = horizontal ? Math.max(...labels.map((l) => textWidth(l, FONT.tick))) + 14 : FONT.tick + 8;
    if (need * (values.length - 1) <= length) return { values, labels };
  }
}

export interface LineSummary {
  series: { name: string; style: string; points: number; omitted: number }[];
  xLabel: string;
  yLabel: string;
  xRange: [string, string];
  yRange: [string, string];
  xLog: boolean;
  yLog: boolean;
  markers: { label: string; x: string }[];
}

export function describeLine(s: LineSummary): string {
  const parts = s.series.map(
    (x) => `${x.name} (${x.style === 'points' ? 'points' : x.style === 'dashed' ? 'dashed line' : x.style === 'line steps' ? 'steps' : x.style === 'dashed steps' ? 'dashed steps' : 'line'}, ${plural(x.points, 'point')}${x.omitted ? `, ${x.omitted} not shown on the log scale` : ''})`,
  );
  let text = `Line chart, ${s.series.length} series: ${parts.join('; ')}. `;
  text += `x: ${s.xLabel} from ${s.xRange[0]} to ${s.xRange[1]}${s.xLog ? ' (log scale)' : ''}; `;
  text += `y: ${s.yLabel} from ${s.yRange[0]} to ${s.yRange[1]}${s.yLog ? ' (log scale)' : ''}.`;
  if (s.markers.length) text += ` Markers: ${s.markers.map((m) => `${m.label} at ${m.x}`).join('; ')}.`;
  return `${text} Focus the chart and use the arrow keys to read each point.`;
}

export interface BarSummary {
  categories: string[];
  series: { name: string; values: string[] }[];
  yLabel: string;
  yLog: boolean;
  highlight?: { category: string; label: string };
}

export function describeBar(s: BarSummary): string {
  const n = s.categories.length;
  let text = `Bar chart of ${s.yLabel}${s.yLog ? ' (log scale)' : ''}, ${n} ${n === 1 ? 'category' : 'categories'}`;
  if (s.series.length > 1) text += `, ${s.series.length} series (${s.series.map((x) => x.name).join(', ')})`;
  text += '. ';
  if (n <= 12) {
    text += s.categories
      .map((c, i) => `${c}: ${s.series.map((x) => (s.series.length > 1 ? `${x.name} ${x.values[i]}` : x.values[i])).join(', ')}`)
      .join('; ');
    text += '.';
  }
  if (s.highlight) text += ` Outlined: ${s.highlight.category}, ${s.highlight.label}.`;
  return `${text} Focus the chart and use the arrow keys to read each bar.`;
}

/**
 * One symbol drawn at every point, as a single path: a series of 128 points is one element to
 * update when its data changes, not 128 (each with its own transform).
 */
export function symbolsPath(type: SymbolType, size: number, points: readonly { x: number; y: number }[]): string {
  const p = pathRound(3); // as d3's own shapes round
  let dx = 0, dy = 0;
  // d3's symbols draw around (0, 0) through a canvas-like context: shift every point they draw.
  const shifted = {
    moveTo: (x: number, y: number) => p.moveTo(x + dx, y + dy),
    lineTo: (x: number, y: number) => p.lineTo(x + dx, y + dy),
    closePath: () => p.closePath(),
    arc: (x: number, y: number, r: number, a0: number, a1: number, ccw?: boolean) => p.arc(x + dx, y + dy, r, a0, a1, ccw),
    bezierCurveTo: (x1: number, y1: number, x2: number, y2: number, x: number, y: number) => p.bezierCurveTo(x1 + dx, y1 + dy, x2 + dx, y2 + dy, x + dx, y + dy),
    quadraticCurveTo: (x1: number, y1: number, x: number, y: number) => p.quadraticCurveTo(x1 + dx, y1 + dy, x + dx, y + dy),
    rect: (x: number, y: number, w: number, h: number) => p.rect(x + dx, y + dy, w, h),
  };
  for (const pt of points) {
    if (!Number.isFinite(pt.x) || !Number.isFinite(pt.y)) continue;
    dx = pt.x;
    dy = pt.y;
    type.draw(shifted, size);
  }
  return p.toString();
}
