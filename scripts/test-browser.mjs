// `npm run test:browser`: build the site if needed, serve build/ on a free port of 127.0.0.1 with
// the same server as `npm start`, start ONE headless Chromium (Debian's, driven by playwright-core;
// no browser download), and run every tests/browser/*.mjs file with node's built-in test runner
// against them, two files at a time (this machine has 2 cores). Each file gets fresh browser
// contexts in the shared Chromium (tests/browser/lib/browser.mjs launch()).
//
// Scheduling: a file that imports PARALLEL_PAGES from the shared lib runs that many pages at once
// itself, so it takes that many of the 2 slots (lessons.mjs runs alone, two lessons at a time).
// Files that test every page (they call sitePaths) start first, then the larger ones: the long
// files do not end up last. Each file's output is printed whole when it ends, with its duration.
//
// Environment: NANOSEEK_CHROMIUM or CHROMIUM_PATH picks the Chromium binary (default
// /usr/bin/chromium); NANOSEEK_BROWSER_JOBS the number of slots (default 2); NANOSEEK_TEST_TIMEOUT
// the limit for one test and for one file, in ms (default 420000; raise it on a loaded machine). The test files receive
// NANOSEEK_URL, NANOSEEK_CHROMIUM, NANOSEEK_WS_ENDPOINT (the shared Chromium), NANOSEEK_SITE_PATHS
// (the site's pages, found once) and NANOSEEK_SCREENSHOTS (screenshots/, git-ignored).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureBuildOrExit, ROOT, serveStatic } from './serve.mjs';

const started = performance.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const chromiumPath = process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';
try {
  accessSync(chromiumPath, constants.X_OK);
} catch {
  console.error(
    `[nanoseek] Chromium not found at ${chromiumPath}.\n` +
      '  The browser tests drive a system Chromium with playwright-core (no browser download).\n' +
      '  On Debian/Ubuntu: apt-get update && apt-get install -y chromium\n' +
      '  Elsewhere: set NANOSEEK_CHROMIUM=/path/to/chromium (or CHROMIUM_PATH).',
  );
  process.exit(1);
}

const SLOTS = Math.max(1, Number(process.env.NANOSEEK_BROWSER_JOBS) || 2);
const TIMEOUT_MS = Math.max(1000, Number(process.env.NANOSEEK_TEST_TIMEOUT) || 420_000);
const testDir = join(ROOT, 'tests', 'browser');
// `npm run test:browser -- heatmap lessons` runs only the files whose names contain those words.
const only = process.argv.slice(2);
const files = readdirSync(testDir, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.mjs') && (only.length === 0 || only.some((w) => e.name.includes(w))))
  .map((e) => {
    const file = join(testDir, e.name);
    const source = readFileSync(file, 'utf8');
    return {
      file,
      name: e.name,
      slots: /\bPARALLEL_PAGES\b/.test(source) ? SLOTS : 1,
      // Every-page files first, then by size (a rough measure of how much a file does).
      weight: statSync(file).size * (/\bsitePaths\b/.test(source) ? 4 : 1),
    };
  })
  .sort((a, b) => b.slots - a.slots || b.weight - a.weight || a.name.localeCompare(b.name));
if (files.length === 0) {
  console.error(`[nanoseek] no browser tests found in ${testDir}`);
  process.exit(1);
}

await ensureBuildOrExit();

const screenshots = join(ROOT, 'screenshots');
mkdirSync(screenshots, { recursive: true });

const { url, close } = await serveStatic({ port: 0 });
process.env.NANOSEEK_URL = url; // for the shared lib's sitePaths below
const { launchServer } = await import('../tests/browser/lib/chromium.mjs');
const server = await launchServer();
process.env.NANOSEEK_WS_ENDPOINT = server.wsEndpoint();
delete process.env.NANOSEEK_SITE_PATHS;
// Find the site's pages once, in a context of the shared Chromium.
const { launch, sitePaths } = await import('../tests/browser/lib/browser.mjs');
const probe = await launch();
const paths = await sitePaths(probe.page);
await probe.close();
console.log(`[nanoseek] serving build/ at ${url}; Chromium: ${chromiumPath}; ${paths.length} pages; ${files.length} test files, ${SLOTS} at a time`);

const env = {
  ...process.env,
  NANOSEEK_URL: url,
  NANOSEEK_CHROMIUM: chromiumPath,
  NANOSEEK_WS_ENDPOINT: server.wsEndpoint(),
  NANOSEEK_SITE_PATHS: JSON.stringify(paths),
  NANOSEEK_SCREENSHOTS: screenshots,
};

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
let stopping = false;
const stop = () => {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

/** Run one test file in its own node process; resolve to its exit code and duration once its output is printed. */
function runFile(f) {
  return new Promise((done) => {
    const t0 = performance.now();
    const out = [];
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', `--test-timeout=${TIMEOUT_MS}`, f.file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    children.add(child);
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => out.push(b));
    const finish = (code) => {
      children.delete(child);
      const ms = performance.now() - t0;
      process.stdout.write(`\n── ${f.name} (${seconds(ms)}, ${code === 0 ? 'passed' : 'FAILED'}) ──\n${Buffer.concat(out).toString('utf8')}`);
      done({ name: f.name, code, ms });
    };
    child.on('error', (err) => {
      out.push(Buffer.from(`[nanoseek] could not start the test runner: ${err.message}\n`));
      finish(1);
    });
    child.on('close', (c, signal) => finish(c ?? (signal ? 1 : 0)));
  });
}

// A queue in order: the head starts as soon as enough slots are free.
const results = [];
await new Promise((allDone) => {
  const queue = [...files];
  let free = SLOTS;
  let running = 0;
  const next = () => {
    while (!stopping && queue.length > 0 && queue[0].slots <= free) {
      const f = queue.shift();
      free -= f.slots;
      running++;
      runFile(f).then((r) => {
        results.push(r);
        free += f.slots;
        running--;
        next();
      });
    }
    if (running === 0) allDone();
  };
  next();
});

await server.close().catch(() => {});
await close();
const failed = results.filter((r) => r.code !== 0);
const code = failed.length === 0 && results.length === files.length ? 0 : 1;
console.log(`\n[nanoseek] browser test files: ${results.map((r) => `${basename(r.name, '.mjs')} ${seconds(r.ms)}${r.code === 0 ? '' : ' FAILED'}`).join(', ')}`);
console.log(`[nanoseek] browser tests ${code === 0 ? 'passed' : `FAILED (${failed.map((r) => r.name).join(', ') || 'stopped'})`} in ${seconds(performance.now() - started)}; screenshots in screenshots/`);
process.exit(code);
