// Parity of the tuned loop and the gpu.js kernels with the reference, and the behaviour of the per-op selector.
//
// Tolerances. The reference accumulates in float64 and rounds once to float32; the gpu.js kernels
// compute in float32 throughout, so they differ by float32 rounding only. With u = 2^-24 (float32
// unit roundoff) and inputs in [-1, 1]:
// - a length-k reduction (dot product, sum of squares, sum of exps) accumulates one rounding per
//   step; the error behaves like a random walk of k steps on partial sums of size <= sqrt(k)
//   (random signs), so it is about k*u ~ 6e-8*k, and the relative error of a sum of positive terms
//   about sqrt(k)*u. We allow |got - want| <= (1e-5 + 1e-5*|want|) * sqrt(k): for the k <= 48 used
//   here that is >= 100x the expected error, yet any indexing or masking bug gives errors ~0.1.
// - elementwise ops (swiglu, the apply half of softmax/RMSNorm) round a few times per element:
//   (1e-5 + 1e-5*|want|), i.e. ~100 ulps of headroom.
// - rope also rounds its angle pos*theta^(-2i/dim) to float32: an absolute angle error of about
//   |angle|*u, which moves outputs by up to |x|*|angle|*u, hence the extra 4*u*maxPos term.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { type Backend, OP_NAMES, type OpName } from '../kernels/backend.js';
import * as ref from '../kernels/reference.js';
import { loopBackend } from '../kernels/loop.js';
import { createGpuJsBackend, GPUJS_MODES, type GpuJsBackend } from '../kernels/gpujs.js';
import { BUCKET_NAMES, bucketOf, cellChoice, checkStoredReport, decide, ELEMENTWISE_OPS, MEASURE_SHAPES, randomFloats, selectBackend, type SelectedBackend } from '../kernels/select.js';

const U = 2 ** -24;
const BASE = 1e-5;

/** The first index where |got - want| > tol(want, i), or -1. */
function firstMismatch(got: Float32Array, want: Float32Array, tol: (w: number) => number): number {
  if (got.length !== want.length) return 0;
  for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i] - want[i]) <= tol(want[i]))) return i;
  return -1;
}

function expectClose(got: Float32Array, want: Float32Array, tol: (w: number) => number, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const i = firstMismatch(got, want, tol);
  expect(i, i < 0 ? what : `${what}: index ${i}: got ${got[i]}, reference ${want[i]}, tol ${tol(want[i])}`).toBe(-1);
}

const reduction = (k: number) => (w: number) => (BASE + BASE * Math.abs(w)) * Math.sqrt(Math.max(1, k));
const elementwise = (w: number) => BASE + BASE * Math.abs(w);

const gpuBackends: GpuJsBackend[] = [];
const unavailable: Record<string, string> = {};

beforeAll(async () => {
  for (const mode of GPUJS_MODES) {
    try {
      gpuBackends.push(await createGpuJsBackend(mode));
    } catch (e) {
      unavailable[mode] = e instanceof Error ? e.message : String(e);
    }
  }
});

afterAll(() => {
  for (const be of gpuBackends) be.destroy();
});

describe('gpu.js backends in Node', () => {
  it('constructs at least one gpu.js mode, and says why the others do not', () => {
    expect(gpuBackends.length, `unavailable: ${JSON.stringify(unavailable)}`).toBeGreaterThan(0);
    for (const [mode, reason] of Object.entries(unavailable)) expect(reason, mode).not.toBe('');
    // webgpu cannot serve the synchronous interface anywhere; in Node it has no adapter either
    expect(unavailable.webgpu).toMatch(/webgpu|WebGPU/);
  });

  it('compiles a kernel once per shape and reuses it', () => {
    for (const be of gpuBackends) {
      const a = randomFloats(6, 1), b = randomFloats(6, 2);
      be.matmul(a, b, 2, 3, 2);
      const after = be.compileCount;
      be.matmul(a, b, 2, 3, 2);
      be.matmul(randomFloats(6, 3), randomFloats(6, 4), 2, 3, 2);
      expect(be.compileCount, be.name).toBe(after);
      be.matmul(a, b, 3, 2, 3); // another shape: one more kernel
      expect(be.compileCount, be.name).toBe(after + 1);
    }
  });

  it('fills and returns a given out buffer, and rejects one of the wrong length', () => {
    for (const be of gpuBackends) {
      const a = randomFloats(12, 5), b = randomFloats(20, 6);
      const out = new Float32Array(15);
      expect(be.matmul(a, b, 3, 4, 5, out)).toBe(out);
      expectClose(out, ref.matmul(a, b, 3, 4, 5), reduction(4), be.name);
      expect(() => be.matmul(a, b, 3, 4, 5, new Float32Array(14))).toThrow(RangeError);
    }
  });
});

