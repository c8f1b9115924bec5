// Where a page measures its kernels. With a GPU (gpu.js might win there, and its WebGL contexts
// live on the page), the selection runs on the page as before. Without one (no WebGL, or a software
// rasteriser on the CPU), only the CPU kernel sets compete, and they run the same in a worker: the
// measurement goes to a dedicated Web Worker (backend-measure.worker.ts), so a first visit computes
// its figures on the default kernels at once instead of sharing the main thread with ~2 s of timing.
import { graphicsDevice } from '$kernels/gpujs';
import type { SelectionReport } from '$kernels/select';
import { softwareRendererReason } from '$kernels/select/candidates';
import type { MeasureReply } from './backend-measure.worker';

/** Longer than this and the worker is given up (the page measures instead). */
export const WORKER_MEASURE_TIMEOUT_MS = 60_000;

/** Why gpu.js cannot win here, or null when there is a hardware GPU (measure on the page). */
export function noGpuReason(): string | null {
  const d = graphicsDevice();
  if (d.kind === 'hardware') return null;
  return d.kind === 'software' ? softwareRendererReason(d.renderer) : 'no WebGL on this page; force it to try it';
}

/** Measure the CPU kernel sets in a worker; rejects (with why) if the worker cannot. */
export function measureInWorker(gpujsSkipped: string, spawn = defaultSpawn, timeoutMs = WORKER_MEASURE_TIMEOUT_MS): Promise<SelectionReport> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = spawn();
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const timer = setTimeout(() => finish(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
    function finish(result: SelectionReport | Error): void {
      clearTimeout(timer);
      worker.terminate();
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    worker.onmessage = (e: MessageEvent<MeasureReply>) => finish('report' in e.data ? e.data.report : new Error(e.data.error));
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      finish(new Error(e.message || 'the worker failed to start'));
    };
    worker.postMessage({ gpujsSkipped });
  });
}

function defaultSpawn(): Worker {
  return new Worker(new URL('./backend-measure.worker.ts', import.meta.url), { type: 'module', name: 'nanoseek kernel measurement' });
}
