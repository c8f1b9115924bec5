// The WebAssembly SIMD backend (kernels/wasm.ts) against the float64 reference, on random shapes
// (fast-check) and the edge shapes of its blocked kernels: n not a multiple of 4 or 8, one row,
// k = 1, rows left over after 4-row blocks. Tolerances as in kernels.test.ts: a length-k float32
// reduction is allowed (1e-5 + 1e-5|want|) sqrt(k), about 100x its expected rounding error, while
// an indexing or masking bug moves results by ~0.1.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import * as ref from '../kernels/reference.js';
import { markConstant } from '../kernels/backend.js';
import { createWasmBackend, type WasmBackend } from '../kernels/wasm.js';
import { WasmHeap } from '../kernels/wasm/heap.js';
import { randomFloats } from '../kernels/select.js';
import { SIMD_WASM_SOURCE_SHA256 } from '../kernels/wasm/simd-bytes.js';
import { sourceHash } from '../scripts/build-wasm.mjs';
import { repoRoot } from './helpers/paths.js';

const BASE = 1e-5;
const U = 2 ** -24;
const reduction = (k: number) => (w: number) => (BASE + BASE * Math.abs(w)) * Math.sqrt(Math.max(1, k));
const elementwise = (w: number) => BASE + BASE * Math.abs(w);

function expectClose(got: Float32Array, want: Float32Array, tol: (w: number) => number, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol(want[i]))) {
      expect.fail(`${what}: index ${i}: got ${got[i]}, reference ${want[i]}, tol ${tol(want[i])}`);
    }
  }
}

const dim = (max: number) => fc.integer({ min: 1, max });
const seed = fc.integer({ min: 0, max: 1 << 20 });
const RUNS = 40;

let be: WasmBackend;
beforeAll(async () => {
  be = await createWasmBackend();
});

describe('the compiled kernels', () => {
  it('simd-bytes.ts was built from the current assembly source (npm run build-wasm rebuilds it)', () => {
    expect(SIMD_WASM_SOURCE_SHA256).toBe(sourceHash());
    expect(readFileSync(path.join(repoRoot, 'kernels/wasm/simd-bytes.ts'), 'utf8')).toMatch(/^\/\/ GENERATED/);
  });

  it('each instance has its own memory (one per thread)', async () => {
    const other = await createWasmBackend();
    const a = randomFloats(6, 1), b = randomFloats(6, 2);
    expectClose(other.matmul(a, b, 2, 3, 2), ref.matmul(a, b, 2, 3, 2), reduction(3), 'second instance');
    expect(other.memoryReport().memoryBytes).toBeGreaterThan(0);
  });
});

