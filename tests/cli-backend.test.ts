// One function turns every command's --backend into a backend (src/cli/backend.ts): the names it
// knows, a forced backend that cannot run refused with the reason, and a command's own list (the
// golden training mode) refused by name.
import { describe, expect, it } from 'vitest';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { cliBackend } from '../src/cli/backend.js';

describe('cliBackend', () => {
  it('knows reference, loop, and the fastest (wasm here) by default and by name', async () => {
    expect(await cliBackend('reference')).toBe(referenceBackend);
    expect(await cliBackend('loop')).toBe(loopBackend);
    expect((await cliBackend(undefined)).name).toBe('wasm');
    expect((await cliBackend('fastest')).name).toBe('wasm');
  });
  it('forces any backend the selector knows, and refuses one that is not there, saying why', async () => {
    const forced = await cliBackend('wasm');
    expect(forced.name).toBe('wasm');
    await expect(cliBackend('gpu.js turbo')).rejects.toThrow(/--backend "gpu.js turbo" cannot be used: no candidate named "gpu.js turbo"/);
  });
  it('refuses what a command does not accept, naming its list', async () => {
    const only = ['fastest', 'loop', 'reference', 'auto'];
    await expect(cliBackend('wasm', { only, what: 'training' })).rejects.toThrow('--backend must be fastest, loop, reference or auto for training (got "wasm")');
    expect(await cliBackend('loop', { only, what: 'training' })).toBe(loopBackend);
    expect((await cliBackend(undefined, { only, what: 'training' })).name).toBe('wasm');
  });
});
