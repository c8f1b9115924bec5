// Run the engine's CLI (src/cli/main.ts) as a child process, the way a user would, and capture what
// it says. `node --import tsx` directly: about 4x faster to start than `npm run engine`.
// At most MAX_PARALLEL processes run at once (this machine has 2 cores).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  /** Exit code (null if killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
  /** Peak resident memory in MB as the OS counted it (with measureRss; null if the process died before exit). */
  maxRssMb: number | null;
}

export interface CliOptions {
  /** Kill the process after this many milliseconds (default 30 s). */
  timeoutMs?: number;
  cwd?: string;
  /** Record the child's peak resident memory (maxRssMb). */
  measureRss?: boolean;
  /** More environment for the child. */
  env?: Record<string, string>;
}

const MAX_PARALLEL = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function acquire(): Promise<void> {
  if (running < MAX_PARALLEL) {
    running++;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function release(): void {
  const next = waiting.shift();
  if (next) next(); // hand the slot over; `running` stays the same
  else running--;
}

/** `nanoseek ARGS...` from the repository root. Never rejects for a non-zero exit. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  await acquire();
  try {
    return await new Promise<CliResult>((resolve, reject) => {
      const t0 = performance.now();
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env };
      delete env.NODE_OPTIONS; // vitest's loader hooks must not leak into the child
      const rssDir = options.measureRss ? mkdtempSync(path.join(os.tmpdir(), 'nanoseek-rss-')) : null;
      const rssFile = rssDir ? path.join(rssDir, 'rss') : null;
      if (rssFile) env.NANOSEEK_RSS_FILE = rssFile;
      const probe = rssFile ? ['--import', path.join(repoRoot, 'tests/helpers/rss-probe.mjs')] : [];
      const child = spawn(process.execPath, ['--import', 'tsx', ...probe, 'src/cli/main.ts', ...args], {
        cwd: options.cwd ?? repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const ms = performance.now() - t0;
        let maxRssMb: number | null = null;
        if (rssDir && rssFile) {
          if (existsSync(rssFile)) maxRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
          rmSync(rssDir, { recursive: true, force: true });
        }
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          ms,
          maxRssMb,
        });
      });
    });
  } finally {
    release();
  }
}
