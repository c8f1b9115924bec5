// Wide screens use their width, and no table clips a column: at 1920x1080 and 1024x768 the tables
// with the widest key columns (kv-cache "vs MLA", latent-kv "Decompressed / absorbed", absorption
// "FLOPs / cache byte") fit their figure without a horizontal scrollbar, and at 1920 the page column
// is wider than at 1024 (it was 1024 px at every size, and those three columns were cut off). The
// index's architecture diagram fits the column and the screen, and links the lessons it places.
// Each page loads once; the viewport then changes size. Screenshots: screenshots/wide-<size>-<page>.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, open, pageName, SCREENSHOT_DIR, settle, watchErrors } from './lib/browser.mjs';

const TABLES = [
  { path: '/lessons/kv-cache', column: 'vs MLA' },
  { path: '/lessons/latent-kv', column: 'Decompressed / absorbed' },
  { path: '/lessons/absorption', column: 'FLOPs / cache byte' },
];
const SIZES = [
  { width: 1920, height: 1080 },
  { width: 1024, height: 768 },
];

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: SIZES[0] });
});
after(async () => {
  await browser?.close();
});

describe('wide screens', () => {
  it('the index: the column widens at 1920; the architecture diagram fits and links seven lessons', async () => {
    const { page } = browser;
    await page.setViewportSize(SIZES[0]);
    const errors = watchErrors(page);
    await open(page, '/');
    const widths = [];
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await settle(page);
      const svg = page.locator('[data-testid="architecture-diagram"] svg');
      const box = await svg.boundingBox();
      const main = await page.locator('main').boundingBox();
      assert.ok(box && main, 'the diagram is drawn');
      assert.ok(box.x >= main.x && box.x + box.width <= main.x + main.width + 0.5, `inside the page column at ${size.width}`);
      assert.ok(box.height <= size.height, `${Math.round(box.height)} px tall: fits the ${size.height} px screen`);
      assert.equal(await svg.locator('a').count(), 7);
      widths.push(main.width);
      await page.screenshot({ path: join(SCREENSHOT_DIR, `wide-${size.width}-index.png`) });
    }
    assert.ok(widths[0] > widths[1] + 200, `the column is ${widths[0]} px at 1920 and ${widths[1]} px at 1024`);
    assert.deepEqual(errors, []);
  });

  for (const { path, column } of TABLES)
    it(`${path}: the table with "${column}" fits its figure at both sizes`, async () => {
      const { page } = browser;
      await page.setViewportSize(SIZES[0]);
      const errors = watchErrors(page);
      await open(page, path);
      await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
      await page.evaluate(() => window.__nanoseek.runtime.idle());
      const header = page.locator('figure table th', { hasText: column }).first();
      for (const size of SIZES) {
        await page.setViewportSize(size);
        await header.evaluate((e) => e.closest('figure')?.scrollIntoView({ block: 'start' }));
        await settle(page);
        const fit = await header.evaluate((th) => {
          const scroller = th.closest('table').parentElement;
          const cell = th.getBoundingClientRect(), box = scroller.getBoundingClientRect();
          return { scroll: scroller.scrollWidth, client: scroller.clientWidth, right: cell.right, edge: box.right };
        });
        assert.ok(fit.scroll <= fit.client + 1, `at ${size.width}: the table is ${fit.scroll} px in a ${fit.client} px figure`);
        assert.ok(fit.right <= fit.edge + 1, `at ${size.width}: "${column}" ends at ${fit.right}, the figure at ${fit.edge}`);
        await page.screenshot({ path: join(SCREENSHOT_DIR, `wide-${size.width}-${pageName(path)}.png`) });
      }
      assert.deepEqual(errors, []);
    });
});
