// The speculation-trees lesson in Chromium, beyond what lessons.mjs checks for every lesson: the
// shipped small draft model is fetched and drafts (its row in the drafters table, its line in the
// acceptance-per-depth figure, both from the engine's run in the page), and that figure exports as a
// valid SVG and PNG. One page, seconds.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadBytes, idle, launch, onScreen, open, SCREENSHOT_DIR, watchErrors } from './lib/browser.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1024, height: 768 }, acceptDownloads: true });
});
after(async () => {
  await browser?.close();
});

describe('speculation trees: the small draft model and acceptance per depth', () => {
  it('the small draft model drafts in the page, and the depth figure shows it and exports', async () => {
    const { page } = browser;
    const errors = watchErrors(page);
    await open(page, '/lessons/speculation-trees');
    await idle(page);
    const table = page.locator('figure.cell').filter({ hasText: 'Steps, passes and positions scored' }).first();
    await table.locator('table').waitFor({ timeout: 60_000 });
    await onScreen(table);
    const rows = await table.locator('tbody tr').allInnerTexts();
    assert.ok(rows.some((r) => r.startsWith('small model')), `a small-model row in the drafters table: ${JSON.stringify(rows)}`);
    assert.ok(!(await table.innerText()).includes('not available here'), 'the table does not say the small model is missing');

    const depth = page.locator('figure.cell').filter({ hasText: 'Acceptance per draft depth' }).first();
    await depth.locator('svg').first().waitFor({ timeout: 60_000 });
    await onScreen(depth);
    const text = await depth.innerText();
    assert.match(text, /small model, γ = \d+: \d+\/\d+/, 'the small model\'s accepted/judged counts in the legend');
    assert.match(text, /MTP chain, γ = \d+: \d+\/\d+/, 'the MTP chain\'s counts in the legend');
    await depth.screenshot({ path: join(SCREENSHOT_DIR, 'speculation-trees-depth-1024x768.png') });

    const [svgDownload] = await Promise.all([page.waitForEvent('download'), depth.getByRole('button', { name: 'Export SVG' }).click()]);
    assert.match(svgDownload.suggestedFilename(), /\.svg$/);
    const svgText = (await downloadBytes(svgDownload)).toString('utf8');
    const parsed = await page.evaluate((t) => {
      const doc = new DOMParser().parseFromString(t, 'image/svg+xml');
      return { error: doc.querySelector('parsererror')?.textContent ?? null, root: doc.documentElement.nodeName, text: doc.documentElement.textContent ?? '' };
    }, svgText);
    assert.equal(parsed.error, null);
    assert.equal(parsed.root, 'svg');
    assert.match(parsed.text, /small model/, 'the exported SVG has the small model\'s line');
    const [pngDownload] = await Promise.all([page.waitForEvent('download'), depth.getByRole('button', { name: 'Export PNG' }).click()]);
    const png = await downloadBytes(pngDownload);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.ok(png.length > 1000, `PNG has content (${png.length} bytes)`);
    assert.deepEqual(errors, []);
  });
});
