// The default backend of the CLI and the engine benchmark: the fastest correct one, without a
// measurement. The WebAssembly SIMD kernels are 10-20x the tuned loop at every engine shape
// measured (npm run bench), so no measurement could pick anything else; when they cannot load
// here, the tuned loop runs instead and says why (a warning, and `fallback` on the backend).
import type { Backend } from './backend.js';
import { loopBackend } from './loop.js';
import { createWasmBackend } from './wasm.js';

export interface FastestBackend extends Backend {
  /** Why the WebAssembly kernels are not in use (absent when they are). */
  readonly fallback?: string;
}

export async function fastestBackend(warn: (message: string) => void = (m) => console.warn(m)): Promise<FastestBackend> {
  try {
    return await createWasmBackend();
  } catch (e) {
    const fallback = `WebAssembly SIMD kernels unavailable (${e instanceof Error ? e.message : String(e)}): using the ${loopBackend.name} backend`;
    warn(`[kernels] ${fallback}`);
    return { ...loopBackend, name: `${loopBackend.name} (wasm unavailable)`, fallback };
  }
}
