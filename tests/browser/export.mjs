// "Light, for slides": on a page in the dark theme, a figure exported light has a white background,
// dark text and the light theme's series colours, with the figure's caption and the link that
// reproduces it printed under it; that link, opened in a fresh page, shows the same picture. The
// dark export stays as it was (the page's background, no caption or link), and the page itself stays
// dark. The light PNG is saved to screenshots/ for looking at.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadBytes, idle, launch, open, picture, SCREENSHOT_DIR, watchErrors } from './lib/browser.mjs';

const LESSON = '/lessons/kv-cache';
/** The light theme's first series colour, from charts.css (the .ns-chart block). */
const LIGHT_SERIES_1 = /\.ns-chart\s*\{[^}]*--series-1:\s*(#[0-9a-f]{6})/i.exec(await readFile(new URL('../../components/charts/charts.css', import.meta.url), 'utf8'))[1].toLowerCase();

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1024, height: 768 }, acceptDownloads: true, colorScheme: 'dark' });
});
after(async () => {
  await browser?.close();
});

/** What an exported SVG holds: background, every text with the fill it ends up with, paints, the link. */
function readSvg(page, text) {
  return page.evaluate((source) => {
    const doc = new DOMParser().parseFromString(source, 'image/svg+xml');
    const root = doc.documentElement;
    const prop = (el, name) => new RegExp(`(?:^|;)\\s*${name}:\\s*([^;]+)`).exec(el.getAttribute('style') ?? '')?.[1]?.trim() ?? el.getAttribute(name) ?? undefined;
    const fill = (el) => (el && el.nodeType === 1 ? (prop(el, 'fill') ?? fill(el.parentNode)) : undefined);
    const a = root.getElementsByTagName('a')[0];
    return {
      error: doc.querySelector('parsererror')?.textContent ?? null,
      background: [...root.children].find((c) => c.localName === 'rect')?.getAttribute('fill') ?? null,
      texts: [...root.getElementsByTagName('text')].map((t) => ({ text: t.textContent, fill: fill(t), inLink: Boolean(a?.contains(t)) })),
      paints: [...new Set([...root.querySelectorAll('*')].flatMap((e) => [prop(e, 'stroke'), prop(e, 'fill')]).filter(Boolean))],
      href: a?.getAttribute('href') ?? null,
      height: Number(root.getAttribute('height')),
    };
  }, text);
}

