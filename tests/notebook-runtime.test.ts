// @vitest-environment happy-dom
// The bridge from @observablehq/runtime to Svelte state, on its own: a moved input is computed
// within the task that moved it (no frame of waiting), only its dependents recompute, and an
// animated cell (a generator) still advances one value per animation frame instead of running to
// its end in microtasks (which froze the load-balancing lesson's training on screen). With figures
// watched on screen: what is on screen (and what it reads) computes within the task, the rest after
// the next frame, one cell per task, and all of it before idle() resolves.
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../kernels/reference.js';
import { CellPriority } from '../src/lib/notebook/priority.js';
import { NotebookRuntime } from '../src/lib/notebook/runtime.svelte.js';
import { cell, type Notebook } from '../notebooks/_kit/types.js';

/** Let every queued microtask run (and the ones they queue), but no task or frame. */
async function drainMicrotasks(rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));

function notebook(animated: boolean): { nb: Notebook; runs: Record<string, number> } {
  const runs: Record<string, number> = { double: 0, other: 0 };
  const nb: Notebook = {
    inputs: [
      { kind: 'range', name: 'x', label: 'x', min: 0, max: 10, step: 1, value: 1 },
      { kind: 'range', name: 'y', label: 'y', min: 0, max: 10, step: 1, value: 5 },
    ],
    cells: [
      cell('double', ['x'], (x: number) => { runs.double++; return 2 * x; }),
      cell('other', ['y'], (y: number) => { runs.other++; return y; }),
      ...(animated ? [cell('ticks', ['x'], function* (x: number) { for (let i = 0; i < 5; i++) yield x * 100 + i; })] : []),
    ],
    sections: [],
  };
  return { nb, runs };
}

describe('NotebookRuntime', () => {
  it('computes a moved input\'s dependents within the task, and only those', async () => {
    const { nb, runs } = notebook(false);
    const rt = new NotebookRuntime(nb, {}, referenceBackend);
    try {
      await rt.idle();
      expect(rt.cells.double.value).toBe(2);
      expect(runs).toEqual({ double: 1, other: 1 });
      rt.set('x', 4);
      await drainMicrotasks();
      expect(rt.cells.double.value).toBe(8);
      expect(rt.inputsTaken).toBe(true);
      expect(runs).toEqual({ double: 2, other: 1 });
    } finally {
      rt.dispose();
    }
  });

  it('pulls a generator cell once per animation frame, not in a burst of microtasks', async () => {
    const { nb } = notebook(true);
    const rt = new NotebookRuntime(nb, {}, referenceBackend);
    try {
      const seen: unknown[] = [];
      const stop = rt.subscribe(() => {
        const v = rt.cells.ticks.value;
        if (rt.cells.ticks.status === 'fulfilled' && seen[seen.length - 1] !== v) seen.push(v);
      });
      await rt.idle();
      await drainMicrotasks();
      const first = seen.length;
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(5); // without frames, the generator is not run to its end
      await nextFrame();
      await nextFrame();
      await drainMicrotasks();
      expect(seen.length).toBeGreaterThan(first);
      for (let i = 0; i < 10; i++) await nextFrame();
      await drainMicrotasks();
      expect(seen).toEqual([100, 101, 102, 103, 104]);
      stop();
    } finally {
      rt.dispose();
    }
  });
});

describe('a pure notebook', () => {
  // parity(x) is the same value for x = 1 and x = 3: its dependents need not run again.
  function parityNotebook(pure: boolean) {
    const runs = { parity: 0, label: 0, ticks: 0, later: 0 };
    const nb: Notebook = {
      pure,
      inputs: [{ kind: 'range', name: 'x', label: 'x', min: 0, max: 10, step: 1, value: 1 }],
      cells: [
        cell('parity', ['x'], (x: number) => { runs.parity++; return x % 2 === 0 ? 'even' : 'odd'; }),
        cell('label', ['parity'], (p: string) => { runs.label++; return { text: `x is ${p}` }; }),
        cell('later', ['parity'], async (p: string) => { runs.later++; await Promise.resolve(); return [p]; }),
        cell('ticks', ['parity'], function* (p: string) { runs.ticks++; yield p; }),
      ],
      sections: [],
    };
    return { nb, runs };
  }

  it('keeps a cell\'s value when its inputs are the very values it last ran on (not a generator\'s)', async () => {
    const { nb, runs } = parityNotebook(true);
    const rt = new NotebookRuntime(nb, {}, referenceBackend);
    try {
      await rt.idle();
      const label = rt.cells.label.value, later = rt.cells.later.value;
      expect(runs).toEqual({ parity: 1, label: 1, later: 1, ticks: 1 });
      rt.set('x', 3);
      await rt.idle();
      expect(runs).toEqual({ parity: 2, label: 1, later: 1, ticks: 2 });
      expect(rt.cells.label.value).toBe(label);
      expect(rt.cells.later.value).toBe(later);
      rt.set('x', 4);
      await rt.idle();
      expect(runs).toEqual({ parity: 3, label: 2, later: 2, ticks: 3 });
      expect(rt.cells.label.value).toEqual({ text: 'x is even' });
      expect(rt.cells.later.value).toEqual(['even']);
    } finally {
      rt.dispose();
    }
  });

  it('recomputeAll runs a pure cell again (its models were replaced); the same backend set again does not', async () => {
    let model = 'shipped', runs = 0;
    const nb: Notebook = { pure: true, inputs: [], cells: [cell('uses', ['backend'], () => { runs++; return model; })], sections: [] };
    const rt = new NotebookRuntime(nb, {}, referenceBackend);
    try {
      await rt.idle();
      expect([runs, rt.cells.uses.value]).toEqual([1, 'shipped']);
      rt.setBackend(referenceBackend);
      await rt.idle();
      expect(runs).toBe(1);
      model = 'the reader\'s own';
      rt.recomputeAll();
      await rt.idle();
      expect([runs, rt.cells.uses.value]).toEqual([2, 'the reader\'s own']);
    } finally {
      rt.dispose();
    }
  });

  it('a notebook that does not say it is pure runs every dependent again', async () => {
    const { nb, runs } = parityNotebook(false);
    const rt = new NotebookRuntime(nb, {}, referenceBackend);
    try {
      await rt.idle();
      rt.set('x', 3);
      await rt.idle();
      expect(runs).toEqual({ parity: 2, label: 2, later: 2, ticks: 2 });
    } finally {
      rt.dispose();
    }
  });
});

