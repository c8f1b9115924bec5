// The compute backend a command runs on, by its --backend value: none, the fastest (WebAssembly SIMD,
// else the tuned loop saying why); reference, the float64 oracle; auto, the selector's per-op
// choice, measured once per machine and build and then read from the stored winner table
// (kernels/select/file-table.ts), so every command on this machine makes the same choice; any other
// name, that backend forced (refused with a clear error where it cannot run here).
import type { Backend } from '../../kernels/backend.js';
import { referenceBackend } from '../../kernels/reference.js';
import { EngineInputError } from '../engine/index.js';

export async function cliBackend(name: string | undefined): Promise<Backend> {
  if (name === 'reference') return referenceBackend;
  if (!name) return (await import('../../kernels/fastest.js')).fastestBackend(); // wasm, or the loop saying why
  const { selectBackend } = await import('../../kernels/select.js');
  if (name === 'auto') return selectBackend({ quick: true, table: (await import('../../kernels/select/file-table.js')).fileTable() });
  const selected = await selectBackend({ force: name as never, warn: () => {} });
  const refused = selected.report.fallbacks.find((f) => f.op === '*');
  if (refused) throw new EngineInputError(`--backend ${JSON.stringify(name)} cannot be used: ${refused.reason}`);
  return selected;
}
