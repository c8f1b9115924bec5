// The backend choice is reproducible (issue 11): each cell (op x size bucket) is decided by
// process CPU time, sampled in rounds until the choice comes out the same 3 rounds in a row, ties
// (within the margin) going to the simpler candidate (decide.ts cellChoice); a GPU or custom
// candidate must be 2x faster and never takes an elementwise op; the winner table is stored per
// machine and build, so a second selection on the same machine reuses it: the same routes, and
// the same prompt decodes to the same bits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, markConstantDeep, OP_NAMES, type OpName } from '../kernels/backend.js';
import {
  BUCKET_NAMES, cellChoice, ELEMENTWISE_OPS, fixedRuleChoice, memoryTable, selectBackend, selectionTableKey, type SelectedBackend,
} from '../kernels/select.js';
import { parseConfig } from '../src/engine/config.js';
import { initModel } from '../src/engine/init.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';

const KIND: Record<string, string> = { reference: 'reference', loop: 'loop', wasm: 'wasm', gpu: 'gpu.js', memo: 'custom' };
const RANK: Record<string, number> = { reference: 0, loop: 1, wasm: 2, gpu: 3, memo: 4 };
const kind = (n: string) => KIND[n] ?? 'custom';
const rank = (n: string) => RANK[n] ?? 9;

describe('the rule of a cell', () => {
  it('the fastest CPU kernel set, unless a simpler one is within the tie margin', () => {
    expect(cellChoice('matmul', { reference: 10, loop: 3, wasm: 1 }, kind, rank)?.chosen).toBe('wasm');
    expect(cellChoice('matmul', { reference: 10, loop: 1.1, wasm: 1 }, kind, rank)?.chosen).toBe('loop'); // within 15%
    expect(cellChoice('matmul', { reference: 10, loop: 1.2, wasm: 1 }, kind, rank)?.chosen).toBe('wasm'); // 20% apart
    expect(cellChoice('rope', { reference: 1.05, loop: 1.0, wasm: 1.1 }, kind, rank)?.chosen).toBe('reference');
    expect(cellChoice('rope', { reference: 0.00031, loop: 0.0001, wasm: 0.0002 }, kind, rank)?.chosen).toBe('loop'); // 0.1 µs apart: a tie
    expect(cellChoice('rope', {}, kind, rank)).toBeNull();
  });

  it('a GPU or custom candidate must be 2x faster than the CPU choice, and never takes an elementwise op', () => {
    expect(cellChoice('matmul', { wasm: 1, gpu: 0.6 }, kind, rank)?.chosen).toBe('wasm');
    expect(cellChoice('matmul', { wasm: 1, gpu: 0.5 }, kind, rank)?.chosen).toBe('wasm'); // exactly 2x: still a tie
    expect(cellChoice('matmul', { wasm: 1, gpu: 0.45 }, kind, rank)?.chosen).toBe('gpu');
    for (const op of ELEMENTWISE_OPS) expect(cellChoice(op, { loop: 1, wasm: 1, gpu: 0.01 }, kind, rank)?.chosen, op).toBe('loop');
  });

  it('the fallback order (a chosen kernel that throws, nothing timed) is wasm > loop > reference among those that passed the probe', () => {
    const all = new Set<OpName>(OP_NAMES);
    const cand = (k: string, ok: Iterable<OpName> = all, available = true) => ({ kind: k, name: k, available, ok: new Set(ok) });
    expect(fixedRuleChoice('rope', [cand('reference'), cand('loop'), cand('wasm')])).toBe('wasm');
    expect(fixedRuleChoice('rope', [cand('wasm', ['matmul']), cand('reference'), cand('loop')])).toBe('loop');
    expect(fixedRuleChoice('matmul', [cand('wasm', all, false), cand('reference')])).toBe('reference');
    expect(fixedRuleChoice('swiglu', [cand('gpu.js')])).toBeNull();
  });
});

/** A correct candidate that answers a repeated call from memory: far faster than any kernel on the selector's fixed inputs. */
function memoCandidate(inner: Backend): Backend {
  const memo = new Map<string, { inputs: unknown[]; result: Float32Array }>();
  const wrap = (op: OpName) => (...args: unknown[]) => {
    const inputs = args.filter((a) => a instanceof Float32Array || typeof a === 'number');
    const out = args.find((a, i) => i > 0 && a instanceof Float32Array && !inputs.slice(0, 3).includes(a)) as Float32Array | undefined;
    const kept = memo.get(op);
    if (kept && kept.inputs.length === inputs.length && kept.inputs.every((x, i) => x === inputs[i]) && out && out.length === kept.result.length) {
      out.set(kept.result);
      return out;
    }
    const result = (inner[op] as (...a: unknown[]) => Float32Array)(...args);
    memo.set(op, { inputs, result: Float32Array.from(result) });
    return result;
  };
  return Object.fromEntries([['name', 'memo'], ...OP_NAMES.map((op) => [op, wrap(op)])]) as unknown as Backend;
}