/** A stand-in IntersectionObserver whose entries the test reports by hand. */
class FakeScreen {
  static last: FakeScreen | null = null;
  readonly targets = new Set<Element>();
  constructor(readonly callback: (entries: { target: Element; isIntersecting: boolean }[]) => void) {
    FakeScreen.last = this;
  }
  observe(el: Element) { this.targets.add(el); }
  unobserve(el: Element) { this.targets.delete(el); }
  disconnect() { this.targets.clear(); }
  report(on: Element[]) {
    this.callback([...this.targets].map((target) => ({ target, isIntersecting: on.includes(target) })));
  }
}

describe('what is on screen computes first', () => {
  function lesson() {
    const runs: string[] = [];
    const nb: Notebook = {
      inputs: [{ kind: 'range', name: 'x', label: 'x', min: 0, max: 10, step: 1, value: 1 }],
      cells: [
        cell('base', ['x'], (x: number) => { runs.push('base'); return x; }),
        cell('seen', ['base'], (b: number) => { runs.push('seen'); return b + 1; }),
        cell('heavy', ['x'], (x: number) => { runs.push('heavy'); return x * 10; }),
        cell('below', ['heavy'], (h: number) => { runs.push('below'); return h + 1; }),
      ],
      sections: [],
    };
    return { nb, runs };
  }

  it('computes the figure on screen within the task, the rest after a frame, and idle() waits for all', async () => {
    const saved = (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver;
    (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver = FakeScreen;
    const { nb, runs } = lesson();
    const rt = new NotebookRuntime(nb, {}, referenceBackend);
    try {
      await rt.idle();
      const seenEl = document.createElement('figure'), belowEl = document.createElement('figure');
      const stopSeen = rt.observe(seenEl, 'seen');
      rt.observe(belowEl, 'below');
      FakeScreen.last!.report([seenEl]);
      runs.length = 0;
      rt.set('x', 5);
      await drainMicrotasks();
      expect(rt.cells.seen.value).toBe(6);
      expect(runs).toEqual(['base', 'seen']); // heavy and below wait: nobody looks at them
      expect(rt.cells.below.status).toBe('pending');
      await rt.idle();
      expect(rt.cells.below.value).toBe(51);
      expect(runs.slice(2)).toEqual(['heavy', 'below']);

      // A waiting cell whose figure comes on screen computes at once.
      runs.length = 0;
      rt.set('x', 2);
      await drainMicrotasks();
      expect(runs).toEqual(['base', 'seen']);
      FakeScreen.last!.report([seenEl, belowEl]);
      await drainMicrotasks();
      expect(rt.cells.below.value).toBe(21);

      // With nothing watched on screen any more, the next move still computes everything (later).
      stopSeen();
      runs.length = 0;
      rt.set('x', 3);
      await rt.idle();
      expect(rt.cells.seen.value).toBe(4);
      expect(rt.cells.below.value).toBe(31);
    } finally {
      rt.dispose();
      (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver = saved;
    }
  });

  it('CellPriority: needed = shown cells and everything they read; until told, everything', () => {
    const p = new CellPriority([
      { name: 'a', inputs: ['x'] }, { name: 'b', inputs: ['a'] }, { name: 'c', inputs: ['x'] }, { name: 'd', inputs: ['b', 'c'] },
    ]);
    expect(['a', 'b', 'c', 'd'].every((n) => p.isNeeded(n))).toBe(true);
    p.show('b', true);
    expect(['a', 'b', 'c', 'd'].filter((n) => p.isNeeded(n))).toEqual(['a', 'b']);
    p.show('d', true);
    expect(['a', 'b', 'c', 'd'].filter((n) => p.isNeeded(n))).toEqual(['a', 'b', 'c', 'd']);
    p.show('d', false);
    p.show('b', false);
    expect(['a', 'b', 'c', 'd'].filter((n) => p.isNeeded(n))).toEqual([]);
    expect(p.turn('a')).toBeInstanceOf(Promise);
    expect(p.waiting).toBe(1);
    p.show('a', true);
    expect(p.waiting).toBe(0);
    p.dispose();
  });
});
