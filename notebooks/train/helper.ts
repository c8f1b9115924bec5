// The second thread of a run: a Web Worker that computes the summed gradient of the rows it is
// sent (src/engine/train/workers.ts gradientWorker, the same code as the CLI's Node worker). The
// page hands it a MessagePort to the run's trainer (worker.ts); the trainer sends it the model's
// config (again whenever a loaded checkpoint changes it), then one task per step.
import type { Backend } from '$kernels/backend';
import { fastestBackend } from '$kernels/fastest';
import { type WorkerFailure, type WorkerInit, type WorkerTask, gradientWorker } from '$engine/train/workers';

let backend: Promise<Backend> | null = null;

self.onmessage = (e: MessageEvent) => {
  const port = e.ports[0];
  if (!port) return;
  backend ??= fastestBackend(() => {});
  let handle: ReturnType<typeof gradientWorker> | null = null;
  let queue = Promise.resolve();
  port.onmessage = (m: MessageEvent<WorkerInit | WorkerTask>) => {
    queue = queue.then(async () => {
      const msg = m.data;
      if (msg.type === 'init') { handle = gradientWorker(msg, await backend!); return; }
      try {
        if (!handle) throw new Error('no config received before the first task');
        const { reply, transfer } = handle(msg);
        port.postMessage(reply, transfer);
      } catch (err) {
        port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) } satisfies WorkerFailure);
      }
    });
  };
};
