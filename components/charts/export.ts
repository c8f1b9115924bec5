// Figure export: a chart's <svg> as a standalone SVG file (computed styles inlined, CSS variables
// resolved, the theme's background painted in) or as a PNG drawn from that SVG; and a download
// helper. On request the file is drawn in the light theme whatever the page shows (a teacher's
// slides are white), with the figure's caption and the link that reproduces it printed under it.
// The pure parts (file names, MIME types, CSV, style text, line breaking) are exported for tests.
import { textWidth, wrapText } from './chart-utils';

const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

/** Presentation properties copied from the computed style onto every exported element. */
export const PAINT_PROPS = [
  'fill',
  'fill-opacity',
  'fill-rule',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-linecap',
  'stroke-linejoin',
  'opacity',
  'paint-order',
  'shape-rendering',
  'visibility',
] as const;

/** Text properties, copied onto <svg>, <text> and <tspan> only. */
export const TEXT_PROPS = ['font-family', 'font-size', 'font-weight', 'font-style', 'text-anchor', 'dominant-baseline', 'letter-spacing'] as const;

/** Values that equal the SVG initial value, left out to keep the file small. */
const INITIAL: Record<string, string> = {
  'fill-opacity': '1',
  'fill-rule': 'nonzero',
  'stroke-opacity': '1',
  'stroke-dasharray': 'none',
  'stroke-linecap': 'butt',
  'stroke-linejoin': 'miter',
  opacity: '1',
  'paint-order': 'normal',
  'shape-rendering': 'auto',
  visibility: 'visible',
  'font-style': 'normal',
  'letter-spacing': 'normal',
  'dominant-baseline': 'auto',
  'text-anchor': 'start',
};

/** A CSS declaration list from property/value pairs, leaving out initial values (and stroke when width 0 is absent). */
export function styleText(props: Iterable<[string, string]>): string {
  const out: string[] = [];
  for (const [k, raw] of props) {
    const v = raw.trim();
    if (!v || INITIAL[k] === v) continue;
    out.push(`${k}:${v}`);
  }
  return out.join(';');
}

/** A safe file name from a figure name: letters, digits, dot, dash and underscore; "figure" if empty. */
export function exportFilename(name: string, ext: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\.(svg|png|csv)$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return `${base || 'figure'}.${ext.replace(/^\./, '')}`;
}

/** MIME type from a file name's extension. */
export function mimeFor(filename: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  switch (ext) {
    case 'svg':
      return 'image/svg+xml';
    case 'png':
      return 'image/png';
    case 'csv':
      return 'text/csv';
    case 'json':
      return 'application/json';
    default:
      return 'text/plain';
  }
}

