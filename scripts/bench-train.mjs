// `node scripts/bench-train.mjs [--minutes 10] [--budget-minutes 5] [--idle-seconds 30] [--query 'seed=2']`:
// the training lesson's benchmark in headless Chromium (reported, never asserted; the machine's CPU is
// shared, so the load average is printed beside every figure). Needs a build (npm run build).
//  1. Node, one thread: the lesson's default run through the engine loop (scripts/bench-train-node.ts).
//  2. The page with one, then two worker threads: characters per second over 40 s after 20 s of
//     warm-up (a test hook forces the count; on two cores the page trains on one).
//  3. The page, defaults (plus --query), from a fresh browser profile. First --idle-seconds of
//     interactions on the page before it trains (the same machine load, the trainer idle), then
//     Start and interactions every 5 s for --minutes. After --budget-minutes: held-out bits per
//     character, MTP greedy agreement and sampled acceptance, MaxVio. Input latency of each
//     interaction (Event Timing: its slowest event, split into input delay, handlers and
//     presentation; p95), with the main thread's wall and CPU time in tasks meanwhile (a Chromium
//     trace: CPU far below wall means the thread waited for a core); long tasks (PerformanceObserver:
//     wall-clock, so a busy machine lengthens them), long animation frames by script, the main
//     thread's tasks by CPU time; the main thread's JS heap (after a forced GC) before and after.
// --skip-node, --skip-one-thread and --skip-two-threads leave out parts 1 and 2.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ensureBuildOrExit, ROOT, serveStatic } from './serve.mjs';

const { values } = parseArgs({ options: {
  minutes: { type: 'string' }, 'budget-minutes': { type: 'string' }, 'idle-seconds': { type: 'string' }, query: { type: 'string' },
  'skip-node': { type: 'boolean' }, 'skip-one-thread': { type: 'boolean' }, 'skip-two-threads': { type: 'boolean' },
} });
const MINUTES = Number(values.minutes ?? 10);
const BUDGET = Number(values['budget-minutes'] ?? 5);
const IDLE = Number(values['idle-seconds'] ?? 30);
const QUERY = values.query ?? '';
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

// 2. The page, one and two worker threads (a test hook forces the count; on two cores the page's default is one)
for (const threads of [1, 2]) {
  if (values[threads === 1 ? 'skip-one-thread' : 'skip-two-threads']) continue;
  const { page, done } = await browser();
  await page.addInitScript((n) => { globalThis.__nanoseekTrainThreads = n; }, threads);
  await startFresh(page);
  await page.waitForTimeout(20_000);
  const a = await panelState(page);
  const t0 = Date.now();
  await page.waitForTimeout(40_000);
  const b = await panelState(page);
  const key = threads === 1 ? 'page_one_thread' : 'page_two_threads';
  out[key] = { threads: b.threads, kernels: b.kernels, chars_per_sec: ((b.chars - a.chars) * 1000) / (Date.now() - t0), steps: b.step - a.step, load: load() };
  log(`page, ${threads} worker thread(s):`, JSON.stringify(out[key]));
  await done();
}

