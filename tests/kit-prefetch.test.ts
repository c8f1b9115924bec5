// The kit's Ahead (notebooks/_kit/prefetch.ts): a slider's worker answers kept by value, and the
// values next to the last one asked computed ahead, one job at a time, the way the slider moved first.
import { describe, expect, it } from 'vitest';
import { Ahead, along } from '../notebooks/_kit/prefetch.js';

/** A stand-in job: records each value asked, answers when the test lets it. */
function job() {
  const asked: number[] = [];
  const pending: (() => void)[] = [];
  let running = 0, most = 0;
  const compute = (x: number) => new Promise<string>((resolve) => {
    asked.push(x);
    running++;
    most = Math.max(most, running);
    pending.push(() => { running--; resolve(`answer ${x}`); });
  });
  /** Let every job asked so far answer, and whatever they start, until none is left. */
  const settle = async () => {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 0));
      if (pending.length === 0) return;
      pending.splice(0).forEach((f) => f());
    }
  };
  return { asked, compute, settle, most: () => most };
}

describe('Ahead', () => {
  it('answers with the job\'s value, then computes the neighbours one at a time, ahead first', async () => {
    const j = job();
    const ahead = new Ahead(j.compute, { around: along(0, 99, { ahead: 3 }) });
    const p = ahead.get(10);
    await j.settle();
    expect(await p).toBe('answer 10');
    expect(j.asked).toEqual([10, 11, 9, 12, 13]);
    expect(j.most()).toBe(1);
  });

  it('keeps answers: a value computed ahead is not asked again, and follows the direction of the move', async () => {
    const j = job();
    const ahead = new Ahead(j.compute, { around: along(0, 99, { ahead: 2 }) });
    void ahead.get(10);
    await j.settle();
    j.asked.length = 0;
    expect(await ahead.get(9)).toBe('answer 9');
    await j.settle();
    // Moved down: 8 and 7 ahead (10 is kept).
    expect(j.asked).toEqual([8, 7]);
  });

  it('stays inside the slider\'s range and computes nothing ahead when not enabled', async () => {
    const j = job();
    const edge = new Ahead(j.compute, { around: along(0, 5, { ahead: 3 }) });
    void edge.get(5);
    await j.settle();
    expect(j.asked).toEqual([5, 4]);
    const k = job();
    const off = new Ahead(k.compute, { around: along(0, 99), enabled: () => false });
    const v = off.get(3);
    await k.settle();
    expect(await v).toBe('answer 3');
    expect(k.asked).toEqual([3]);
  });

  it('takes any key: here two sliders, each computed ahead along the one that moved', async () => {
    const j = job();
    const asked: string[] = [];
    const ahead = new Ahead((k: { n: number; s: number }) => { asked.push(`${k.n}/${k.s}`); return j.compute(0); }, {
      id: (k) => `${k.n}/${k.s}`,
      around: (at, from) => (from && from.n !== at.n ? along(0, 9)(at.n, from.n).map((n) => ({ n, s: at.s })) : along(0, 9)(at.s, from?.s ?? null).map((s) => ({ n: at.n, s }))),
    });
    void ahead.get({ n: 5, s: 5 });
    await j.settle();
    expect(asked).toEqual(['5/5', '5/6', '5/4', '5/7', '5/8']);
    asked.length = 0;
    void ahead.get({ n: 4, s: 5 });
    await j.settle();
    expect(asked).toEqual(['4/5', '3/5', '2/5', '1/5']);
  });

  it('a failed answer is asked again next time', async () => {
    let n = 0;
    const ahead = new Ahead((x: number) => (n++ === 0 ? Promise.reject(new Error('no')) : Promise.resolve(x)), { around: along(0, 9), enabled: () => false });
    await expect(ahead.get(1)).rejects.toThrow('no');
    await new Promise((r) => setTimeout(r, 0));
    expect(await ahead.get(1)).toBe(1);
  });
});
