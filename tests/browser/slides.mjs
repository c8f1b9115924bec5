// Presentation mode as a projector shows it, for every lesson on the site: at 1920x1080 and at
// 1024x768 every slide fits the screen (nothing scrolls, nothing is cut off at the edges), holds at
// most one figure, and the figure's text is large enough to read from the back of a room (>= 20 px at
// 1080p, >= 12 px at 1024x768); the first slide is a title slide; no page chrome can be reached
// behind the slides and no figure chrome (export buttons, "computed in", "View code") shows on them;
// leaving returns the page to the section that was on the slide.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, open, pageName, SCREENSHOT_DIR, sitePaths } from './lib/browser.mjs';

const probe = await launch();
const lessons = (await sitePaths(probe.page)).filter((p) => p.startsWith('/lessons/'));
await probe.close();

const SCREENS = [
  { width: 1920, height: 1080, minFont: 20 },
  { width: 1024, height: 768, minFont: 12 },
];
// A few slides per screen size are kept as pictures (the lessons named here, their first slides).
const PICTURES = new Set(['/lessons/kv-cache', '/lessons/expert-routing', '/lessons/speculative-decoding']);

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  browser = await launch({ reducedMotion: 'reduce', viewport: { width: 1920, height: 1080 } });
});
after(async () => {
  await browser?.close();
});

/** In the page: wait for every cell, then until the dialog's layout stops changing (fitting takes a frame or two). */
const STEADY = `async () => {
  await window.__nanoseek.runtime.idle();
  await new Promise((resolve) => {
    const shape = () => {
      const d = document.querySelector('[role="dialog"]');
      if (!d) return '';
      return [...d.querySelectorAll('figure, svg, canvas, .controls, h1')].map((e) => {
        const r = e.getBoundingClientRect();
        return r.x.toFixed(1) + ',' + r.y.toFixed(1) + ',' + r.width.toFixed(1) + ',' + r.height.toFixed(1);
      }).join(';');
    };
    let last = shape();
    let same = 0;
    let frames = 0;
    const tick = () => {
      const now = shape();
      same = now === last ? same + 1 : 0;
      last = now;
      if (same >= 2 || ++frames > 60) resolve(undefined);
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}`;

/** Wait for the engine and every cell, then for the dialog's layout to settle (and leave that wait in the page for inspect). */
async function steady(page) {
  await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
  await page.evaluate(`window.__slidesSteady = ${STEADY}; window.__slidesSteady()`);
}

