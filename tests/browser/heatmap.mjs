// The heatmap in Chromium: its cells are painted on a canvas (one pixel per cell, in the colours of
// the legend's palette), the canvas follows the data when a slider moves, and an exported SVG has
// the cells as vector paths (no canvas, no foreignObject) whose fills are the canvas's colours.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { downloadBytes, launch, open, waitForBackend } from './lib/browser.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ acceptDownloads: true });
});
after(async () => {
  await browser?.close();
});

/** The first heatmap of a lesson: its canvas size, distinct opaque colours and a pixel digest. */
function readCanvas(figure) {
  return figure.locator('canvas.ns-cells').evaluate((c) => {
    const ctx = c.getContext('2d');
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let opaque = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      opaque++;
      colours.add(`rgb(${px[i]}, ${px[i + 1]}, ${px[i + 2]})`);
    }
    return { width: c.width, height: c.height, opaque, colours: [...colours], digest: c.toDataURL() };
  });
}

describe('heatmap', () => {
  it('paints one canvas pixel per cell, repaints when a slider moves, and exports vector cells', async () => {
    const { page } = browser;
    await open(page, '/lessons/absorption');
    await waitForBackend(page);
    await page.evaluate(() => window.__nanoseek.runtime.idle());
    const figure = page.locator('figure.ns-heatmap').first();
    await figure.scrollIntoViewIfNeeded();
    const before = await readCanvas(figure);
    // The figure's own description names its grid size.
    const desc = await figure.locator('svg > desc').textContent();
    const [, rows, cols] = /(\d+) rows.* by (\d+) columns/.exec(desc) ?? [];
    assert.equal(before.height, Number(rows));
    assert.equal(before.width, Number(cols));
    assert.equal(before.opaque, before.width * before.height, 'every cell of a full grid is painted');
    assert.ok(before.colours.length > 10, `a grid of random weights has many colours (${before.colours.length})`);

    const head = page.locator('.notebook .control[data-input="head"] input[type=range]').first();
    await head.focus();
    await page.keyboard.press('ArrowRight');
    await page.evaluate(() => window.__nanoseek.runtime.idle());
    const after = await readCanvas(figure);
    assert.notEqual(after.digest, before.digest, 'another head, other pixels');

    const [download] = await Promise.all([page.waitForEvent('download'), figure.getByRole('button', { name: 'Export SVG' }).click()]);
    const text = (await downloadBytes(download)).toString('utf8');
    const exported = await page.evaluate((svgText) => {
      const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
      const fills = [...doc.querySelectorAll('g[shape-rendering="crispEdges"] > path[fill]')].map((p) => p.getAttribute('fill'));
      // Normalise each fill the way the canvas reports colours.
      const probe = document.createElement('canvas').getContext('2d');
      const rgb = fills.map((f) => {
        probe.fillStyle = f;
        const hex = probe.fillStyle;
        const n = parseInt(hex.slice(1), 16);
        return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
      });
      return {
        error: doc.querySelector('parsererror')?.textContent ?? null,
        foreign: doc.querySelectorAll('foreignObject, canvas').length,
        fills: rgb,
      };
    }, text);
    assert.equal(exported.error, null);
    assert.equal(exported.foreign, 0, 'no canvas in the exported file');
    assert.deepEqual(new Set(exported.fills), new Set(after.colours), 'the exported paths use exactly the painted colours');
  });
});
