// `node scripts/bench-train.mjs [--minutes 10] [--budget-minutes 5]`: the training lesson's benchmark
// in headless Chromium (reported, never asserted; the machine's CPU is shared, so the load average is
// printed beside every figure). Needs a build (npm run build).
//  1. Node, one thread: the lesson's default run through the engine loop (scripts/bench-train-node.ts).
//  2. The page, one worker thread: characters per second over a minute (a test hook forces one thread).
//  3. The page, defaults (two worker threads), from a fresh browser profile: after --budget-minutes,
//     held-out bits per character, MTP greedy agreement and sampled acceptance, MaxVio; input latency
//     of controls while training (Event Timing: input delay + handler + next paint, p95), long tasks
//     on the main thread (PerformanceObserver: wall-clock, so a busy machine lengthens them) and the
//     main thread's tasks by CPU time (a Chromium trace: each task's thread time, which the machine's
//     load does not inflate); the main thread's JS heap (after a forced GC) before and after --minutes.
// --skip-node and --skip-one-thread leave out parts 1 and 2.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ensureBuildOrExit, ROOT, serveStatic } from './serve.mjs';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'budget-minutes': { type: 'string' }, 'skip-node': { type: 'boolean' }, 'skip-one-thread': { type: 'boolean' } } });
const MINUTES = Number(values.minutes ?? 10);
const BUDGET = Number(values['budget-minutes'] ?? 5);
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const out = { load_at_start: load() };
const log = (...a) => console.log(`[bench-train ${new Date().toISOString().slice(11, 19)} load ${load()}]`, ...a);

await ensureBuildOrExit();
const { url, close } = await serveStatic({ port: 0 });

// 1. Node, one thread
if (!values['skip-node']) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'bench-train-node.ts'), '30'], { cwd: ROOT, encoding: 'utf8' });
  out.node_one_thread = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : { error: r.stderr.slice(-400) };
  log('node, one thread:', JSON.stringify(out.node_one_thread));
}