/** What is wrong with the slide on screen: scrolling, parts off screen, several figures, small chart text. */
function inspect(page, minFont) {
  return page.evaluate(async (minFont) => {
    await window.__slidesSteady();
    const dialog = document.querySelector('[role="dialog"]');
    if (!dialog) return { problems: ['no presentation dialog'], figures: 0, font: null };
    const problems = [];
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    const visible = (el) => {
      const cs = getComputedStyle(el);
      if (cs.display === 'none' || cs.visibility === 'hidden') return false;
      const r = el.getBoundingClientRect();
      return r.width > 1 && r.height > 1;
    };
    // Nothing scrolls: not the page, not the dialog, not a box inside it.
    if (document.scrollingElement && document.scrollingElement.scrollHeight > vh + 1 && getComputedStyle(document.body).overflow !== 'hidden')
      problems.push(`the page scrolls behind the slide (${document.scrollingElement.scrollHeight} px)`);
    for (const el of [dialog, ...dialog.querySelectorAll('*')]) {
      if (!visible(el)) continue;
      const oy = getComputedStyle(el).overflowY;
      // A text box scrolling its own text is not the slide scrolling.
      if ((oy === 'auto' || oy === 'scroll') && el.tagName !== 'TEXTAREA' && el.scrollHeight > el.clientHeight + 2)
        problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} scrolls: ${el.scrollHeight} px of content in ${el.clientHeight} px`);
      const ox = getComputedStyle(el).overflowX;
      if ((ox === 'auto' || ox === 'scroll') && el.tagName !== 'TEXTAREA' && el.scrollWidth > el.clientWidth + 2)
        problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} scrolls sideways: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
    }
    // Everything that matters is on screen (a box clipped by an overflow:hidden parent is not seen);
    // a box inside one already reported is not reported again.
    const cut = [];
    for (const el of dialog.querySelectorAll('h1, h2, figure, .controls, .caption, svg, canvas, table, nav')) {
      if (!visible(el) || cut.some((c) => c.contains(el))) continue;
      const r = el.getBoundingClientRect();
      if (r.bottom > vh + 1 || r.right > vw + 1 || r.top < -1 || r.left < -1) {
        cut.push(el);
        problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} is cut off: ${Math.round(r.left)},${Math.round(r.top)} to ${Math.round(r.right)},${Math.round(r.bottom)} on a ${vw}x${vh} screen`);
      }
    }
    const figures = [...dialog.querySelectorAll('figure.cell')].filter(visible);
    // A figure is not clipped by a box around it (overflow hidden) either.
    for (const fig of figures) {
      const r = fig.getBoundingClientRect();
      for (let box = fig.parentElement; box && box !== dialog.parentElement; box = box.parentElement) {
        const o = getComputedStyle(box);
        if (![o.overflowX, o.overflowY].some((v) => v === 'hidden' || v === 'clip')) continue;
        const c = box.getBoundingClientRect();
        if (r.bottom > c.bottom + 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.left < c.left - 1)
          problems.push(`figure ${fig.getAttribute('data-cell')} is clipped: ${Math.round(r.width)}x${Math.round(r.height)} px in a ${Math.round(c.width)}x${Math.round(c.height)} px box`);
      }
    }
    if (figures.length > 1) problems.push(`${figures.length} figures on one slide`);
    // The smallest text drawn in a figure, in screen pixels (CSS transforms and zoom included).
    let font = null;
    let where = '';
    for (const fig of figures) {
      for (const el of fig.querySelectorAll('.drawing *')) {
        if (!['text', 'tspan'].includes(el.tagName) && ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        if (!visible(el) || el.closest('title, desc, [hidden]')) continue;
        const size = Number.parseFloat(getComputedStyle(el).fontSize);
        let scale;
        if (el instanceof SVGGraphicsElement) {
          const m = el.getScreenCTM();
          if (!m) continue;
          scale = Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
        } else {
          // Rendered width over layout width, on a box wide enough for the rounding not to matter.
          let box = el;
          while (box.parentElement && !(box instanceof HTMLElement && box.offsetWidth >= 40)) box = box.parentElement;
          scale = box.getBoundingClientRect().width / box.offsetWidth;
        }
        const px = size * scale;
        if (font === null || px < font) {
          font = px;
          where = `"${el.textContent.trim().slice(0, 30)}" (${el.tagName.toLowerCase()} in ${fig.getAttribute('data-cell')})`;
        }
      }
    }
    if (font !== null && font < minFont - 0.05) problems.push(`figure text ${font.toFixed(1)} px < ${minFont} px: ${where}`);
    return { problems, figures: figures.length, font, slide: Number(dialog.getAttribute('data-slide')) };
  }, minFont);
}

const slideOf = async (page) => Number(await page.getByRole('dialog').getAttribute('data-slide'));

if (lessons.length === 0) {
  it('there are lessons to test', () => assert.fail('no lesson links found on /lessons'));
}

