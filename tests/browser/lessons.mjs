// Every lesson, live in Chromium: its cells compute with no console error; every slider, toggle
// and select changes the picture; the URL round-trips the state (and a bad link falls back to the
// defaults with a notice); presentation keys work; figures export as valid SVG and PNG; the formula
// box answers and reports a bad formula inline while the page keeps working.
//
// Lessons are checked PARALLEL_PAGES at a time (2: this machine has 2 cores), each in its own page
// of one browser context (so the backend is measured once); a lesson's checks run in order on its page.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadBytes, idle, launch, open, pageName, PARALLEL_PAGES, picture, SCREENSHOT_DIR, sitePaths, waitForBackend, watchErrors } from './lib/browser.mjs';

const probe = await launch();
const lessons = (await sitePaths(probe.page)).filter((p) => p.startsWith('/lessons/'));
await probe.close();

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1024, height: 768 }, acceptDownloads: true });
  // Measure the backend once, before lessons open two at a time: two first pages would each measure
  // and may choose different kernels, whose float32 sums round differently, and a fresh page from
  // a URL (which reuses the stored choice) would then differ from its lesson in the last digits.
  const first = await browser.context.newPage();
  await open(first, '/');
  await waitForBackend(first);
  await first.close();
});
after(async () => {
  await browser?.close();
});

/** Every cell's status; rejected ones with their error. */
function cellErrors(page) {
  return page.evaluate(() => Object.entries(window.__nanoseek.runtime.cells).filter(([, c]) => c.status === 'rejected').map(([n, c]) => `${n}: ${c.error}`));
}

if (lessons.length === 0) {
  it('there are lessons to test', () => assert.fail('no lesson links found on /lessons'));
}