// ---- parity, op by op, on random shapes (non-square, k = 1, sizes not multiples of 4) ----

const dim = (max: number) => fc.integer({ min: 1, max });
const seed = fc.integer({ min: 0, max: 1 << 20 });
const RUNS = 30;

/** Every accelerated candidate: the tuned loop and each gpu.js mode that works here. */
function forEachGpu(check: (be: Backend) => void): void {
  expect(gpuBackends.length).toBeGreaterThan(0);
  for (const be of [loopBackend, ...gpuBackends]) check(be);
}

describe('parity with the reference', () => {
  it.each(['matmul', 'matmulT', 'matmulTN'] as const)('%s', (op) => {
    forEachGpu((be) => {
      const check = (m: number, k: number, n: number, s: number): void => {
        const a = randomFloats(m * k, s), b = randomFloats(k * n, s + 1);
        expectClose(be[op](a, b, m, k, n), ref[op](a, b, m, k, n), reduction(k), `${be.name} ${op} ${m}x${k}x${n}`);
      };
      // (Shapes that reach every block of the loop kernel: 8-column single rows, row pairs, 4 x 4 blocks, remainders.)
      for (const [m, k, n] of [[1, 1, 1], [1, 7, 1], [5, 1, 3], [3, 5, 7], [17, 33, 9], [1, 33, 19], [2, 9, 13], [6, 5, 11]]) check(m, k, n, m + k + n);
      fc.assert(fc.property(dim(24), dim(48), dim(24), seed, (m, k, n, s) => check(m, k, n, s)), { numRuns: RUNS });
    });
  });

  it('matmulTN is matmul of the transposed A (the reference against itself, through an explicit transpose)', () => {
    fc.assert(fc.property(dim(12), dim(20), dim(12), seed, (m, k, n, s) => {
      const a = randomFloats(k * m, s), b = randomFloats(k * n, s + 1);
      const at = new Float32Array(m * k);
      for (let p = 0; p < k; p++) for (let i = 0; i < m; i++) at[i * k + p] = a[p * m + i];
      expectClose(ref.matmulTN(a, b, m, k, n), ref.matmul(at, b, m, k, n), reduction(k), `matmulTN ${m}x${k}x${n}`);
    }), { numRuns: RUNS });
  });

  it('softmaxRows', () => {
    forEachGpu((be) => {
      fc.assert(fc.property(dim(9), dim(40), seed, fc.constantFrom(1, 8, 30), (rows, cols, s, scale) => {
        const x = randomFloats(rows * cols, s).map((v) => v * scale);
        // reduction over cols: the sum of exps (relative error ~ sqrt(cols) u)
        expectClose(be.softmaxRows(x, rows, cols), ref.softmaxRows(x, rows, cols), reduction(cols), `${be.name} softmax ${rows}x${cols}`);
      }), { numRuns: RUNS });
    });
  });

  it('rmsNorm', () => {
    forEachGpu((be) => {
      fc.assert(fc.property(dim(9), dim(40), seed, fc.constantFrom(1e-6, 1e-2), (rows, cols, s, eps) => {
        const x = randomFloats(rows * cols, s), w = randomFloats(cols, s + 1);
        expectClose(be.rmsNorm(x, w, rows, cols, eps), ref.rmsNorm(x, w, rows, cols, eps), reduction(cols), `${be.name} rmsNorm ${rows}x${cols}`);
      }), { numRuns: RUNS });
    });
  });

  it('rope (interleaved pairs)', () => {
    forEachGpu((be) => {
      fc.assert(fc.property(dim(9), fc.integer({ min: 1, max: 20 }), seed, fc.integer({ min: 0, max: 4096 }), fc.constantFrom(10000, 500),
        (rows, half, s, maxPos, theta) => {
          const d = 2 * half;
          const x = randomFloats(rows * d, s);
          const pos = Array.from({ length: rows }, (_, r) => Math.round((maxPos * r) / Math.max(1, rows - 1)));
          const tol = (w: number) => elementwise(w) + 4 * U * maxPos;
          expectClose(be.rope(x, rows, d, pos, theta), ref.rope(x, rows, d, pos, theta), tol, `${be.name} rope ${rows}x${d}`);
        }), { numRuns: RUNS });
      expect(() => be.rope(new Float32Array(3), 1, 3, [0], 10000)).toThrow(RangeError);
    });
  });

  it('swiglu', () => {
    forEachGpu((be) => {
      fc.assert(fc.property(dim(300), seed, (n, s) => {
        const g = randomFloats(n, s).map((v) => v * 10), u = randomFloats(n, s + 1);
        expectClose(be.swiglu(g, u, n), ref.swiglu(g, u, n), elementwise, `${be.name} swiglu ${n}`);
      }), { numRuns: RUNS });
    });
  });

  it('causalAttention (output and weights)', () => {
    forEachGpu((be) => {
      fc.assert(fc.property(dim(9), dim(12), dim(20), dim(20), fc.integer({ min: -3, max: 12 }), seed, (nq, nk, dk, dv, offset, s) => {
        const q = randomFloats(nq * dk, s), k = randomFloats(nk * dk, s + 1), v = randomFloats(nk * dv, s + 2);
        const scale = 1 / Math.sqrt(dk);
        const wg = new Float32Array(nq * nk), wr = new Float32Array(nq * nk);
        const og = be.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, undefined, wg);
        const or = ref.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, undefined, wr);
        // scores reduce over dk, then the softmax sums over nk and the output sums over nk values
        const tol = reduction(dk + nk);
        const what = `${be.name} attention nq=${nq} nk=${nk} dk=${dk} dv=${dv} offset=${offset}`;
        expectClose(og, or, tol, what);
        expectClose(wg, wr, tol, `${what} weights`);
      }), { numRuns: RUNS });
    });
  });
});

