// Shared pieces of the browser tests: launching Debian's Chromium through playwright-core,
// collecting console/page errors, running axe-core, and finding the site's pages.
// Run by scripts/test-browser.mjs, which sets NANOSEEK_URL and NANOSEEK_CHROMIUM, and starts one
// Chromium for all the test files (NANOSEEK_WS_ENDPOINT): each launch() is then a fresh browser
// context in it (its own storage, cache and downloads, like a fresh profile) instead of a browser.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';

const require = createRequire(import.meta.url);

export const BASE_URL = process.env.NANOSEEK_URL ?? '';
export const SCREENSHOT_DIR = process.env.NANOSEEK_SCREENSHOTS ?? join(process.cwd(), 'screenshots');
const WS_ENDPOINT = process.env.NANOSEEK_WS_ENDPOINT ?? '';

/**
 * How many pages a test file may drive at once (the runner's slots, 2 by default: this machine has
 * 2 cores). A file that imports this runs alone, and runs its own checks that many at a time.
 */
export const PARALLEL_PAGES = Math.max(1, Number(process.env.NANOSEEK_BROWSER_JOBS) || 2);

if (!BASE_URL) throw new Error('NANOSEEK_URL is not set: run the browser tests with `npm run test:browser`');

/** Absolute URL of a site path ("/", "lessons", "lessons/kv-cache"). */
export function siteUrl(path = '/') {
  return new URL(path.replace(/^\//, ''), BASE_URL).href;
}

/** The connection to the runner's shared Chromium, while some launch() context is open. */
let shared = null;
let sharedUsers = 0;

/**
 * A fresh browser context: in the runner's shared Chromium when there is one, else in a Chromium of
 * its own with a fresh profile in a temp dir. Options go to newContext / launchPersistentContext
 * (viewport, colorScheme, reducedMotion, acceptDownloads, ...). Returns { context, page, close }.
 */
export async function launch(options = {}) {
  const contextOptions = { viewport: { width: 1280, height: 800 }, ...options };
  if (WS_ENDPOINT) {
    sharedUsers++;
    shared ??= chromium.connect(WS_ENDPOINT);
    const browser = await shared;
    const context = await browser.newContext(contextOptions);
    context.setDefaultTimeout(30_000);
    const page = await context.newPage();
    return {
      context,
      page,
      close: async () => {
        await context.close().catch(() => {});
        // The last context of this process closes the connection (an open one keeps node running).
        if (--sharedUsers === 0 && shared) {
          const connection = shared;
          shared = null;
          await (await connection).close().catch(() => {});
        }
      },
    };
  }
  const profile = await mkdtemp(join(tmpdir(), 'nanoseek-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    ...contextOptions,
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Start recording a page's console errors, uncaught exceptions, failed requests and HTTP errors. */
export function watchErrors(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url || 'no location'})`);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.stack || err.message}`));
  // net::ERR_ABORTED is a request the page itself cancelled (a worker terminated before its script
  // arrived, a navigation leaving the previous document); a missing or broken file still shows as
  // an HTTP status >= 400 below or as another network error.
  page.on('requestfailed', (req) => {
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  return errors;
}

/** Open a site path and wait until SvelteKit has hydrated it. */
export async function open(page, path) {
  const response = await page.goto(siteUrl(path), { waitUntil: 'load' });
  if (!response || !response.ok()) throw new Error(`GET ${path}: HTTP ${response?.status()}`);
  // SvelteKit starts from an inline module script; the badge's data-status leaves "idle" on mount.
  await page.waitForFunction(() => document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-status') !== 'idle' || !document.querySelector('[data-testid="backend-badge"]'));
  return response;
}

/** Wait for the backend badge (if the page has one) to finish measuring. */
export async function waitForBackend(page, timeout = 60_000) {
  const badge = page.getByTestId('backend-badge').first();
  if ((await badge.count()) === 0) return null;
  await page.waitForFunction(
    () => {
      const s = document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-status');
      return s === 'ready' || s === 'failed';
    },
    undefined,
    { timeout },
  );
  return badge.getAttribute('data-status');
}

/** Wait two animation frames (style and layout done). */
export async function settle(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** A lesson page: wait until the backend is chosen, the notebook runtime exists and every cell has settled. */
export async function idle(page) {
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-status');
    return (s === 'ready' || s === 'failed') && Boolean(window.__nanoseek?.runtime);
  });
  await page.evaluate(() => window.__nanoseek.runtime.idle());
  await settle(page);
}

/**
 * Bring a figure on screen and wait until it is rendered: a figure far off screen is skipped by the
 * browser (content-visibility: auto), and text read from it then (innerText) is empty.
 */
export async function onScreen(locator) {
  await locator.scrollIntoViewIfNeeded();
  await locator.page().evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/**
 * What a lesson's figures show now: each figure's drawing, as markup (ids stripped) and canvas pixels.
 * The export toolbar is not part of the picture (its checkbox picks up a style="" when playwright
 * takes a screenshot: it hides the caret in form fields and restores them that way).
 */
export function picture(page) {
  return page.$$eval('figure.cell .drawing', (els) => els.map((e) => {
    const copy = /** @type {Element} */ (e.cloneNode(true));
    for (const t of copy.querySelectorAll('.ns-toolbar')) t.remove();
    // Generated ids (chart-title-c12, tb-caption-c13) count figures in the order they mounted, which
    // depends on when the model's weights arrived: strip them wherever they are referenced.
    return [copy.innerHTML.replace(/id="[^"]*"/g, '').replace(/-c\d+\b/g, '-c'), ...[...e.querySelectorAll('canvas')].map((c) => c.toDataURL())].join('\n');
  }));
}

const AXE_PATH = require.resolve('axe-core/axe.min.js');
/** @type {string | null} */
let axeText = null;
async function axeSource() {
  axeText ??= await readFile(AXE_PATH, 'utf8');
  return axeText;
}

/** axe-core's serious and critical violations on the current page. */
export async function seriousViolations(page) {
  // Inject once per document: a second copy of axe-core on the same page reports stale colours.
  // Evaluated through the DevTools protocol, not an inline <script>: the pages' Content-Security-
  // Policy blocks inline scripts without a hash (as it should).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource());
  const result = await page.evaluate(async () => {
    // @ts-ignore axe is injected above
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join(' ') ?? ''}`),
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(violations) {
  return violations.map((v) => `[${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n');
}

/**
 * Every page of the site, found by following the links on /lessons: ["/", "/lessons", "/lessons/x", ...].
 * The runner finds them once (with this function) and hands the list to every test file in
 * NANOSEEK_SITE_PATHS; without it, `page` opens /lessons.
 */
export async function sitePaths(page) {
  if (process.env.NANOSEEK_SITE_PATHS) return JSON.parse(process.env.NANOSEEK_SITE_PATHS);
  await page.goto(siteUrl('lessons'), { waitUntil: 'load' });
  const hrefs = await page.$$eval('main a[href]', (as) => as.map((a) => /** @type {HTMLAnchorElement} */ (a).href));
  const base = new URL(BASE_URL);
  const lessons = [...new Set(hrefs)]
    .map((h) => new URL(h))
    .filter((u) => u.origin === base.origin && /\/lessons\/[^/]+$/.test(u.pathname))
    .map((u) => u.pathname)
    .sort();
  return ['/', '/lessons', ...lessons];
}

/** A file-name-safe name for a site path: "/" -> "index", "/lessons/kv-cache" -> "lessons-kv-cache". */
export function pageName(path) {
  return path.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9-]+/gi, '-') || 'index';
}

/** The bytes of a download (a playwright Download). */
export async function downloadBytes(download) {
  const stream = await download.createReadStream();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}
