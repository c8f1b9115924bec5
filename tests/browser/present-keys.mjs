// Presentation mode with a clicker: right after a slider on a slide was dragged (it keeps focus),
// PageDown, Space, PageUp, Home and End change slides and leave the slider's value alone.
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

describe('clicker keys in presentation mode', () => {
  it('change slides after a slider drag, and do not move the slider', async () => {
    const { page } = browser;
    await open(page, '/lessons/kv-cache');
    await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
    await page.getByRole('button', { name: 'Present' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await settle(page);
    // The first slide is the title slide: move on to the first slide with a slider.
    for (let n = 0; n < 10 && (await dialog.locator('input[type=range]').count()) === 0; n++) {
      await page.keyboard.press('PageDown');
      await settle(page);
    }
    const slider = dialog.locator('input[type=range]').first();
    const box = await slider.boundingBox();
    assert.ok(box, 'a slide has a slider');
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    // A dragged slider keeps focus in a desktop browser; make sure it has it here.
    await slider.focus();
    const dragged = await slider.inputValue();
    const slide = async () => Number(await dialog.getAttribute('data-slide'));
    const start = await slide();
    await page.keyboard.press('PageDown');
    assert.equal(await slide(), start + 1, 'PageDown: next slide');
    await page.keyboard.press('PageUp');
    assert.equal(await slide(), start, 'PageUp: back');
    await page.keyboard.press('End');
    const last = await slide();
    assert.ok(last > start, 'End: the last slide');
    await page.keyboard.press('Home');
    assert.equal(await slide(), 0, 'Home: the first slide');
    await page.keyboard.press(' ');
    assert.equal(await slide(), 1, 'Space: next slide');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await slide(), 0, 'ArrowLeft: back');
    // Back on the slide of the drag: the slider still shows the dragged value.
    for (let n = 0; n < start; n++) await page.keyboard.press('PageDown');
    assert.equal(await slide(), start);
    assert.equal(await dialog.locator('input[type=range]').first().inputValue(), dragged, 'the slider kept the dragged value');
    await page.keyboard.press('Escape');
  });
});