describe('lessons', { concurrency: PARALLEL_PAGES }, () => {
for (const path of lessons) {
  describe(`lesson ${path}`, { concurrency: 1 }, () => {
    /** @type {string[]} */
    let errors = [];
    /** @type {import('playwright-core').Page} */
    let page;
    /** The picture at the defaults (the lesson opened with no settings in its URL). */
    let defaults;
    before(async () => {
      page = await browser.context.newPage();
    });
    after(async () => {
      await page?.close();
    });

    it('computes every cell with no console error', async () => {
      errors = watchErrors(page);
      await open(page, path);
      await idle(page);
      assert.deepEqual(await cellErrors(page), []);
      defaults = await picture(page);
      const figures = await page.locator('figure.cell').count();
      assert.ok(figures > 0, 'the lesson has figures');
      assert.equal(await page.locator('figure.cell .drawing svg, figure.cell .drawing table, figure.cell .drawing dl').count() > 0, true, 'figures are drawn');
      await page.screenshot({ path: join(SCREENSHOT_DIR, `${pageName(path)}-live-1024x768.png`), fullPage: true });
      assert.deepEqual(errors, []);
    });

    it('every control changes the picture', async () => {
      // Toggles last: a toggle can start a long process (load-balancing's Play trains to step 2,000),
      // and every later control would then restart it.
      const found = await page.$$eval('.notebook .control[data-input]', (els) => els.map((e) => ({ name: e.getAttribute('data-input'), toggle: e.querySelector('input[type="checkbox"]') !== null })));
      const controls = [...new Set([...found.filter((c) => !c.toggle), ...found.filter((c) => c.toggle)].map((c) => c.name))];
      assert.ok(controls.length > 0, 'the lesson has controls');
      for (const name of controls) {
        const before = await picture(page);
        const control = page.locator(`.notebook .control[data-input="${name}"] :is(input, select, textarea)`).first();
        const type = await control.evaluate((el) => (el.tagName === 'SELECT' ? 'select' : el.tagName === 'TEXTAREA' ? 'text' : /** @type {HTMLInputElement} */ (el).type));
        if (type === 'text') {
          // The prompt box: an example text other than the current one, as a reader would pick it.
          await page.locator(`.notebook .control[data-input="${name}"] .examples button[aria-pressed="false"]`).first().click();
        } else if (type === 'range') {
          // By keyboard, as a reader would: one step up (down if already at the maximum). Not End: the
          // largest settings (LoRA's steps and rank, load-balancing's steps) cost seconds per control
          // and are measured by `npm run bench:ui`, not here.
          await control.focus();
          const atMax = await control.evaluate((el) => /** @type {HTMLInputElement} */ (el).value === /** @type {HTMLInputElement} */ (el).max);
          await page.keyboard.press(atMax ? 'ArrowLeft' : 'ArrowRight');
        } else if (type === 'checkbox') {
          await control.focus();
          await page.keyboard.press('Space');
        } else {
          const options = await control.evaluate((el) => [...(/** @type {HTMLSelectElement} */ (el).options)].map((o) => o.value));
          const current = await control.inputValue();
          await control.selectOption(options.find((o) => o !== current));
        }
        await idle(page);
        assert.deepEqual(await cellErrors(page), [], `after moving ${name}`);
        assert.notDeepEqual(await picture(page), before, `moving "${name}" changes at least one figure`);
      }
      assert.deepEqual(errors, []);
    });

    it('the URL holds the state: a fresh page from it shows the same picture', async () => {
      const { context } = browser;
      await page.waitForTimeout(300); // the URL is written shortly after the last change
      const url = page.url();
      assert.ok(new URL(url).search.length > 1, `the URL has the changed settings: ${url}`);
      const expected = await picture(page);
      const other = await context.newPage();
      const otherErrors = watchErrors(other);
      await other.setViewportSize({ width: 1024, height: 768 });
      await other.goto(url, { waitUntil: 'load' });
      await idle(other);
      assert.deepEqual(await picture(other), expected);
      assert.deepEqual(otherErrors, []);
      await other.close();
    });

    it('a bad link falls back to the defaults with a notice', async () => {
      const clean = new URL(page.url());
      clean.search = '';
      // The defaults' picture is the one the first check drew, from the lesson's URL with no settings.
      assert.ok(defaults, 'the lesson opened at its defaults');
      // A control whose value can be wrong (a prompt box takes any text).
      const first = await page.$eval('.notebook .control[data-input]:has(:is(input, select))', (e) => e.getAttribute('data-input'));
      clean.search = `?${first}=not-a-value&nonsense=1`;
      await page.goto(clean.href, { waitUntil: 'load' });
      await idle(page);
      const notice = page.locator('.notice');
      assert.equal(await notice.count(), 1, 'a notice is shown');
      assert.match(await notice.innerText(), new RegExp(`Ignored ${first}=`));
      assert.deepEqual(await picture(page), defaults);
      // The address bar is rewritten shortly after load (debounced).
      await page.waitForURL((u) => u.search === '', { timeout: 5000 }).catch(() => {});
      assert.equal(new URL(page.url()).search, '', 'the ignored settings leave the address bar');
    });

    it('presentation mode: keys move between slides, Esc leaves', async () => {
      await page.getByRole('button', { name: 'Present' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      // A title slide, the key figure, then at least one slide per section (one per figure).
      const sections = await page.$$eval('.notebook section[data-section]:not([data-section="key-figure"])', (s) => s.length);
      const slides = Number(await dialog.getAttribute('data-slides'));
      assert.ok(slides >= sections + 1, `${slides} slides for ${sections} sections`);
      assert.equal(await dialog.getAttribute('data-slide'), '0');
      await page.keyboard.press('PageDown');
      assert.equal(await dialog.getAttribute('data-slide'), slides > 1 ? '1' : '0');
      await page.keyboard.press('ArrowLeft');
      assert.equal(await dialog.getAttribute('data-slide'), '0');
      await page.keyboard.press('End');
      assert.equal(await dialog.getAttribute('data-slide'), String(slides - 1));
      await page.keyboard.press('Home');
      await page.keyboard.press(' ');
      assert.equal(await dialog.getAttribute('data-slide'), slides > 1 ? '1' : '0');
      // The live cells work inside a slide too.
      await idle(page);
      await page.screenshot({ path: join(SCREENSHOT_DIR, `${pageName(path)}-present-1024x768.png`) });
      await page.waitForURL(/present=/, { timeout: 5000 }).catch(() => {});
      assert.match(page.url(), /present=/, 'the slide is in the URL');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      assert.deepEqual(errors, []);
    });

    it('figures export as valid SVG and PNG', async () => {
      const figure = page.locator('figure.cell').filter({ has: page.getByRole('button', { name: 'Export SVG' }) }).first();
      const [svgDownload] = await Promise.all([page.waitForEvent('download'), figure.getByRole('button', { name: 'Export SVG' }).click()]);
      const svgText = (await downloadBytes(svgDownload)).toString('utf8');
      assert.match(svgDownload.suggestedFilename(), /\.svg$/);
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        return { error: doc.querySelector('parsererror')?.textContent ?? null, root: doc.documentElement.nodeName, children: doc.documentElement.childElementCount };
      }, svgText);
      assert.equal(parsed.error, null);
      assert.equal(parsed.root, 'svg');
      assert.ok(parsed.children > 0);

      const [pngDownload] = await Promise.all([page.waitForEvent('download'), figure.getByRole('button', { name: 'Export PNG' }).click()]);
      assert.match(pngDownload.suggestedFilename(), /\.png$/);
      const png = await downloadBytes(pngDownload);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      assert.ok(png.length > 1000, `PNG has content (${png.length} bytes)`);
    });

    it('the formula box answers, and a bad formula shows its error inline', async () => {
      const box = page.getByRole('textbox', { name: 'Formula' });
      if ((await box.count()) === 0) return assert.fail('the lesson has no formula box');
      await box.fill('1 + 2');
      await box.press('Enter');
      await page.locator('.formula-cell pre.result').filter({ hasText: /^\s*3\s*$/ }).waitFor({ timeout: 5000 });
      await box.fill('this is not (a formula');
      await box.press('Enter');
      const error = page.locator('.formula-cell .error').filter({ hasText: /Error/ }).first();
      await error.waitFor({ timeout: 5000 });
      // The rest of the page keeps working: a control still recomputes the figures.
      const before = await picture(page);
      const range = page.locator('.notebook input[type=range]').first();
      await range.focus();
      const atMax = await range.evaluate((el) => /** @type {HTMLInputElement} */ (el).value === /** @type {HTMLInputElement} */ (el).max);
      await page.keyboard.press(atMax ? 'ArrowLeft' : 'ArrowRight');
      await idle(page);
      assert.notDeepEqual(await picture(page), before);
      assert.deepEqual(errors, []);
    });
  });
}
});
