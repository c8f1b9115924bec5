// `npm run bench:ui`: per lesson, in headless Chromium on the built site: first-load time (to every
// cell computed), the JavaScript it downloads (raw and gzip), and slider latency: from the input
// event (a real key press on the focused slider) to the updated figures laid out in the DOM, p50
// and p95, at the lesson's defaults and with every slider at its maximum. `--json` prints one object.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { ensureBuild, ROOT, serveStatic } from './serve.mjs';

const json = process.argv.includes('--json');
const SAMPLES = Number(process.env.NANOSEEK_BENCH_SAMPLES ?? 20);
const log = json ? () => {} : (...a) => console.error(...a);

await ensureBuild();
const { url: base, close } = await serveStatic({ port: 0 });
const profile = await mkdtemp(join(tmpdir(), 'nanoseek-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-swiftshader'],
  viewport: { width: 1280, height: 800 },
});
const page = context.pages()[0] ?? (await context.newPage());

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

await page.goto(new URL('lessons', base).href);
const lessons = [...new Set(await page.$$eval('main a[href*="/lessons/"]', (as) => as.map((a) => new URL(a.href).pathname)))].sort();

async function openLesson(href) {
  const scripts = [];
  const onResponse = (r) => { if (r.request().resourceType() === 'script') scripts.push(new URL(r.url()).pathname); };
  page.on('response', onResponse);
  await page.goto(href, { waitUntil: 'load' });
  // Measure after the compute backend is chosen (its start-up measurement would add noise).
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-status');
    return (s === 'ready' || s === 'failed') && Boolean(window.__nanoseek?.runtime);
  }, null, { timeout: 60_000 });
  const loadMs = await page.evaluate(async () => { await window.__nanoseek.runtime.idle(); return performance.now(); });
  page.off('response', onResponse);
  let raw = 0, gzip = 0;
  for (const p of new Set(scripts)) {
    const bytes = readFileSync(join(ROOT, 'build', decodeURIComponent(p)));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  return { loadMs, jsBytes: raw, jsGzipBytes: gzip };
}

/** Latencies (ms) of `SAMPLES` key presses on each slider, alternating between two keys. */
async function sliderLatencies(keys) {
  // One control per input (an input shown in two sections has two).
  const sliders = [...new Map(await page.$$eval('.notebook .control[data-input] input[type=range]', (els) => els.map((e) => [e.closest('.control').getAttribute('data-input'), e.id]))).entries()];
  const all = [];
  const perSlider = {};
  for (const [name, id] of sliders) {
    const el = page.locator(`#${id}`);
    await el.focus();
    await page.evaluate(async () => { await window.__nanoseek.runtime.idle(); });
    // One listener records every input event's latency; each key press then waits for its sample.
    // On window, so it runs after the page's own (delegated) input handler has moved the input.
    await page.evaluate((sliderId) => {
      window.__latencies = [];
      window.__benchListener && window.removeEventListener('input', window.__benchListener);
      window.__benchListener = async (e) => {
        if (e.target.id !== sliderId) return;
        const t0 = e.timeStamp;
        await window.__nanoseek.runtime.idle();
        await Promise.resolve();
        void document.body.offsetHeight; // style and layout of the updated figures
        window.__latencies.push(performance.now() - t0);
      };
      window.addEventListener('input', window.__benchListener);
    }, id);
    for (let i = 0; i < SAMPLES; i++) {
      await page.keyboard.press(keys[i % 2]);
      await page.waitForFunction((n) => window.__latencies.length > n, i, { timeout: 30_000 });
    }
    const samples = await page.evaluate(() => window.__latencies);
    perSlider[name] = { p50: quantile(samples, 0.5), p95: quantile(samples, 0.95) };
    all.push(...samples);
  }
  return { p50: quantile(all, 0.5), p95: quantile(all, 0.95), samples: all.length, perSlider };
}

const results = [];
for (const path of lessons) {
  const href = new URL(path.replace(/^\//, ''), base).href;
  log(`[bench:ui] ${path}`);
  const load = await openLesson(href);
  const defaults = await sliderLatencies(['ArrowRight', 'ArrowLeft']);
  // Every slider at its maximum, through the URL (as a shared link would set it).
  const maxima = await page.evaluate(() => window.__nanoseek.inputs.filter((i) => i.kind === 'range').map((i) => [i.name, i.max]));
  const params = new URLSearchParams(maxima.map(([n, v]) => [n, String(v)]));
  await page.goto(`${href}?${params}`, { waitUntil: 'load' });
  await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
  await page.evaluate(async () => { await window.__nanoseek.runtime.idle(); });
  const largest = await sliderLatencies(['ArrowLeft', 'ArrowRight']);
  results.push({ lesson: path, ...load, defaults, largest });
}

await context.close();
await rm(profile, { recursive: true, force: true });
await close();

if (json) {
  console.log(JSON.stringify({ samplesPerSlider: SAMPLES, lessons: results }));
} else {
  console.log('lesson                         load ms   JS kB (gzip)   slider p50/p95 ms (defaults)   (largest)');
  for (const r of results) {
    console.log(`${r.lesson.padEnd(30)} ${r.loadMs.toFixed(0).padStart(7)}   ${(r.jsBytes / 1024).toFixed(0).padStart(5)} (${(r.jsGzipBytes / 1024).toFixed(0)})   ${r.defaults.p50.toFixed(1).padStart(8)} / ${r.defaults.p95.toFixed(1).padEnd(8)}   ${r.largest.p50.toFixed(1)} / ${r.largest.p95.toFixed(1)}`);
  }
}
