// The BackendBadge: measures on mount, names the active backend, and its switch works by keyboard.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, open, waitForBackend, watchErrors } from './lib/browser.mjs';

describe('backend badge', () => {
  /** @type {Awaited<ReturnType<typeof launch>>} */
  let browser;
  /** @type {string[]} */
  let errors;
  before(async () => {
    browser = await launch();
    errors = watchErrors(browser.page);
  });
  after(async () => {
    await browser?.close();
  });

  it('says "measuring…", then names the active backend', async () => {
    const { page } = browser;
    await open(page, '/');
    const state = page.getByTestId('backend-state');
    const status = await waitForBackend(page);
    assert.ok(status === 'ready' || status === 'failed', `status ${status}`);
    const name = (await page.getByTestId('backend-name').innerText()).trim();
    assert.ok(name.length > 0, 'a backend is named');
    assert.doesNotMatch(await state.innerText(), /measuring/);
    // Headless Chromium draws with SwiftShader (a CPU rasteriser): no GPU for gpu.js to win on, so
    // the first visit measured in a worker, and its report (stored for later pages) says so.
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('nanoseek.backend.report') ?? 'null'));
    if (status === 'ready') {
      assert.equal(stored?.report?.environment, 'worker', 'the first visit measured the kernels in a worker');
      assert.ok(stored.report.candidates.filter((c) => c.kind === 'gpu.js').every((c) => !c.available && /software renderer/.test(c.reason)), 'gpu.js modes not tried, with the reason');
    }
    if (status === 'failed') {
      assert.equal(name, 'plain loop (reference)');
      assert.ok((await page.getByTestId('backend-error').innerText()).length > 0, 'the fallback reason is shown');
    }
    assert.deepEqual(errors, []);
  });

  it('forces another backend with the keyboard, then goes back to auto', async () => {
    const { page } = browser;
    const select = page.getByLabel('Force backend');
    assert.equal(await select.inputValue(), 'auto');
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => /** @type {HTMLOptionElement} */ (o).value));
    assert.ok(options.length >= 2, `the switch offers a backend besides auto (got ${options.join(', ')})`);

    // Tab to the switch (it sits after the index page's lesson links and architecture figure).
    await page.locator('body').focus();
    for (let i = 0; i < 120 && !(await select.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press('Tab');
    }
    assert.ok(await select.evaluate((el) => el === document.activeElement), 'Tab reaches the backend switch');

    await page.keyboard.press('ArrowDown');
    const forced = await select.inputValue();
    assert.equal(forced, options[1]);
    const status = await waitForBackend(page);
    assert.ok(status === 'ready' || status === 'failed');
    assert.match(await page.getByTestId('backend-state').innerText(), /forced/);
    assert.equal(await select.inputValue(), forced);

    await page.keyboard.press('Home');
    assert.equal(await select.inputValue(), 'auto');
    await waitForBackend(page);
    assert.doesNotMatch(await page.getByTestId('backend-state').innerText(), /forced/);
    assert.deepEqual(errors, []);
  });
});