async function browser() {
  const profile = await mkdtemp(join(tmpdir(), 'nanoseek-bench-train-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.NANOSEEK_CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(120_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page, done: async () => { await context.close(); await rm(profile, { recursive: true, force: true }); } };
}

const panelState = (page) => page.evaluate(() => {
  const a = window.__nanoseekTrain.a;
  return { status: a.status, step: a.step, chars: a.chars, charsPerSec: a.charsPerSec, threads: a.threads, kernels: a.kernels };
});

async function startFresh(page, query = '') {
  await page.goto(`${url}lessons/train${query}`);
  await page.waitForSelector('[data-testid="train-panel"][data-status="ready"]', { timeout: 180_000 });
  await page.click('[data-action="start"]');
}

// 2. The page, one worker thread
if (!values['skip-one-thread']) {
  const { page, done } = await browser();
  await page.addInitScript(() => { globalThis.__nanoseekTrainThreads = 1; });
  await startFresh(page);
  await page.waitForTimeout(20_000);
  const a = await panelState(page);
  const t0 = Date.now();
  await page.waitForTimeout(40_000);
  const b = await panelState(page);
  out.page_one_thread = { threads: b.threads, kernels: b.kernels, chars_per_sec: ((b.chars - a.chars) * 1000) / (Date.now() - t0), steps: b.step - a.step };
  log('page, one worker thread:', JSON.stringify(out.page_one_thread));
  await done();
}

// 3. The page, defaults, fresh profile
{
  const { page, context, done } = await browser();
  await page.addInitScript(() => {
    const b = (window.__bench = { longtasks: [], events: [] });
    new PerformanceObserver((l) => { for (const e of l.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration }); }).observe({ type: 'longtask', buffered: true });
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (e.interactionId) b.events.push({ id: e.interactionId, name: e.name, duration: e.duration, start: e.startTime });
    }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  });
  const cdp = await context.newCDPSession(page);
  const heap = async () => { await cdp.send('HeapProfiler.collectGarbage'); return (await cdp.send('Runtime.getHeapUsage')).usedSize; };
  // Top-level tasks of the page's main thread (CrRendererMain): wall time (dur) and CPU time (tdur).
  const trace = [];
  cdp.on('Tracing.dataCollected', (e) => { for (const x of e.value) if (x.name === 'RunTask' || x.name === 'ThreadControllerImpl::RunTask' || x.name === 'thread_name') trace.push({ name: x.name, pid: x.pid, tid: x.tid, dur: x.dur, tdur: x.tdur, thread: x.args?.name }); });
  const traced = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await page.goto(`${url}lessons/train`);
  await page.waitForSelector('[data-testid="train-panel"][data-status="ready"]', { timeout: 180_000 });
  const heapBefore = await heap();
  const started = Date.now();
  await page.evaluate(() => { window.__bench.t0 = performance.now(); });
  await cdp.send('Tracing.start', { categories: 'toplevel,__metadata', transferMode: 'ReportEvents' });
  await page.click('[data-action="start"]');
  // Interactions while training: a select that does not restart the run, and a "View code" toggle.
  const select = page.locator('.control[data-input="compare_balancing"] select');
  const summary = page.locator('figure.cell[data-cell="bpcView"] details.code summary');
  let interactions = 0;
  let budget = null;
  while (Date.now() - started < MINUTES * 60_000) {
    await page.waitForTimeout(5_000);
    await select.focus();
    await page.keyboard.press(interactions % 2 ? 'ArrowUp' : 'ArrowDown');
    await summary.click();
    interactions += 2;
    if (!budget && Date.now() - started >= BUDGET * 60_000) {
      budget = await page.evaluate(() => {
        const a = window.__nanoseekTrain.a, h = a.history;
        const e = h.evals.at(-1);
        const tail = h.steps.slice(-50);
        const vio = (l) => { const m = l.reduce((x, y) => x + y, 0) / l.length; return m > 0 ? Math.max(...l) / m - 1 : 0; };
        const summed = (i) => tail.reduce((acc, p) => acc.map((v, e) => v + p.load[i][e]), tail[0].load[i].map(() => 0));
        return {
          step: a.step, chars: a.chars, layers: h.layers,
          val_bpc: e?.valBpc, eval_step: e?.step, mtp_greedy: e?.greedy, mtp_sampled: e?.sampled,
          // The lesson's figure: the model at the last evaluation, held-out prose and arithmetic weighted as in training.
          maxvio_heldout: e?.maxVio,
          maxvio_heldout_last_evals: h.evals.slice(-8).map((x) => [x.step, ...x.maxVio.map((v) => Number(v.toFixed(3)))]),
          // Training batches: the mean of each batch's MaxVio over the last 50, and the MaxVio of their summed load.
          maxvio_train_mean_of_last50: h.layers.map((_, i) => tail.reduce((s, p) => s + vio(p.load[i]), 0) / tail.length),
          maxvio_train_sum_of_last50: h.layers.map((_, i) => vio(summed(i))),
          untrained: h.untrained,
        };
      });
      budget.seconds = (Date.now() - started) / 1000;
      budget.chars_per_sec = budget.chars / budget.seconds;
      budget.load = load();
      log(`after ${BUDGET} minutes:`, JSON.stringify(budget));
    }
  }
  await cdp.send('Tracing.end');
  await traced;
  const mains = new Set(trace.filter((x) => x.name === 'thread_name' && x.thread === 'CrRendererMain').map((x) => `${x.pid}:${x.tid}`));
  // One kind of top-level task event (Chromium versions name them differently; never both, so nothing is counted twice).
  const kind = trace.some((x) => x.name === 'ThreadControllerImpl::RunTask') ? 'ThreadControllerImpl::RunTask' : 'RunTask';
  const tasks = trace.filter((x) => x.name === kind && mains.has(`${x.pid}:${x.tid}`) && x.dur !== undefined);
  const cpuMs = tasks.map((x) => (x.tdur ?? 0) / 1000).sort((a, b) => a - b);
  const end = await page.evaluate(() => ({ b: window.__bench, step: window.__nanoseekTrain.a.step, chars: window.__nanoseekTrain.a.chars, threads: window.__nanoseekTrain.a.threads, kernels: window.__nanoseekTrain.a.kernels }));
  const heapAfter = await heap();
  // One figure per interaction (its slowest event); interactions not reported took under 16 ms.
  const byId = new Map();
  for (const e of end.b.events) byId.set(e.id, Math.max(byId.get(e.id) ?? 0, e.duration));
  const durations = [...byId.values()].sort((x, y) => x - y);
  const all = [...Array(Math.max(0, interactions - durations.length)).fill(0), ...durations];
  const p95 = all.length ? all[Math.min(all.length - 1, Math.floor(0.95 * all.length))] : 0;
  const longtasks = end.b.longtasks.filter((t) => t.start >= end.b.t0);
  out.page_default = {
    threads: end.threads, kernels: end.kernels, minutes: MINUTES, steps: end.step, chars: end.chars, chars_per_sec: end.chars / ((Date.now() - started) / 1000),
    budget,
    input_latency_ms: { interactions, over_16ms: durations.length, p95: p95 === 0 ? '< 16 (fewer than 5% of interactions took 16 ms or more)' : p95, max: durations.at(-1) ?? 0 },
    long_tasks_wall: { count: longtasks.length, max_ms: Math.max(0, ...longtasks.map((t) => t.duration)), total_ms: longtasks.reduce((s, t) => s + t.duration, 0) },
    main_thread_tasks_cpu: {
      tasks: tasks.length, renderers: mains.size, total_ms: Math.round(cpuMs.reduce((a, b) => a + b, 0)), over_50ms: cpuMs.filter((x) => x > 50).length,
      max_ms: Math.round(cpuMs.at(-1) ?? 0), p99_ms: Math.round(cpuMs[Math.floor(0.99 * (cpuMs.length - 1))] ?? 0), largest_ms: cpuMs.slice(-8).map((x) => Math.round(x)),
    },
    heap_main_thread_mb: { before: heapBefore / 2 ** 20, after: heapAfter / 2 ** 20 },
  };
  log('page, defaults:', JSON.stringify(out.page_default));
  await done();
}
out.load_at_end = load();
await close();
console.log(JSON.stringify(out, null, 2));
