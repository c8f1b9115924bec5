// Native references for `npm run bench`, measured in the same run as our own figures, when
// /usr/bin/python3 has torch:
//  - the PyTorch twin (bench/anchors/tinyseek.py) trained for a short time at our shapes on our corpus
//    (static/data/stories, written into a temp DATA_DIR), on 2 threads (--threads 2, pinned to cores
//    0,1 with taskset when there is one; environment as given); its characters per second are the ids it fed per second of
//    training steps (its own `tok_per_s`: 16 rows x 129 per step, evaluation excluded);
//  - the native float32 matmul peak at n = 128, 256, 512 on one thread (torch.set_num_threads(1), else
//    numpy), best of a few repetitions; once with the environment as given and once with
//    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (for that command alone: some images set them for old
//    OpenBLAS builds, and they slow a current one), the faster counting as the peak.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const TINYSEEK = path.join(ROOT, 'bench', 'anchors', 'tinyseek.py');

/** Whether the twin can run here, and if not why (one line). */
export function torchStatus(): { ok: true; version: string } | { ok: false; reason: string } {
  if (!existsSync(PYTHON)) return { ok: false, reason: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return { ok: false, reason: `${PYTHON} -c "import torch" failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}` };
  return { ok: true, version: r.stdout.trim() };
}

// ---- native matmul peak ----

const PEAK_PY = `
import time, json, os
try:
    import torch; torch.set_num_threads(1); lib = 'torch ' + torch.__version__
    mk = lambda n: (torch.rand(n, n), torch.rand(n, n))
except ImportError:
    import numpy as np; lib = 'numpy ' + np.__version__
    mk = lambda n: (np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32))
out = {}
for n in SIZES:
    a, b = mk(n); a @ b
    best = 1e9
    for _ in range(REPEATS):
        reps = max(1, int(4e7 // n ** 3)); t = time.perf_counter()
        for _ in range(reps): a @ b
        best = min(best, (time.perf_counter() - t) / reps)
    out[n] = round(2 * n ** 3 / best / 1e9, 2)
print(json.dumps({'lib': lib, 'gflops': out}))
`;

export interface NativePeak {
  lib?: string;
  /** GFLOP/s per size, environment as given. */
  asGiven?: Record<string, number>;
  /** GFLOP/s per size with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (when they were set). */
  unset?: Record<string, number>;
  /** The faster of the two per size. */
  peak?: Record<string, number>;
  coretype?: string;
  skipped?: string;
}

export function nativePeak(opts: { quick?: boolean } = {}): NativePeak {
  if (!existsSync(PYTHON)) return { skipped: `${PYTHON} not found` };
  const sizes = opts.quick ? [128, 256] : [128, 256, 512];
  const code = PEAK_PY.replace('SIZES', JSON.stringify(sizes)).replace('REPEATS', opts.quick ? '3' : '7');
  const run = (env: NodeJS.ProcessEnv) => {
    const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', env, timeout: 120_000 });
    if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop() };
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { lib: string; gflops: Record<string, number> };
  };
  const given = run(process.env);
  if ('error' in given) return { skipped: `native matmul failed: ${given.error}` };
  const out: NativePeak = { lib: given.lib, asGiven: given.gflops, coretype: process.env.OPENBLAS_CORETYPE };
  if (process.env.OPENBLAS_CORETYPE !== undefined || process.env.OPENBLAS_L2_SIZE !== undefined) {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const u = run(env);
    if (!('error' in u)) out.unset = u.gflops;
  }
  out.peak = Object.fromEntries(Object.entries(given.gflops).map(([n, g]) => [n, Math.max(g, out.unset?.[n] ?? 0)]));
  return out;
}

// ---- the PyTorch twin ----

export interface TwinShape { shape: string; args: string[] }
/** golden-b: the twin's defaults (d 64, 2 layers); shipped: d 96, 3 layers (its other defaults are the shipped config's). */
export const TWIN_SHAPES: TwinShape[] = [
  { shape: 'golden-b', args: [] },
  { shape: 'shipped', args: ['--d', '96', '--layers', '3'] },
];

export interface TwinRun {
  shape: string; threads: number; command: string;
  charsPerSecond?: number; steps?: number; trainSeconds?: number;
  error?: string;
}

/** Write the corpus the twin reads ({DATA_DIR}/stories.{train,val}.txt) from the project's own files. */
export function twinDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'nanoseek-twin-'));
  copyFileSync(path.join(ROOT, 'static/data/stories/train.txt'), path.join(dir, 'stories.train.txt'));
  copyFileSync(path.join(ROOT, 'static/data/stories/val.txt'), path.join(dir, 'stories.val.txt'));
  return dir;
}

/**
 * Train the twin for `minutes` of training-step time and read its last progress line; the process is
 * stopped once that line is printed (what follows is routing statistics and sampling, not training).
 */
export function runTwin(t: TwinShape, dataDir: string, minutes: number, threads = 2): Promise<TwinRun> {
  const taskset = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0,1'] : [];
  const argv = [...taskset, PYTHON, TINYSEEK, '--data', 'stories', '--threads', String(threads), '--minutes', String(minutes), '--eval_every', '1e9', ...t.args];
  // OPENBLAS_* as given: in one (loaded) run here the twin with OPENBLAS_CORETYPE / L2_SIZE unset
  // trained at 480 chars/s at golden-b against 3317 with them set, though a lone matmul ran faster.
  // OMP_WAIT_POLICY=PASSIVE: on a shared machine torch's spinning OpenMP threads collapsed (600 chars/s
  // on 2 threads against 8382 passive and 9295 on one thread, golden-b, minutes apart).
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, OMP_WAIT_POLICY: 'PASSIVE' };
  const command = `OMP_WAIT_POLICY=PASSIVE DATA_DIR=<tmp> ${argv.join(' ').replace(ROOT + '/', '')}`;
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '', err = '', done = false;
    const finish = (r: TwinRun) => { if (done) return; done = true; clearTimeout(timer); child.kill('SIGTERM'); resolve(r); };
    const timer = setTimeout(() => finish({ shape: t.shape, threads, command, error: `no result within ${Math.round(minutes * 60 + 240)} s` }), (minutes * 60 + 240) * 1000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const ev = JSON.parse(line) as { step: number; sec: number; tokens: number; tok_per_s: number };
        if (ev.sec >= minutes * 60) finish({ shape: t.shape, threads, command, charsPerSecond: ev.tokens / ev.sec, steps: ev.step, trainSeconds: ev.sec });
      }
    });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    child.on('close', (code) => finish({ shape: t.shape, threads, command, error: `exited (code ${code}) before its last progress line: ${err.trim().split('\n').pop() ?? ''}` }));
  });
}

export function cleanTwinData(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
