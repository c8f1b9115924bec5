// A line chart's tooltip prints the point's data, not its pixel position. The KV-cache lesson's key
// figure plots multiply-adds against the decode step (0..newTokens): focus the chart, step to the
// second point, and the tooltip must say x = 1 and a y in engineering notation, as the data is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, open, settle } from './lib/browser.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1024, height: 768 } });
});
after(async () => {
  await browser?.close();
});

describe('line chart tooltip', () => {
  it('shows the focused point\'s x and y as data', async () => {
    const { page } = browser;
    await open(page, '/lessons/kv-cache');
    await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
    await page.evaluate(() => window.__nanoseek.runtime.idle());
    await settle(page);
    const svg = page.locator('figure.cell .drawing svg.ns-svg').first();
    await svg.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    const values = await page.locator('.ns-tooltip .ns-tip-value').allInnerTexts();
    assert.equal(values.length, 2, 'the tooltip shows x and y');
    assert.equal(values[0].trim(), '1', `x is the decode step 1, not a pixel position (got ${values[0]})`);
    assert.match(values[1].trim(), /^[\d.]+\s?[kMG]?$/, `y is a count of multiply-adds (got ${values[1]})`);
  });
});