// ---- properties that hold for every backend, the reference included ----

describe('mathematical properties', () => {
  const all = (): Backend[] => [ref.referenceBackend, ...gpuBackends];

  it('softmax rows are non-negative and sum to 1', () => {
    for (const be of all()) {
      fc.assert(fc.property(dim(6), dim(50), seed, (rows, cols, s) => {
        const y = be.softmaxRows(randomFloats(rows * cols, s).map((v) => v * 20), rows, cols);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let j = 0; j < cols; j++) {
            expect(y[r * cols + j]).toBeGreaterThanOrEqual(0);
            sum += y[r * cols + j];
          }
          expect(Math.abs(sum - 1), `${be.name} row ${r}`).toBeLessThanOrEqual(BASE * Math.sqrt(cols));
        }
      }), { numRuns: 8 });
    }
  });

  it('causal mask: weights are zero above the diagonal offset, visible rows sum to 1', () => {
    for (const be of all()) {
      fc.assert(fc.property(dim(7), dim(9), fc.integer({ min: -2, max: 10 }), seed, (nq, nk, offset, s) => {
        const dk = 5, dv = 3;
        const w = new Float32Array(nq * nk).fill(NaN);
        const v = randomFloats(nk * dv, s + 2);
        const out = be.causalAttention(randomFloats(nq * dk, s), randomFloats(nk * dk, s + 1), v, nq, nk, dk, dv, 0.7, offset, undefined, w);
        for (let i = 0; i < nq; i++) {
          let sum = 0;
          for (let j = 0; j < nk; j++) {
            const x = w[i * nk + j];
            if (j > offset + i) expect(x, `${be.name} masked w[${i}][${j}]`).toBe(0);
            else expect(x).toBeGreaterThan(0);
            sum += x;
          }
          if (offset + i >= 0) expect(Math.abs(sum - 1), `${be.name} row ${i}`).toBeLessThanOrEqual(BASE * Math.sqrt(nk));
          else for (let p = 0; p < dv; p++) expect(out[i * dv + p], `${be.name} fully masked row ${i}`).toBe(0);
        }
        // a query that sees only key 0 returns v[0] exactly (up to rounding)
        if (nk > 1 && offset === 0) for (let p = 0; p < dv; p++) expect(Math.abs(out[p] - v[p])).toBeLessThanOrEqual(1e-6);
      }), { numRuns: 8 });
    }
  });
});

