// `npm run bench:ui`: per lesson, in headless Chromium on the built site: first-load time (to every
// cell computed), the JavaScript it downloads (raw and gzip), and slider latency: from the input
// event (a real key press on the focused slider) to the updated figures laid out in the DOM, p50
// and p95, at the lesson's defaults and with every slider at its maximum. Each slider is dragged a
// step at a time in one direction, turning at its ends, so a lesson that keeps recent results sees
// new values as a reader's drag would. Two latencies per press: to the first updated picture (every
// cell the move touched has a new value: for an animation, its first frame) and to settled (every
// cell done; an animation's last frame). They differ only where a cell animates (load-balancing
// trains its three MoEs on screen). `--json` prints one object.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { ensureBuildOrExit, ROOT, serveStatic } from './serve.mjs';

const json = process.argv.includes('--json');
const SAMPLES = Number(process.env.NANOSEEK_BENCH_SAMPLES ?? 20);
const log = json ? () => {} : (...a) => console.error(...a);

await ensureBuildOrExit();
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
// NANOSEEK_BENCH_LESSONS=kv-cache,absorption measures only those.
const only = (process.env.NANOSEEK_BENCH_LESSONS ?? '').split(',').filter(Boolean);
const lessons = [...new Set(await page.$$eval('main a[href*="/lessons/"]', (as) => as.map((a) => new URL(a.href).pathname)))]
  .filter((p) => only.length === 0 || only.some((w) => p.endsWith(`/${w}`)))
  .sort();

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

/** Latencies (ms) of `SAMPLES` key presses on each slider, dragging it and turning at its ends. */
async function sliderLatencies(startKey) {
  // One control per input (an input shown in two sections has two).
  const sliders = [...new Map(await page.$$eval('.notebook .control[data-input] input[type=range]', (els) => els.map((e) => [e.closest('.control').getAttribute('data-input'), e.id]))).entries()];
  const picture = [], settled = [];
  const perSlider = {};
  for (const [name, id] of sliders) {
    const el = page.locator(`#${id}`);
    await el.focus();
    // A reader moving a slider watches the figures under it: the slider goes near the top of the
    // screen (focus alone may leave it on the bottom edge). The page learns what is on screen a
    // frame later.
    await page.evaluate(async (sliderId) => {
      const control = document.getElementById(sliderId).closest('.control');
      window.scrollTo(0, control.getBoundingClientRect().top + window.scrollY - 80);
      await window.__nanoseek.runtime.idle();
      for (let i = 0; i < 2; i++) await new Promise((r) => requestAnimationFrame(r));
    }, id);
    // One listener records every input event's latencies; each key press then waits for its sample.
    // On window, so it runs after the page's own (delegated) input handler has moved the input.
    await page.evaluate((sliderId) => {
      window.__samples = [];
      window.__benchListener && window.removeEventListener('input', window.__benchListener);
      window.__benchListener = (e) => {
        if (e.target.id !== sliderId) return;
        const t0 = e.timeStamp;
        const rt = window.__nanoseek.runtime;
        const sample = { picture: NaN, settled: NaN };
        // First picture: the runtime has taken the move, and every figure on screen shows a value
        // computed since, or was not touched by the move (an animated cell may already be computing
        // its next frame). Figures off screen compute after that (settled).
        const onScreen = [...document.querySelectorAll('figure.cell[data-cell]')].filter((f) => {
          const r = f.getBoundingClientRect();
          return r.bottom > 0 && r.top < innerHeight && r.width > 0;
        }).map((f) => rt.cells[f.getAttribute('data-cell')]).filter(Boolean);
        const shown = () => rt.inputsTaken && onScreen.every((c) => c.status !== 'pending' || c.fulfilledAt >= t0);
        const done = new Promise((resolve) => {
          const check = () => {
            if (!shown()) return;
            stop();
            resolve();
          };
          const stop = rt.subscribe(check);
          check();
        });
        (async () => {
          await done;
          await Promise.resolve();
          void document.body.offsetHeight; // style and layout of the updated figures
          sample.picture = performance.now() - t0;
          await rt.idle();
          await Promise.resolve();
          void document.body.offsetHeight;
          sample.settled = performance.now() - t0;
          window.__samples.push(sample);
        })();
      };
      window.addEventListener('input', window.__benchListener);
    }, id);
    let key = startKey;
    for (let i = 0; i < SAMPLES; i++) {
      const at = await el.evaluate((e) => (e.value === e.max ? 'max' : e.value === e.min ? 'min' : ''));
      if (at === 'max') key = 'ArrowLeft';
      else if (at === 'min') key = 'ArrowRight';
      await page.keyboard.press(key);
      await page.waitForFunction((n) => window.__samples.length > n, i, { timeout: 30_000 });
    }
    const samples = await page.evaluate(() => window.__samples);
    const p = samples.map((x) => x.picture), s = samples.map((x) => x.settled);
    perSlider[name] = { p50: quantile(p, 0.5), p95: quantile(p, 0.95), settledP95: quantile(s, 0.95) };
    picture.push(...p);
    settled.push(...s);
  }
  return {
    p50: quantile(picture, 0.5), p95: quantile(picture, 0.95),
    settledP50: quantile(settled, 0.5), settledP95: quantile(settled, 0.95),
    samples: picture.length, perSlider,
  };
}

const results = [];
for (const path of lessons) {
  const href = new URL(path.replace(/^\//, ''), base).href;
  log(`[bench:ui] ${path}`);
  const load = await openLesson(href);
  const defaults = await sliderLatencies('ArrowRight');
  // Every slider at its maximum, through the URL (as a shared link would set it).
  const maxima = await page.evaluate(() => window.__nanoseek.inputs.filter((i) => i.kind === 'range').map((i) => [i.name, i.max]));
  const params = new URLSearchParams(maxima.map(([n, v]) => [n, String(v)]));
  await page.goto(`${href}?${params}`, { waitUntil: 'load' });
  await page.waitForFunction(() => Boolean(window.__nanoseek?.runtime));
  await page.evaluate(async () => { await window.__nanoseek.runtime.idle(); });
  const largest = await sliderLatencies('ArrowLeft');
  results.push({ lesson: path, ...load, defaults, largest });
}

await context.close();
await rm(profile, { recursive: true, force: true });
await close();

if (json) {
  console.log(JSON.stringify({ samplesPerSlider: SAMPLES, lessons: results }));
} else {
  console.log('lesson                         load ms   JS kB (gzip)   picture p50/p95 ms: defaults   largest    settled p95: defaults  largest');
  for (const r of results) {
    const f = (x) => x.toFixed(1);
    console.log(`${r.lesson.padEnd(30)} ${r.loadMs.toFixed(0).padStart(7)}   ${(r.jsBytes / 1024).toFixed(0).padStart(5)} (${(r.jsGzipBytes / 1024).toFixed(0)})   ${f(r.defaults.p50).padStart(8)} / ${f(r.defaults.p95).padEnd(8)} ${f(r.largest.p50)} / ${f(r.largest.p95).padEnd(8)} ${f(r.defaults.settledP95).padStart(8)}  ${f(r.largest.settledP95)}`);
  }
  console.log('\nworst sliders (picture p95 ms, defaults):');
  for (const r of results) {
    const worst = Object.entries(r.defaults.perSlider).sort((a, b) => b[1].p95 - a[1].p95).slice(0, 3);
    console.log(`  ${r.lesson}: ${worst.map(([n, v]) => `${n} ${v.p95.toFixed(1)}`).join(', ')}`);
  }
}
