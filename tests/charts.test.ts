// @vitest-environment happy-dom
// Charts: number formatting, the pure chart helpers, the figure-export helpers, and each chart
// component mounted in happy-dom (structure, accessible names, legend, keyboard announcements).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import BarChart from '../components/charts/BarChart.svelte';
import Chart from '../components/charts/Chart.svelte';
import DataTable from '../components/charts/DataTable.svelte';
import Heatmap from '../components/charts/Heatmap.svelte';
import LineChart from '../components/charts/LineChart.svelte';
import Stats from '../components/charts/Stats.svelte';
import ExportButtons from '../components/charts/ExportButtons.svelte';
import {
  cellsPath,
  colourScale,
  describeHeatmap,
  heatmapDomain,
  heatmapPaths,
  symbolsPath,
  legendFlow,
  linearTicks,
  logTicks,
  niceDomain,
  niceLogDomain,
  provenanceText,
  textOn,
  textWidth,
  truncate,
  wrapText,
} from '../components/charts/chart-utils';
import { symbol, symbolCircle } from '../components/charts/d3';
import { formatNumber, formatTicks, MINUS } from '../components/charts/format';
import { SERIES_SYMBOLS } from '../components/charts/series';
import type { BarChartData, ChartData, HeatmapData, LineChartData, StatsData, TableData } from '../components/charts/types';
import { EXPORT_THEME_ATTR, exportFilename, figureInfo, mimeFor, styleText, svgSize, svgToString, toCsv, wrapUrl } from '../components/charts/export';
import { exportChoice } from '../components/charts/export-choice.svelte';
import { flushSync, render } from './helpers/mount';

// ------------------------------------------------------------------ format.ts