// ---- the selector ----

/** A candidate that is correct (it is the reference underneath) but whose matmul throws above a size. */
function flakyCandidate(limit: number): Backend & { calls: number } {
  const be = {
    ...ref.referenceBackend,
    name: 'flaky',
    calls: 0,
    matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
      be.calls++;
      if (m * k * n > limit) throw new Error(`texture too large for ${m}x${k}x${n}`);
      return ref.matmul(a, b, m, k, n, out);
    },
  };
  return be;
}

/** A candidate that answers every op with zeros (wrong): the probe must reject it. */
const zeros: Backend = {
  name: 'zeros',
  matmul: (_a, _b, m, _k, n, out) => (out ?? new Float32Array(m * n)).fill(0),
  matmulT: (_a, _b, m, _k, n, out) => (out ?? new Float32Array(m * n)).fill(0),
  matmulTN: (_a, _b, m, _k, n, out) => (out ?? new Float32Array(m * n)).fill(0),
  softmaxRows: (_x, r, c, out) => (out ?? new Float32Array(r * c)).fill(0),
  rmsNorm: (_x, _w, r, c, _e, out) => (out ?? new Float32Array(r * c)).fill(0),
  rope: (_x, r, d, _p, _t, out) => (out ?? new Float32Array(r * d)).fill(0),
  swiglu: (_g, _u, n, out) => (out ?? new Float32Array(n)).fill(0),
  causalAttention: (_q, _k, _v, nq, _nk, _dk, dv, _s, _o, out) => (out ?? new Float32Array(nq * dv)).fill(0),
};

describe('size buckets', () => {
  it('put an op in small/medium/large by its equivalent side length', () => {
    expect(bucketOf('matmul', [64, 64, 64])).toBe('small');
    expect(bucketOf('matmul', [65, 64, 64])).toBe('medium');
    expect(bucketOf('matmulT', [1, 512, 512])).toBe('small'); // a decode step: 64^3 multiply-adds
    expect(bucketOf('matmul', [256, 256, 257])).toBe('large');
    expect(bucketOf('softmaxRows', [64, 64])).toBe('small');
    expect(bucketOf('rmsNorm', [256, 257])).toBe('large');
    expect(bucketOf('swiglu', [4097])).toBe('medium');
    expect(bucketOf('causalAttention', [64, 64, 32, 32, 0])).toBe('small');
  });
});

describe('the decision rule', () => {
  const rank = (n: string) => ['reference', 'loop', 'wasm', 'gpu.js webgl2'].indexOf(n);
  it('picks the fastest, unless a simpler candidate is within the tie margin (or 0.2 µs)', () => {
    expect(decide({ reference: 1, loop: 0.5, wasm: 0.1 }, rank)?.chosen).toBe('wasm');
    expect(decide({ reference: 1, loop: 0.5, wasm: 0.45 }, rank, 0.15)?.chosen).toBe('loop');
    expect(decide({ reference: 1, loop: 0.5, wasm: 0.45 }, rank, 0.05)?.chosen).toBe('wasm');
    expect(decide({ loop: 0.00055, wasm: 0.0004 }, rank)?.chosen).toBe('loop'); // 0.15 µs apart: a tie
    expect(decide({ loop: 0.0011, wasm: 0.0004 }, rank)?.chosen).toBe('wasm'); // 0.7 µs apart (a decode step makes ~70 calls)
    expect(decide({ 'gpu.js webgl2': 0.1, wasm: 0.109 }, rank)?.chosen).toBe('wasm');
    expect(decide({}, rank)).toBeNull();
  });

  it('does not depend on the order the timings are listed in', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 1e-4, max: 10, noNaN: true }), { minLength: 4, maxLength: 4 }), fc.double({ min: 0, max: 0.5, noNaN: true }), (ts, margin) => {
      const names = ['reference', 'loop', 'wasm', 'gpu.js webgl2'];
      const a = Object.fromEntries(names.map((n, i) => [n, ts[i]]));
      const b = Object.fromEntries([...names].reverse().map((n) => [n, a[n]]));
      expect(decide(a, rank, margin)?.chosen).toBe(decide(b, rank, margin)?.chosen);
    }), { numRuns: 100 });
  });

  it('measures each bucket at a shape inside it (a decode row, a prefill block, a training batch)', () => {
    for (const op of OP_NAMES) for (const b of BUCKET_NAMES) expect(bucketOf(op, MEASURE_SHAPES[op][b]), `${op} ${b}`).toBe(b);
  });
});

