// A direct load of an unknown lesson address gets status 404 and the site's own page (styled, with
// the header and a link back to the lessons), not a line of plain text.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, siteUrl } from './lib/browser.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ viewport: { width: 1024, height: 768 } });
});
after(async () => {
  await browser?.close();
});

describe('an unknown lesson URL', () => {
  it('serves the site\'s 404 page with a link back', async () => {
    const { page } = browser;
    const response = await page.goto(siteUrl('/lessons/no-such-lesson'), { waitUntil: 'load' });
    assert.equal(response?.status(), 404);
    assert.match(await page.locator('h1').first().innerText(), /not found/i);
    const back = page.getByRole('link', { name: 'Back to the lessons' });
    assert.equal(await back.count(), 1, 'a link back to the lessons');
    // The page's own stylesheet loaded (relative asset paths resolved from the site root).
    const styled = await page.evaluate(() => [...document.styleSheets].some((s) => s.href && s.href.includes('/_app/')));
    assert.ok(styled, 'the site\'s stylesheet is applied');
    const href = new URL(await back.evaluate((a) => /** @type {HTMLAnchorElement} */ (a).href));
    assert.ok(['/', '/index.html', '/lessons', '/lessons/'].includes(href.pathname), `the link leads to the lessons (${href.pathname})`);
  });
});
