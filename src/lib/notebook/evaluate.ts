// Run a notebook's cells once, in dependency order, outside the Observable runtime: for tests, for
// the index page's previews (computed at prerender), and anywhere a one-shot evaluation is enough.
import type { Backend } from '../../../kernels/backend.js';
import type { InputValue, Notebook } from '$notebooks/_kit/types';

/** Every cell's value for these input values (defaults for the rest). Throws naming the cell that failed. */
export async function evaluateNotebook(nb: Notebook, values: Record<string, InputValue>, backend: Backend): Promise<Record<string, unknown>> {
  const env: Record<string, unknown> = { backend, ...Object.fromEntries(nb.inputs.map((i) => [i.name, values[i.name] ?? i.value])) };
  const pending = [...nb.cells];
  while (pending.length > 0) {
    const i = pending.findIndex((c) => c.inputs.every((n) => n in env));
    if (i < 0) throw new Error(`cannot order cells: ${pending.map((c) => c.name).join(', ')}`);
    const c = pending.splice(i, 1)[0];
    try {
      env[c.name] = await firstValue((c.run as (...a: unknown[]) => unknown)(...c.inputs.map((n) => env[n])));
    } catch (e) {
      throw new Error(`cell "${c.name}" failed: ${(e as Error).message}`);
    }
  }
  return env;
}

/** A generator cell (live training, animations) contributes its first value. */
async function firstValue(v: unknown): Promise<unknown> {
  const value = await v;
  if (value && typeof value === 'object' && typeof (value as Iterator<unknown>).next === 'function' && (Symbol.iterator in value || Symbol.asyncIterator in value)) {
    const it = value as unknown as Iterator<unknown> | AsyncIterator<unknown>;
    const first = await it.next();
    await it.return?.(undefined);
    return first.value;
  }
  return value;
}
