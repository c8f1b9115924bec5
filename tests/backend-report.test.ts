// The badge's reading of a selection report (src/lib/backend-report.ts): every op and bucket with
// its choice and timings fastest first, fallbacks as sentences, nothing read from a non-report.
import { describe, expect, it } from 'vitest';
import { OP_NAMES } from '../kernels/backend.js';
import { BUCKET_NAMES, selectBackend } from '../kernels/select.js';
import { formatMs, readReport, summarizeChoice } from '../src/lib/backend-report.js';

describe('readReport', () => {
  it('lists each op and bucket of a real report, timings fastest first, and its fallbacks', async () => {
    const be = await selectBackend({ quick: true, gpujs: false, budgetMs: 100 });
    const view = readReport(be.report);
    expect(view.ops.map((o) => o.op).sort()).toEqual([...OP_NAMES].sort());
    for (const o of view.ops) {
      expect(o.buckets.map((b) => b.name)).toEqual([...BUCKET_NAMES]);
      for (const b of o.buckets) {
        expect(b.chosen).toBe(be.report.ops[o.op as (typeof OP_NAMES)[number]].buckets[b.name as (typeof BUCKET_NAMES)[number]].chosen);
        for (let i = 1; i < b.timings.length; i++) expect(b.timings[i].ms).toBeGreaterThanOrEqual(b.timings[i - 1].ms);
      }
    }
    expect(view.candidates.find((c) => c.name === 'reference')?.available).toBe(true);
    expect(summarizeChoice(view).split(' + ').every((n) => view.candidates.some((c) => c.name === n && c.available))).toBe(true);
    be.report.fallbacks.push({ op: '*', from: 'gpu.js webgl2', to: 'wasm', reason: 'gpu.js webgl2 took 900 ms for one matmul call (limit 50 ms)', atMs: 1 });
    expect(readReport(be.report).fallbacks.at(-1)).toBe('all ops: gpu.js webgl2 → wasm — gpu.js webgl2 took 900 ms for one matmul call (limit 50 ms)');
    be.destroy();
  });

  it('reads nothing from what is not a report', () => {
    for (const raw of [null, 3, 'auto', [], { ops: {} }]) expect(readReport(raw)).toEqual({ candidates: [], ops: [], fallbacks: [] });
  });

  it('formats durations for people', () => {
    expect(formatMs(1234)).toBe('1.2 s');
    expect(formatMs(12.4)).toBe('12 ms');
    expect(formatMs(0.42)).toBe('0.42 ms');
    expect(formatMs(0.004)).toBe('4 µs');
    expect(formatMs(0.0004)).toBe('0.4 µs');
  });
});
