// The engine benchmark bundled for a page: scripts/bench-browser.mjs runs it in headless Chromium,
// on the reference, the tuned loop and the WebAssembly SIMD kernels, after the A·B / A·Bᵀ table
// of the kernel benchmark (no peers in the browser).
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { createWasmBackend } from '../kernels/wasm.js';
import { benchEngine, formatEngineBench } from './engine.js';
import { benchKernels, formatBench } from './kernels.js';

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
