// What is on screen computes first, in Chromium: after a key press on a slider, the figures on
// screen that depend on it have new values when the input event's task ends (or, computed in the
// lesson's worker, have started), figures far below
// are still waiting, and once the page is idle every figure has a new value.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, open, waitForBackend } from './lib/browser.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ viewport: { width: 1280, height: 800 } });
});
after(async () => {
  await browser?.close();
});

describe('computing what is on screen first', () => {
  it('updates the figures on screen within the key press, the ones off screen after it, all before idle', async () => {
    const { page } = browser;
    await open(page, '/lessons/expert-routing');
    await waitForBackend(page);
    const slider = page.locator('.notebook .control[data-input="seed"] input[type=range]').first();
    await slider.focus();
    await page.evaluate(async () => {
      const control = document.querySelector('.notebook .control[data-input="seed"]');
      window.scrollTo(0, control.getBoundingClientRect().top + window.scrollY - 80);
      await window.__nanoseek.runtime.idle();
      for (let i = 0; i < 2; i++) await new Promise((r) => requestAnimationFrame(r));
      // At the end of the input's task (a listener on window runs after the page's own), note
      // which figures have values newer than the event.
      window.__afterInput = new Promise((resolve) => {
        window.addEventListener('input', (e) => {
          const rt = window.__nanoseek.runtime;
          queueMicrotask(() => queueMicrotask(() => {
            const figures = [...document.querySelectorAll('figure.cell[data-cell]')].map((f) => {
              const r = f.getBoundingClientRect();
              const c = rt.cells[f.getAttribute('data-cell')];
              return { cell: f.getAttribute('data-cell'), onScreen: r.bottom > 0 && r.top < innerHeight, fresh: c.fulfilledAt >= e.timeStamp, started: c.startedAt >= e.timeStamp, pending: c.status === 'pending' };
            });
            resolve(figures);
          }));
        }, { once: true });
      });
    });
    await page.keyboard.press('ArrowRight');
    const figures = await page.evaluate(() => window.__afterInput);
    const onScreen = figures.filter((f) => f.onScreen);
    const offScreen = figures.filter((f) => !f.onScreen);
    assert.ok(onScreen.length > 0, 'some figure is on screen under the slider');
    // Recomputed, or (a figure whose engine work runs in the lesson's worker) its computation under way.
    assert.deepEqual(onScreen.filter((f) => !f.fresh && !(f.pending && f.started)).map((f) => f.cell), [], 'every figure on screen is recomputed, or its worker job started, within the key press');
    assert.ok(offScreen.some((f) => f.pending && !f.fresh), `figures off screen wait (${offScreen.map((f) => f.cell).join(', ')})`);
    const later = await page.evaluate(async () => {
      await window.__nanoseek.runtime.idle();
      return Object.values(window.__nanoseek.runtime.cells).filter((c) => c.status === 'pending').length;
    });
    assert.equal(later, 0, 'idle: nothing is left waiting');
    // And the off-screen figures now show the new seed's numbers: the same as a fresh page opened at that seed.
    const segNow = await page.evaluate(() => JSON.stringify(window.__nanoseek.runtime.cells.segTable.value));
    await open(page, `/lessons/expert-routing?seed=${await slider.inputValue()}`);
    await waitForBackend(page);
    const segFresh = await page.evaluate(async () => {
      await window.__nanoseek.runtime.idle();
      return JSON.stringify(window.__nanoseek.runtime.cells.segTable.value);
    });
    assert.equal(segNow, segFresh);
  });
});
