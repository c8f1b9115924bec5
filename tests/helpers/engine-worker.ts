// The kit's engine worker (notebooks/_kit/engine-worker.ts) with the real serveEngineJobs on the other
// end of a MessageChannel, in Node: `self` and `Worker` are stood in on globalThis (restoreGlobals
// puts them back). `sent` records what the page side posted.
import { EngineWorker, type Jobs, serveEngineJobs } from '../../notebooks/_kit/engine-worker';

export const workerGlobals = globalThis as unknown as { self?: unknown; Worker?: unknown };
const saved = { self: workerGlobals.self, Worker: workerGlobals.Worker };

/** Put back the `self` and `Worker` globals as they were before any stand-in. */
export function restoreGlobals(): void {
  workerGlobals.self = saved.self;
  workerGlobals.Worker = saved.Worker;
}

export function connected<J extends Jobs>(jobs: J): { engine: EngineWorker<J>; sent: { type: string }[] } {
  const channel = new MessageChannel();
  const sent: { type: string }[] = [];
  workerGlobals.self = {
    set onmessage(f: (e: MessageEvent) => void) { channel.port2.onmessage = f; },
    postMessage: (m: unknown) => channel.port2.postMessage(m),
  };
  serveEngineJobs(jobs);
  class FakeWorker {
    onmessage: ((e: MessageEvent) => void) | null = null;
    onerror: unknown = null;
    onmessageerror: unknown = null;
    constructor() { channel.port1.onmessage = (e) => this.onmessage?.(e); }
    postMessage(m: { type: string }) { sent.push(m); channel.port1.postMessage(m); }
    terminate() { channel.port1.close(); }
  }
  workerGlobals.Worker = FakeWorker;
  return { engine: new EngineWorker(() => new FakeWorker() as unknown as Worker, jobs), sent };
}
