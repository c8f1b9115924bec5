// The linear-attention lesson's jobs (notebooks/linear-attention/jobs.ts) through the kit's engine
// worker: the real serveEngineJobs on the other end of a MessageChannel gives the engine's numbers
// (each model's weights sent once); without a Worker (Node) they run in-process; when the worker
// fails, swapOne's answers say 'page' and the swapped-layer table says the page computed them.
// (The kit's failure modes themselves: tests/engine-worker.test.ts.)
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { initModel } from '../src/engine/init.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { performerErrorCurve, softmaxAttention, swappedLayerBits, type HeadQKV, type VariantSpec } from '../src/engine/linear/index.js';
import { EngineWorker } from '../notebooks/_kit/engine-worker.js';
import { connected, restoreGlobals, workerGlobals } from './helpers/engine-worker.js';
import { jobs } from '../notebooks/linear-attention/jobs.js';
import { swapTable } from '../notebooks/linear-attention/views.js';

const cfg = parseConfig({ ...TINY_CONFIG_JSON }, { file: 'tiny' });
const model = initModel(cfg, { seed: 5 });
const tokens = Array.from({ length: 12 }, (_, i) => (i * 29 + 3) % cfg.vocab_size);
const variant: VariantSpec = { kind: 'linear', phi: 'elu1' };

const g = workerGlobals;
afterAll(restoreGlobals);
afterEach(() => { vi.restoreAllMocks(); });

describe('the linear-attention jobs in the kit\'s engine worker', () => {
  it('swapped-layer bits from the worker equal the engine\'s, each model sent once', async () => {
    const { engine, sent } = connected(jobs);
    const a = await engine.runWhere('swap', { model, tokens, layer: 0, variant });
    const b = await engine.runWhere('swap', { model, tokens, layer: 1, variant: { kind: 'chunked', chunk: 4 } });
    expect([a.where, b.where]).toEqual(['worker', 'worker']);
    // The worker computes on its own backend (WebAssembly): float32 sums in another order.
    expect(a.value.bitsPerToken).toBeCloseTo(swappedLayerBits(model, tokens, 0, variant).bitsPerToken, 4);
    expect(b.value.bitsPerToken).toBeCloseTo(swappedLayerBits(model, tokens, 1, { kind: 'chunked', chunk: 4 }).bitsPerToken, 4);
    expect(sent.filter((m) => m.type === 'model')).toHaveLength(1);
    const other = initModel(cfg, { seed: 6 });
    const d = await engine.run('swap', { model: other, tokens, layer: 0, variant });
    expect(d.bitsPerToken).toBeCloseTo(swappedLayerBits(other, tokens, 0, variant).bitsPerToken, 4);
    expect(sent.filter((m) => m.type === 'model')).toHaveLength(2);
    // The engine's error reaches the cell, and the worker keeps serving.
    await expect(engine.run('swap', { model, tokens, layer: 7, variant })).rejects.toThrow(/layer 7 is not a decoder layer/);
    expect((await engine.runWhere('swap', { model, tokens, layer: 0, variant })).where).toBe('worker');
  });

  it('Performer\'s error curve from the worker equals the engine\'s (float64 throughout)', async () => {
    const { engine } = connected(jobs);
    const T = 10, dk = 4, dv = 3;
    const f = (n: number, k: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * k));
    const head: HeadQKV = { T, dk, dv, q: f(T * dk, 0.7), k: f(T * dk, 1.3), v: f(T * dv, 0.4), scale: 0.5 };
    const exact = softmaxAttention(head).out;
    expect(await engine.run('performerCurve', { head, ms: [2, 8, 32], draws: 2, seed: 4, orthogonal: true, exact })).toEqual(performerErrorCurve(head, [2, 8, 32], 2, 4, true, exact));
  });

  it('without a Worker (Node) computes in-process: the engine\'s exact numbers, and the table says nothing of a worker', async () => {
    g.Worker = undefined;
    const engine = new EngineWorker(() => { throw new Error('must not spawn'); }, jobs);
    const r = await engine.runWhere('swap', { model, tokens, layer: 1, variant });
    expect(r.where).toBe('inline');
    expect(r.value.bitsPerToken).toBe(swappedLayerBits(model, tokens, 1, variant).bitsPerToken);
    expect(swapTable([{ ...r.value, where: r.where }], 'bits per character', 'the tiny model', engine.failure).caption).not.toMatch(/worker/);
  });

  it('a worker that does not load: answers computed on the page, and the swapped-layer table says so', async () => {
    class Broken {
      onmessage: unknown = null;
      onerror: ((e: { message: string; preventDefault(): void }) => void) | null = null;
      onmessageerror: unknown = null;
      constructor() { setTimeout(() => this.onerror?.({ message: 'module script failed', preventDefault() {} }), 0); }
      postMessage() {}
      terminate() {}
    }
    g.Worker = Broken;
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const engine = new EngineWorker(() => new Broken() as unknown as Worker, jobs);
    const r = await engine.runWhere('swap', { model, tokens, layer: 1, variant });
    expect(r.where).toBe('page');
    expect(r.value.bitsPerToken).toBe(swappedLayerBits(model, tokens, 1, variant).bitsPerToken);
    expect(engine.failure).toMatch(/module script failed/);
    expect(swapTable([{ ...r.value, where: r.where }], 'bits per character', 'the tiny model', engine.failure).caption).toMatch(/main thread.*worker failed \(module script failed\)/);
  });
});