// 3. The page, defaults, fresh profile
{
  const { page, context, done } = await browser();
  await page.addInitScript(() => {
    const b = (window.__bench = { longtasks: [], events: [], frames: [], phases: [] });
    new PerformanceObserver((l) => { for (const e of l.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration }); }).observe({ type: 'longtask', buffered: true });
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (e.interactionId) b.events.push({ id: e.interactionId, name: e.name, duration: e.duration, start: e.startTime, processingStart: e.processingStart, processingEnd: e.processingEnd });
    }).observe({ type: 'event', durationThreshold: 16, buffered: true });
    // Long animation frames (over 50 ms): where a slow frame's time went (scripts, style and layout, waiting).
    try {
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) {
          b.frames.push({
            start: e.startTime, duration: e.duration, blocking: e.blockingDuration, renderStart: e.renderStart, layoutStart: e.styleAndLayoutStart,
            scripts: (e.scripts ?? []).map((x) => ({ invoker: x.invoker, duration: x.duration, layout: x.forcedStyleAndLayoutDuration })),
          });
        }
      }).observe({ type: 'long-animation-frame', buffered: true });
    } catch { /* not supported */ }
  });
  const cdp = await context.newCDPSession(page);
  const heap = async () => { await cdp.send('HeapProfiler.collectGarbage'); return (await cdp.send('Runtime.getHeapUsage')).usedSize; };
  // Top-level tasks of the page's main thread (CrRendererMain): start (ts), wall time (dur) and CPU time (tdur).
  const trace = [];
  let alignTs = null;
  cdp.on('Tracing.dataCollected', (e) => {
    for (const x of e.value) {
      if (x.name === 'RunTask' || x.name === 'ThreadControllerImpl::RunTask' || x.name === 'thread_name') trace.push({ name: x.name, pid: x.pid, tid: x.tid, ts: x.ts, dur: x.dur, tdur: x.tdur, thread: x.args?.name });
      else if (x.name === 'bench-align' && alignTs === null) alignTs = x.ts;
    }
  });
  const traced = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await page.goto(`${url}lessons/train${QUERY ? `?${QUERY}` : ''}`);
  await page.waitForSelector('[data-testid="train-panel"][data-status="ready"]', { timeout: 180_000 });
  await cdp.send('Tracing.start', { categories: 'toplevel,__metadata,blink.user_timing', transferMode: 'ReportEvents' });
  const alignAt = await page.evaluate(() => performance.mark('bench-align').startTime);
  // Interactions: a select that does not restart the run (the second run's balancing, while there is
  // no second run), and a "View code" toggle.
  const select = page.locator('.control[data-input="compare_balancing"] select');
  const summary = page.locator('figure.cell[data-cell="bpcView"] details.code summary');
  const phase = (name) => page.evaluate((n) => window.__bench.phases.push({ name: n, t: performance.now() }), name);
  let interactions = 0;
  const interact = async () => {
    await select.focus();
    await page.keyboard.press(interactions % 4 < 2 ? 'ArrowDown' : 'ArrowUp');
    await summary.click();
    interactions += 2;
  };
  // The page idle (not training) under the same machine load, for comparison.
  await phase('idle');
  const idleUntil = Date.now() + IDLE * 1000;
  while (Date.now() < idleUntil) { await page.waitForTimeout(2_500); await interact(); }
  const idleInteractions = interactions;
  const heapBefore = await heap();
  const started = Date.now();
  await phase('training');
  await page.evaluate(() => { window.__bench.t0 = performance.now(); });
  await page.click('[data-action="start"]');
  interactions++; // the Start button is one too
  let budget = null;
  while (Date.now() - started < MINUTES * 60_000) {
    await page.waitForTimeout(5_000);
    await interact();
    if (!budget && Date.now() - started >= BUDGET * 60_000) {
      budget = await page.evaluate(() => {
        const a = window.__nanoseekTrain.a, h = a.history;
        const e = h.evals.at(-1);
        const tail = h.steps.slice(-50);
        const vio = (l) => { const m = l.reduce((x, y) => x + y, 0) / l.length; return m > 0 ? Math.max(...l) / m - 1 : 0; };
        const summed = (i) => tail.reduce((acc, p) => acc.map((v, e) => v + p.load[i][e]), tail[0].load[i].map(() => 0));
        return {
          seed: a.settings.seed, step: a.step, chars: a.chars, layers: h.layers,
          val_bpc: e?.valBpc, eval_step: e?.step, eval_chars: e?.chars, mtp_greedy: e?.greedy, mtp_sampled: e?.sampled,
          // The lesson's figure: the model at the last evaluation, held-out prose and arithmetic weighted as in training.
          maxvio_heldout: e?.maxVio, maxvio_heldout_worst: e ? Math.max(...e.maxVio) : null,
          maxvio_heldout_last_evals: h.evals.slice(-8).map((x) => [x.step, ...x.maxVio.map((v) => Number(v.toFixed(3)))]),
          // Training batches: the mean of each batch's MaxVio over the last 50, and the MaxVio of their summed load.
          maxvio_train_mean_of_last50: h.layers.map((_, i) => tail.reduce((s, p) => s + vio(p.load[i]), 0) / tail.length),
          maxvio_train_sum_of_last50: h.layers.map((_, i) => vio(summed(i))),
          untrained: { maxVio: h.untrained?.maxVio, valBpc: h.untrained?.valBpc, greedy: h.untrained?.greedy },
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
  const allTasks = trace.filter((x) => x.name === kind && mains.has(`${x.pid}:${x.tid}`) && x.dur !== undefined);
  const end = await page.evaluate(() => ({ b: window.__bench, step: window.__nanoseekTrain.a.step, chars: window.__nanoseekTrain.a.chars, threads: window.__nanoseekTrain.a.threads, kernels: window.__nanoseekTrain.a.kernels }));
  const heapAfter = await heap();
  const t0 = end.b.t0;
  // Page time (ms) -> trace time (µs), through the mark made at the start of tracing.
  const toTrace = (ms) => alignTs + (ms - alignAt) * 1000;
  const tasks = alignTs === null ? allTasks : allTasks.filter((x) => x.ts >= toTrace(t0));
  const cpuMs = tasks.map((x) => (x.tdur ?? 0) / 1000).sort((a, b) => a - b);
  const pct = (xs, q) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] : 0);
  const r1 = (x) => Math.round(x * 10) / 10;
  // One figure per interaction (its slowest event), split into input delay (waiting for the main
  // thread), processing (handlers) and presentation (from the handlers to the next frame on screen),
  // with the main thread's wall and CPU time in tasks during it (CPU far below wall: the thread was
  // waiting for a core, i.e. the machine's load). Interactions not reported took under 16 ms.
  const slowest = new Map();
  for (const e of end.b.events) if (!slowest.has(e.id) || slowest.get(e.id).duration < e.duration) slowest.set(e.id, e);
  const summarise = (from, to, count) => {
    const es = [...slowest.values()].filter((e) => e.start >= from && e.start < to);
    const rows = es.map((e) => {
      const a = toTrace(e.start), b = toTrace(e.start + e.duration);
      let wall = 0, cpu = 0;
      if (alignTs !== null) for (const t of allTasks) {
        const o = Math.min(b, t.ts + t.dur) - Math.max(a, t.ts);
        if (o > 0) { wall += o / 1000; cpu += ((t.tdur ?? 0) / 1000) * (o / t.dur); }
      }
      return { duration: e.duration, delay: e.processingStart - e.start, processing: e.processingEnd - e.processingStart, presentation: e.start + e.duration - e.processingEnd, wall, cpu };
    });
    const all = [...Array(Math.max(0, count - rows.length)).fill(0), ...rows.map((x) => x.duration)].sort((x, y) => x - y);
    const q = (k, p) => r1(pct(rows.map((x) => x[k]).sort((x, y) => x - y), p));
    return {
      interactions: count, over_16ms: rows.length, p95_ms: pct(all, 0.95), max_ms: all.at(-1) ?? 0,
      of_those_over_16ms: rows.length ? {
        median: { delay: q('delay', 0.5), processing: q('processing', 0.5), presentation: q('presentation', 0.5), main_thread_wall_in_tasks: q('wall', 0.5), main_thread_cpu: q('cpu', 0.5) },
        p95: { delay: q('delay', 0.95), processing: q('processing', 0.95), presentation: q('presentation', 0.95), main_thread_wall_in_tasks: q('wall', 0.95), main_thread_cpu: q('cpu', 0.95) },
      } : null,
    };
  };
  const idleFrom = end.b.phases.find((p) => p.name === 'idle')?.t ?? 0;
  const longtasks = end.b.longtasks.filter((t) => t.start >= t0);
  const frames = end.b.frames.filter((f) => f.start >= t0);
  const byInvoker = new Map();
  for (const f of frames) for (const x of f.scripts) byInvoker.set(x.invoker, (byInvoker.get(x.invoker) ?? 0) + x.duration);
  out.page_default = {
    threads: end.threads, kernels: end.kernels, minutes: MINUTES, steps: end.step, chars: end.chars, chars_per_sec: end.chars / ((Date.now() - started) / 1000),
    budget,
    input_latency_ms: { idle_page_same_machine: summarise(idleFrom, t0, idleInteractions), while_training: summarise(t0, Infinity, interactions - idleInteractions) },
    long_tasks_wall: { count: longtasks.length, max_ms: Math.max(0, ...longtasks.map((t) => t.duration)), total_ms: Math.round(longtasks.reduce((s, t) => s + t.duration, 0)) },
    long_animation_frames: {
      count: frames.length, max_ms: Math.round(Math.max(0, ...frames.map((f) => f.duration))), max_blocking_ms: Math.round(Math.max(0, ...frames.map((f) => f.blocking))),
      script_ms_by_invoker: [...byInvoker].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => [k, Math.round(v)]),
    },
    main_thread_tasks_cpu: {
      tasks: tasks.length, renderers: mains.size, total_ms: Math.round(cpuMs.reduce((a, b) => a + b, 0)), wall_ms: Math.round(tasks.reduce((a, t) => a + t.dur / 1000, 0)), over_50ms: cpuMs.filter((x) => x > 50).length,
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
