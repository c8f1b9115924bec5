// The state-space lesson's drawn signal: a stroke on the pad (pointer), the arrow keys and typed
// values each change the signal the state streams and its figures; the drawing goes into the URL,
// and a fresh page from that URL draws the same picture; the default page has no drawing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, open, SCREENSHOT_DIR, settle, watchErrors } from './lib/browser.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1024, height: 768 } });
});
after(async () => {
  await browser?.close();
});

async function idle(page) {
  await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
  await page.evaluate(() => window.__nanoseek.runtime.idle());
  await settle(page);
}

/** The recall figure's drawing (the signal and its recall). */
// The drawing without its export toolbar (a screenshot leaves style="" on the toolbar's checkbox).
const recall = (page) => page.locator('figure.cell', { hasText: 'The signal and the past recalled' }).first().locator('.drawing').evaluate((e) => {
  const copy = e.cloneNode(true);
  for (const t of copy.querySelectorAll('.ns-toolbar')) t.remove();
  return copy.innerHTML;
});
const signalParam = (page) => new URL(page.url()).searchParams.get('signal');

describe('drawing the signal of the state-space lesson', () => {
  it('a stroke, the arrow keys and typed values each change the figures, and the URL reproduces the drawing', async () => {
    const { page, context } = browser;
    const errors = watchErrors(page);
    await open(page, '/lessons/state-space');
    await idle(page);
    assert.equal(signalParam(page), null, 'the default page has no drawing in its URL');
    const pad = page.getByRole('slider', { name: /Signal: draw/ }).first();
    const before = await recall(page);

    // A stroke across the pad, low on the left, high on the right.
    await pad.scrollIntoViewIfNeeded();
    const box = await pad.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + 2, box.y + box.height * 0.8);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(box.x + (box.width - 4) * (i / 8), box.y + box.height * (0.8 - 0.6 * (i / 8)) + (i % 2 ? 10 : -10), { steps: 3 });
    await page.mouse.up();
    await idle(page);
    await page.waitForTimeout(300); // the URL is written shortly after the change
    const drawn = signalParam(page);
    assert.match(drawn ?? '', /^\.[A-Za-z0-9_-]{64}$/, `the drawing is in the URL: ${page.url()}`);
    const afterStroke = await recall(page);
    assert.notEqual(afterStroke, before, 'the stroke changes the recall figure');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'state-space-drawn-1024x768.png') });

    // A fresh page from the URL shows the same picture.
    const other = await context.newPage();
    await other.setViewportSize({ width: 1024, height: 768 });
    await open(other, new URL(page.url()).pathname + new URL(page.url()).search);
    await idle(other);
    assert.equal(await recall(other), afterStroke, 'the link reproduces the drawn picture');
    await other.close();

    // Keyboard: Home picks the first point, Up raises it by eight levels with PageUp.
    await pad.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('PageUp');
    await idle(page);
    await page.waitForTimeout(300);
    assert.notEqual(signalParam(page), drawn, 'PageUp moved a point');
    assert.match(await pad.getAttribute('aria-valuetext') ?? '', /^point 1 of 64: /);
    assert.notEqual(await recall(page), afterStroke, 'and the figure follows');

    // Typed values (the non-pointer alternative): four numbers joined by straight lines.
    await page.getByText('Type the values instead').first().click();
    const box2 = page.getByLabel(/Values from -1 to 1/).first();
    await box2.fill('0 1 -1 0');
    await box2.press('Enter');
    await idle(page);
    await page.waitForTimeout(300);
    const typed = signalParam(page);
    assert.match(typed ?? '', /^\.[A-Za-z0-9_-]{64}$/);
    assert.equal(typed?.[1], 'g', 'the first typed value 0 is level 32 of 64 (g)');

    // A preset button takes the lesson back to a preset (and out of the URL when it is the default).
    await page.getByRole('button', { name: /two sines/ }).first().click();
    await idle(page);
    await page.waitForTimeout(300);
    assert.equal(signalParam(page), null);
    assert.equal(await recall(page), before, 'the default preset draws the default picture again');
    assert.deepEqual(errors, []);
  });

  it('a finger on a touch screen draws too (a tap sets a point)', async () => {
    const touch = await launch({ reducedMotion: 'reduce', viewport: { width: 600, height: 900 }, hasTouch: true, isMobile: true });
    try {
      const { page } = touch;
      await open(page, '/lessons/state-space');
      await idle(page);
      const pad = page.getByRole('slider', { name: /Signal: draw/ }).first();
      await pad.scrollIntoViewIfNeeded();
      const box = await pad.boundingBox();
      assert.ok(box);
      const before = await recall(page);
      await page.touchscreen.tap(box.x + box.width * 0.5, box.y + box.height * 0.1);
      await idle(page);
      await page.waitForTimeout(300);
      assert.match(signalParam(page) ?? '', /^\.[A-Za-z0-9_-]{64}$/, 'the tap made a drawing');
      assert.notEqual(await recall(page), before);
    } finally {
      await touch.close();
    }
  });
});
