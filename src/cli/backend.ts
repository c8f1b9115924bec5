// The compute backend a command runs on, by its --backend value (one function for every command):
// none or `fastest`, the fastest (WebAssembly SIMD, else the tuned loop saying why on stderr);
// `reference`, the float64 oracle; `loop`, the tuned loop; `auto`, the selector's per-op choice,
// measured once per machine and build and then read from the stored winner table
// (kernels/select/file-table.ts), so every command and thread on this machine makes the same
// choice; any other name, that backend forced, refused with a clear error where it cannot run here.
// A command that supports only some of these passes `only`.
import type { Backend } from '../../kernels/backend.js';
import { loopBackend } from '../../kernels/loop.js';
import { referenceBackend } from '../../kernels/reference.js';
import { EngineInputError } from '../engine/index.js';

export interface BackendRules {
  /** The only values this command accepts (e.g. training's golden mode). */
  only?: readonly string[];
  /** Named in the refusal: "--backend must be ... for <what>". */
  what?: string;
}

export async function cliBackend(name: string | undefined, rules: BackendRules = {}): Promise<Backend> {
  if (rules.only && name !== undefined && !rules.only.includes(name)) {
    const list = rules.only.length > 1 ? `${rules.only.slice(0, -1).join(', ')} or ${rules.only.at(-1)}` : rules.only.join('');
    throw new EngineInputError(`--backend must be ${list}${rules.what ? ` for ${rules.what}` : ''} (got ${JSON.stringify(name)})`);
  }
  if (!name || name === 'fastest') return (await import('../../kernels/fastest.js')).fastestBackend((m) => process.stderr.write(m + '\n'));
  if (name === 'reference') return referenceBackend;
  if (name === 'loop') return loopBackend;
  const { selectBackend } = await import('../../kernels/select.js');
  if (name === 'auto') return selectBackend({ quick: true, warn: () => {}, table: (await import('../../kernels/select/file-table.js')).fileTable() });
  const selected = await selectBackend({ force: name as never, warn: () => {} });
  const refused = selected.report.fallbacks.find((f) => f.op === '*');
  if (refused) throw new EngineInputError(`--backend ${JSON.stringify(name)} cannot be used: ${refused.reason}`);
  return selected;
}
