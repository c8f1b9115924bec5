// The second thread of the browser training benchmark (bench/browser-entry.ts): a Web Worker that
// computes the gradient of its share of each batch's rows with the trainer's own worker side
// (src/engine/train/workers.ts gradientWorker), as the training lesson's helper worker does.
import { fastestBackend } from '../kernels/fastest.js';
import { type WorkerFailure, type WorkerInit, type WorkerTask, gradientWorker } from '../src/engine/train/workers.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent<WorkerInit | WorkerTask>) => void) | null; postMessage(m: unknown, t?: Transferable[]): void };
const backend = fastestBackend();
let handle: ReturnType<typeof gradientWorker> | undefined;
let queue = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(async () => {
    const m = e.data;
    if (m.type === 'init') { handle = gradientWorker(m, await backend); return; }
    try {
      if (!handle) throw new Error('no config received before the first task');
      const { reply, transfer } = handle(m);
      scope.postMessage(reply, transfer);
    } catch (err) {
      scope.postMessage({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) } satisfies WorkerFailure);
    }
  });
};
