// The engine benchmark bundled for a page: scripts/bench-browser.mjs runs it in headless Chromium,
// on the reference, the tuned loop and the WebAssembly SIMD kernels, after the A·B / A·Bᵀ table
// of the kernel benchmark (no peers in the browser).
import type { Backend } from '../kernels/backend.js';
import { fastestBackend } from '../kernels/fastest.js';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { createWasmBackend } from '../kernels/wasm.js';
import { benchEngine, formatEngineBench } from './engine.js';
import { benchKernels, formatBench } from './kernels.js';
import { benchTrain, formatTrainBench, GOLDEN_B_SHAPE } from './train.js';
import { type DeepSeekConfig, parseConfig } from '../src/engine/config.js';
import { charTokenizer } from '../src/engine/tokenizer.js';
import {
  type GradientRunner, type WorkerFailure, type WorkerInit, type WorkerReply, splitRunner,
} from '../src/engine/train/workers.js';

(globalThis as unknown as { runEngineBench: () => Promise<unknown> }).runEngineBench = async () => {
  const kernels = await benchKernels({ ops: ['matmul', 'matmulT'], sizes: [64, 128, 256, 512], modes: [], auto: false });
  const runs: Array<{ result: unknown; text: string }> = [{ result: kernels, text: formatBench(kernels) }];
  let wasm;
  try {
    wasm = await createWasmBackend();
  } catch (e) {
    runs.push({ result: { wasmUnavailable: String(e) }, text: `wasm kernels unavailable here: ${String(e)}` });
  }
  for (const backend of wasm ? [referenceBackend, loopBackend, wasm] : [referenceBackend, loopBackend]) {
    const result = benchEngine({ backend, repeats: 3, decodeSteps: 256 });
    runs.push({ result, text: formatEngineBench(result) });
  }
  return runs;
};

// Training characters per second in the page (bench/train.ts: forward + backward + AdamW, 16 x 129
// predicted characters, rows from the stories text the script passes in): the golden-b and the
// shipped shape on the page's thread, and on two threads (this one and a Web Worker running the
// trainer's worker side, bench/browser-train-worker.ts, bundled by the script and passed as source).
function webWorkerRunner(config: DeepSeekConfig, workerSource: string, backend: Backend): GradientRunner {
  const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  const worker = new Worker(url);
  worker.postMessage({ type: 'init', config } satisfies WorkerInit);
  const runner = splitRunner(backend, (task) => worker.postMessage(task), async () => { worker.terminate(); URL.revokeObjectURL(url); });
  worker.onmessage = (e: MessageEvent<WorkerReply | WorkerFailure>) => runner.deliver(e.data);
  return runner;
}

(globalThis as unknown as { runTrainBench: (a: { text: string; shipped: unknown; workerSource: string; steps: number }) => Promise<unknown> }).runTrainBench = async ({ text, shipped, workerSource, steps }) => {
  const backend = await fastestBackend();
  const ids = charTokenizer.encode(text);
  const runs: Array<{ result: unknown; text: string }> = [];
  for (const [shape, raw] of [['golden-b', GOLDEN_B_SHAPE], ['shipped', shipped]] as const) {
    const cfg = parseConfig(raw, { file: `the ${shape} shape` });
    const one = await benchTrain(shape, cfg, backend, { steps, text: ids });
    runs.push({ result: one, text: formatTrainBench(one) });
    const runner = webWorkerRunner(cfg, workerSource, backend);
    try {
      const two = await benchTrain(shape, cfg, backend, { steps, text: ids, runner });
      runs.push({ result: two, text: formatTrainBench(two) });
    } catch (e) {
      runs.push({ result: { shape, threads: 2, error: String(e) }, text: `train ${shape} 2 threads (page + Web Worker) failed: ${String(e)}` });
    } finally {
      await runner.close();
    }
  }
  return runs;
};
