// The first screen of each lesson of issue 12 at 1024x768: a drawn figure (chart, table or stats) starts above
// the fold, before any scrolling, and the lesson's one-line takeaway heads it. Screenshots of each
// first screen go to screenshots/ (first-screen-<lesson>.png) to be looked at.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, open, pageName, SCREENSHOT_DIR, settle, sitePaths, watchErrors } from './lib/browser.mjs';

const probe = await launch();
// The seven lessons of issue 12 (the others belong to their own issues and get a first screen there).
const OURS = ['kv-cache', 'latent-kv', 'absorption', 'expert-routing', 'load-balancing', 'multi-token-prediction', 'speculative-decoding'];
const lessons = (await sitePaths(probe.page)).filter((p) => OURS.some((s) => p === `/lessons/${s}`));
await probe.close();

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1024, height: 768 } });
});
after(async () => {
  await browser?.close();
});

describe('the first screen at 1024x768', () => {
  it('there are the seven lessons', () => assert.equal(lessons.length, OURS.length));
  for (const path of lessons) {
    it(`${path}: a figure is drawn above the fold`, async () => {
      const { page } = browser;
      for (const event of ['console', 'pageerror', 'requestfailed', 'response']) page.removeAllListeners(event);
      const errors = watchErrors(page);
      await open(page, path);
      await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
      await page.evaluate(() => window.__nanoseek.runtime.idle());
      await settle(page);
      await page.evaluate(() => window.scrollTo(0, 0));
      const tops = await page.$$eval('figure.cell .drawing :is(svg, table, dl)', (els) => els.map((e) => e.getBoundingClientRect().top));
      await page.screenshot({ path: join(SCREENSHOT_DIR, `first-screen-${pageName(path)}.png`) });
      assert.ok(tops.length > 0, 'the lesson draws figures');
      const first = Math.min(...tops);
      assert.ok(first < 768 - 120, `the first figure starts ${Math.round(first)} px down: it must start above the fold (768 px) with room to be seen`);
      assert.deepEqual(errors, []);
    });
  }
});
