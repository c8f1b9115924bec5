// Every page of the site (index, /lessons, and each lesson found from the links on /lessons), in the
// light and the dark theme (prefers-color-scheme): it opens with no console error, page error or
// failed request; axe-core finds no serious or critical violation; it fits 1280x800 and 1024x768
// without sideways scrolling; screenshots of both sizes go to screenshots/.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  describeViolations, launch, open, pageName, SCREENSHOT_DIR, seriousViolations, settle, sitePaths, waitForBackend,
  watchErrors,
} from './lib/browser.mjs';

// Discover the pages first, so each gets its own named tests.
const probe = await launch();
const paths = await sitePaths(probe.page);
await probe.close();

const SIZES = [
  { width: 1280, height: 800 },
  { width: 1024, height: 768 },
];

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce' });
});
after(async () => {
  await browser?.close();
});

const overflowX = (/** @type {import('playwright-core').Page} */ page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

for (const path of paths) {
  for (const theme of /** @type {const} */ (['light', 'dark'])) {
    describe(`page ${path} (${theme})`, () => {
      /** @type {string[]} */
      let errors = [];

      it('opens with no console error, page error or failed request', async () => {
        const { page } = browser;
        for (const event of ['console', 'pageerror', 'requestfailed', 'response']) page.removeAllListeners(event);
        // A fresh load with the theme already in effect, as for a reader whose system is set so.
        await page.emulateMedia({ colorScheme: theme });
        await page.setViewportSize(SIZES[0]);
        errors = watchErrors(page);
        await open(page, path);
        await waitForBackend(page);
        assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme), theme);
        assert.equal(await page.locator('h1').count(), 1, 'one h1 per page');
        assert.ok((await page.title()).includes('nanoseek'), 'the title names the site');
        assert.deepEqual(errors, []);
      });

      it('has no serious or critical axe violation', async () => {
        const { page } = browser;
        // Open disclosures so their contents are checked too.
        await page.locator('details:not([open]) > summary').evaluateAll((ss) => ss.forEach((s) => /** @type {HTMLElement} */ (s).click()));
        await settle(page);
        const violations = await seriousViolations(page);
        await page.locator('details[open] > summary').evaluateAll((ss) => ss.forEach((s) => /** @type {HTMLElement} */ (s).click()));
        assert.equal(violations.length, 0, `axe on ${path} (${theme}):\n${describeViolations(violations)}`);
      });

      it('fits 1280x800 and 1024x768 (screenshots in screenshots/)', async () => {
        const { page } = browser;
        for (const size of SIZES) {
          await page.setViewportSize(size);
          await settle(page);
          const overflow = await overflowX(page);
          assert.ok(overflow <= 0, `${path} at ${size.width}x${size.height} scrolls sideways by ${overflow}px`);
          const file = join(SCREENSHOT_DIR, `${pageName(path)}-${size.width}x${size.height}-${theme}.png`);
          await page.screenshot({ path: file, animations: 'disabled' });
        }
        // The backend badge's details, opened from the keyboard, at the narrower size.
        const summary = page.locator('[data-testid="backend-badge"] summary').first();
        if ((await summary.count()) > 0) {
          await summary.focus();
          await page.keyboard.press('Enter');
          assert.equal(await page.locator('[data-testid="backend-badge"] details').first().getAttribute('open'), '');
          await settle(page);
          const overflow = await overflowX(page);
          assert.ok(overflow <= 0, `${path} with the backend details open scrolls sideways by ${overflow}px`);
          const file = join(SCREENSHOT_DIR, `${pageName(path)}-backend-details-1024x768-${theme}.png`);
          await page.screenshot({ path: file, animations: 'disabled', fullPage: true });
        }
        assert.deepEqual(errors, [], 'no errors while resizing');
      });
    });
  }
}
