// Work done ahead while the page is idle (notebooks/_kit/idle-jobs.ts; the neighbouring values from _kit/prefetch.ts stepsAround): the queued jobs run one per idle
// period, in order; a new setting replaces what was still queued; a failing job does not stop the
// rest; with no requestIdleCallback (Node) nothing runs. stepsAround gives a slider's neighbouring
// values, the drag's direction first.
import { afterEach, describe, expect, it } from 'vitest';
import { IdleJobs } from '../notebooks/_kit/idle-jobs';
import { rangeInput, stepsAround } from '../notebooks/_kit/prefetch';

const g = globalThis as { requestIdleCallback?: (cb: () => void) => number };
const had = 'requestIdleCallback' in g, before = g.requestIdleCallback;
afterEach(() => {
  if (had) g.requestIdleCallback = before;
  else delete g.requestIdleCallback;
});

/** A stand-in for the browser's idle callbacks: `idle()` runs the ones asked for so far, as one idle period each. */
function fakeIdle() {
  let asked: (() => void)[] = [];
  g.requestIdleCallback = (cb) => asked.push(cb);
  return {
    get asked() { return asked.length; },
    idle() {
      const now = asked;
      asked = [];
      for (const cb of now) cb();
    },
  };
}

describe('IdleJobs', () => {
  it('runs the queued jobs one per idle period, in order; replace drops what was still queued', () => {
    const idle = fakeIdle();
    const ran: string[] = [];
    const ahead = new IdleJobs();
    ahead.replace(['a', 'b', 'c'].map((x) => () => ran.push(x)));
    expect(ran).toEqual([]); // nothing until the page is idle
    idle.idle();
    expect(ran).toEqual(['a']);
    expect(ahead.queued).toBe(2);
    ahead.replace(['d', 'e'].map((x) => () => ran.push(x)));
    expect(idle.asked).toBe(1); // one idle callback asked for at a time
    idle.idle();
    idle.idle();
    idle.idle();
    expect(ran).toEqual(['a', 'd', 'e']);
    expect(ahead.queued).toBe(0);
    expect(idle.asked).toBe(0);
  });

  it('a job that throws does not stop the ones after it', () => {
    const idle = fakeIdle();
    const ran: number[] = [];
    new IdleJobs().replace([() => ran.push(1), () => { throw new Error('engine error'); }, () => ran.push(3)]);
    for (let i = 0; i < 3; i++) idle.idle();
    expect(ran).toEqual([1, 3]);
  });

  it('without requestIdleCallback (Node) runs nothing', () => {
    delete g.requestIdleCallback;
    let ran = 0;
    const ahead = new IdleJobs();
    ahead.replace([() => ran++]);
    expect(ran).toBe(0);
    expect(ahead.queued).toBe(1);
  });

  it('a job that returns a promise (worker work) holds the next one until it settles', async () => {
    const idle = fakeIdle();
    const ran: string[] = [];
    let finish = () => {};
    const ahead = new IdleJobs();
    ahead.replace([() => { ran.push('a'); return new Promise<void>((r) => (finish = r)); }, () => ran.push('b')]);
    idle.idle();
    expect(ran).toEqual(['a']);
    expect(idle.asked).toBe(0); // nothing asked for while 'a' is in flight
    finish();
    await new Promise((r) => setTimeout(r, 0));
    idle.idle();
    expect(ran).toEqual(['a', 'b']);
  });

  it('holdOff: null holds the jobs until poke(); a wait in milliseconds runs them after it', async () => {
    const idle = fakeIdle();
    const ran: number[] = [];
    let hold: number | null = null;
    const ahead = new IdleJobs({ holdOff: () => hold });
    ahead.replace([() => ran.push(1), () => ran.push(2)]);
    idle.idle();
    expect(ran).toEqual([]);
    expect(idle.asked).toBe(0); // held until poked
    hold = 20;
    ahead.poke();
    idle.idle();
    expect(ran).toEqual([]); // waiting 20 ms
    hold = 0;
    await new Promise((r) => setTimeout(r, 30));
    idle.idle();
    expect(ran).toEqual([1]);
    idle.idle();
    expect(ran).toEqual([1, 2]);
  });
});

describe('stepsAround', () => {
  it('one step either side within the bounds, the direction of the drag first', () => {
    const seed = { min: 0, max: 99, step: 1 };
    expect(stepsAround(seed, 5)).toEqual([6, 4]);
    expect(stepsAround(seed, 5, -1)).toEqual([4, 6]);
    expect(stepsAround(seed, 0)).toEqual([1]);
    expect(stepsAround(seed, 99, 1)).toEqual([98]);
    expect(stepsAround({ min: 8, max: 64, step: 8 }, 32)).toEqual([40, 24]);
  });

  it('halves and doubles on a log2 slider', () => {
    const m = { min: 4, max: 1024, step: 1, log2: true };
    expect(stepsAround(m, 64)).toEqual([128, 32]);
    expect(stepsAround(m, 1024, -1)).toEqual([512]);
    expect(stepsAround(m, 4)).toEqual([8]);
  });

  it('rounds as the slider does: a tenth step lands on 0.3, not 0.30000000000000004', () => {
    const t = { min: 0, max: 2, step: 0.05 };
    expect(stepsAround(t, 0.25)).toEqual([0.3, 0.2]);
    expect(stepsAround({ min: 0, max: 1, step: 0.1 }, 0.2, 1, 2)).toEqual([0.3, 0.1, 0.4]);
  });
});

describe('rangeInput', () => {
  const inputs = [
    { kind: 'range' as const, name: 'seed', label: 'Seed', min: 0, max: 9, step: 1, value: 1 },
    { kind: 'select' as const, name: 'rule', label: 'Rule', value: 'a', options: [{ value: 'a', label: 'a' }] },
  ];
  it('finds a range slider by name, and refuses any other input or none', () => {
    expect(rangeInput(inputs, 'seed').max).toBe(9);
    expect(() => rangeInput(inputs, 'rule')).toThrow(/no slider rule/);
    expect(() => rangeInput(inputs, 'gamma')).toThrow(/no slider gamma/);
  });
});