for (const path of lessons) {
  describe(`slides of ${path}`, () => {
    it('fit 1920x1080 and 1024x768: one figure, nothing scrolls or is cut off, chart text large enough', async () => {
      const { page } = browser;
      await page.setViewportSize({ width: 1920, height: 1080 });
      await open(page, `${path}?present=0`);
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await steady(page);
      const title = (await page.locator('article h1').first().innerText()).trim();
      const failures = [];
      for (const screen of SCREENS) {
        // Each size from a fresh walk through the slides (a slide drawn for one size and then resized
        // is measured only once it settles, which on a busy machine takes longer than drawing it again).
        await page.setViewportSize({ width: screen.width, height: screen.height });
        await page.keyboard.press('End');
        const last = await slideOf(page);
        await page.keyboard.press('Home');
        let withFigure = 0;
        for (let i = 0; i <= last; i++) {
          if (i > 0) await page.keyboard.press('PageDown');
          let { problems, figures, slide } = await inspect(page, screen.minFont);
          // A figure redrawn for the slide's size after a late cell settles only then: on a busy machine
          // that can be after the layout has looked still for a few frames. Judge the settled slide.
          if (problems.length > 0) {
            await page.waitForTimeout(1500);
            ({ problems, figures, slide } = await inspect(page, screen.minFont));
          }
          assert.equal(slide, i, 'PageDown moves one slide');
          if (figures > 0) withFigure++;
          if (i === 0) {
            if (figures > 0) problems.push('the first slide is a title slide, without a figure');
            if (!(await dialog.innerText()).includes(title)) problems.push(`the title slide shows the lesson's title "${title}"`);
          }
          for (const p of problems) failures.push(`${screen.width}x${screen.height} slide ${i + 1}/${last + 1}: ${p}`);
          if (PICTURES.has(path) && i <= 2)
            await page.screenshot({ path: join(SCREENSHOT_DIR, `slides-${pageName(path)}-${i + 1}-${screen.width}x${screen.height}.png`) });
        }
        if (withFigure === 0) failures.push(`${screen.width}x${screen.height}: no slide shows a figure`);
      }
      assert.deepEqual(failures, []);
    });
  });
}

describe('presenting a lesson', () => {
  it('hides the page and the figures\' chrome, starts at the section in view and returns to the slide\'s section on leaving', async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 1024, height: 768 });
    await open(page, '/lessons/kv-cache');
    await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
    const sections = await page.$$eval('.notebook section[data-section]:not([data-section="key-figure"])', (s) => s.map((e) => e.id));
    assert.ok(sections.length >= 3, 'kv-cache has several sections');
    // The reader has scrolled to the second section.
    await page.locator(`#${sections[1]}`).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(200);
    // The button that stays on screen (in the sticky table of contents) presents from there.
    await page.getByRole('button', { name: 'Slides from here' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await steady(page);
    const shown = () => dialog.locator('[data-section]').first().getAttribute('data-section');
    assert.equal(await shown(), sections[1], 'the first slide shown is the section that was in view');

    // No page chrome: the site's links behind the slides cannot take focus; no figure chrome on the slide.
    const behind = await page.evaluate(() => {
      const link = document.querySelector('header a, footer a, nav.toc a');
      if (!(link instanceof HTMLElement)) return 'no link found';
      link.focus();
      return document.activeElement === link ? `${link.textContent?.trim()} took focus` : '';
    });
    assert.equal(behind, '', 'the page behind the slides is inert');
    for (const name of ['Export SVG', 'Export PNG', 'Export CSV']) assert.equal(await dialog.getByRole('button', { name }).filter({ visible: true }).count(), 0, `no ${name} button`);
    assert.equal(await dialog.locator('.timing, details.code, .provenance').filter({ visible: true }).count(), 0, 'no "computed in", "View code" or provenance badge');
    assert.equal(await page.locator('header.site-header').filter({ visible: true }).evaluate((h) => {
      const r = h.getBoundingClientRect();
      const top = document.elementFromPoint(r.left + 5, r.top + 5);
      return top !== null && h.contains(top);
    }), false, 'the site header is covered');

    // Move on until the next section, then leave: the page shows that section.
    for (let n = 0; n < 12 && (await shown()) === sections[1]; n++) await page.keyboard.press('PageDown');
    const at = await shown();
    assert.ok(at && at !== sections[1], 'PageDown reaches the next section');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.waitForTimeout(150);
    const top = await page.locator(`#${at}`).evaluate((el) => el.getBoundingClientRect().top);
    assert.ok(top >= -1 && top < 768 / 3, `after leaving, section ${at} is at the top of the screen (its top at ${Math.round(top)} px)`);
  });
});
