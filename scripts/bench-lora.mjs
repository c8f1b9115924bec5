// `node scripts/bench-lora.mjs [--steps N] [--json]`: LoRA against full fine-tuning in Chromium, as
// the LoRA lesson runs them: the built site's /lessons/lora trains both from the shipped model on
// the same batches, in its Web Worker, to N steps (default 40, the slider's maximum); this reads the
// worker's reports from the page: milliseconds per step of each (forward, backward, optimizer
// step), the training loss of the last batches and bits per character on the whole text after the
// last step. Builds the site first if it is missing or stale (like npm start). Other settings are
// the lesson's defaults, or pass them as a query: --query "rank=8&targets=all".
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { ensureBuildOrExit, serveStatic } from './serve.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg('--steps', '40'));
const query = arg('--query', '');
const json = process.argv.includes('--json');

await ensureBuildOrExit();
const { url, close } = await serveStatic({ port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const loadBefore = loadavg()[0];
try {
  const page = await browser.newPage();
  const t0 = Date.now();
  await page.goto(new URL(`lessons/lora?steps=${steps}${query ? `&${query}` : ''}`, url.endsWith('/') ? url : `${url}/`).href, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__nanoseek?.runtime?.cells?.runDone?.status === 'fulfilled', null, { timeout: 30 * 60_000, polling: 500 });
  const wall = (Date.now() - t0) / 1000;
  const r = await page.evaluate(() => {
    const v = window.__nanoseek.runtime.cells.runDone.value;
    return { reports: v.reports, values: { ...window.__nanoseek.runtime.values } };
  });
  const userAgent = await page.evaluate(() => navigator.userAgent);
  const n = r.reports.length;
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const last = r.reports[n - 1];
  const tail = r.reports.slice(-Math.min(8, n));
  const out = {
    userAgent, settings: r.values, steps: n, wallSeconds: wall, load: [loadBefore, loadavg()[0]],
    lora: { msPerStepMedian: median(r.reports.map((x) => x.loraMs)), totalSeconds: sum(r.reports.map((x) => x.loraMs)) / 1000, lastBatchesLoss: sum(tail.map((x) => x.lora)) / tail.length, textBitsPerChar: last.loraText },
    full: { msPerStepMedian: median(r.reports.map((x) => x.fullMs)), totalSeconds: sum(r.reports.map((x) => x.fullMs)) / 1000, lastBatchesLoss: sum(tail.map((x) => x.full)) / tail.length, textBitsPerChar: last.fullText },
    baseTextBitsPerChar: last.baseText,
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log(userAgent);
    console.log(`settings ${JSON.stringify(r.values)}; ${n} steps; page open to done ${wall.toFixed(1)} s; load average ${out.load.map((x) => x.toFixed(2)).join(' -> ')}`);
    console.log('run    ms/step (median)  total s  loss, last 8 batches (nats/char)  bits/char on the text after');
    for (const k of ['lora', 'full']) {
      const o = out[k];
      console.log(`${k.padEnd(6)} ${o.msPerStepMedian.toFixed(1).padStart(16)}  ${o.totalSeconds.toFixed(2).padStart(7)}  ${o.lastBatchesLoss.toFixed(3).padStart(33)}  ${o.textBitsPerChar.toFixed(3).padStart(27)}`);
    }
    console.log(`base (before fine-tuning): ${out.baseTextBitsPerChar.toFixed(3)} bits/char on the text`);
  }
} finally {
  await browser.close();
  await close();
}
