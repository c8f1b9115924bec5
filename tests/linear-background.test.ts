// The linear-attention lesson's background engine (notebooks/linear-attention/background.ts): with
// a Worker, requests go to it and its answers come back (each model's weights sent once); without
// one (Node) they run in-process; when the worker fails (does not load, does not start in time,
// goes silent) the waiting and later requests are computed on the page, and the swapped-layer table
// says so. A stand-in Worker runs the worker's own code path (runJob) on the messages it receives.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { initModel } from '../src/engine/init.js';
import { Model } from '../src/engine/model.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { performerErrorCurve, softmaxAttention, swappedLayerBits, type HeadQKV, type VariantSpec } from '../src/engine/linear/index.js';
import { BackgroundEngine, type FromWorker, type ToWorker, runJob } from '../notebooks/linear-attention/background.js';
import { swapTable } from '../notebooks/linear-attention/views.js';

const cfg = parseConfig({ ...TINY_CONFIG_JSON }, { file: 'tiny' });
const model = initModel(cfg, { seed: 5 });
const tokens = Array.from({ length: 12 }, (_, i) => (i * 29 + 3) % cfg.vocab_size);
const variant: VariantSpec = { kind: 'linear', phi: 'elu1' };

/** A stand-in for a module worker: structured-clones what it is sent and answers with the worker's own code (runJob), asynchronously. */
class FakeWorker {
  static made: FakeWorker[] = [];
  onmessage: ((e: MessageEvent<FromWorker>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  received: ToWorker[] = [];
  terminated = false;
  readonly models = new Map<number, Model>();
  constructor(readonly mode: 'works' | 'fails to load' | 'never starts' | 'goes silent') {
    FakeWorker.made.push(this);
    if (mode === 'fails to load') setTimeout(() => this.onerror?.({ message: 'module script failed', preventDefault() {} } as ErrorEvent), 0);
    if (mode === 'works' || mode === 'goes silent') setTimeout(() => this.#send({ type: 'ready' }), 0);
  }
  #send(m: FromWorker): void {
    if (!this.terminated) this.onmessage?.({ data: structuredClone(m) } as MessageEvent<FromWorker>);
  }
  postMessage(raw: ToWorker): void {
    const m = structuredClone(raw);
    this.received.push(m);
    if (this.mode !== 'works') return;
    if (m.type === 'model') { this.models.set(m.model, new Model(m.config, m.weights)); return; }
    setTimeout(() => {
      try {
        this.#send({ type: 'done', id: m.id, value: runJob(m.job, (n) => this.models.get(n)!) });
      } catch (e) {
        this.#send({ type: 'error', id: m.id, message: String(e) });
      }
    }, 1);
  }
  terminate(): void { this.terminated = true; }
}

afterEach(() => {
  vi.unstubAllGlobals();
  FakeWorker.made = [];
});

describe('BackgroundEngine', () => {
  it('without a Worker (Node) computes in-process, the same numbers as the engine', async () => {
    const bg = new BackgroundEngine(() => { throw new Error('not called'); });
    const r = await bg.swap(model, tokens, 1, variant);
    expect(r.where).toBe('inline');
    expect(r.bitsPerToken).toBe(swappedLayerBits(model, tokens, 1, variant).bitsPerToken);
    expect(bg.failure).toBeNull();
  });

  it('sends each model once and returns the worker\'s answers', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    const bg = new BackgroundEngine(() => new FakeWorker('works') as unknown as Worker);
    const [a, b] = await Promise.all([bg.swap(model, tokens, 0, variant), bg.swap(model, tokens, 1, { kind: 'chunked', chunk: 4 })]);
    // A model bound to another backend shares the weights: not sent again.
    const c = await bg.swap(model.withBackend(model.backend), tokens, 1, { kind: 'softmax' });
    expect([a.where, b.where, c.where]).toEqual(['worker', 'worker', 'worker']);
    expect(a.bitsPerToken).toBe(swappedLayerBits(model, tokens, 0, variant).bitsPerToken);
    expect(b.bitsPerToken).toBe(swappedLayerBits(model, tokens, 1, { kind: 'chunked', chunk: 4 }).bitsPerToken);
    expect(c.bitsPerToken).toBe(swappedLayerBits(model, tokens, 1, { kind: 'softmax' }).bitsPerToken);
    const w = FakeWorker.made[0]!;
    expect(FakeWorker.made).toHaveLength(1);
    expect(w.received.filter((m) => m.type === 'model')).toHaveLength(1);
    expect(w.received.filter((m) => m.type === 'job')).toHaveLength(3);
    // A second model is sent too.
    const other = initModel(cfg, { seed: 6 });
    const d = await bg.swap(other, tokens, 0, variant);
    expect(d.bitsPerToken).toBe(swappedLayerBits(other, tokens, 0, variant).bitsPerToken);
    expect(d.bitsPerToken).not.toBe(a.bitsPerToken);
    expect(w.received.filter((m) => m.type === 'model')).toHaveLength(2);
    // The engine's error reaches the cell (the worker keeps serving).
    await expect(bg.swap(model, tokens, 7, variant)).rejects.toThrow(/layer 7 is not a decoder layer/);
    expect((await bg.swap(model, tokens, 0, variant)).where).toBe('worker');
  });

  it('Performer\'s error curve from the worker equals the engine\'s', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    const bg = new BackgroundEngine(() => new FakeWorker('works') as unknown as Worker);
    const T = 10, dk = 4, dv = 3;
    const f = (n: number, k: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * k));
    const h: HeadQKV = { T, dk, dv, q: f(T * dk, 0.7), k: f(T * dk, 1.3), v: f(T * dv, 0.4), scale: 0.5 };
    const exact = softmaxAttention(h).out;
    expect(await bg.performerCurve(h, [2, 8, 32], 2, 4, true, exact)).toEqual(performerErrorCurve(h, [2, 8, 32], 2, 4, true, exact));
  });

  for (const [mode, options, why] of [
    ['fails to load', {}, /module script failed/],
    ['never starts', { startMs: 20 }, /did not start/],
    ['goes silent', { silentMs: 20 }, /did not answer/],
  ] as const) {
    it(`a worker that ${mode}: the waiting request and later ones are computed on the page, and the table says so`, async () => {
      vi.stubGlobal('Worker', FakeWorker);
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const bg = new BackgroundEngine(() => new FakeWorker(mode) as unknown as Worker, options);
      const r = await bg.swap(model, tokens, 1, variant);
      expect(r.where).toBe('page');
      expect(r.bitsPerToken).toBe(swappedLayerBits(model, tokens, 1, variant).bitsPerToken);
      expect(bg.failure).toMatch(why);
      expect(FakeWorker.made[0]!.terminated).toBe(true);
      const later = await bg.swap(model, tokens, 0, { kind: 'softmax' });
      expect(later.where).toBe('page');
      expect(FakeWorker.made).toHaveLength(1); // not spawned again
      const base = await bg.swap(model, tokens, 0, { kind: 'softmax' });
      expect(swapTable([base, later, r], 'bits per character', 'the tiny model', bg.failure).caption).toMatch(/main thread.*worker failed/);
      expect(warn).toHaveBeenCalled();
    });
  }

  it('the table says nothing about a worker when the answers came from it or from Node', async () => {
    const bg = new BackgroundEngine(() => { throw new Error('not called'); });
    const r = await bg.swap(model, tokens, 0, { kind: 'softmax' });
    expect(swapTable([r, r], 'bits per character', 'the tiny model', bg.failure).caption).not.toMatch(/worker/);
  });
});
