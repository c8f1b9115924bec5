// The engine benchmark bundled for a page: scripts/bench-browser.mjs runs it in headless Chromium,
// on the reference, the tuned loop and the WebAssembly SIMD kernels, after the A·B / A·Bᵀ table
// of the kernel benchmark (no peers in the browser).
import type { Backend } from '../kernels/backend.js';
import { fastestBackend } from '../kernels/fastest.js';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { createWasmBackend } from '../kernels/wasm.js';
import { type DrafterBenchInputs, formatDrafters, runDrafterBench } from './drafters-core.js';
import { benchEngine, formatEngineBench } from './engine.js';
import { benchKernels, formatBench } from './kernels.js';
import { benchTrain, formatTrainBench, GOLDEN_B_SHAPE } from './train.js';
import { type DeepSeekConfig, parseConfig } from '../src/engine/config.js';
import { loadModel } from '../src/engine/load.js';
import { medusaFromTensors } from '../src/engine/medusa.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import { charTokenizer, parseTokenizerJson } from '../src/engine/tokenizer.js';
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
  const runner = splitRunner(backend, (task, transfer) => worker.postMessage(task, transfer), async () => { worker.terminate(); URL.revokeObjectURL(url); });
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

// The drafters table (bench/drafters-core.ts, the code Node runs) in the page: the script passes the
// shipped model's files (base64) and a binding that reads the page's main-thread CPU time through
// the DevTools protocol; wall time is performance.now() around each run.
export interface BrowserModelFiles { dir: string; config: string; weights: string }
export interface DrafterBenchArgs {
  model: BrowserModelFiles; tokenizer: string; medusa: string; small: BrowserModelFiles | null;
  tokens: number; repeats: number;
}
const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

(globalThis as unknown as { runDrafterBench: (a: DrafterBenchArgs) => Promise<unknown> }).runDrafterBench = async (a) => {
  const backend = await fastestBackend();
  const load = (f: BrowserModelFiles) => loadModel(f.config, bytesOf(f.weights), { backend });
  const model = load(a.model);
  const inputs: DrafterBenchInputs = {
    model, modelName: a.model.dir,
    tokenizer: parseTokenizerJson(a.tokenizer, 'tokenizer.json', model.config.vocab_size),
    heads: medusaFromTensors(readSafetensors(bytesOf(a.medusa), 'medusa.safetensors').tensors, model.config.hidden_size),
    small: a.small ? load(a.small) : null, smallName: a.small?.dir ?? null,
  };
  const cpuMs = (globalThis as unknown as { benchThreadTimeMs?: () => Promise<number | null> }).benchThreadTimeMs;
  const clock = async (f: () => void) => {
    const c0 = cpuMs ? await cpuMs() : null;
    const t0 = performance.now();
    f();
    const wall = performance.now() - t0;
    const c1 = cpuMs ? await cpuMs() : null;
    return { wall, cpu: c0 === null || c1 === null ? null : c1 - c0 };
  };
  const name = /Chrome\/[\d.]+/.exec(navigator.userAgent)?.[0] ?? 'browser';
  const result = await runDrafterBench(inputs, { runtime: `Chromium (${name})`, backend: backend.name, clock, tokens: a.tokens, repeats: a.repeats });
  return [{ result: { drafters: result }, text: formatDrafters(result) }];
};
