// `npm run bench:browser`: the engine benchmark (bench/engine.ts: prefill and decode tokens/s per
// attention path at contexts 64 and 1024, speculative decoding with the MTP drafter against plain
// decoding) and the A·B / A·Bᵀ kernel table, run inside headless Chromium, on the reference, the
// tuned loop and the WebAssembly SIMD kernels. `--json` for JSON.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { ROOT } from './serve.mjs';

const json = process.argv.includes('--json');
const bundle = await build({ entryPoints: [join(ROOT, 'bench', 'browser-entry.ts')], bundle: true, format: 'iife', write: false, logLevel: 'warning' });
const profile = await mkdtemp(join(tmpdir(), 'nanoseek-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = context.pages()[0] ?? (await context.newPage());
await page.setContent('<!doctype html><title>nanoseek engine bench</title>');
await page.addScriptTag({ content: bundle.outputFiles[0].text });
const runs = await page.evaluate(() => globalThis.runEngineBench());
const userAgent = await page.evaluate(() => navigator.userAgent);
await context.close();
await rm(profile, { recursive: true, force: true });
console.log(json ? JSON.stringify({ userAgent, results: runs.map((r) => r.result) }) : `${userAgent}\n\n${runs.map((r) => r.text).join('\n\n')}`);
