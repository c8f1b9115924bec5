// The linear-attention lesson's Web Worker: the swapped-layer forwards and Performer's error curves
// (background.ts says why), on the WebAssembly kernels (kernels/fastest.ts), one request at a time
// in the order they came.
import { Model } from '$engine/model';
import { fastestBackend } from '$kernels/fastest';
import { type FromWorker, type ToWorker, runJob } from './background';

const scope = self as unknown as { onmessage: ((e: MessageEvent<ToWorker>) => void) | null; postMessage(m: FromWorker): void };
const backend = fastestBackend(() => {});
const models = new Map<number, Model>();
const queue: ToWorker[] = [];
let running = false;

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  const b = await backend;
  while (queue.length > 0) {
    const m = queue.shift()!;
    if (m.type === 'model') {
      if (models.size >= 4) models.delete(models.keys().next().value!);
      models.set(m.model, new Model(m.config, m.weights, b));
      continue;
    }
    try {
      const value = runJob(m.job, (n) => {
        const model = models.get(n);
        if (!model) throw new Error(`background engine: model ${n} was not sent`);
        return model;
      });
      scope.postMessage({ type: 'done', id: m.id, value });
    } catch (e) {
      scope.postMessage({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) });
    }
    // Let newer messages in between two jobs.
    await new Promise((r) => setTimeout(r, 0));
  }
  running = false;
}

scope.onmessage = (e) => {
  queue.push(e.data);
  void drain();
};
void backend.then(() => scope.postMessage({ type: 'ready' }));
