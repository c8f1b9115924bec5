// `npm run bench:browser`: the engine benchmark (bench/engine.ts: prefill and decode tokens/s per
// attention path at contexts 64 and 1024, speculative decoding with the MTP drafter against plain
// decoding) and the A·B / A·Bᵀ kernel table, run inside headless Chromium, on the reference, the
// tuned loop and the WebAssembly SIMD kernels; then training characters per second (bench/train.ts)
// at the golden-b and the shipped shape on the page's thread and on two (the page + a Web Worker),
// rows drawn from static/data/stories/train.txt; then the drafters table (bench/drafters-core.ts, the
// code `npm run bench -- --drafters` runs in Node) on the shipped model, its Medusa heads and the
// shipped small draft model: tokens per verification step, acceptance per draft depth, wall-clock and
// main-thread CPU speed-up against plain decoding in the same page (CPU from the DevTools protocol's
// Performance.getMetrics ThreadTime). `--json` for JSON; `--train-only` skips the engine part;
// `--drafters` runs only the drafters table (`--quick`: 64 tokens, one repeat).
import { existsSync } from 'node:fs';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { ROOT } from './serve.mjs';

const json = process.argv.includes('--json');
const trainOnly = process.argv.includes('--train-only');
const draftersOnly = process.argv.includes('--drafters');
const quick = process.argv.includes('--quick');
const bundle = await build({ entryPoints: [join(ROOT, 'bench', 'browser-entry.ts')], bundle: true, format: 'iife', write: false, logLevel: 'warning' });
const workerBundle = await build({ entryPoints: [join(ROOT, 'bench', 'browser-train-worker.ts')], bundle: true, format: 'iife', write: false, logLevel: 'warning' });
const trainArgs = {
  text: (await readFile(join(ROOT, 'static/data/stories/train.txt'), 'utf8')).slice(0, 400_000),
  shipped: JSON.parse(await readFile(join(ROOT, 'static/models/nanoseek-stories/config.json'), 'utf8')),
  workerSource: workerBundle.outputFiles[0].text,
  steps: 8,
};
const profile = await mkdtemp(join(tmpdir(), 'nanoseek-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = context.pages()[0] ?? (await context.newPage());
await page.setContent('<!doctype html><title>nanoseek engine bench</title>');
await page.addScriptTag({ content: bundle.outputFiles[0].text });
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const runs = trainOnly || draftersOnly ? [] : await page.evaluate(() => globalThis.runEngineBench());
if (!draftersOnly) {
  const loadBefore = load();
  const train = await page.evaluate((a) => globalThis.runTrainBench(a), trainArgs);
  runs.push(...train, { result: { load: [loadBefore, load()] }, text: `training in the page: load average ${loadBefore} before, ${load()} after` });
}
if (!trainOnly) {
  // The main thread's CPU time, read between runs (the page awaits it around each timed run).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.exposeFunction('benchThreadTimeMs', async () => {
    const m = (await cdp.send('Performance.getMetrics')).metrics.find((x) => x.name === 'ThreadTime');
    return m ? m.value * 1000 : null;
  });
  const dir = 'static/models/nanoseek-stories', small = 'static/models/drafters/nanoseek-drafter';
  const b64 = async (f) => (await readFile(join(ROOT, f))).toString('base64');
  const files = async (d) => ({ dir: d, config: await readFile(join(ROOT, d, 'config.json'), 'utf8'), weights: await b64(join(d, 'model.safetensors')) });
  const drafterArgs = {
    model: await files(dir), tokenizer: await readFile(join(ROOT, dir, 'tokenizer.json'), 'utf8'), medusa: await b64(join(dir, 'medusa.safetensors')),
    small: existsSync(join(ROOT, small, 'model.safetensors')) ? await files(small) : null,
    tokens: quick ? 64 : 200, repeats: quick ? 1 : 3,
  };
  const loadBefore = load();
  runs.push(...(await page.evaluate((a) => globalThis.runDrafterBench(a), drafterArgs)));
  runs.push({ result: { drafterLoad: [loadBefore, load()] }, text: `drafters in the page: load average ${loadBefore} before, ${load()} after` });
}
const userAgent = await page.evaluate(() => navigator.userAgent);
await context.close();
await rm(profile, { recursive: true, force: true });
console.log(json ? JSON.stringify({ userAgent, results: runs.map((r) => r.result) }) : `${userAgent}\n\n${runs.map((r) => r.text).join('\n\n')}`);
