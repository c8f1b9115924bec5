// The index page: opens cleanly, lists the lessons (or says there are none), theme toggle by keyboard.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, open, waitForBackend, watchErrors } from './lib/browser.mjs';

describe('index page', () => {
  /** @type {Awaited<ReturnType<typeof launch>>} */
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it('opens with no console error, page error or failed request', async () => {
    const { page } = browser;
    const errors = watchErrors(page);
    await open(page, '/');
    await waitForBackend(page);
    assert.equal(await page.title(), 'nanoseek — DeepSeek-V3, one mechanism at a time');
    assert.equal(await page.locator('h1').innerText(), 'nanoseek');
    assert.deepEqual(errors, []);
  });

  it('lists the lessons in notebooks/, or says there are none yet', async () => {
    const { page } = browser;
    const list = page.getByTestId('lesson-list');
    const empty = page.getByTestId('no-lessons');
    const hasList = (await list.count()) > 0;
    const hasEmpty = (await empty.count()) > 0;
    assert.ok(hasList !== hasEmpty, 'exactly one of the lesson list and the empty state shows');
    if (hasList) {
      const links = list.locator('a');
      assert.ok((await links.count()) > 0);
      for (const href of await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
        assert.match(href ?? '', /lessons\/[a-z0-9-]+$/);
      }
    } else {
      assert.match(await empty.innerText(), /No lessons yet/);
    }
  });

  it('switches light and dark themes from the keyboard, and remembers the choice', async () => {
    const { page } = browser;
    const toggle = page.getByRole('button', { name: 'Dark theme' });
    const before = await toggle.getAttribute('aria-pressed');
    assert.ok(before === 'true' || before === 'false', 'the toggle reports its state with aria-pressed');
    // Reach it with Tab like a keyboard user would.
    await page.locator('body').focus();
    for (let i = 0; i < 10 && !(await toggle.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press('Tab');
    }
    assert.ok(await toggle.evaluate((el) => el === document.activeElement), 'Tab reaches the theme toggle');
    const bgBefore = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.keyboard.press('Enter');
    const after = await toggle.getAttribute('aria-pressed');
    assert.notEqual(after, before);
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    assert.equal(theme, after === 'true' ? 'dark' : 'light');
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), bgBefore);
    await page.reload();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme, 'the choice survives a reload');
    await page.keyboard.press('Tab'); // skip link
    await page.getByRole('button', { name: 'Dark theme' }).press(' ');
    assert.equal(await page.getByRole('button', { name: 'Dark theme' }).getAttribute('aria-pressed'), before);
  });

  it('offers a skip link as the first stop', async () => {
    const { page } = browser;
    await open(page, '/');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert.equal(focused, 'Skip to content');
  });
});
