// The training lesson's wiring in Chromium (the trainer's maths is the engine's tests' job): a short
// run of the tiny shape starts in the workers and its loss falls; pause stops the step count, resume
// continues it; the URL gives the run its settings; a reload finds the saved run; a downloaded
// checkpoint loads back and gives the same logits; a corrupt or wrong file gives an inline error and
// changes nothing else; reset clears the run.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { downloadBytes, launch, open, watchErrors } from './lib/browser.mjs';

/** Small and fast: batch 2 (rows of 65 characters), a high learning rate so the loss visibly falls within seconds. */
const QUERY = 'seed=3&batch=2&log_lr=-2&corpus=stories&log_gamma_end=-3';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
/** @type {string[]} */
let errors;
before(async () => {
  browser = await launch({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  errors = watchErrors(browser.page);
});
after(async () => {
  await browser?.close();
});

const panel = (page) => page.getByTestId('train-panel');
const status = (page) => panel(page).getAttribute('data-status');
const step = async (page) => Number(await panel(page).getAttribute('data-step'));

async function waitStatus(page, want, timeout = 60_000) {
  await page.waitForFunction((w) => w.includes(document.querySelector('[data-testid="train-panel"]')?.getAttribute('data-status')), want, { timeout });
}

async function waitStep(page, atLeast, timeout = 90_000) {
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="train-panel"]')?.getAttribute('data-step')) >= n, atLeast, { timeout });
}

/** The run's history as the page keeps it (window.__nanoseekTrain is the lesson's test hook). */
const history = (page) => page.evaluate(() => {
  const a = window.__nanoseekTrain.a;
  return { steps: a.history.steps.map((s) => ({ step: s.step, bpc: s.bpc })), evals: a.history.evals.map((e) => ({ step: e.step, probe: e.probe })), settings: a.settings, exportedProbe: a.exportedProbe };
});

describe('training in the page', () => {
  let saved = /** @type {Buffer | null} */ (null);

  it('takes its settings from the URL, trains in workers, and the loss falls', async () => {
    const { page } = browser;
    await open(page, `/lessons/train?${QUERY}`);
    await waitStatus(page, ['ready', 'paused']);
    const h0 = await history(page);
    assert.equal(h0.settings.seed, 3);
    assert.equal(h0.settings.batch, 2);
    assert.equal(h0.settings.lr, 0.01);
    assert.equal(h0.settings.corpus, 'stories');
    assert.equal(h0.settings.gammaEnd, 0.001);
    assert.equal(await page.locator('.control[data-input="seed"] input').first().inputValue(), '3');
    assert.equal(await step(page), 0);
    await page.click('[data-action="start"]');
    await waitStep(page, 40);
    const { steps } = await history(page);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(steps.slice(0, 5).map((s) => s.bpc));
    const last = mean(steps.slice(-5).map((s) => s.bpc));
    assert.ok(last < first - 0.5, `training bits per character fell from ${first.toFixed(2)} (first 5 steps) to ${last.toFixed(2)} (last 5)`);
    assert.deepEqual(steps.map((s) => s.step), steps.map((_, i) => i + 1), 'every step reported once, in order');
  });

  it('pause stops the step count and resume continues it', async () => {
    const { page } = browser;
    await page.click('[data-action="pause"]');
    await waitStatus(page, ['paused']);
    const paused = await step(page);
    await page.waitForTimeout(2000);
    assert.equal(await step(page), paused, 'no step while paused');
    await page.click('[data-action="resume"]');
    await waitStep(page, paused + 5);
    await page.click('[data-action="pause"]');
    await waitStatus(page, ['paused']);
  });

  it('pauses while the tab is hidden, says so, and goes on when it is shown', async () => {
    const { page } = browser;
    const visibility = (state) => page.evaluate((v) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);
    await page.click('[data-action="resume"]');
    await waitStatus(page, ['running']);
    await visibility('hidden');
    await waitStatus(page, ['hidden']);
    assert.match(await page.getByTestId('train-message').textContent(), /hidden/);
    await page.waitForTimeout(1000); // the step in flight finishes
    const hiddenAt = await step(page);
    await page.waitForTimeout(1500);
    assert.equal(await step(page), hiddenAt, 'no step while hidden');
    await visibility('visible');
    await waitStatus(page, ['running']);
    await waitStep(page, hiddenAt + 3);
    await page.click('[data-action="pause"]');
    await waitStatus(page, ['paused']);
  });

  it('a reload finds the run where it was (kept in the browser)', async () => {
    const { page } = browser;
    const before = await step(page);
    // Pausing saved it; wait for the save to land before reloading.
    await page.waitForTimeout(1500);
    await page.reload();
    await waitStatus(page, ['paused']);
    assert.equal(await step(page), before, 'the step count survives the reload');
    const h = await history(page);
    assert.equal(h.steps.length, before, 'and so does the history');
    await page.click('[data-action="resume"]');
    await waitStep(page, before + 3);
    await page.click('[data-action="pause"]');
    await waitStatus(page, ['paused']);
  });

  it('"Use this model in the other lessons": another lesson runs it, says so, and goes back on request', async () => {
    const { page } = browser;
    // The other lessons run the shipped model's shape: a model of that shape (one step trained) replaces it.
    await open(page, `/lessons/train?${QUERY}&size=shipped`);
    await waitStatus(page, ['ready']);
    await page.click('[data-action="step"]');
    await waitStep(page, 1);
    await page.click('[data-action="use"]');
    await page.waitForSelector('[data-action="stop-using"]');
    await open(page, '/lessons/absorption');
    const note = page.getByTestId('user-model-note');
    await note.waitFor({ timeout: 60_000 });
    assert.match(await note.textContent(), /the model you trained/);
    await note.getByRole('button').click();
    await note.waitFor({ state: 'detached' });
    await open(page, `/lessons/train?${QUERY}`);
    await waitStatus(page, ['paused']);
    assert.equal(await page.locator('[data-action="use"]').count(), 1, 'the choice is cleared');
  });

  it('a downloaded checkpoint loads back and gives the same logits', async () => {
    const { page } = browser;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action="download"]')]);
    saved = await downloadBytes(download);
    assert.ok(download.suggestedFilename().endsWith('.tar'));
    assert.equal(saved.subarray(257, 262).toString('latin1'), 'ustar', 'a tar archive');
    const { exportedProbe } = await history(page);
    assert.ok(exportedProbe && exportedProbe.length > 0);
    await page.click('[data-action="reset"]');
    await waitStatus(page, ['ready']);
    assert.equal(await step(page), 0, 'reset clears the step count');
    assert.equal(await page.getByTestId('step').textContent(), '0');
    assert.equal((await history(page)).steps.length, 0, 'and the history');
    await page.setInputFiles('[data-action="load"]', { name: 'run.tar', mimeType: 'application/x-tar', buffer: saved });
    await page.waitForFunction(() => document.querySelector('[data-testid="train-note"]')?.textContent?.includes('Loaded run.tar'));
    await page.waitForFunction(() => window.__nanoseekTrain.a.history.evals.length > 0);
    const { evals } = await history(page);
    assert.deepEqual(evals[0].probe, exportedProbe, 'the reloaded weights give the same logits, bit for bit');
  });

  it('a corrupt or wrong file gives an inline error and leaves the run alone', async () => {
    const { page } = browser;
    const stepBefore = await step(page);
    const corrupt = Buffer.from(saved);
    corrupt[10] ^= 0xff; // inside the first header: its checksum no longer matches
    await page.setInputFiles('[data-action="load"]', { name: 'corrupt.tar', mimeType: 'application/x-tar', buffer: corrupt });
    const err = page.getByTestId('load-error');
    await err.waitFor();
    assert.match(await err.textContent(), /corrupt\.tar.*checksum/);
    await page.setInputFiles('[data-action="load"]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, not a model') });
    await page.waitForFunction(() => document.querySelector('[data-testid="load-error"]')?.textContent?.includes('notes.txt'));
    assert.match(await err.textContent(), /not a checkpoint bundle/);
    assert.equal(await step(page), stepBefore);
    assert.notEqual(await status(page), 'error', 'the trainer still runs');
    await page.click('[data-action="step"]');
    await waitStep(page, stepBefore + 1);
  });

  it('two worker threads (each half of the batch, gradients added) give the one-thread losses', async () => {
    const losses = [];
    for (const threads of [1, 2]) {
      const page = await browser.context.newPage();
      await page.addInitScript((t) => { globalThis.__nanoseekTrainThreads = t; }, threads);
      await open(page, `/lessons/train?${QUERY.replace('seed=3', 'seed=7')}`);
      await waitStatus(page, ['ready']);
      for (let i = 1; i <= 3; i++) {
        await page.click('[data-action="step"]');
        await waitStep(page, i);
      }
      const h = await page.evaluate(() => ({ threads: window.__nanoseekTrain.a.threads, bpc: window.__nanoseekTrain.a.history.steps.map((s) => s.bpc) }));
      assert.equal(h.threads, threads);
      losses.push(h.bpc);
      await page.click('[data-action="reset"]');
      await page.close();
    }
    assert.equal(losses[1].length, 3);
    losses[1].forEach((b, i) => assert.ok(Math.abs(b - losses[0][i]) < 1e-4 * losses[0][i], `step ${i + 1}: ${b} (two threads) vs ${losses[0][i]} (one)`));
  });

  it('reset clears the run', async () => {
    const { page } = browser;
    assert.ok((await step(page)) > 0);
    await page.click('[data-action="reset"]');
    await page.waitForFunction(() => {
      const p = document.querySelector('[data-testid="train-panel"]');
      return p?.getAttribute('data-status') === 'ready' && p.getAttribute('data-step') === '0';
    });
    assert.equal((await history(page)).steps.length, 0);
    assert.deepEqual(errors, [], 'no console errors or failed requests');
  });
});
