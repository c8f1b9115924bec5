// The kit's engine worker (notebooks/_kit/engine-worker.ts): a Model in a request crosses to the
// worker by its weights, once per weights object, and arrives as a Model on the worker's backend;
// answers and errors come back to the right call; without a Worker the jobs run in-process. The
// "worker" here is the real serveEngineJobs on the other end of a MessageChannel. A worker that
// fails to load, never starts or goes silent: what waits and what comes later is computed on the
// page, once, and `runWhere` says 'page'.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { initModel } from '../src/engine/init';
import { Model } from '../src/engine/model';
import { tinyConfig } from '../notebooks/_kit/models';
import { EngineWorker } from '../notebooks/_kit/engine-worker';
import { connected, restoreGlobals, workerGlobals } from './helpers/engine-worker';

const jobs = {
  logits: (q: { model: Model; tokens: number[] }) => ({ isModel: q.model instanceof Model, logits: q.model.forward(q.tokens).logits }),
  fail: (q: { why: string }) => { throw new Error(q.why); },
};

const g = workerGlobals;
afterAll(restoreGlobals);
describe('EngineWorker', () => {
  const model = initModel(tinyConfig(), { seed: 3 });
  const tokens = [1, 5, 2, 7];

  it('runs a job in the worker on the model sent by its weights (once), with the page\'s answer', async () => {
    const { engine, sent } = connected(jobs);
    const a = await engine.run('logits', { model, tokens });
    const b = await engine.run('logits', { model, tokens: tokens.slice(0, 2) });
    expect(a.isModel).toBe(true);
    const want = model.forward(tokens).logits;
    expect(a.logits.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(a.logits[i] - want[i])).toBeLessThan(1e-3);
    expect(b.logits.length).toBe(2 * model.config.vocab_size);
    expect(sent.filter((m) => m.type === 'model')).toHaveLength(1);
    expect(sent.filter((m) => m.type === 'job')).toHaveLength(2);
    expect(engine.failure).toBeNull();
  });

  it('warm(model) sends the model\'s weights ahead of any job, and a job on it later sends them no more', async () => {
    const { engine, sent } = connected(jobs);
    engine.warm(model);
    engine.warm(model);
    expect(sent.map((m) => m.type)).toEqual(['model']);
    const a = await engine.run('logits', { model, tokens });
    expect(a.isModel).toBe(true);
    expect(sent.map((m) => m.type)).toEqual(['model', 'job']);
  });

  it('passes a job\'s error back to its call, and the next call still works', async () => {
    const { engine } = connected(jobs);
    await expect(engine.run('fail', { why: 'no such thing' })).rejects.toThrow('no such thing');
    await expect(engine.run('logits', { model, tokens })).resolves.toHaveProperty('isModel', true);
  });

  it('runs in-process where there is no Worker', async () => {
    g.Worker = undefined;
    const engine = new EngineWorker(() => { throw new Error('must not spawn'); }, jobs);
    const r = await engine.run('logits', { model, tokens });
    expect(Array.from(r.logits)).toEqual(Array.from(model.forward(tokens).logits));
  });

  for (const [mode, options, why] of [
    ['fails to load', {}, /module script failed/],
    ['never starts', { startMs: 20 }, /did not start within 0.02 s/],
    ['goes silent', { silentMs: 20 }, /did not answer for 0.02 s/],
  ] as const) {
    it(`a worker that ${mode}: the waiting request and later ones are computed on the page, and it is not spawned again`, async () => {
      const made: { terminated: boolean }[] = [];
      class Stand {
        onmessage: ((e: { data: unknown }) => void) | null = null;
        onerror: ((e: { message: string; preventDefault(): void }) => void) | null = null;
        onmessageerror: unknown = null;
        terminated = false;
        constructor() {
          made.push(this);
          if (mode === 'fails to load') setTimeout(() => this.onerror?.({ message: 'module script failed', preventDefault() {} }), 0);
          if (mode === 'goes silent') setTimeout(() => this.onmessage?.({ data: { type: 'ready' } }), 0);
        }
        postMessage() {}
        terminate() { this.terminated = true; }
      }
      g.Worker = Stand;
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const engine = new EngineWorker(() => new Stand() as unknown as Worker, jobs, options);
      const r = await engine.runWhere('logits', { model, tokens });
      expect(r.where).toBe('page');
      expect(Array.from(r.value.logits)).toEqual(Array.from(model.forward(tokens).logits));
      expect(engine.failure).toMatch(why);
      expect(made[0]!.terminated).toBe(true);
      expect((await engine.runWhere('logits', { model, tokens })).where).toBe('page');
      expect(made).toHaveLength(1);
      expect(warn).toHaveBeenCalledTimes(1);
      warn.mockRestore();
    });
  }
});