/** `rgb(r, g, b)` or `#rrggbb` as [r, g, b]. */
function rgb(c) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c ?? '');
  if (m) return m.slice(1, 4).map(Number);
  const h = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec((c ?? '').trim());
  if (!h) return null;
  const six = h[1].length === 3 ? [...h[1]].map((d) => d + d).join('') : h[1];
  return [0, 2, 4].map((i) => parseInt(six.slice(i, i + 2), 16));
}
const luminance = ([r, g, b]) => {
  const lin = (v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
};
const onWhite = (c) => 1.05 / (luminance(c) + 0.05);
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

describe('light export for slides', () => {
  it('white, dark text, light series, caption and a link that reproduces the picture; dark export unchanged', async () => {
    const { page, context } = browser;
    const errors = watchErrors(page);
    await open(page, LESSON);
    await idle(page);
    // A setting away from the defaults, so the link must carry state to reproduce the picture.
    const range = page.locator('.notebook input[type=range]').first();
    await range.focus();
    await page.keyboard.press('End');
    await idle(page);
    await page.waitForTimeout(300); // the address is written shortly after the last change

    const figure = page.locator('figure.cell').filter({ has: page.locator('[data-testid="line-chart"]') }).filter({ has: page.locator('p.caption') }).first();
    assert.equal(await figure.count(), 1, 'the lesson has a line chart with a caption');
    await figure.scrollIntoViewIfNeeded();
    const caption = (await figure.locator('p.caption').innerText()).replace(/\s+/g, ' ').trim();
    const section = await figure.evaluate((f) => f.closest('section[id]')?.id);
    const theme = () => page.evaluate(() => {
      const f = document.querySelector('figure.cell .ns-chart');
      return { attr: f?.getAttribute('data-export-theme') ?? null, bg: getComputedStyle(document.body).backgroundColor };
    });
    const before = await theme();
    assert.ok(luminance(rgb(before.bg)) < 0.05, `the page is dark (${before.bg})`);
    const series = await figure.locator('.ns-chart').evaluate((f) => [1, 2, 3].map((i) => getComputedStyle(f).getPropertyValue(`--series-${i}`).trim().toLowerCase()));

    const exportSvg = async () => {
      const [d] = await Promise.all([page.waitForEvent('download'), figure.getByRole('button', { name: 'Export SVG' }).click()]);
      return readSvg(page, (await downloadBytes(d)).toString('utf8'));
    };
    const dark = await exportSvg();

    // The choice by keyboard: a labelled checkbox.
    const box = figure.getByRole('checkbox', { name: 'Light, for slides' });
    await box.focus();
    await page.keyboard.press('Space');
    assert.equal(await box.isChecked(), true);
    const light = await exportSvg();

    assert.equal(light.error, null);
    assert.deepEqual(rgb(light.background), [255, 255, 255], `background ${light.background}`);
    for (const t of light.texts) assert.ok(onWhite(rgb(t.fill)) >= 4.5, `"${t.text}" in ${t.fill} on white: ${onWhite(rgb(t.fill)).toFixed(2)}:1`);
    // The light theme's series colours (charts.css), not the dark page's.
    const lightPaints = light.paints.map((p) => rgb(p)).filter(Boolean).map(hex);
    assert.ok(lightPaints.includes(LIGHT_SERIES_1), `the light series-1 colour ${LIGHT_SERIES_1} is drawn: ${lightPaints.join(' ')}`);
    for (const c of series.map((v) => hex(rgb(v)))) assert.ok(!lightPaints.includes(c), `the dark page's series colour ${c} is not in the light file`);
    // The figure's own text is the same in both; the caption and the link follow it.
    assert.deepEqual(light.texts.slice(0, dark.texts.length).map((t) => t.text), dark.texts.map((t) => t.text));
    const foot = light.texts.slice(dark.texts.length);
    const captionText = foot.filter((t) => !t.inLink).map((t) => t.text).join(' ');
    assert.equal(captionText, caption, 'the caption is printed');
    const linkText = light.texts.filter((t) => t.inLink).map((t) => t.text).join('');
    assert.equal(linkText, light.href, 'the link is printed whole');
    const link = new URL(light.href);
    assert.equal(link.search, new URL(page.url()).search, 'the link carries the lesson state');
    assert.ok(link.search.length > 1, `the link has settings: ${link.href}`);
    assert.equal(link.hash, `#${section}`, 'the link opens at the figure');
    assert.ok(light.height > dark.height, 'the caption and link add height');

    // The dark export is as before: the page's background, no caption, no link; the page stays dark.
    assert.ok(luminance(rgb(dark.background)) < 0.05, `dark background ${dark.background}`);
    assert.equal(dark.href, null);
    assert.deepEqual(await theme(), before, 'the page keeps its theme');

    // The light PNG: white, with dark pixels (text), taller than the figure alone; saved to look at.
    const [pngDownload] = await Promise.all([page.waitForEvent('download'), figure.getByRole('button', { name: 'Export PNG' }).click()]);
    const png = await downloadBytes(pngDownload);
    await writeFile(join(SCREENSHOT_DIR, 'export-light-kv-cache.png'), png);
    const pixels = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let darkPx = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 150) darkPx++;
      const bottom = ctx.getImageData(0, Math.floor(c.height * 0.97), c.width, 1).data;
      let bottomDark = 0;
      for (let i = 0; i < bottom.length; i += 4) if (bottom[i] + bottom[i + 1] + bottom[i + 2] < 300) bottomDark++;
      return { corner: [...ctx.getImageData(2, 2, 1, 1).data], width: c.width, height: c.height, darkPx, total: d.length / 4 };
    }, png.toString('base64'));
    assert.deepEqual(pixels.corner, [255, 255, 255, 255], 'PNG background white');
    assert.ok(pixels.darkPx > 500, `PNG has dark text (${pixels.darkPx} dark pixels)`);
    assert.equal(pixels.height, light.height * 2, 'PNG is the light SVG at 2x');

    // The printed link reproduces the picture in a fresh page.
    const expected = await picture(page);
    const other = await context.newPage();
    const otherErrors = watchErrors(other);
    await other.goto(light.href, { waitUntil: 'load' });
    await idle(other);
    assert.deepEqual(await picture(other), expected, 'the link shows the same picture');
    assert.deepEqual(otherErrors, []);
    await other.close();
    assert.deepEqual(errors, []);
  });
});