describe('in worker threads', () => {
  it('instantiates in each worker on its own (one instance and memory per thread) and computes what the reference computes', async () => {
    // Bundled as a plain .mjs first, as the trainer's workers are (no TypeScript loader in a worker).
    const dir = mkdtempSync(path.join(tmpdir(), 'nanoseek-wasm-worker-'));
    try {
      const outfile = path.join(dir, 'worker.mjs');
      await build({
        stdin: {
          contents: `import { parentPort, workerData } from 'node:worker_threads';
import { createWasmBackend } from ${JSON.stringify(path.join(repoRoot, 'kernels/wasm.ts'))};
const be = await createWasmBackend();
const { a, b, m, k, n } = workerData;
parentPort.postMessage({ c: be.matmulT(a, b, m, k, n), memory: be.memoryReport().memoryBytes });`,
          resolveDir: repoRoot, loader: 'ts',
        },
        bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'silent',
      });
      const m = 5, k = 37, n = 11;
      const a = randomFloats(m * k, 21), b = randomFloats(n * k, 22);
      const run = () => new Promise<{ c: Float32Array; memory: number }>((resolve, reject) => {
        const w = new Worker(outfile, { workerData: { a, b, m, k, n }, execArgv: [] });
        w.once('message', (msg) => { resolve(msg); void w.terminate(); });
        w.once('error', reject);
      });
      const [x, y] = await Promise.all([run(), run()]);
      const want = ref.matmulT(a, b, m, k, n);
      expectClose(x.c, want, reduction(k), 'worker 1');
      expectClose(y.c, want, reduction(k), 'worker 2');
      expect(x.memory).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parity with the reference', () => {
  // shapes reaching every block: 4x8, 4x4 and scalar column tails, leftover rows, 2x4 and single-row A·Bᵀ
  // long k and wide n too (k 257-300, n 150)
  const EDGE = [[1, 1, 1], [1, 7, 1], [5, 1, 3], [3, 5, 7], [4, 9, 8], [4, 3, 12], [17, 33, 9], [1, 33, 19], [2, 9, 13], [6, 5, 11], [9, 64, 31], [1, 130, 67], [8, 300, 20], [5, 257, 13], [7, 40, 150], [4, 129, 65]];
  it.each(['matmul', 'matmulT', 'matmulTN'] as const)('%s', (op) => {
    const check = (m: number, k: number, n: number, s: number): void => {
      const a = randomFloats(m * k, s), b = randomFloats(k * n, s + 1);
      expectClose(be[op](a, b, m, k, n), ref[op](a, b, m, k, n), reduction(k), `${op} ${m}x${k}x${n}`);
    };
    for (const [m, k, n] of EDGE) check(m, k, n, m + k + n);
    fc.assert(fc.property(dim(24), dim(70), dim(40), seed, (m, k, n, s) => check(m, k, n, s)), { numRuns: RUNS });
  });

  it('fills a given out buffer, rejects one of the wrong length and operands too short', () => {
    const a = randomFloats(12, 5), b = randomFloats(20, 6), out = new Float32Array(15);
    expect(be.matmul(a, b, 3, 4, 5, out)).toBe(out);
    expectClose(out, ref.matmul(a, b, 3, 4, 5), reduction(4), 'out');
    expect(() => be.matmul(a, b, 3, 4, 5, new Float32Array(14))).toThrow(RangeError);
    expect(() => be.matmulT(a.subarray(0, 11), b, 3, 4, 5)).toThrow(/matmulT: a/);
  });

  it('softmaxRows', () => {
    fc.assert(fc.property(dim(9), dim(70), seed, fc.constantFrom(1, 8, 30), (rows, cols, s, scale) => {
      const x = randomFloats(rows * cols, s).map((v) => v * scale);
      expectClose(be.softmaxRows(x, rows, cols), ref.softmaxRows(x, rows, cols), reduction(cols), `softmax ${rows}x${cols}`);
    }), { numRuns: RUNS });
  });

  it('rmsNorm', () => {
    fc.assert(fc.property(dim(9), dim(70), seed, fc.constantFrom(1e-6, 1e-2), (rows, cols, s, eps) => {
      const x = randomFloats(rows * cols, s), w = randomFloats(cols, s + 1);
      expectClose(be.rmsNorm(x, w, rows, cols, eps), ref.rmsNorm(x, w, rows, cols, eps), reduction(cols), `rmsNorm ${rows}x${cols}`);
    }), { numRuns: RUNS });
  });

  it('rope (interleaved pairs)', () => {
    fc.assert(fc.property(dim(9), fc.integer({ min: 1, max: 20 }), seed, fc.integer({ min: 0, max: 4096 }), fc.constantFrom(10000, 500),
      (rows, half, s, maxPos, theta) => {
        const d = 2 * half;
        const x = randomFloats(rows * d, s);
        const pos = Array.from({ length: rows }, (_, r) => Math.round((maxPos * r) / Math.max(1, rows - 1)));
        const tol = (w: number) => elementwise(w) + 4 * U * maxPos;
        expectClose(be.rope(x, rows, d, pos, theta), ref.rope(x, rows, d, pos, theta), tol, `rope ${rows}x${d}`);
      }), { numRuns: RUNS });
    expect(() => be.rope(new Float32Array(3), 1, 3, [0], 10000)).toThrow(RangeError);
  });

  it('swiglu', () => {
    fc.assert(fc.property(dim(300), seed, (n, s) => {
      const g = randomFloats(n, s).map((v) => v * 10), u = randomFloats(n, s + 1);
      expectClose(be.swiglu(g, u, n), ref.swiglu(g, u, n), elementwise, `swiglu ${n}`);
    }), { numRuns: RUNS });
  });

  it('causalAttention (output and weights, rows with no visible key)', () => {
    fc.assert(fc.property(dim(9), dim(12), dim(20), dim(20), fc.integer({ min: -3, max: 12 }), seed, (nq, nk, dk, dv, offset, s) => {
      const q = randomFloats(nq * dk, s), k = randomFloats(nk * dk, s + 1), v = randomFloats(nk * dv, s + 2);
      const scale = 1 / Math.sqrt(dk);
      const wg = new Float32Array(nq * nk).fill(7), wr = new Float32Array(nq * nk);
      const og = be.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, undefined, wg);
      const or = ref.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, undefined, wr);
      const tol = reduction(dk + nk);
      const what = `attention nq=${nq} nk=${nk} dk=${dk} dv=${dv} offset=${offset}`;
      expectClose(og, or, tol, what);
      expectClose(wg, wr, tol, `${what} weights`);
    }), { numRuns: RUNS });
  });
});

describe('operands kept in wasm memory', () => {
  it('a constant operand is copied once and reused; an unmarked one is read afresh on every call', () => {
    const w = randomFloats(16 * 24, 3);
    markConstant(w);
    const before = be.memoryReport();
    const x = randomFloats(3 * 24, 4);
    expectClose(be.matmulT(x, w, 3, 24, 16), ref.matmulT(x, w, 3, 24, 16), reduction(24), 'constant weight');
    const after = be.memoryReport();
    expect(after.residentArrays).toBe(before.residentArrays + 1);
    expect(after.residentBytes - before.residentBytes).toBe(w.length * 4);
    be.matmulT(x, w, 3, 24, 16);
    expect(be.memoryReport().residentArrays).toBe(after.residentArrays);
    // an unmarked array changed in place between calls (a KV cache, trained weights) is seen changed
    const cache = randomFloats(16 * 24, 5);
    be.matmulT(x, cache, 3, 24, 16);
    cache.fill(0.5);
    expectClose(be.matmulT(x, cache, 3, 24, 16), ref.matmulT(x, cache, 3, 24, 16), reduction(24), 'updated unmarked operand');
    expect(() => be.resident(randomFloats(4, 1))).toThrow(/not marked constant/);
  });
});

describe('WasmHeap', () => {
  it('reuses freed blocks, merges neighbours and grows memory when nothing fits', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = new WasmHeap(memory, 8);
    const a = heap.alloc(100), b = heap.alloc(10), c = heap.alloc(40000);
    expect(a % 16).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 100);
    expect(c).toBeGreaterThanOrEqual(b + 10);
    const big = heap.alloc(200000); // beyond the first 64 KiB page
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big + 200000);
    heap.free(a);
    heap.free(b); // merged with a: a block of 128 at a
    expect(heap.alloc(120)).toBe(a);
    expect(() => heap.free(a + 4)).toThrow(/not an allocated block/);
    expect(heap.used).toBe(Math.ceil(120 / 16) * 16 + Math.ceil(40000 / 16) * 16 + 200000);
  });
});
