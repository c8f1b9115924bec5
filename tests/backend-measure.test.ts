// The page's kernel measurement in a worker (src/lib/backend-measure.ts): what comes back, and that
// every way a worker can fail rejects with the reason (the page then measures on its own thread)
// and leaves no worker running. The worker's own work is selectBackend with gpujsSkipped, checked
// here in Node: the report lists every gpu.js mode as not tried, for the page's reason, and gpu.js
// is never loaded.
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../kernels/select.js';
import { GPUJS_MODES } from '../kernels/gpujs.js';
import { measureInWorker, noGpuReason } from '../src/lib/backend-measure.js';

type Handler = ((e: unknown) => void) | null;
class FakeWorker {
  onmessage: Handler = null;
  onerror: Handler = null;
  terminated = 0;
  posted: unknown[] = [];
  constructor(private readonly answer: (w: FakeWorker, msg: unknown) => void) {}
  postMessage(msg: unknown): void {
    this.posted.push(msg);
    this.answer(this, msg);
  }
  terminate(): void {
    this.terminated++;
  }
}
const spawnOf = (w: FakeWorker) => () => w as unknown as Worker;

describe('measureInWorker', () => {
  it('sends the reason gpu.js is skipped and resolves with the worker\'s report', async () => {
    const report = { name: 'auto' };
    const w = new FakeWorker((self) => queueMicrotask(() => self.onmessage!({ data: { report } })));
    await expect(measureInWorker('no GPU here', spawnOf(w))).resolves.toBe(report);
    expect(w.posted).toEqual([{ gpujsSkipped: 'no GPU here' }]);
    expect(w.terminated).toBe(1);
  });
  it('rejects with the error the selection threw in the worker', async () => {
    const w = new FakeWorker((self) => queueMicrotask(() => self.onmessage!({ data: { error: 'wasm refused' } })));
    await expect(measureInWorker('x', spawnOf(w))).rejects.toThrow('wasm refused');
    expect(w.terminated).toBe(1);
  });
  it('rejects when the worker fails to load', async () => {
    let prevented = false;
    const w = new FakeWorker((self) => queueMicrotask(() => self.onerror!({ message: 'script 404', preventDefault: () => (prevented = true) })));
    await expect(measureInWorker('x', spawnOf(w))).rejects.toThrow('script 404');
    expect(prevented).toBe(true);
    expect(w.terminated).toBe(1);
  });
  it('rejects when no worker can be made, and when the worker never answers', async () => {
    await expect(measureInWorker('x', () => { throw new Error('Worker is not defined'); })).rejects.toThrow('Worker is not defined');
    const w = new FakeWorker(() => {});
    await expect(measureInWorker('x', spawnOf(w), 20)).rejects.toThrow(/no answer in 0.02 s/);
    expect(w.terminated).toBe(1);
  });
  it('sends the work to a worker only where there is no hardware GPU', () => {
    // Node has no canvas: no WebGL, so gpu.js could not run on this page either.
    expect(noGpuReason()).toMatch(/no WebGL/);
  });
});

describe('selectBackend with gpujsSkipped', () => {
  it('reports every gpu.js mode as not tried, for the given reason, without loading gpu.js', async () => {
    const selected = await selectBackend({ quick: true, gpujsSkipped: 'the page has no GPU' });
    try {
      const gpu = selected.report.candidates.filter((c) => c.kind === 'gpu.js');
      expect(gpu.map((c) => c.name).sort()).toEqual(GPUJS_MODES.map((m) => `gpu.js ${m}`).sort());
      for (const c of gpu) {
        expect(c.available).toBe(false);
        expect(c.reason).toBe('not tried: the page has no GPU');
      }
      expect(selected.report.gpuJsLoadMs).toBeNull();
      expect(selected.report.candidates.find((c) => c.kind === 'wasm')?.available).toBe(true);
    } finally {
      selected.destroy();
    }
  });
});
