// Node-only: the two-thread gradient runner (worker_threads) and the worker's entry. The main thread
// computes the first half of the rows while one worker computes the second; the halves are summed in
// that order (src/engine/train/workers.ts has the split, the sum and the messages, shared with a
// browser Web Worker glue).
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cliBackend } from './backend.js';
import type { DeepSeekConfig } from '../engine/config.js';
import {
  type GradientRunner, type WorkerFailure, type WorkerInit, type WorkerReply, type WorkerTask,
  gradientWorker, splitRunner,
} from '../engine/train/workers.js';

const MARK = 'nanoseek-gradient-worker';

/**
 * Start a worker running this file. Under tsx (a .ts file) it is first bundled with esbuild into
 * node_modules/.cache/nanoseek/: tsx does not load TypeScript in worker threads, and registering it
 * there from the worker made the tsx command exit early while the run went on.
 */
async function spawn(init: WorkerInit): Promise<Worker> {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith('.ts')) return new Worker(self, { workerData: { [MARK]: init } });
  const { build } = await import('esbuild');
  const dir = path.join(path.dirname(fileURLToPath(self)), '..', '..', 'node_modules', '.cache', 'nanoseek');
  mkdirSync(dir, { recursive: true });
  const outfile = path.join(dir, `train-worker-${process.pid}-${Date.now()}.mjs`);
  await build({ entryPoints: [fileURLToPath(self)], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'silent' });
  const worker = new Worker(pathToFileURL(outfile), { workerData: { [MARK]: init }, execArgv: [] }); // plain JS: no tsx loader in the worker
  const remove = () => rmSync(outfile, { force: true }); // once the worker has loaded it (its first reply) or ended
  worker.once('message', remove);
  worker.once('exit', remove);
  return worker;
}

/** Two threads: this one and one worker, each taking half of every batch's rows. */
export async function twoThreadRunner(config: DeepSeekConfig, backendName?: string): Promise<GradientRunner> {
  const backend = await cliBackend(backendName);
  const worker = await spawn({ type: 'init', config, backend: backendName });
  const runner = splitRunner(backend, (task, transfer) => worker.postMessage(task, transfer), async () => {
    worker.removeAllListeners('exit');
    await worker.terminate();
  });
  worker.on('message', (m: WorkerReply | WorkerFailure) => runner.deliver(m));
  worker.on('error', (e) => runner.fail(e));
  worker.on('exit', (code) => runner.fail(new Error(`gradient worker exited (code ${code})`)));
  return runner;
}

if (!isMainThread && workerData && (workerData as Record<string, unknown>)[MARK]) {
  const init = (workerData as Record<string, WorkerInit>)[MARK]!;
  const handle = gradientWorker(init, await cliBackend(init.backend));
  parentPort!.on('message', (task: WorkerTask) => {
    try {
      const { reply, transfer } = handle(task);
      parentPort!.postMessage(reply, transfer);
    } catch (e) {
      parentPort!.postMessage({ type: 'error', id: task.id, message: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies WorkerFailure);
    }
  });
}
