// Which Chromium the browser tests drive and how it is started: shared by scripts/test-browser.mjs
// (one browser for every test file) and tests/browser/lib/browser.mjs (a file run on its own).
import { chromium } from 'playwright-core';

/** NANOSEEK_CHROMIUM or CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.NANOSEEK_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-swiftshader',
];

/** A headless Chromium that test processes reach through its `wsEndpoint()` (playwright's browser server). */
export function launchServer() {
  return chromium.launchServer({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