describe('selectBackend: measured, stored per machine and build, reused', () => {
  const table = memoryTable();
  let first: SelectedBackend, second: SelectedBackend;
  beforeAll(async () => {
    first = await selectBackend({ quick: true, gpujs: false, table, warn: () => {} });
    second = await selectBackend({ quick: true, gpujs: false, table, warn: () => {} });
  }, 180_000); // a selection samples until every cell's choice is stable: on a loaded machine that takes longer, not differently
  afterAll(() => { first.destroy(); second.destroy(); });

  it('the first selection measures every cell by CPU time until its choice is stable, and stores the table under this machine\'s key', async () => {
    const key = await selectionTableKey();
    expect(key).toMatch(/^kernels-node-[0-9a-f]{8}$/);
    expect(first.report.tableKey).toBe(key);
    expect(first.report.reused).toBe(false);
    expect(first.report.clock).toBe('cpu');
    expect(first.report.decisionRule).toMatch(/CPU time/);
    expect(table.entries.has(key)).toBe(true);
    for (const op of OP_NAMES) for (const b of BUCKET_NAMES) {
      const cell = first.report.ops[op].buckets[b];
      expect(cell.measured, `${op} ${b}`).toBe(true);
      // every candidate timed, or left out with the reason (the smaller size predicted it over 8x slower)
      for (const c of ['reference', 'loop', 'wasm']) expect(cell.timingsMs[c] !== undefined || /not timed/.test(cell.notes?.[c] ?? ''), `${op} ${b} ${c}`).toBe(true);
      expect(cell.rounds, `${op} ${b}`).toBeGreaterThanOrEqual(3);
      // the route is the rule's choice from the cell's timings, or (unsettled) the simplest recent winner
      if (cell.stable) expect(cell.chosen, `${op} ${b}`).toBe(cellChoice(op, cell.timingsMs, (n) => first.report.candidates.find((c) => c.name === n)?.kind ?? 'custom', (n) => ['reference', 'loop', 'wasm'].indexOf(n))?.chosen);
      else expect(cell.unsettled, `${op} ${b}`).toContain(cell.chosen);
      expect(first.routeOf(op, b)).toBe(cell.chosen);
    }
  });

  it('the second selection on the same machine and build reuses the table: the same route for every op and bucket', () => {
    expect(second.report.reused).toBe(true);
    for (const op of OP_NAMES) for (const b of BUCKET_NAMES) {
      expect(second.routeOf(op, b), `${op} ${b}`).toBe(first.routeOf(op, b));
      expect(second.report.ops[op].buckets[b].notes?.[second.routeOf(op, b)]).toMatch(/stored for this machine and build/);
    }
  });

  it('the same prompt decodes to the same bits on both', () => {
    const cfg = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' });
    const base = initModel(cfg, { seed: 9 });
    markConstantDeep(base.weights);
    const run = (be: Backend) => {
      const model = base.withBackend(be);
      const cache = model.createCache('absorbed');
      const out: number[] = [];
      let logits = model.forward([5, 9, 13, 17, 21], { cache }).logits;
      out.push(...logits);
      for (let s = 0; s < 24; s++) {
        logits = model.forward([(s * 7) % cfg.vocab_size], { cache }).logits;
        out.push(...logits);
      }
      return Float32Array.from(out);
    };
    const a = run(first), b = run(second);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('a stored table from another build or machine (another key) is not reused', { timeout: 180_000 }, async () => {
    const other = memoryTable();
    const stored = table.entries.get(first.report.tableKey!);
    other.entries.set('kernels-node-00000000', stored);
    const be = await selectBackend({ quick: true, gpujs: false, table: other, warn: () => {} });
    try {
      expect(be.report.reused).toBe(false);
      expect(be.report.ops.matmul.buckets.small.measured).toBe(true);
    } finally {
      be.destroy();
    }
  });

  it('a custom candidate far faster than the kernels wins the matrix products, never an elementwise op', { timeout: 180_000 }, async () => {
    const { createWasmBackend } = await import('../kernels/wasm.js');
    const memo = memoCandidate(await createWasmBackend());
    const be = await selectBackend({ quick: true, gpujs: false, candidates: [memo], warn: () => {} });
    try {
      for (const op of ELEMENTWISE_OPS) for (const b of BUCKET_NAMES) expect(be.routeOf(op, b), `${op} ${b}`).not.toBe('memo');
      // at a training batch an A·B takes ~1 ms on wasm; the memo copies 400 kB: far over the 2x margin
      expect(be.routeOf('matmul', 'large')).toBe('memo');
      const cell = be.report.ops.matmul.buckets.large;
      expect(cell.measured).toBe(true);
      // the fastest CPU kernel timed and at least 2x slower, or not timed at all: the smaller bucket predicted it over 8x slower
      const cpuTimes = ['wasm', 'loop', 'reference'].map((n) => cell.timingsMs[n]).filter((t): t is number => t !== undefined);
      if (cpuTimes.length > 0) expect(cell.timingsMs.memo * 2).toBeLessThanOrEqual(Math.min(...cpuTimes));
    } finally {
      be.destroy();
    }
  });
});
