// Hostile links and formulas on every lesson (issue 17), and the Content-Security-Policy:
// - a link with a key given twice (?zz=1&zz=2, ?hide=nosuch,nosuch, a real control twice) opens
//   the lesson with its notices and no console or page error (each notice is said once: the page
//   lists them in a keyed each, which threw each_key_duplicate before);
// - every page carries a CSP meta tag (default-src 'self'), logs no violation and requests nothing
//   from another origin;
// - a formula that computes for about a second ([1:500]' * [1:500], then comparisons over its
//   250,000 elements) runs in the formula worker: the page's thread is never blocked 500 ms or
//   more while it computes (it was for 0.8-1.2 s before).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE_URL, launch, open, settle, sitePaths, waitForBackend, watchErrors } from './lib/browser.mjs';

const probe = await launch();
const lessons = (await sitePaths(probe.page)).filter((p) => p.includes('/lessons/'));
await probe.close();

const HEAVY = "A = [1:500]' * [1:500]; " + Array.from({ length: 12 }, (_, i) => `(A ${i % 2 ? '<' : '>'} ${i})`).join(' + ');

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce' });
  // Record CSP violations and long tasks from the first script on.
  await browser.page.context().addInitScript(() => {
    const w = /** @type {any} */ (window);
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    // The longest the page's thread was blocked: the largest gap between ticks of a 20 ms timer
    // (headless Chromium reports no 'longtask' entries, so it is measured this way).
    let last = performance.now();
    w.__gap = 0;
    w.__resetGap = () => { w.__gap = 0; last = performance.now(); };
    setInterval(() => { const now = performance.now(); w.__gap = Math.max(w.__gap, now - last); last = now; }, 20);
  });
});
after(async () => {
  await browser?.close();
});

const origin = new URL(BASE_URL).origin;

// One visit per lesson does it all: the link repeats keys, the page must settle with its notices.
const QUERY = 'zz=1&zz=2&hide=nosuch,nosuch&present=x&present=y&seed=1&seed=2';

for (const path of lessons) {
  it(`${path}: a link repeating keys opens with notices; CSP, no outside request; a heavy formula does not block`, async () => {
    const { page } = browser;
    for (const event of ['console', 'pageerror', 'requestfailed', 'response', 'request']) page.removeAllListeners(event);
    const errors = watchErrors(page);
    const outside = [];
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin) outside.push(url);
    });
    await open(page, `${path}?${QUERY}`);
    await waitForBackend(page);
    await page.getByRole('status').filter({ hasText: /Ignored/ }).first().waitFor({ timeout: 10_000 });
    await settle(page);
    const csp = await page.locator('meta[http-equiv="content-security-policy"]').getAttribute('content');
    assert.match(csp ?? '', /default-src 'self'/);
    assert.match(csp ?? '', /connect-src 'self'/);

    // The formula box appears once the lesson's matrices are computed (a lesson may have none).
    const hasFormula = (await page.locator('section#formula').count()) > 0;
    if (hasFormula) await heavyFormula(page, path);

    assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__csp), []);
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
  });
}

/** Type HEAVY into the formula box; no main-thread task of 500 ms or more while it computes. */
async function heavyFormula(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ path) {
    const box = page.getByRole('textbox', { name: 'Formula' });
    await page.locator('section#formula').scrollIntoViewIfNeeded();
    await box.waitFor({ timeout: 20_000 });
    await box.scrollIntoViewIfNeeded();
    await page.waitForTimeout(300); // the lesson's own first work
    await page.evaluate(() => /** @type {any} */ (window).__resetGap());
    await box.fill(HEAVY);
    await box.press('Enter');
    await page.locator('.formula-cell pre.result, .formula-cell .error').first().waitFor({ timeout: 15_000 });
    await settle(page);
    const longest = await page.evaluate(() => /** @type {any} */ (window).__gap);
    console.log(`${path}: heavy formula, the page's thread blocked at most ${longest.toFixed(0)} ms`);
    assert.ok(longest < 500, `a ${longest.toFixed(0)} ms task blocked the page while the formula computed`);
}
