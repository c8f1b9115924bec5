// The formula runner (src/lib/formula/runner.ts) with a stand-in worker: latest request wins, a
// scope that changes every frame is evaluated at most every minIntervalMs, and a formula that
// never answers is stopped (the worker ended, a new one made) with a readable error.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { evaluateFormula, type FormulaScope } from '../src/lib/formula.js';
import { createFormulaRunner } from '../src/lib/formula/runner.js';

/** A worker that evaluates in place after `delayMs` (or never, with hang), counting posts. */
class FakeWorker {
  static made: FakeWorker[] = [];
  posts: { expr: string; scope: FormulaScope }[] = [];
  terminated = false;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  constructor(readonly delayMs: number, readonly hang: boolean) { FakeWorker.made.push(this); }
  postMessage(msg: { id: number; expr: string; scope: FormulaScope }) {
    this.posts.push(msg);
    if (this.hang) return;
    setTimeout(() => { if (!this.terminated) this.onmessage?.({ data: { id: msg.id, result: evaluateFormula(msg.expr, msg.scope) } } as MessageEvent); }, this.delayMs);
  }
  terminate() { this.terminated = true; }
}

beforeEach(() => { vi.useFakeTimers(); FakeWorker.made = []; });
afterEach(() => { vi.useRealTimers(); });

const spawn = (delayMs: number, hang = false) => () => new FakeWorker(delayMs, hang) as unknown as Worker;

describe('formula runner', () => {
  it('a scope changing every 16 ms frame for 1 s is evaluated about every 250 ms, not 60 times', async () => {
    const runner = createFormulaRunner({ spawn: spawn(5), minIntervalMs: 250, timeoutMs: 2000 });
    const results: (number | null)[] = [];
    for (let frame = 0; frame < 60; frame++) {
      void runner.evaluate('sum(x)', { x: [frame, 1] }).then((r) => results.push(r && r.ok ? (r.value as number) : null));
      await vi.advanceTimersByTimeAsync(16);
    }
    await vi.advanceTimersByTimeAsync(1000);
    const posts = FakeWorker.made[0]!.posts.length;
    expect(posts).toBeGreaterThanOrEqual(3);
    expect(posts).toBeLessThanOrEqual(6); // 960 ms / 250 ms, plus the first and the last
    expect(results.filter((r) => r !== null).at(-1)).toBe(60); // the last frame's scope (59 + 1) is the one shown
    runner.dispose();
  });

  it('a slow formula (300 ms) on a changing scope keeps the worker busy at most a fifth of the time', async () => {
    const runner = createFormulaRunner({ spawn: spawn(300), minIntervalMs: 250, restFactor: 4, timeoutMs: 2000 });
    for (let frame = 0; frame < 375; frame++) { // 6 s of frames
      void runner.evaluate('sum(x)', { x: [frame] });
      await vi.advanceTimersByTimeAsync(16);
    }
    const posts = FakeWorker.made[0]!.posts.length;
    // Each evaluation is 300 ms of work then 1200 ms of rest: 4 or 5 in 6 s (it was one per 250 ms + work before).
    expect(posts).toBeGreaterThanOrEqual(3);
    expect(posts * 300).toBeLessThanOrEqual(0.25 * 6000);
    runner.dispose();
  });

  it('a new formula text runs at once; the replaced request resolves to null', async () => {
    const runner = createFormulaRunner({ spawn: spawn(50), minIntervalMs: 250 });
    const first = runner.evaluate('1 + 1', {});
    const second = runner.evaluate('2 + 2', {}); // waits behind the first
    const third = runner.evaluate('3 + 3', {}); // replaces the second
    await vi.advanceTimersByTimeAsync(200);
    expect(await first).toMatchObject({ ok: true, value: 2 });
    expect(await second).toBeNull();
    expect(await third).toMatchObject({ ok: true, value: 6 });
    runner.dispose();
  });

  it('a formula that never answers is stopped after timeoutMs and the next one gets a new worker', async () => {
    let hang = true;
    const runner = createFormulaRunner({ spawn: () => new FakeWorker(5, hang) as unknown as Worker, timeoutMs: 2000 });
    const stuck = runner.evaluate('sum(x)', { x: [1] });
    await vi.advanceTimersByTimeAsync(2001);
    const r = await stuck;
    expect(r).toMatchObject({ ok: false });
    expect(r && !r.ok && r.error).toMatch(/Took too long/);
    expect(FakeWorker.made[0]!.terminated).toBe(true);
    hang = false;
    const next = runner.evaluate('2 * 3', {});
    await vi.advanceTimersByTimeAsync(50);
    expect(await next).toMatchObject({ ok: true, value: 6 });
    expect(FakeWorker.made).toHaveLength(2);
    runner.dispose();
  });
});