/** RFC 4180 CSV (quotes where needed, CRLF line ends) from column keys/labels and rows. */
export function toCsv(columns: readonly { key: string; label: string }[], rows: readonly Record<string, string | number>[]): string {
  const cell = (v: unknown) => {
    const s = v === undefined || v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.map((c) => cell(c.label)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell(row[c.key])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** The drawn size of an svg: its width/height attributes, else its box on screen, else its viewBox. */
export function svgSize(svg: SVGSVGElement): { width: number; height: number } {
  const attr = (name: string) => {
    const v = Number.parseFloat(svg.getAttribute(name) ?? '');
    return Number.isFinite(v) && v > 0 ? v : 0;
  };
  let width = attr('width');
  let height = attr('height');
  if (!width || !height) {
    const box = svg.getBoundingClientRect();
    width ||= box.width;
    height ||= box.height;
  }
  if (!width || !height) {
    const vb = (svg.getAttribute('viewBox') ?? '').split(/[\s,]+/).map(Number);
    if (vb.length === 4) {
      width ||= vb[2];
      height ||= vb[3];
    }
  }
  return { width: Math.max(1, Math.round(width || 300)), height: Math.max(1, Math.round(height || 150)) };
}

/** The page background behind an svg: its --bg variable, else the first opaque ancestor background, else white. */
export function backgroundOf(el: Element): string {
  const view = el.ownerDocument.defaultView;
  if (!view) return '#ffffff';
  const v = view.getComputedStyle(el).getPropertyValue('--bg').trim();
  if (v) return v;
  for (let e: Element | null = el; e; e = e.parentElement) {
    const bg = view.getComputedStyle(e).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
  }
  return '#ffffff';
}

/**
 * A standalone SVG document for `svg`: a deep clone with the computed paint and text styles inlined
 * (so CSS variables and classes are resolved), elements marked `.no-export` removed (focus cursor,
 * hover marks), xmlns, explicit width/height/viewBox with `padding` px of margin, a background
 * rect in the theme's background colour, and (when the svg has `data-export-title`, i.e. its title is
 * shown by the page rather than drawn) that title as a heading line above the figure.
 */
export function svgToString(svg: SVGSVGElement, options: number | ExportOptions = EXPORT_PADDING): string {
  return standalone(svg, typeof options === 'number' ? { padding: options } : options).text;
}

/** How a figure is exported. */
export interface ExportOptions {
  /** Margin around the figure, px (default EXPORT_PADDING). */
  padding?: number;
  /**
   * 'light': drawn in the light theme whatever the page shows (white background, dark text and
   * axes, the light theme's series colours); 'page' (default): as the page shows it.
   */
  theme?: 'page' | 'light';
  /** Printed under the figure: its caption (wrapped to the figure's width). */
  caption?: string;
  /** Printed under the caption (and linked, in the SVG): the address that reproduces the figure. */
  link?: string;
}

/**
 * What the page around a figure tells its light export, read from the DOM when it is exported: the
 * caption from the nearest `data-export-caption`, the link from the nearest `data-export-link` (a
 * lesson's address with its settings; else the page's own http(s) address) with the id of the
 * nearest `<section id>` as its fragment, so the link opens at the figure.
 */
export function figureInfo(svg: Element): { caption?: string; link?: string } {
  const caption = svg.closest('[data-export-caption]')?.getAttribute('data-export-caption')?.trim() || undefined;
  const page = svg.ownerDocument.defaultView?.location.href ?? '';
  const base = svg.closest('[data-export-link]')?.getAttribute('data-export-link') || (/^https?:/.test(page) ? page : '');
  if (!base) return { caption };
  let link = base;
  try {
    const url = new URL(base);
    const section = svg.closest('section[id]')?.id;
    if (section) url.hash = section;
    link = url.href;
  } catch {
    // not a URL: printed as given
  }
  return { caption, link };
}

/** The attribute that switches a figure to the light theme while it is exported (charts.css, global.css). */
export const EXPORT_THEME_ATTR = 'data-export-theme';

/** Font size and line height of the caption and link lines under an exported figure, px. */
const FOOT_SIZE = 13;
const FOOT_LINE = 18;

/**
 * Break a URL into lines of at most `maxWidth` px at `size` px: after a "&", "?", "/" or "#" where
 * one fits, else anywhere. Joined without separators the lines give the URL back.
 */
export function wrapUrl(url: string, maxWidth: number, size: number): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  /** In `line`, the length up to its last break character "&?/#", or 0. */
  const lastBreak = () => {
    for (let i = line.length; i > 0; i--) if ('&?/#'.includes(line[i - 1]!)) return i;
    return 0;
  };
  for (const ch of url) {
    // Widths are measured on whole strings (not summed per character), as the test and the SVG see them.
    while (line.length > 0 && textWidth(line.join('') + ch, size) > maxWidth) {
      // Break after the last "&?/#" if it leaves at least half the line, else here; the rest of a
      // line cut at a break may still be too wide with the new character, so cut again.
      const b = lastBreak();
      const cut = b > 0 && b >= line.length / 2 ? b : line.length;
      lines.push(line.slice(0, cut).join(''));
      line = line.slice(cut);
    }
    line.push(ch);
  }
  if (line.length) lines.push(line.join(''));
  return lines;
}

/** Margin added around an exported figure, px (on a page the figure sits flush with the text). */
export const EXPORT_PADDING = 12;

/** Room for the title line added above a figure whose title the page shows elsewhere, px. */
const HEADING_HEIGHT = 28;

/** Elements a figure draws one way on screen and another way in an exported file. */
const EXPORTED_AS = new WeakMap<Element, () => Element>();

/**
 * In exported files, draw `el` (and what it contains) as the element `make` builds instead: a
 * heatmap paints its cells on a canvas on screen and exports them as vector paths. Returns a
 * function that undoes the registration.
 */
export function exportAs(el: Element, make: () => Element): () => void {
  EXPORTED_AS.set(el, make);
  return () => EXPORTED_AS.delete(el);
}

function standalone(svg: SVGSVGElement, options: ExportOptions): { text: string; width: number; height: number } {
  // The light theme applies to the figure (its chart frame) only while its styles are read: reading
  // computed styles is synchronous, so the page never paints it.
  const host = options.theme === 'light' ? (svg.closest('.ns-chart') ?? svg) : null;
  const had = host?.getAttribute(EXPORT_THEME_ATTR) ?? null;
  host?.setAttribute(EXPORT_THEME_ATTR, 'light');
  try {
    // The light background is the one the figure's frame declares (it carries the attribute).
    return drawStandalone(svg, options, backgroundOf(host ?? svg));
  } finally {
    if (host) {
      if (had === null) host.removeAttribute(EXPORT_THEME_ATTR);
      else host.setAttribute(EXPORT_THEME_ATTR, had);
    }
  }
}

function drawStandalone(svg: SVGSVGElement, options: ExportOptions, background: string): { text: string; width: number; height: number } {
  const padding = options.padding ?? EXPORT_PADDING;
  const view = svg.ownerDocument.defaultView;
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const originals = [svg, ...svg.querySelectorAll('*')];
  const copies = [clone, ...clone.querySelectorAll('*')];
  const drop: Element[] = [];
  const replace: [Element, () => Element][] = [];
  for (let i = 0; i < originals.length; i++) {
    const o = originals[i];
    const c = copies[i];
    if (!c) continue;
    const make = EXPORTED_AS.get(o);
    if (make) replace.push([c, make]);
    if (o.classList.contains('no-export')) {
      drop.push(c);
      continue;
    }
    c.removeAttribute('tabindex');
    c.removeAttribute('class');
    c.removeAttribute('aria-hidden');
    if (!view) continue;
    const tag = o.localName;
    if (tag === 'title' || tag === 'desc' || tag === 'defs' || tag === 'linearGradient' || tag === 'stop' || tag === 'pattern' || tag === 'clipPath') {
      if (tag === 'stop') {
        const cs = view.getComputedStyle(o);
        const sc = cs.getPropertyValue('stop-color');
        if (sc) c.setAttribute('stop-color', sc);
        const so = cs.getPropertyValue('stop-opacity');
        if (so && so !== '1') c.setAttribute('stop-opacity', so);
        c.removeAttribute('style');
      }
      continue;
    }
    const cs = view.getComputedStyle(o);
    const pairs: [string, string][] = PAINT_PROPS.map((p) => [p, cs.getPropertyValue(p)]);
    if (tag === 'svg' || tag === 'text' || tag === 'tspan') {
      for (const p of TEXT_PROPS) pairs.push([p, cs.getPropertyValue(p)]);
    }
    if (tag === 'svg') pairs.push(['color', cs.getPropertyValue('color')]);
    if (cs.getPropertyValue('display') === 'none') pairs.push(['display', 'none']);
    const text = styleText(pairs);
    if (text) c.setAttribute('style', text);
    else c.removeAttribute('style');
  }
  for (const d of drop) d.remove();
  for (const [c, make] of replace) c.replaceWith(make());

  const size = svgSize(svg);
  const p = Math.max(0, padding);
  const vb = (svg.getAttribute('viewBox') ?? '').split(/[\s,]+/).map(Number);
  const [x0, y0, vw, vh] = vb.length === 4 && vb.every(Number.isFinite) ? vb : [0, 0, size.width, size.height];
  // A title the page shows outside the figure (data-export-title) is drawn above it in the file.
  const heading = svg.getAttribute('data-export-title')?.trim() ?? '';
  const headH = heading ? HEADING_HEIGHT : 0;
  // Caption and link under the figure, wrapped to its width.
  const caption = options.caption?.trim() ?? '';
  const link = options.link?.trim() ?? '';
  const captionLines = caption ? wrapText(caption, size.width, FOOT_SIZE) : [];
  const linkLines = link ? wrapUrl(link, size.width, FOOT_SIZE) : [];
  const footLines = captionLines.length + linkLines.length;
  const footH = footLines ? 8 + footLines * FOOT_LINE + (captionLines.length && linkLines.length ? 6 : 0) : 0;
  const width = size.width + 2 * p;
  const height = size.height + 2 * p + headH + footH;
  // Padding in user units, scaled like the drawing when the viewBox and the size differ.
  const kx = vw / size.width;
  const ky = vh / size.height;
  const left = x0 - p * kx;
  const top = y0 - (p + headH) * ky;
  const boxW = vw + 2 * p * kx;
  const boxH = vh + (2 * p + headH + footH) * ky;
  clone.setAttribute('xmlns', SVG_NS);
  clone.setAttribute('xmlns:xlink', XLINK_NS);
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  clone.setAttribute('viewBox', `${left} ${top} ${boxW} ${boxH}`);
  clone.setAttribute('version', '1.1');
  clone.removeAttribute('data-export-title');

  const doc = svg.ownerDocument;
  const bg = doc.createElementNS(SVG_NS, 'rect');
  bg.setAttribute('x', String(left));
  bg.setAttribute('y', String(top));
  bg.setAttribute('width', String(boxW));
  bg.setAttribute('height', String(boxH));
  bg.setAttribute('fill', background);
  // After <title>/<desc>/<defs> so an accessible name stays the first child.
  let after: Element | null = null;
  for (const child of clone.children) {
    if (child.localName === 'title' || child.localName === 'desc' || child.localName === 'defs') after = child;
    else break;
  }
  clone.insertBefore(bg, after ? after.nextSibling : clone.firstChild);
  if (heading) {
    const text = doc.createElementNS(SVG_NS, 'text');
    text.setAttribute('x', String(x0));
    text.setAttribute('y', String(y0 - 12 * ky));
    text.setAttribute('style', 'font-size:16px;font-weight:650');
    text.textContent = heading;
    bg.after(text);
  }
  if (footLines) {
    // In the figure's own text colour (the theme's foreground), on its background.
    const colour = view?.getComputedStyle(svg).getPropertyValue('color').trim() || '#000000';
    const foot = doc.createElementNS(SVG_NS, 'g');
    foot.setAttribute('style', `font-size:${FOOT_SIZE * ky}px;fill:${colour}`);
    let y = y0 + vh + (8 + FOOT_LINE - 5) * ky;
    for (const line of captionLines) {
      foot.append(textLine(doc, x0, y, line));
      y += FOOT_LINE * ky;
    }
    if (linkLines.length) {
      if (captionLines.length) y += 6 * ky;
      const a = doc.createElementNS(SVG_NS, 'a');
      a.setAttribute('href', link);
      for (const line of linkLines) {
        a.append(textLine(doc, x0, y, line));
        y += FOOT_LINE * ky;
      }
      foot.append(a);
    }
    clone.append(foot);
  }

  const xml = new XMLSerializer().serializeToString(clone);
  return { text: `<?xml version="1.0" encoding="UTF-8"?>\n${xml}\n`, width, height };
}

function textLine(doc: Document, x: number, y: number, content: string): SVGTextElement {
  const t = doc.createElementNS(SVG_NS, 'text');
  t.setAttribute('x', String(x));
  t.setAttribute('y', String(y));
  t.textContent = content;
  return t;
}

/** A PNG of `svg` at `scale` times its size, drawn from the standalone SVG through an <img>. */
export async function svgToPngBlob(svg: SVGSVGElement, scale = 2, options: number | ExportOptions = EXPORT_PADDING): Promise<Blob> {
  const { text, width, height } = standalone(svg, typeof options === 'number' ? { padding: options } : options);
  const img = new Image();
  img.decoding = 'async';
  const loaded = new Promise<void>((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error('the SVG could not be drawn as an image'));
  });
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  await loaded;
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas here');
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas gave no PNG'))), 'image/png'),
  );
}

/** Save a Blob or a string as a file (the browser's download). Strings get a type from the extension. */
export function download(data: Blob | string, filename: string): void {
  const blob = typeof data === 'string' ? new Blob([data], { type: `${mimeFor(filename)};charset=utf-8` }) : data;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
