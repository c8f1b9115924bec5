// @vitest-environment happy-dom
// The bridge from @observablehq/runtime to Svelte state, on its own: a moved input is computed
// within the task that moved it (no frame of waiting), only its dependents recompute, and an
// animated cell (a generator) still advances one value per animation frame instead of running to
// its end in microtasks (which froze the load-balancing lesson's training on screen).
import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../kernels/reference.js';
import { NotebookRuntime } from '../src/lib/notebook/runtime.svelte.js';
import { cell, type Notebook } from '../src/lib/notebook/types.js';

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