describe('formatNumber', () => {
  it('bytes: binary units, 3 significant digits', () => {
    expect(formatNumber(9.21e9, 'bytes')).toBe('8.58 GiB');
    expect(formatNumber(512, 'bytes')).toBe('512 B');
    expect(formatNumber(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatNumber(1024 ** 2, 'bytes')).toBe('1 MiB');
    expect(formatNumber(70272, 'bytes')).toBe('68.6 KiB');
    // 1023.99 KiB would read "1024 KiB": promoted to the next unit
    expect(formatNumber(1024 * 1024 - 1, 'bytes')).toBe('1 MiB');
    expect(formatNumber(0, 'bytes')).toBe('0 B');
  });

  it('si: decimal prefixes from a thousand', () => {
    expect(formatNumber(1.25e6, 'si')).toBe('1.25 M');
    expect(formatNumber(671e9, 'si')).toBe('671 G');
    expect(formatNumber(999.7, 'si')).toBe('1 k');
    expect(formatNumber(12, 'si')).toBe('12');
    expect(formatNumber(0.5, 'si')).toBe('0.5');
  });

  it('sci, percent, ratio', () => {
    expect(formatNumber(3.1e-7, 'sci')).toBe('3.1e-7');
    expect(formatNumber(3.14159e-7, 'sci', 2)).toBe('3.1e-7');
    expect(formatNumber(123456, 'sci')).toBe('1.23e5');
    expect(formatNumber(0, 'sci')).toBe('0');
    expect(formatNumber(0.7112, 'percent')).toBe('71.1%');
    expect(formatNumber(1, 'percent')).toBe('100%');
    expect(formatNumber(71.13, 'ratio')).toBe('71.1x');
  });

  it('plain: significant digits without trailing noise', () => {
    expect(formatNumber(0.1 + 0.2, 'plain')).toBe('0.3');
    expect(formatNumber(2, 'plain')).toBe('2');
    expect(formatNumber(0.000123456, 'plain')).toBe('0.000123');
    expect(formatNumber(1234.5, 'plain')).toBe('1235');
    expect(formatNumber(65536, 'plain')).toBe('65,536');
    expect(formatNumber(9.996, 'plain')).toBe('10');
    expect(formatNumber(3.14159, 'plain', 5)).toBe('3.1416');
    expect(formatNumber(1.2e-5, 'plain')).toBe('1.2e-5');
    expect(formatNumber(0)).toBe('0');
  });

  it('signs and non-finite values', () => {
    expect(formatNumber(-5, 'plain')).toBe(`${MINUS}5`);
    expect(formatNumber(-2048, 'bytes')).toBe(`${MINUS}2 KiB`);
    expect(formatNumber(-0, 'plain')).toBe('0');
    expect(formatNumber(NaN)).toBe('—');
    expect(formatNumber(Infinity)).toBe('∞');
    expect(formatNumber(-Infinity, 'si')).toBe(`${MINUS}∞`);
  });

  it('formatTicks: distinct labels, one unit per linear axis', () => {
    expect(formatTicks([0, 0.25, 0.5, 0.75, 1])).toEqual(['0', '0.25', '0.5', '0.75', '1']);
    expect(formatTicks([0, 524288, 1048576, 1572864], 'bytes')).toEqual(['0', '0.5 MiB', '1 MiB', '1.5 MiB']);
    expect(formatTicks([1024, 1024 ** 2, 1024 ** 3], 'bytes', false)).toEqual(['1 KiB', '1 MiB', '1 GiB']);
    expect(formatTicks([1.001, 1.002, 1.003])).toEqual(['1.001', '1.002', '1.003']);
  });
});

// ------------------------------------------------------------------ chart-utils.ts

describe('chart helpers', () => {
  it('colour domains: data range, or symmetric about 0 for diverging', () => {
    expect(heatmapDomain([0.2, 0.5, 0.9], 'sequential')).toEqual([0.2, 0.9]);
    expect(heatmapDomain([-0.5, 2, NaN], 'diverging')).toEqual([-2, 2]);
    expect(heatmapDomain([1, 2], 'sequential', [0, 10])).toEqual([0, 10]);
    const d = heatmapDomain([3, 3], 'sequential');
    expect(d[0]).toBeLessThan(3);
    expect(d[1]).toBeGreaterThan(3);
  });

  it('diverging scale puts 0 at the middle colour, clamps, and flags NaN', () => {
    const s = colourScale('diverging', [-1, 3]);
    expect(s.t(0)).toBe(0.5);
    expect(s.t(-1)).toBe(0);
    expect(s.t(3)).toBe(1);
    expect(s.t(1.5)).toBeCloseTo(0.75);
    expect(s.t(99)).toBe(1);
    expect(s.level(NaN)).toBe(-1);
    expect(s.palette).toHaveLength(256);
    const v = colourScale('sequential', [0, 1]);
    expect(v.palette[0]).toBe('#440154'); // viridis
    expect(v.palette[255]).toBe('#fde725');
  });

  it('heatmap paths: one path per colour level, equal runs merged', () => {
    const s = colourScale('sequential', [0, 1]);
    const paths = heatmapPaths([0, 0, 0, 1, 1, 0], 2, 3, s, 10, 10);
    expect(paths.map((p) => p.level)).toEqual([0, 255]);
    // row 0 is one run of 3 cells; row 1 is [1, 1] then [0]
    expect(paths[0].d).toBe('M0,0h30v10h-30zM20,10h10v10h-10z');
    expect(paths[1].d).toBe('M0,10h20v10h-20z');
    expect(heatmapPaths([NaN, 0.5], 1, 2, s, 4, 4)[0].level).toBe(-1);
    expect(cellsPath([[1, 2], [5, 5]], 2, 3, 10, 10, 1)).toBe('M21,11h8v8h-8z');
    // Without an inset, cells side by side in a row (in any order) are one rectangle; others stay apart.
    expect(cellsPath([[0, 2], [0, 0], [1, 2], [0, 1], [1, 0], [9, 9]], 2, 3, 10, 10)).toBe('M0,0h30v10h-30zM0,10h10v10h-10zM20,10h10v10h-10z');
    expect(cellsPath([[0, 1], [0, 2]], 1, 4, 2.5, 3)).toBe('M2.5,0h5v3h-5z');
  });

  it('symbol paths: every series symbol, drawn at each point, shifted exactly', () => {
    let checked = 0;
    const numbers = (d: string) => (d.match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? []).map(Number);
    for (const type of SERIES_SYMBOLS) {
      // At the origin it is d3's own symbol path.
      expect(symbolsPath(type, 64, [{ x: 0, y: 0 }])).toBe(symbol(type, 64)());
      const one = symbolsPath(type, 64, [{ x: 0, y: 0 }]);
      const two = symbolsPath(type, 64, [{ x: 0, y: 0 }, { x: 30, y: -12 }]);
      expect(two.startsWith(one)).toBe(true);
      if (/[^MLZ\d.,e-]/.test(one)) continue; // arcs and h/v mix other numbers with coordinates
      // Lines only: coordinates alternate x, y, each shifted by the second point.
      const a = numbers(one), b = numbers(two.slice(one.length));
      expect(b.length).toBe(a.length);
      b.forEach((v, i) => expect(Math.abs(v - (a[i] + (i % 2 === 0 ? 30 : -12)))).toBeLessThan(2e-3));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(symbolsPath(symbolCircle, 64, [{ x: NaN, y: 1 }])).toBe('');
  });

  it('ticks: round values, binary-round for bytes, powers on log axes', () => {
    expect(linearTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0, 4 * 1024 ** 3, 4, 'bytes')).toEqual([0, 1, 2, 3, 4].map((x) => x * 1024 ** 3));
    expect(niceDomain(0, 3.7 * 1024 ** 2, 4, 'bytes')).toEqual([0, 4 * 1024 ** 2]);
    expect(niceDomain(0.13, 0.93, 5)).toEqual([0, 1]);
    expect(logTicks(1, 1e6, 10)).toEqual([1, 10, 100, 1e3, 1e4, 1e5, 1e6]);
    expect(logTicks(1, 1e6, 4)).toEqual([1, 100, 1e4, 1e6]);
    expect(logTicks(1024, 1024 ** 3, 4, 'bytes')).toEqual([1024, 1024 ** 2, 1024 ** 3]);
    expect(niceLogDomain(3, 420)).toEqual([1, 1000]);
  });

  it('text helpers', () => {
    expect(wrapText('one two three four', 60, 13).length).toBeGreaterThan(1);
    expect(wrapText('short', 500, 13)).toEqual(['short']);
    expect(truncate('a very long label indeed', 60, 13).endsWith('…')).toBe(true);
    expect(truncate('ok', 60, 13)).toBe('ok');
    expect(textOn('#fde725')).toBe('#000000');
    expect(textOn('#440154')).toBe('#ffffff');
    const flow = legendFlow(['alpha', 'beta', 'gamma'], 120);
    expect(flow.items[0]).toMatchObject({ x: 0, y: 0 });
    expect(flow.height).toBeGreaterThan(22);
  });

  it('descriptions and provenance', () => {
    const text = describeHeatmap({
      rows: 9,
      cols: 16,
      rowTitle: 'token',
      colTitle: 'expert',
      valueLabel: 'gate score',
      min: 0.0123,
      max: 0.93,
      argmax: [2, 5],
      rowLabels: undefined,
      colLabels: undefined,
      scheme: 'viridis',
      marks: { count: 18, label: 'chosen expert' },
      dimmed: { count: 0, label: 'dropped' },
      missing: 0,
      digits: 2,
    });
    expect(text).toContain('Heatmap, 9 rows (token) by 16 columns (expert), gate score from 0.012 to 0.93');
    expect(text).toContain('18 cells outlined: chosen expert');
    expect(text).not.toContain('hatched');
    expect(text).toContain('arrow keys');
    expect(provenanceText({ kind: 'published', citation: 'DeepSeek-V3 report, Table 1' })).toBe('Source: DeepSeek-V3 report, Table 1');
    expect(provenanceText({ kind: 'engine' })).toContain('engine');
  });
});

// ------------------------------------------------------------------ export.ts

describe('export helpers', () => {
  it('file names, MIME types, CSV, style text', () => {
    expect(exportFilename('Expert routing: layer 1', 'svg')).toBe('Expert-routing-layer-1.svg');
    expect(exportFilename('  ', 'png')).toBe('figure.png');
    expect(exportFilename('kv.svg', 'svg')).toBe('kv.svg');
    expect(exportFilename('Dĳkstra café', '.csv')).toBe('Dijkstra-cafe.csv');
    expect(mimeFor('a.svg')).toBe('image/svg+xml');
    expect(mimeFor('a.PNG')).toBe('image/png');
    expect(mimeFor('a.csv')).toBe('text/csv');
    expect(mimeFor('a')).toBe('text/plain');
    expect(toCsv([{ key: 'a', label: 'A' }, { key: 'b', label: 'B, "quoted"' }], [{ a: 1, b: 'x\ny' }, { a: 2 }])).toBe(
      'A,"B, ""quoted"""\r\n1,"x\ny"\r\n2,\r\n',
    );
    expect(styleText([['fill', 'rgb(0, 0, 0)'], ['opacity', '1'], ['stroke', ''], ['stroke-width', '2px']])).toBe('fill:rgb(0, 0, 0);stroke-width:2px');
  });

  it('svgToString: standalone, parseable, background first, no-export parts removed', () => {
    const host = document.createElement('div');
    host.innerHTML =
      '<svg width="200" height="100" role="img" aria-labelledby="t" style="--bg: #123456"><title id="t">T</title><desc>D</desc>' +
      '<rect class="a" tabindex="0" width="10" height="10" style="fill: red"></rect><g class="no-export"><circle r="3"></circle></g>' +
      '<text x="1" y="2">label &amp; more</text></svg>';
    document.body.append(host);
    const svg = host.querySelector('svg') as SVGSVGElement;
    expect(svgSize(svg)).toEqual({ width: 200, height: 100 });
    const text = svgToString(svg);
    expect(text.startsWith('<?xml')).toBe(true);
    expect(text).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(text).toContain('width="224"');
    expect(text).toContain('height="124"');
    expect(text).toContain('viewBox="-12 -12 224 124"');
    expect(svgToString(svg, 0)).toContain('viewBox="0 0 200 100"');
    expect(text).not.toContain('circle');
    expect(text).not.toContain('tabindex');
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
    const root = doc.documentElement;
    expect(root.localName).toBe('svg');
    const kids = [...root.children].map((c) => c.localName);
    expect(kids.slice(0, 3)).toEqual(['title', 'desc', 'rect']);
    expect(root.children[2].getAttribute('fill')).toBe('#123456');
    host.remove();
  });

  it('svgToString draws a title shown elsewhere on the page (data-export-title) above the figure', () => {
    const host = document.createElement('div');
    host.innerHTML = '<svg width="200" height="100" viewBox="0 0 200 100" data-export-title="Routing &lt;layer 1&gt;"><title>T</title><rect width="5" height="5"></rect></svg>';
    document.body.append(host);
    const text = svgToString(host.querySelector('svg') as SVGSVGElement);
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
    const root = doc.documentElement;
    expect(root.getAttribute('height')).toBe('152');
    expect(root.getAttribute('viewBox')).toBe('-12 -40 224 152');
    expect(root.hasAttribute('data-export-title')).toBe(false);
    expect([...root.getElementsByTagName('text')].map((t) => t.textContent)).toEqual(['Routing <layer 1>']);
    host.remove();
  });
});

// ------------------------------------------------------------------ light export for slides

describe('light export for slides', () => {
  // The site's real theme CSS (vitest does not load a component's CSS imports), with the page dark.
  const themeCss = ['../src/lib/styles/global.css', '../components/charts/charts.css'].map((f) => readFileSync(new URL(f, import.meta.url), 'utf8')).join('\n');
  const seriesOf = (selector: string) => {
    const block = new RegExp(`${selector.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\{([^}]*)\\}`).exec(themeCss)![1];
    return [...block.matchAll(/--series-\d:\s*(#[0-9a-f]{6})/gi)].map((m) => m[1].toLowerCase());
  };
  const lightSeries = seriesOf('.ns-chart');
  const darkSeries = seriesOf(":root[data-theme='dark'] .ns-chart:not([data-export-theme='light'])");
  const hexOf = (c: string | null | undefined) => {
    const v = (c ?? '').trim().toLowerCase();
    const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(v);
    return m ? `#${m.slice(1, 4).map((x) => Number(x).toString(16).padStart(2, '0')).join('')}` : v;
  };
  const styleProp = (el: Element, prop: string) => new RegExp(`(?:^|;)\\s*${prop}:\\s*([^;]+)`).exec(el.getAttribute('style') ?? '')?.[1] ?? el.getAttribute(prop) ?? undefined;
  /** The fill a text ends up with: its own, else the nearest ancestor's. */
  const fillOf = (el: Element | null): string | undefined => (el ? (styleProp(el, 'fill') ?? fillOf(el.parentElement)) : undefined);
  const lum = (h: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let style: HTMLStyleElement | null = null;
  function darkPage() {
    style = document.createElement('style');
    style.textContent = themeCss;
    document.head.append(style);
    document.documentElement.dataset.theme = 'dark';
  }
  afterEach(() => {
    style?.remove();
    style = null;
    delete document.documentElement.dataset.theme;
    exportChoice.light = false;
  });

  it('the palettes compared are the theme blocks of charts.css', () => {
    expect(lightSeries).toHaveLength(6);
    expect(darkSeries).toHaveLength(6);
    expect(lightSeries.filter((c) => darkSeries.includes(c))).toEqual([]);
  });

  it('on a dark page: white background, dark text, the light series colours; the page keeps its theme', () => {
    darkPage();
    const host = render(LineChart, { data: line, title: 'Loss', width: 480 });
    const svg = host.querySelector('svg')!;
    const figure = host.querySelector('.ns-chart')!;
    const asShown = new DOMParser().parseFromString(svgToString(svg), 'image/svg+xml').documentElement;
    const light = new DOMParser().parseFromString(svgToString(svg, { theme: 'light' }), 'image/svg+xml').documentElement;
    expect(figure.hasAttribute(EXPORT_THEME_ATTR)).toBe(false);
    const bg = (root: Element) => hexOf([...root.children].find((c) => c.localName === 'rect')!.getAttribute('fill'));
    expect(bg(light)).toBe('#ffffff');
    expect(bg(asShown)).not.toBe('#ffffff');
    const texts = [...light.getElementsByTagName('text')];
    expect(texts.length).toBeGreaterThan(5);
    for (const t of texts) {
      const fill = hexOf(fillOf(t));
      expect(fill, `"${t.textContent}" is filled ${fill}`).toMatch(/^#[0-9a-f]{6}$/);
      // WCAG AA against white: (1 + 0.05) / (L + 0.05) >= 4.5.
      expect(1.05 / (lum(fill) + 0.05), `"${t.textContent}" on white`).toBeGreaterThanOrEqual(4.5);
    }
    const paints = (root: Element) => new Set([...root.querySelectorAll('*')].flatMap((e) => [styleProp(e, 'stroke'), styleProp(e, 'fill')]).map(hexOf));
    const lightPaints = paints(light);
    const darkPaints = paints(asShown);
    expect(lightPaints.has(lightSeries[0]) && lightPaints.has(lightSeries[1]), [...lightPaints].join(' ')).toBe(true);
    expect(darkSeries.filter((c) => lightPaints.has(c))).toEqual([]);
    expect(darkPaints.has(darkSeries[0]), [...darkPaints].join(' ')).toBe(true);
  });

  it('prints the caption and the link under the figure, wrapped to its width, the link clickable', () => {
    const host = document.createElement('div');
    host.innerHTML = '<svg width="200" height="100" viewBox="0 0 200 100"><title>T</title><rect width="5" height="5"></rect></svg>';
    document.body.append(host);
    const svg = host.querySelector('svg') as SVGSVGElement;
    const caption = 'Each row is a query position, each column a cached key: the darker the cell, the more attention.';
    const link = 'https://example.org/lessons/kv-cache?prompt=Once+upon+a+time&layer=1&head=0&present=3#key-figure';
    const doc = new DOMParser().parseFromString(svgToString(svg, { caption, link }), 'image/svg+xml');
    expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
    const root = doc.documentElement;
    const a = root.getElementsByTagName('a')[0];
    expect(a.getAttribute('href')).toBe(link);
    const linkLines = [...a.getElementsByTagName('text')].map((t) => t.textContent!);
    expect(linkLines.length).toBeGreaterThan(1);
    expect(linkLines.join('')).toBe(link);
    const captionLines = [...root.getElementsByTagName('text')].filter((t) => !a.contains(t)).map((t) => t.textContent!);
    expect(captionLines.length).toBeGreaterThan(1);
    expect(captionLines.join(' ')).toBe(caption);
    for (const l of [...captionLines, ...linkLines]) expect(textWidth(l, 13), l).toBeLessThanOrEqual(200);
    // Below the figure, inside the file.
    const ys = [...root.getElementsByTagName('text')].map((t) => Number(t.getAttribute('y')));
    expect(Math.min(...ys)).toBeGreaterThan(100);
    const [, top, , h] = root.getAttribute('viewBox')!.split(' ').map(Number);
    expect(Math.max(...ys)).toBeLessThan(top + h);
    expect(Number(root.getAttribute('height'))).toBe(h);
    // Without them the file is as before.
    expect(svgToString(svg)).not.toContain('example.org');
    host.remove();
  });

  it('figureInfo reads the caption and the link the page set around the figure, the section as fragment', () => {
    const host = document.createElement('div');
    host.innerHTML =
      '<div data-export-link="https://example.org/lessons/kv-cache?layer=1"><section id="cache-size"><figure data-export-caption=" What grows. ">' +
      '<svg width="10" height="10"></svg></figure></section><svg id="bare" width="10" height="10"></svg></div>';
    document.body.append(host);
    expect(figureInfo(host.querySelector('figure svg')!)).toEqual({ caption: 'What grows.', link: 'https://example.org/lessons/kv-cache?layer=1#cache-size' });
    expect(figureInfo(host.querySelector('#bare')!)).toEqual({ caption: undefined, link: 'https://example.org/lessons/kv-cache?layer=1' });
    host.remove();
  });

  it('wrapUrl: the lines give the URL back and each fits (or is one character)', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.integer({ min: 20, max: 600 }), (url, width) => {
        const lines = wrapUrl(url, width, 13);
        expect(lines.join('')).toBe(url);
        for (const l of lines) expect(textWidth(l, 13) <= width || [...l].length === 1).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('"Light, for slides" is a labelled checkbox, one choice for every figure on the page', () => {
    const a = render(ExportButtons, { svg: null, filename: 'a' });
    const b = render(ExportButtons, { svg: null, filename: 'b' });
    const boxA = a.querySelector<HTMLInputElement>('input[type=checkbox]')!;
    const boxB = b.querySelector<HTMLInputElement>('input[type=checkbox]')!;
    expect(boxA.closest('label')!.textContent!.trim()).toBe('Light, for slides');
    expect(document.getElementById(boxA.getAttribute('aria-describedby')!)!.textContent).toMatch(/white background.*caption.*link/);
    expect(boxA.checked).toBe(false);
    boxA.click();
    flushSync();
    expect(exportChoice.light).toBe(true);
    expect(boxB.checked).toBe(true);
  });
});

// ------------------------------------------------------------------ components

function key(el: Element, k: string) {
  el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
  flushSync();
}

function routing(): HeatmapData {
  const rows = 3;
  const cols = 4;
  return {
    kind: 'heatmap',
    rows,
    cols,
    values: Float32Array.from({ length: rows * cols }, (_, i) => (i + 1) / 12),
    rowLabels: ['The', 'quick', 'fox'],
    colLabels: ['e0', 'e1', 'e2', 'e3'],
    rowTitle: 'token',
    colTitle: 'expert',
    scale: 'sequential',
    valueLabel: 'gate score',
    marks: { cells: [[0, 1], [1, 3], [2, 0]], label: 'chosen expert' },
    dimmed: { cells: [[0, 3]], label: 'dropped group' },
  };
}

describe('Heatmap', () => {
  it('is an img named by its title and a generated description, with a legend', () => {
    const el = render(Heatmap, { data: routing(), title: 'Routing, layer 1', provenance: { kind: 'engine' } });
    const svg = el.querySelector('svg')!;
    expect(svg.getAttribute('role')).toBe('img');
    const ids = svg.getAttribute('aria-labelledby')!.split(' ');
    expect(ids).toHaveLength(2);
    expect(el.querySelector(`[id="${ids[0]}"]`)!.textContent).toBe('Routing, layer 1');
    const desc = el.querySelector(`[id="${ids[1]}"]`)!.textContent!;
    expect(desc).toContain('3 rows (token) by 4 columns (expert), gate score from 0.0833 to 1');
    expect(desc).toContain('3 cells outlined: chosen expert');
    expect(desc).toContain('1 cell hatched: dropped group');
    const text = svg.textContent!;
    expect(text).toContain('gate score');
    expect(text).toContain('outlined: chosen expert');
    expect(text).toContain('hatched: dropped group');
    expect(text).toContain('Source: computed live by the tiny engine');
    expect(svg.getAttribute('tabindex')).toBe('0');
    const names = [...el.querySelectorAll('button')].map((b) => b.textContent!.trim().replace(/^⤓/, ''));
    expect(names).toEqual(['Export SVG', 'Export PNG']);
  });

  it('with showTitle false the title names the svg but is not drawn, and export keeps it', () => {
    const el = render(Heatmap, { data: routing(), title: 'Routing, layer 1', showTitle: false });
    const svg = el.querySelector('svg')!;
    expect(svg.querySelector('title')!.textContent).toBe('Routing, layer 1');
    expect(svg.querySelector('.ns-title')).toBeNull();
    expect(svg.getAttribute('data-export-title')).toBe('Routing, layer 1');
    const shown = render(Heatmap, { data: routing(), title: 'Routing, layer 1' }).querySelector('svg')!;
    expect(shown.querySelector('.ns-title')!.textContent).toBe('Routing, layer 1');
    expect(Number(svg.getAttribute('height'))).toBeLessThan(Number(shown.getAttribute('height')));
  });

  it('arrow keys move a cursor and announce the cell', () => {
    const el = render(Heatmap, { data: routing(), title: 'Routing' });
    const svg = el.querySelector('svg')!;
    svg.dispatchEvent(new FocusEvent('focus'));
    flushSync();
    const live = el.querySelector('[aria-live="polite"]')!;
    key(svg, 'ArrowRight');
    expect(live.textContent).toBe('token The, expert e1: gate score 0.167; chosen expert');
    key(svg, 'ArrowDown');
    key(svg, 'End');
    expect(live.textContent).toBe('token quick, expert e3: gate score 0.667; chosen expert');
    key(svg, 'ArrowUp');
    expect(live.textContent).toContain('dropped group');
    expect(el.querySelector('.ns-tooltip')!.textContent).toContain('gate score');
    expect(el.querySelector('.ns-cursor')).not.toBeNull();
    key(svg, 'Escape');
    expect(el.querySelector('.ns-tooltip')).toBeNull();
  });

  it('keeps the DOM small for a 64 x 64 grid', () => {
    const n = 64;
    const values = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i / 50));
    const el = render(Heatmap, { data: { kind: 'heatmap', rows: n, cols: n, values, scale: 'diverging', valueLabel: 'v' }, title: 'Big', width: 900 });
    const cellPaths = el.querySelectorAll('svg > g > g[shape-rendering] > path');
    expect(cellPaths.length).toBeGreaterThan(10);
    expect(cellPaths.length).toBeLessThanOrEqual(257);
    expect(el.querySelectorAll('svg *').length).toBeLessThan(600);
  });

  it('prints values in cells when asked and they fit, with NaN as "no value"', () => {
    const el = render(Heatmap, {
      data: { kind: 'heatmap', rows: 2, cols: 2, values: [-1, 0.5, NaN, 1], scale: 'diverging', valueLabel: 'diff', showValues: true, digits: 2 },
      title: 'Diff',
      width: 600,
    });
    const text = el.querySelector('svg')!.textContent!;
    expect(text).toContain(`${MINUS}1`);
    expect(text).toContain('0.5');
    expect(text).toContain('no value');
  });
});

const line: LineChartData = {
  kind: 'line',
  series: [
    { name: 'theory', points: [0, 1, 2, 3].map((x) => ({ x, y: 1 + x })), style: 'dashed' },
    { name: 'measured', points: [1, 3].map((x) => ({ x, y: 0.9 + x })), style: 'points' },
  ],
  xLabel: 'draft length',
  yLabel: 'tokens per step',
  markers: [{ x: 2, label: 'k = 2' }],
};

describe('LineChart', () => {
  it('draws each series with legend, axes titles and markers, and describes them', () => {
    const el = render(LineChart, { data: line, title: 'Acceptance' });
    const svg = el.querySelector('svg')!;
    const text = svg.textContent!;
    for (const s of ['theory', 'measured', 'draft length', 'tokens per step', 'k = 2']) expect(text).toContain(s);
    expect(svg.querySelector('desc')!.textContent).toContain('Line chart, 2 series: theory (dashed line, 4 points); measured (points, 2 points)');
    const small = [...svg.querySelectorAll('text')].map((t) => t.getAttribute('class'));
    expect(small.every((c) => c !== null)).toBe(true); // every text has a sized class (>= 13px in charts.css)
  });

  it('omits non-positive values on a log axis and says so', () => {
    const data: LineChartData = { ...line, yScale: 'log', series: [{ name: 's', points: [{ x: 1, y: 0 }, { x: 2, y: 10 }, { x: 3, y: 100 }] }] };
    const el = render(LineChart, { data, title: 'Log' });
    expect(el.querySelector('desc')!.textContent).toContain('1 not shown on the log scale');
  });

  it('points are reachable by keyboard', () => {
    const el = render(LineChart, { data: line, title: 'Acceptance' });
    const svg = el.querySelector('svg')!;
    svg.dispatchEvent(new FocusEvent('focus'));
    flushSync();
    key(svg, 'ArrowRight');
    const live = el.querySelector('[aria-live="polite"]')!;
    expect(live.textContent).toBe('theory: draft length 1, tokens per step 2');
    key(svg, 'ArrowDown');
    expect(live.textContent).toBe('measured: draft length 1, tokens per step 1.9');
  });
});

const bars: BarChartData = {
  kind: 'bar',
  categories: ['MHA', 'GQA', 'MLA'],
  series: [
    { name: 'V2', values: [4096, 1024, 512] },
    { name: 'V3', values: [8192, 2048, 576] },
  ],
  yLabel: 'bytes per token',
  yFormat: 'bytes',
  highlight: { category: 'MLA', label: 'used by DeepSeek-V3' },
};

describe('BarChart', () => {
  it('draws one bar per value, a legend naming the series and the highlight', () => {
    const el = render(BarChart, { data: bars, title: 'Cache per token', width: 700 });
    const svg = el.querySelector('svg')!;
    const plot = svg.querySelectorAll('g[transform] > rect[style]');
    expect(plot.length).toBe(6 + 2); // 6 bars + 2 legend swatches
    const text = svg.textContent!;
    expect(text).toContain('outlined: used by DeepSeek-V3');
    expect(text).toContain('8 KiB');
    expect(svg.querySelector('.ns-highlight')).not.toBeNull();
    expect(svg.querySelector('desc')!.textContent).toContain('MHA: V2 4 KiB, V3 8 KiB');
    key(svg, 'ArrowRight');
    expect(el.querySelector('[aria-live="polite"]')!.textContent).toBe('MHA · V3: bytes per token 8 KiB');
  });
});

describe('DataTable and Stats', () => {
  const table: TableData = {
    kind: 'table',
    caption: 'Bytes per token.',
    columns: [
      { key: 'model', label: 'Model' },
      { key: 'mla', label: 'MLA', format: 'bytes' },
      { key: 'ratio', label: 'Saving', format: 'ratio' },
    ],
    rows: [
      { model: 'tiny', mla: 640, ratio: 6.4 },
      { model: 'V3', mla: 70272, ratio: 56.889 },
    ],
  };

  it('is a real table with caption and scoped headers, numbers formatted and right-aligned', () => {
    const el = render(DataTable, { data: table, title: 'Cache per token' });
    const t = el.querySelector('table')!;
    expect(t.querySelector('caption')!.textContent).toContain('Cache per token');
    expect(t.querySelector('caption')!.textContent).toContain('Bytes per token.');
    expect([...t.querySelectorAll('thead th')].map((th) => th.getAttribute('scope'))).toEqual(['col', 'col', 'col']);
    expect([...t.querySelectorAll('tbody th')].map((th) => th.getAttribute('scope'))).toEqual(['row', 'row']);
    const cells = [...t.querySelectorAll('tbody td')].map((td) => td.textContent);
    expect(cells).toEqual(['640 B', '6.4x', '68.6 KiB', '56.9x']);
    expect(t.querySelector('tbody td')!.classList.contains('num')).toBe(true);
    expect([...el.querySelectorAll('button')].map((b) => b.textContent!.replace('⤓', '').trim())).toEqual(['Export CSV']);
  });

  it('stats show formatted values with units and notes', () => {
    const data: StatsData = {
      kind: 'stats',
      items: [
        { label: 'max |difference|', value: 3.1e-7, format: 'sci', note: 'absorbed vs full' },
        { label: 'accepted', value: 3.361, unit: 'tokens' },
        { label: 'backend', value: 'webasm' },
      ],
    };
    const el = render(Stats, { data, title: 'Check' });
    const dds = [...el.querySelectorAll('dd')].map((d) => d.textContent!.replace(/\s+/g, ' ').trim());
    expect(dds).toEqual(['3.1e-7 absorbed vs full', '3.36 tokens', 'webasm']);
    expect(el.querySelector('figcaption')!.textContent).toBe('Check');
  });
});

describe('Chart dispatch and ExportButtons', () => {
  it('renders the component for each kind', () => {
    const cases: [ChartData, string][] = [
      [routing(), 'heatmap'],
      [line, 'line-chart'],
      [bars, 'bar-chart'],
      [{ kind: 'table', columns: [{ key: 'a', label: 'A' }], rows: [{ a: 1 }] }, 'data-table'],
      [{ kind: 'stats', items: [{ label: 'x', value: 1 }] }, 'stats'],
    ];
    for (const [data, testid] of cases) {
      const el = render(Chart, { data, title: `A ${data.kind}` });
      expect(el.querySelector(`[data-testid="${testid}"]`), data.kind).not.toBeNull();
    }
  });

  it('survives empty and degenerate data', () => {
    const empties: ChartData[] = [
      { kind: 'heatmap', rows: 0, cols: 0, values: [], scale: 'sequential', valueLabel: 'v' },
      { kind: 'heatmap', rows: 1, cols: 2, values: [NaN, NaN], scale: 'diverging', valueLabel: 'v' },
      { kind: 'line', series: [], xLabel: 'x', yLabel: 'y' },
      { kind: 'line', series: [{ name: 'a', points: [{ x: 1, y: -1 }] }], xLabel: 'x', yLabel: 'y', yScale: 'log' },
      { kind: 'bar', categories: [], series: [], yLabel: 'y' },
      { kind: 'bar', categories: ['a'], series: [{ name: 's', values: [NaN] }], yLabel: 'y', yScale: 'log' },
      { kind: 'table', columns: [], rows: [] },
      { kind: 'stats', items: [] },
    ];
    for (const data of empties) {
      const el = render(Chart, { data, title: 'Empty' });
      expect(el.textContent).toContain('Empty');
      expect(el.innerHTML).not.toMatch(/NaN|Infinity|undefined/);
    }
  });

  it('export buttons are named by what they do and wait for their svg', () => {
    const el = render(ExportButtons, { svg: null, filename: 'fig' });
    const buttons = [...el.querySelectorAll('button')];
    expect(buttons.map((b) => b.textContent!.replace('⤓', '').trim())).toEqual(['Export SVG', 'Export PNG']);
    expect(buttons.every((b) => b.disabled)).toBe(true);
  });
});

// ------------------------------------------------------------------ issue 12 chart bugs
// Each of these failed before its fix: fractional ticks on count axes, a staircase drawn with
// diagonals, axis titles drawn past the edge of a heatmap's figure.

function tickLabelsOf(svg: SVGSVGElement, anchor: 'end' | 'middle'): string[] {
  return [...svg.querySelectorAll('text.ns-tick')].filter((t) => t.getAttribute('text-anchor') === anchor && !t.classList.contains('ns-marker-label')).map((t) => t.textContent!.trim());
}

describe('count axes tick on whole numbers only', () => {
  const counts = [0, 1, 3, 2, 3, 1];
  it('line chart: yIntegers', () => {
    const data: LineChartData = { kind: 'line', series: [{ name: 'tokens', points: counts.map((y, x) => ({ x, y })) }], xLabel: 'shift', yLabel: 'tokens', yIntegers: true };
    for (const width of [300, 640, 1200]) {
      const svg = render(LineChart, { data, title: 'Counts', width }).querySelector('svg')!;
      const ys = tickLabelsOf(svg, 'end');
      expect(ys.length).toBeGreaterThanOrEqual(2);
      for (const l of ys) expect(l, `tick "${l}" at width ${width}`).toMatch(/^\d+$/);
    }
  });
  it('bar chart: yIntegers', () => {
    const data: BarChartData = { kind: 'bar', categories: ['1 node', '2 nodes', '3 nodes'], series: [{ name: 'tokens', values: [3, 1, 2] }], yLabel: 'tokens', yIntegers: true };
    for (const width of [300, 640, 1200]) {
      const svg = render(BarChart, { data, title: 'Counts', width }).querySelector('svg')!;
      const ys = tickLabelsOf(svg, 'end');
      expect(ys.length).toBeGreaterThanOrEqual(2);
      for (const l of ys) expect(l, `tick "${l}" at width ${width}`).toMatch(/^\d+$/);
    }
  });
});

describe('a step series is a staircase', () => {
  it('every segment of its path is horizontal or vertical', () => {
    const points = [0, 0, 2, 5, 5, 7, 12].map((y, i) => ({ x: -1 + i / 3, y }));
    const data: LineChartData = { kind: 'line', series: [{ name: 'tokens choosing expert 3', points, steps: true }, { name: 'kept', points: points.map((p) => ({ x: p.x, y: p.y + 1 })), style: 'dashed', steps: true }], xLabel: 'shift', yLabel: 'tokens', yIntegers: true };
    const svg = render(LineChart, { data, title: 'Sweep', width: 640 }).querySelector('svg')!;
    const paths = [...svg.querySelectorAll('path[fill="none"]')].map((p) => p.getAttribute('d')!);
    expect(paths).toHaveLength(2);
    for (const d of paths) {
      expect(d).toMatch(/^M[^MCQA]*$/); // moves and straight lines only
      const pts = [...d.matchAll(/[ML]\s*(-?[\d.e-]+)[ ,](-?[\d.e-]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(pts.length).toBeGreaterThanOrEqual(points.length);
      for (let i = 1; i < pts.length; i++) {
        const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
        expect(Math.abs(x1 - x0) < 1e-6 || Math.abs(y1 - y0) < 1e-6, `segment ${x0},${y0} -> ${x1},${y1}`).toBe(true);
      }
    }
    expect(svg.querySelector('desc')!.textContent).toContain('tokens choosing expert 3 (steps, 7 points)');
  });
});

describe('heatmap axis titles stay inside the figure', () => {
  // A narrow grid (like the routing node map or the k^R columns) under a long column title, and a
  // grid shorter than its row title.
  const data: HeatmapData = {
    kind: 'heatmap', rows: 2, cols: 4, values: Float32Array.from({ length: 8 }, (_, i) => i), scale: 'sequential', valueLabel: 'v',
    rowLabels: ['0: a', '1: b'], colLabels: ['0', '1', '2', '3'],
    rowTitle: 'token (position: character), one per row of the cache',
    colTitle: 'node: group-limited (left), free = unrestricted (right); 4 experts per node',
  };
  function extent(t: Element): { x0: number; x1: number; y0: number; y1: number } {
    const w = textWidth(t.textContent!, 14);
    const tr = t.getAttribute('transform');
    if (tr) {
      const m = /translate\(([-\d.]+),([-\d.]+)\)\s*rotate\(-90\)/.exec(tr)!;
      const x = Number(m[1]), y = Number(m[2]);
      return { x0: x - 9, x1: x + 9, y0: y - w / 2, y1: y + w / 2 };
    }
    const x = Number(t.getAttribute('x')), y = Number(t.getAttribute('y'));
    const a = t.getAttribute('text-anchor') ?? 'start';
    const x0 = a === 'middle' ? x - w / 2 : a === 'end' ? x - w : x;
    return { x0, x1: x0 + w, y0: y - 14, y1: y + 4 };
  }
  for (const width of [360, 700, 1200])
    it(`at width ${width}`, () => {
      const svg = render(Heatmap, { data, title: 'Nodes', width }).querySelector('svg')!;
      const W = Number(svg.getAttribute('width')), H = Number(svg.getAttribute('height'));
      const titles = [...svg.querySelectorAll('text.ns-axis-title')];
      expect(titles.map((t) => t.textContent).join(' ')).toContain('token (position: character)');
      expect(titles.map((t) => t.textContent).join(' ').replace(/\s+/g, ' ')).toContain('4 experts per node');
      const title = [...svg.querySelectorAll('text.ns-title')].at(-1);
      const titleBottom = title ? Number(title.getAttribute('y') ?? 0) + 4 : 0;
      for (const t of titles) {
        const e = extent(t);
        expect(e.x0, `"${t.textContent}" left`).toBeGreaterThanOrEqual(0);
        expect(e.x1, `"${t.textContent}" right`).toBeLessThanOrEqual(W + 0.5);
        expect(e.y0, `"${t.textContent}" top`).toBeGreaterThanOrEqual(titleBottom);
        expect(e.y1, `"${t.textContent}" bottom`).toBeLessThanOrEqual(H);
      }
    });
});

describe('line and bar axis titles stay inside the figure', () => {
  // The load-balancing drop chart's y title ran past both ends of its plot at 1024 px.
  const yLabel = 'pairs a capacity factor of 1.0 would drop per step (mean of every 2 steps), all three runs';
  const xLabel = 'training step (no capacity: nothing dropped; shown, what a capacity of 32 per expert, factor 1.0, would drop)';
  function inside(svg: SVGSVGElement) {
    const W = Number(svg.getAttribute('width')), H = Number(svg.getAttribute('height'));
    const titles = [...svg.querySelectorAll('text.ns-axis-title')];
    expect(titles.length).toBeGreaterThan(0);
    for (const t of titles) {
      const w = textWidth(t.textContent!, 14);
      const m = /translate\(([-\d.]+),([-\d.]+)\)\s*rotate\(-90\)/.exec(t.getAttribute('transform') ?? '');
      const [x0, x1, y0, y1] = m
        ? [Number(m[1]) - 9, Number(m[1]) + 9, Number(m[2]) - w / 2, Number(m[2]) + w / 2]
        : [Number(t.getAttribute('x')) - w / 2, Number(t.getAttribute('x')) + w / 2, Number(t.getAttribute('y')) - 14, Number(t.getAttribute('y')) + 4];
      expect(x0, `"${t.textContent}"`).toBeGreaterThanOrEqual(0);
      expect(x1, `"${t.textContent}"`).toBeLessThanOrEqual(W);
      expect(y0, `"${t.textContent}"`).toBeGreaterThanOrEqual(0);
      expect(y1, `"${t.textContent}"`).toBeLessThanOrEqual(H);
    }
    return titles.map((t) => t.textContent).join(' ');
  }
  for (const width of [320, 640, 1000])
    it(`at width ${width}`, () => {
      const line: LineChartData = { kind: 'line', series: [{ name: 'a', points: [{ x: 0, y: 1 }, { x: 300, y: 120 }] }], xLabel, yLabel };
      const text = inside(render(LineChart, { data: line, title: 'Drops', width }).querySelector('svg')!);
      for (const word of ['pairs', 'three runs', 'training step', 'would drop)']) expect(text).toContain(word);
      const bar: BarChartData = { kind: 'bar', categories: ['a', 'b'], series: [{ name: 's', values: [1, 2] }], yLabel };
      expect(inside(render(BarChart, { data: bar, title: 'Drops', width }).querySelector('svg')!)).toContain('three runs');
    });
});

describe('categorical heatmap', () => {
  it('labels each region once, draws borders between categories, and skips hatched cells', () => {
    // Two 4 x 4 regions (category 0 left, 1 right) with a hatched separator column of zeros.
    const rows = 4, cols = 9;
    const values = Float32Array.from({ length: rows * cols }, (_, i) => ((i % cols) < 4 ? 0 : (i % cols) === 4 ? 0 : 1));
    const dimmed: [number, number][] = Array.from({ length: rows }, (_, r) => [r, 4]);
    const data: HeatmapData = { kind: 'heatmap', rows, cols, values, scale: 'categorical', domain: [0, 1], dimmed: { cells: dimmed, label: 'between' }, valueLabel: 'expert' };
    const svg = render(Heatmap, { data, title: 'Owners', width: 640 }).querySelector('svg')!;
    expect([...svg.querySelectorAll('text.ns-cat-label')].map((t) => t.textContent)).toEqual(['0', '1']);
    expect(svg.querySelector('path.ns-cat-border')).toBeNull(); // the only boundary is the hatched column
    expect(svg.querySelectorAll('rect.ns-swatch')).toHaveLength(2);
    expect(svg.querySelector('desc')!.textContent).toContain('categories');
  });
});
