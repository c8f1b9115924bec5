// The engine benchmark bundled for a page: scripts/bench-browser.mjs runs it in headless Chromium.
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { benchEngine, formatEngineBench } from './engine.js';

(globalThis as unknown as { runEngineBench: () => unknown }).runEngineBench = () =>
  [referenceBackend, loopBackend].map((backend) => {
    const result = benchEngine({ backend, repeats: 3, decodeSteps: 256 });
    return { result, text: formatEngineBench(result) };
  });
