// The winner table stored per machine and build. A table is only reused where it was measured:
// its key names the machine (Node: CPU model and count, platform, Node version; a browser: user
// agent and core count) and the build (a hash of the WebAssembly kernels' bytes and the selector's
// rule version), so a new build or another machine measures again, and the same machine and build
// give the same choice. Stores: memoryTable (tests, one session), fileTable (Node, file-table.ts);
// a page keeps its own in localStorage.
export interface TableStore {
  load(key: string): unknown | Promise<unknown>;
  save(key: string, stored: unknown): void | Promise<void>;
}

/** Bump when the decision rule or the measured shapes change (old tables are then not reused). */
export const SELECTOR_VERSION = 'timing-rounds-1';

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** This machine and build's key, e.g. "kernels-node-1a2b3c4d". */
export async function selectionTableKey(): Promise<string> {
  const parts: string[] = [SELECTOR_VERSION];
  try {
    const { SIMD_WASM_BASE64 } = await import('../wasm/simd-bytes.js');
    parts.push(fnv1a(SIMD_WASM_BASE64));
  } catch {
    parts.push('no-wasm');
  }
  const g = globalThis as { process?: { versions?: { node?: string }; arch?: string; platform?: string }; navigator?: { userAgent?: string; hardwareConcurrency?: number } };
  let where = 'unknown';
  if (g.process?.versions?.node) {
    where = 'node';
    const spec = 'node:os';
    const os = (await import(/* @vite-ignore */ spec)) as { cpus(): Array<{ model: string }> };
    const cpus = os.cpus();
    parts.push(g.process.versions.node, g.process.arch ?? '', g.process.platform ?? '', String(cpus.length), cpus[0]?.model ?? '');
  } else if (g.navigator) {
    where = 'browser';
    parts.push(g.navigator.userAgent ?? '', String(g.navigator.hardwareConcurrency ?? ''));
  }
  return `kernels-${where}-${fnv1a(parts.join('|'))}`;
}

/** A store in this process's memory. */
export function memoryTable(): TableStore & { readonly entries: Map<string, unknown> } {
  const entries = new Map<string, unknown>();
  return { entries, load: (key) => entries.get(key) ?? null, save: (key, stored) => { entries.set(key, stored); } };
}
