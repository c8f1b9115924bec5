// `npm run bench:ui`: per lesson, in headless Chromium on the built site: first-load time (to every
// cell computed, cold cache: each lesson gets a fresh browser context), the JavaScript it downloads
// (raw and gzip), and slider latency: from the input event (a real key press on the focused slider)
// to the updated figures laid out in the DOM, p50 and p95, at the lesson's defaults and with every
// slider at its maximum. Each slider is dragged a step at a time in one direction, turning at its
// ends, so a lesson that keeps recent results sees new values as a reader's drag would. Two
// latencies per press: to the first updated picture (every cell the move touched has a new value:
// for an animation, its first frame) and to settled (every cell done; an animation's last frame).
// They differ only where a cell animates (load-balancing trains its three MoEs on screen).
//
// On a shared, loaded machine wall-clock figures inflate, so each press also records the main
// thread's CPU time (Chromium's TaskDuration in thread ticks, over the whole press: compute, style,
// layout, paint) and the longest main-thread task, in wall time (PerformanceObserver 'longtask',
// tasks over 50 ms) and in CPU time (the longest RunTask of a trace over the drag, thread time).
// A budget line compares against DESIGN.md: picture p95 < 16 ms at defaults, < 50 ms at the
// largest settings, no task > 50 ms, first load <= 1.5 s, JS <= 350 kB gzip.
//
// Each lesson's result is printed as soon as it is measured and appended as one JSON line to
// --out FILE (default /tmp/bench-ui-<time>.jsonl). A lesson whose page crashes or closes is reported
// with its error and the run goes on with a fresh page (and a fresh browser if it died).
// NANOSEEK_BENCH_LESSONS=kv-cache,absorption measures only those; NANOSEEK_BENCH_SAMPLES (default 20)
// presses per slider. `--json` prints one object at the end (per-lesson lines still go to stderr).
// The first load is a first visit (fresh profile): its figures are computed on the default
// WebAssembly kernels while the kernel measurement runs in a worker (reported as "first figures",
// the figure the load budget applies to), then again on the measured choice ("settled"). Each
// lesson is then loaded again in the same profile, as a returning reader finds it (the stored
// backend choice, the HTTP cache warm). `--load-only` measures only the loads, no sliders.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ensureBuildOrExit, ROOT, serveStatic } from './serve.mjs';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const loadOnly = argv.includes('--load-only');
const outAt = argv.indexOf('--out');
const OUT = outAt >= 0 && argv[outAt + 1] ? argv[outAt + 1] : `/tmp/bench-ui-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
const SAMPLES = Number(process.env.NANOSEEK_BENCH_SAMPLES ?? 20);
const say = (...a) => (json ? console.error(...a) : console.log(...a));
const BUDGET = { defaultsP95: 16, largestP95: 50, longTask: 50, loadMs: 1500, gzipKB: 350 };

await ensureBuildOrExit();
const { url: base, close } = await serveStatic({ port: 0 });

const launchOptions = {
  executablePath: process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-swiftshader'],
};
let browser = await chromium.launch(launchOptions);
async function freshBrowser() {
  if (browser.isConnected()) return browser;
  say('[bench:ui] the browser died; launching another');
  browser = await chromium.launch(launchOptions);
  return browser;
}

// Nearest rank: the smallest sample with at least q of them at or below it. (Until 2026-12-03 this
// took index floor(q·n), which for 20 presses made "p95" the slowest press and p50 the 11th.)
const quantile = (xs, q) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN;
};
const max = (xs) => xs.reduce((m, x) => (Number.isFinite(x) && x > m ? x : m), 0);

// Every long task (> 50 ms) on the page's main thread, wall clock, from the first script on.
const LONG_TASKS = () => {
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch { /* no longtask support: reported as NaN */ window.__longTasks = null; }
};

async function newPage() {
  const b = await freshBrowser();
  const context = await b.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(LONG_TASKS);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  // Thread ticks: TaskDuration counts the main thread's CPU time, not time waiting for a core.
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const cpuMs = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return 1000 * (metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN);
  };
  // The longest main-thread task in CPU time (thread ticks), from a trace over one drag: on a loaded
  // machine a task's wall time stretches with the wait for a core, its CPU time does not.
  const traceStart = async () => {
    const events = [];
    const onData = (e) => events.push(...e.value);
    cdp.on('Tracing.dataCollected', onData);
    await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
    return async () => {
      const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
      await cdp.send('Tracing.end');
      await done;
      cdp.off('Tracing.dataCollected', onData);
      const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && events.some((x) => x.pid === e.pid && x.tid === e.tid && x.name === 'RunTask'));
      if (!main) return NaN;
      return events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.name === 'RunTask')
        .reduce((m, e) => Math.max(m, (e.tdur ?? e.dur) / 1000), 0);
    };
  };
  return { context, page, cpuMs, traceStart };
}

const lessonList = await (async () => {
  const { context, page } = await newPage();
  await page.goto(new URL('lessons', base).href);
  const only = (process.env.NANOSEEK_BENCH_LESSONS ?? '').split(',').filter(Boolean);
  const paths = [...new Set(await page.$$eval('main a[href*="/lessons/"]', (as) => as.map((a) => new URL(a.href).pathname)))]
    .filter((p) => only.length === 0 || only.some((w) => p.endsWith(`/${w}`)))
    .sort();
  await context.close();
  return paths;
})();

// The page's figures first computed (every cell settled once), whatever the backend's state: on a
// first visit they are computed on the default WebAssembly kernels while the kernel measurement
// runs in a worker, and computed again when its choice arrives (waitReady: "settled").
async function firstFigures(page) {
  return page.evaluate(async () => {
    while (!window.__nanoseek?.runtime) await new Promise((r) => setTimeout(r, 5));
    await window.__nanoseek.runtime.idle();
    return performance.now();
  });
}

async function waitReady(page) {
  // Measure after the compute backend is chosen (its start-up measurement would add noise).
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-status');
    return (s === 'ready' || s === 'failed') && Boolean(window.__nanoseek?.runtime);
  }, null, { timeout: 120_000 });
  return page.evaluate(async () => { await window.__nanoseek.runtime.idle(); return performance.now(); });
}

async function openLesson({ page, cpuMs }, href) {
  const scripts = [];
  const onResponse = (r) => { if (r.request().resourceType() === 'script') scripts.push(new URL(r.url()).pathname); };
  page.on('response', onResponse);
  await page.goto(href, { waitUntil: 'load' });
  const firstFiguresMs = await firstFigures(page);
  const loadMs = await waitReady(page);
  page.off('response', onResponse);
  const loadCpuMs = await cpuMs();
  const loadLongTask = await page.evaluate(() => (window.__longTasks ? Math.max(0, ...window.__longTasks.map((t) => t.ms)) : NaN));
  let raw = 0, gzip = 0;
  for (const p of new Set(scripts)) {
    const bytes = readFileSync(join(ROOT, 'build', decodeURIComponent(p)));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  return { firstFiguresMs, loadMs, loadCpuMs, loadLongTaskMs: loadLongTask, jsBytes: raw, jsGzipBytes: gzip };
}

/** Latencies (ms) of `SAMPLES` key presses on each slider, dragging it and turning at its ends. */
async function sliderLatencies({ page, cpuMs, traceStart }, startKey) {
  // One control per input (an input shown in two sections has two).
  const sliders = [...new Map(await page.$$eval('.notebook .control[data-input] input[type=range]', (els) => els.map((e) => [e.closest('.control').getAttribute('data-input'), e.id]))).entries()];
  const picture = [], settled = [], cpu = [];
  const perSlider = {};
  for (const [name, id] of sliders) {
    try {
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
        if (window.__longTasks) window.__longTasks.length = 0;
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
      const cpuSlider = [];
      const traceEnd = await traceStart();
      for (let i = 0; i < SAMPLES; i++) {
        const at = await el.evaluate((e) => (e.value === e.max ? 'max' : e.value === e.min ? 'min' : ''));
        if (at === 'max') key = 'ArrowLeft';
        else if (at === 'min') key = 'ArrowRight';
        const c0 = await cpuMs();
        await page.keyboard.press(key);
        await page.waitForFunction((n) => window.__samples.length > n, i, { timeout: 60_000, polling: 50 });
        cpuSlider.push((await cpuMs()) - c0);
      }
      // Work the last press left for later (cells off screen) belongs to the drag too.
      await page.evaluate(() => window.__nanoseek.runtime.idle());
      const longestTaskCpuMs = await traceEnd();
      const { samples, longTasks } = await page.evaluate(() => ({ samples: window.__samples, longTasks: window.__longTasks }));
      const p = samples.map((x) => x.picture), s = samples.map((x) => x.settled);
      perSlider[name] = {
        p50: quantile(p, 0.5), p95: quantile(p, 0.95), max: max(p), settledP95: quantile(s, 0.95),
        // Every press, in order (the first one after another slider's drag is first).
        pictureMs: p.map((x) => Math.round(x * 10) / 10),
        cpuP50: quantile(cpuSlider, 0.5), cpuP95: quantile(cpuSlider, 0.95),
        longestTaskMs: longTasks ? max(longTasks.map((t) => t.ms)) : NaN, longTasks: longTasks ? longTasks.length : NaN,
        longestTaskCpuMs,
      };
      picture.push(...p);
      settled.push(...s);
      cpu.push(...cpuSlider);
    } catch (e) {
      perSlider[name] = { error: String(e?.message ?? e).split('\n')[0] };
      if (page.isClosed()) throw e;
    }
  }
  const ok = Object.values(perSlider).filter((v) => !v.error);
  return {
    p50: quantile(picture, 0.5), p95: quantile(picture, 0.95),
    settledP50: quantile(settled, 0.5), settledP95: quantile(settled, 0.95),
    cpuP50: quantile(cpu, 0.5), cpuP95: quantile(cpu, 0.95),
    longestTaskMs: max(ok.map((v) => v.longestTaskMs)),
    longestTaskCpuMs: max(ok.map((v) => v.longestTaskCpuMs)),
    samples: picture.length, perSlider,
  };
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
function overBudget(r) {
  const over = [];
  if (r.firstFiguresMs > BUDGET.loadMs) over.push(`first figures ${f0(r.firstFiguresMs)} ms`);
  if (r.jsGzipBytes / 1024 > BUDGET.gzipKB) over.push(`JS ${f0(r.jsGzipBytes / 1024)} kB gzip`);
  for (const [phase, limit] of [['defaults', BUDGET.defaultsP95], ['largest', BUDGET.largestP95]]) {
    for (const [n, v] of Object.entries(r[phase]?.perSlider ?? {})) {
      if (v.error) over.push(`${phase} ${n}: ${v.error}`);
      else if (v.p95 > limit || v.longestTaskMs > BUDGET.longTask || v.longestTaskCpuMs > BUDGET.longTask) over.push(`${phase} ${n} p95 ${f1(v.p95)} (slowest ${f1(v.max)}; cpu ${f1(v.cpuP95)}) task ${f0(v.longestTaskMs)} (cpu ${f0(v.longestTaskCpuMs)})`);
    }
  }
  return over;
}
const HEADER = 'lesson                         load ms (cpu)   JS kB (gzip)   picture p50/p95 ms: defaults   largest       cpu/press p95: def  largest   longest task wall (cpu): def  largest';
function line(r) {
  if (!r.defaults && r.error) return `${r.lesson.padEnd(30)} ERROR ${r.error}`;
  const d = r.defaults ?? {}, l = r.largest ?? {};
  return `${r.lesson.padEnd(30)} ${f0(r.loadMs).padStart(7)} (${f0(r.loadCpuMs)})   ${f0(r.jsBytes / 1024).padStart(5)} (${f0(r.jsGzipBytes / 1024)})   ${f1(d.p50).padStart(8)} / ${f1(d.p95).padEnd(8)} ${f1(l.p50)} / ${f1(l.p95).padEnd(8)}   ${f1(d.cpuP95).padStart(8)}  ${f1(l.cpuP95).padEnd(8)}   ${`${f0(d.longestTaskMs)} (${f0(d.longestTaskCpuMs)})`.padStart(12)}  ${f0(l.longestTaskMs)} (${f0(l.longestTaskCpuMs)})${r.error ? `   ERROR ${r.error}` : ''}`;
}

say(`[bench:ui] ${lessonList.length} lessons, ${SAMPLES} presses per slider; results to ${OUT}; load: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
say(HEADER);
const results = [];
for (const path of lessonList) {
  const href = new URL(path.replace(/^\//, ''), base).href;
  const r = { lesson: path, at: new Date().toISOString(), loadavg: (await import('node:os')).loadavg()[0] };
  let handle = null;
  try {
    handle = await newPage();
    handle.page.on('crash', () => { r.crashed = true; });
    Object.assign(r, await openLesson(handle, href));
    // The returning reader: the same profile, loaded again.
    await handle.page.goto(href, { waitUntil: 'load' });
    r.returnLoadMs = await waitReady(handle.page);
    r.returnLoadCpuMs = await handle.cpuMs(); // TaskDuration starts again with the new document
    if (loadOnly) throw new Error('--load-only');
    r.defaults = await sliderLatencies(handle, 'ArrowRight');
    // Every slider at its maximum, through the URL (as a shared link would set it).
    const maxima = await handle.page.evaluate(() => window.__nanoseek.inputs.filter((i) => i.kind === 'range').map((i) => [i.name, i.max]));
    const params = new URLSearchParams(maxima.map(([n, v]) => [n, String(v)]));
    await handle.page.goto(`${href}?${params}`, { waitUntil: 'load' });
    r.largestLoadMs = await waitReady(handle.page);
    r.largest = await sliderLatencies(handle, 'ArrowLeft');
  } catch (e) {
    if (!(loadOnly && e?.message === '--load-only')) r.error = `${r.crashed ? 'page crashed: ' : ''}${String(e?.message ?? e).split('\n')[0]}`;
  } finally {
    await handle?.context.close().catch(() => {});
  }
  r.overBudget = overBudget(r);
  results.push(r);
  appendFileSync(OUT, `${JSON.stringify(r)}\n`);
  say(line(r));
  if (Number.isFinite(r.firstFiguresMs)) say(`    first visit: figures at ${f0(r.firstFiguresMs)} ms (default kernels), settled on the measured kernels at ${f0(r.loadMs)} ms`);
  if (Number.isFinite(r.returnLoadMs)) say(`    returning reader: load ${f0(r.returnLoadMs)} ms (cpu ${f0(r.returnLoadCpuMs)})${r.returnLoadMs > BUDGET.loadMs ? ' over budget' : ''}`);
  for (const o of r.overBudget) say(`    over budget: ${o}`);
}

await browser.close().catch(() => {});
await close();

if (json) {
  console.log(JSON.stringify({ samplesPerSlider: SAMPLES, budget: BUDGET, lessons: results }));
} else {
  console.log(`\n${HEADER}`);
  for (const r of results) console.log(line(r));
  console.log('\nworst sliders (picture p95 / slowest press ms, defaults; cpu/press p95 in brackets):');
  for (const r of results) {
    const worst = Object.entries(r.defaults?.perSlider ?? {}).filter(([, v]) => !v.error).sort((a, b) => b[1].p95 - a[1].p95).slice(0, 3);
    console.log(`  ${r.lesson}: ${worst.map(([n, v]) => `${n} ${f1(v.p95)} / ${f1(v.max)} (${f1(v.cpuP95)})`).join(', ')}`);
  }
  console.log(`\nper-lesson JSON lines: ${OUT}`);
}
