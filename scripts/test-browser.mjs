// `npm run test:browser`: build the site if needed, serve build/ on a free port of 127.0.0.1 with
// the same server as `npm start`, and run every tests/browser/*.mjs file with node's built-in test
// runner against it in Debian's Chromium (driven by playwright-core; no browser download).
//
// Environment: NANOSEEK_CHROMIUM or CHROMIUM_PATH picks the Chromium binary (default
// /usr/bin/chromium). The test files receive NANOSEEK_URL, NANOSEEK_CHROMIUM and
// NANOSEEK_SCREENSHOTS (screenshots/, git-ignored).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuildOrExit, ROOT, serveStatic } from './serve.mjs';

const started = performance.now();
const chromium = process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';
try {
  accessSync(chromium, constants.X_OK);
} catch {
  console.error(
    `[nanoseek] Chromium not found at ${chromium}.\n` +
      '  The browser tests drive a system Chromium with playwright-core (no browser download).\n' +
      '  On Debian/Ubuntu: apt-get update && apt-get install -y chromium\n' +
      '  Elsewhere: set NANOSEEK_CHROMIUM=/path/to/chromium (or CHROMIUM_PATH).',
  );
  process.exit(1);
}

const testDir = join(ROOT, 'tests', 'browser');
// `npm run test:browser -- heatmap lessons` runs only the files whose names contain those words.
const only = process.argv.slice(2);
const files = readdirSync(testDir, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.mjs') && (only.length === 0 || only.some((w) => e.name.includes(w))))
  .map((e) => join(testDir, e.name))
  .sort();
if (files.length === 0) {
  console.error(`[nanoseek] no browser tests found in ${testDir}`);
  process.exit(1);
}

await ensureBuildOrExit();

const screenshots = join(ROOT, 'screenshots');
mkdirSync(screenshots, { recursive: true });

const { url, close } = await serveStatic({ port: 0 });
console.log(`[nanoseek] serving build/ at ${url}; Chromium: ${chromium}`);

const code = await new Promise((done) => {
  const child = spawn(
    process.execPath,
    ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=420000', ...files],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NANOSEEK_URL: url, NANOSEEK_CHROMIUM: chromium, NANOSEEK_SCREENSHOTS: screenshots },
    },
  );
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  child.on('error', (err) => {
    console.error(`[nanoseek] could not start the test runner: ${err.message}`);
    done(1);
  });
  child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0)));
});

await close();
console.log(`[nanoseek] browser tests ${code === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - started) / 1000).toFixed(1)} s; screenshots in screenshots/`);
process.exit(code);