describe('selectBackend', () => {
  let auto: SelectedBackend;
  beforeAll(async () => {
    auto = await selectBackend({ quick: true, candidates: [zeros] });
  }, 180_000); // sampled until every cell's choice is stable: longer on a loaded machine
  afterAll(() => auto.destroy());

  it('reports every op and bucket, with a chosen, available candidate and its timings', () => {
    const report = auto.report;
    expect(auto.name).toBe('auto');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain JSON
    const available = new Set(report.candidates.filter((c) => c.available).map((c) => c.name));
    expect(available.has('reference')).toBe(true);
    // every gpu.js mode that constructs here is a candidate, except gpu.js's CPU modes where the wasm kernels work
    const wasmWorks = available.has('wasm');
    for (const be of gpuBackends) if (!(wasmWorks && (be.mode === 'webasm' || be.mode === 'cpu'))) expect(available.has(be.name), be.name).toBe(true);
    expect(Object.keys(report.ops).sort()).toEqual([...OP_NAMES].sort());
    for (const op of OP_NAMES) {
      expect(available.has(report.ops[op].chosen), op).toBe(true);
      for (const b of BUCKET_NAMES) {
        const cell = report.ops[op].buckets[b];
        expect(available.has(cell.chosen), `${op} ${b}`).toBe(true);
        expect(auto.routeOf(op, b)).toBe(cell.chosen);
        // the decision rule (decide.ts cellChoice): by the cell's timings, or (unsettled) the simplest recent winner;
        // a gpu.js/custom candidate only when over 2x faster than the CPU choice, never for elementwise ops
        const kind = (name: string) => report.candidates.find((c) => c.name === name)?.kind ?? 'custom';
        const rank = (name: string) => report.candidates.findIndex((c) => c.name === name) + 1000 * ['reference', 'loop', 'wasm', 'gpu.js', 'custom'].indexOf(kind(name));
        if (ELEMENTWISE_OPS.includes(op)) expect(['wasm', 'loop', 'reference'], `${op} ${b}`).toContain(kind(cell.chosen));
        if (cell.measured && cell.stable) expect(cell.chosen, `${op} ${b}`).toBe(cellChoice(op, cell.timingsMs, kind, rank)?.chosen);
        else if (cell.measured) expect(cell.unsettled, `${op} ${b}`).toContain(cell.chosen);
        expect(Object.keys(cell.timingsMs).length, `${op} ${b}: timed for the report`).toBeGreaterThan(0);
      }
    }
  });

  it('lists every gpu.js mode, with a reason for each one that is unavailable', () => {
    const names = auto.report.candidates.map((c) => c.name);
    for (const mode of GPUJS_MODES) expect(names).toContain(`gpu.js ${mode}`);
    for (const c of auto.report.candidates) if (!c.available) expect(c.reason, c.name).toBeTruthy();
  });

  it('drops a candidate that gives wrong answers, saying why', () => {
    const z = auto.report.candidates.find((c) => c.name === 'zeros')!;
    expect(z.available).toBe(false);
    expect(z.probe.matmul).toMatch(/wrong answer/);
    for (const op of OP_NAMES) for (const b of BUCKET_NAMES) expect(auto.routeOf(op, b)).not.toBe('zeros');
  });

  it('computes what the reference computes', () => {
    const wl: Array<[OpName, () => [Float32Array, Float32Array, number]]> = [
      ['matmul', () => { const a = randomFloats(40 * 30, 1), b = randomFloats(30 * 50, 2); return [auto.matmul(a, b, 40, 30, 50), ref.matmul(a, b, 40, 30, 50), 30]; }],
      ['matmulT', () => { const a = randomFloats(3 * 70, 1), b = randomFloats(90 * 70, 2); return [auto.matmulT(a, b, 3, 70, 90), ref.matmulT(a, b, 3, 70, 90), 70]; }],
      ['swiglu', () => { const g = randomFloats(5000, 1), u = randomFloats(5000, 2); return [auto.swiglu(g, u, 5000), ref.swiglu(g, u, 5000), 1]; }],
    ];
    for (const [op, run] of wl) {
      const [got, want, k] = run();
      expectClose(got, want, reduction(k), `auto ${op}`);
    }
  });

  it('reads a stored report back only when it is well-formed and fresh, saying why not', () => {
    const at = Date.UTC(2026, 0, 1);
    const ok = checkStoredReport({ at, report: JSON.parse(JSON.stringify(auto.report)) }, at + 1000);
    expect('report' in ok).toBe(true);
    const refused = (stored: unknown, nowMs = at + 1000) => {
      const r = checkStoredReport(stored, nowMs);
      return 'refused' in r ? r.refused : null;
    };
    const copy = () => JSON.parse(JSON.stringify(auto.report));
    expect(refused({ at, report: copy() }, at + 25 * 3600 * 1000)).toMatch(/older than 24 h/);
    expect(refused({ at: at + 365 * 24 * 3600 * 1000, report: copy() })).toMatch(/in the future/);
    expect(refused({ at: 'yesterday', report: copy() })).toMatch(/no time/);
    const twice = copy();
    twice.candidates.push(twice.candidates[0]);
    expect(refused({ at, report: twice })).toMatch(/listed twice/);
    const listTimings = copy();
    listTimings.ops.matmul.buckets.small.timingsMs = [{ name: 'wasm', ms: 1 }, { name: 'wasm', ms: 2 }];
    expect(refused({ at, report: listTimings })).toMatch(/name -> ms record/);
    const badMs = copy();
    badMs.ops.rope.timingsMs = { loop: -1 };
    expect(refused({ at, report: badMs })).toMatch(/not a duration/);
    const unknownChoice = copy();
    unknownChoice.ops.swiglu.buckets.large.chosen = 'gpu.js nonexistent';
    expect(refused({ at, report: unknownChoice })).toMatch(/not a candidate/);
    const missing = copy();
    delete missing.ops.matmulTN;
    expect(refused({ at, report: missing })).toMatch(/no choice for matmulTN/);
    expect(refused(null)).toMatch(/not an object/);
  });

  it('moves every op off a forced backend whose call takes longer than the limit, and says so', async () => {
    const slow: Backend = { ...ref.referenceBackend, name: 'slow' };
    let sleepMs = 0;
    slow.matmul = (a, b, m, k, n, out) => {
      const until = performance.now() + sleepMs;
      while (performance.now() < until) { /* a slow GPU readback */ }
      return ref.matmul(a, b, m, k, n, out);
    };
    const warn = vi.fn();
    const be = await selectBackend({ force: 'slow', gpujs: false, candidates: [slow], slowCallMs: 20, warn });
    const a = randomFloats(6, 1), b = randomFloats(6, 2);
    be.matmul(a, b, 2, 3, 2);
    expect(be.routeOf('matmul', 'small')).toBe('slow'); // fast enough: stays
    sleepMs = 40;
    expectClose(be.matmul(a, b, 2, 3, 2), ref.matmul(a, b, 2, 3, 2), reduction(3), 'slow call still answered');
    for (const op of OP_NAMES) for (const bucket of BUCKET_NAMES) expect(be.routeOf(op, bucket), `${op} ${bucket}`).not.toBe('slow');
    expect(be.report.fallbacks.at(-1)?.op).toBe('*');
    expect(be.report.fallbacks.at(-1)?.reason).toMatch(/slow took \d+ ms for one matmul call \(limit 20 ms\)/);
    expect(be.report.ops.matmul.buckets.small.fallback).toMatch(/limit 20 ms/);
    expect(warn).toHaveBeenCalledTimes(1);
    be.destroy();
  });

  it('reuses an earlier report without measuring, routing exactly as it chose', async () => {
    const again = await selectBackend({ reuse: JSON.parse(JSON.stringify(auto.report)) });
    expect(again.report.reused).toBe(true);
    for (const op of OP_NAMES) for (const b of BUCKET_NAMES) {
      expect(again.routeOf(op, b)).toBe(auto.routeOf(op, b));
      expect(again.report.ops[op].buckets[b].measured).toBe(false);
    }
    // Only what the earlier report chose is built.
    const chosen = new Set(OP_NAMES.flatMap((op) => BUCKET_NAMES.map((b) => auto.routeOf(op, b))));
    for (const c of again.report.candidates) if (c.name !== 'reference') expect(chosen.has(c.name), c.name).toBe(true);
    again.destroy();
    // A report naming a candidate that does not exist here falls back to the reference.
    const bogus = JSON.parse(JSON.stringify(auto.report));
    bogus.ops.matmul.buckets.small.chosen = 'gpu.js nonexistent';
    const fallback = await selectBackend({ reuse: bogus, warn: () => {} });
    expect(fallback.routeOf('matmul', 'small')).toBe('reference');
    fallback.destroy();
  });

  it('can be forced to one candidate', async () => {
    const forced = await selectBackend({ force: 'reference' });
    for (const op of OP_NAMES) for (const b of BUCKET_NAMES) expect(forced.routeOf(op, b)).toBe('reference');
    expect(forced.report.forced).toBe('reference');
    const webasm = gpuBackends.find((be) => be.mode === 'webasm');
    if (webasm) {
      const f = await selectBackend({ force: 'gpu.js webasm' });
      expect(f.routeOf('matmul', 'small')).toBe('gpu.js webasm');
      f.destroy();
    }
    const warn = vi.fn();
    const missing = await selectBackend({ force: 'no such backend', warn });
    expect(missing.routeOf('matmul', 'small')).toBe('reference');
    expect(missing.report.fallbacks[0]?.reason).toMatch(/no candidate named/);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('falls back to the reference when a chosen kernel throws, records why, and warns once per op', async () => {
    const flaky = flakyCandidate(1000);
    const warnSpy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const be = await selectBackend({ force: 'flaky', gpujs: false, candidates: [flaky] });
      expect(be.routeOf('matmul', 'small')).toBe('flaky');
      const before = flaky.calls;
      const sa = randomFloats(4 * 5, 1), sb = randomFloats(5 * 6, 2);
      expectClose(be.matmul(sa, sb, 4, 5, 6), ref.matmul(sa, sb, 4, 5, 6), reduction(5), 'small via flaky');
      expect(flaky.calls).toBe(before + 1);

      const a = randomFloats(20 * 30, 3), b = randomFloats(30 * 40, 4);
      expectClose(be.matmul(a, b, 20, 30, 40), ref.matmul(a, b, 20, 30, 40), reduction(30), 'large after fallback');
      expect(be.report.fallbacks).toHaveLength(1);
      const f = be.report.fallbacks[0];
      expect(f.op).toBe('matmul');
      expect(f.from).toBe('flaky');
      expect(f.to).toBe('reference');
      expect(f.reason).toMatch(/texture too large/);
      expect(be.report.ops.matmul.buckets.small.fallback).toMatch(/texture too large/);
      expect(warnSpy).toHaveBeenCalledTimes(1);
      expect(String(warnSpy.mock.calls[0][0])).toMatch(/matmul/);

      // from now on matmul runs on the reference, silently
      const calls = flaky.calls;
      be.matmul(a, b, 20, 30, 40);
      be.matmul(sa, sb, 4, 5, 6);
      expect(flaky.calls).toBe(calls);
      for (const bucket of BUCKET_NAMES) expect(be.routeOf('matmul', bucket)).toBe('reference');
      expect(be.routeOf('swiglu', 'small')).toBe('flaky'); // other ops keep their choice
      expect(warnSpy).toHaveBeenCalledTimes(1);
      expect(JSON.parse(JSON.stringify(be.report))).toEqual(be.report);

      // bad arguments are the caller's error, not the candidate's: rethrown, nothing recorded
      expect(() => be.rope(new Float32Array(3), 1, 3, [0], 10000)).toThrow(RangeError);
      expect(be.report.fallbacks).toHaveLength(1);
    } finally {
      warnSpy.mockRestore();
    }
  });
});
