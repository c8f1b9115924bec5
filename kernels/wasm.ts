// The WebAssembly SIMD backend: the ops of kernels/wasm/assembly/simd.ts behind the Backend
// interface. Operands are copied into the instance's memory per call, except
// - arrays marked constant (markConstant: a loaded model's weights), which are copied once, on
//   first use, and kept there until the array itself is garbage-collected;
// - views of this instance's own memory (allocFloats: the KV caches), which are read where they lie.
// Outputs are copied back into `out`. Each createWasmBackend() is a separate instance with its own
// memory (one per thread).
import { attentionOut, type Backend, type FloatBlock, isConstant, outBuffer } from './backend.js';
import { WasmHeap } from './wasm/heap.js';
import { instantiateSimd, type SimdExports } from './wasm/instance.js';

export interface WasmBackend extends Backend {
  /** Copy these arrays into wasm memory now (they must be marked constant: never written again). */
  resident(...arrays: Float32Array[]): void;
  /** Bytes of wasm memory: kept constants, blocks handed out by allocFloats (caches), and the whole memory. */
  memoryReport(): { residentBytes: number; residentArrays: number; blockBytes: number; blocks: number; memoryBytes: number };
  allocFloats(length: number): FloatBlock;
  /** The instance's memory (its buffer is detached and replaced whenever it grows). */
  readonly memory: WebAssembly.Memory;
}

const SMALL = 256; // below this many floats, copy with a loop (no subarray view to allocate)

function need(x: ArrayLike<number>, len: number, what: string): void {
  if (x.length < len) throw new RangeError(`${what} has length ${x.length}, expected at least ${len}`);
}

class Simd implements WasmBackend {
  readonly name = 'wasm';
  readonly #ex: SimdExports;
  readonly #heap: WasmHeap;
  readonly #kept = new WeakMap<Float32Array, number>();
  readonly #freq = new Map<string, number>();
  readonly #registry: FinalizationRegistry<number>;
  readonly #blockRegistry: FinalizationRegistry<{ ptr: number; bytes: number }>;
  #keptBytes = 0;
  #blockBytes = 0;
  #blockCount = 0;
  #keptCount = 0;
  #scratch = 0;
  #scratchBytes = 0;
  #cursor = 0;
  readonly #loc = new Int32Array(3);

  get memory(): WebAssembly.Memory { return this.#ex.memory; }

  constructor(ex: SimdExports) {
    this.#ex = ex;
    this.#heap = new WasmHeap(ex.memory, ex.heapBase());
    this.#registry = new FinalizationRegistry((ptr: number) => {
      this.#heap.free(ptr);
      this.#keptCount--;
    });
    this.#blockRegistry = new FinalizationRegistry(({ ptr, bytes }) => this.#release(ptr, bytes));
  }

  #release(ptr: number, bytes: number): void {
    this.#heap.free(ptr);
    this.#blockBytes -= bytes;
    this.#blockCount--;
  }

  allocFloats(length: number): FloatBlock {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`allocFloats: length ${length} is not a count`);
    const heap = this.#heap, bytes = Math.max(1, length) * 4;
    const ptr = heap.alloc(bytes);
    const held = { ptr, bytes };
    this.#blockBytes += bytes;
    this.#blockCount++;
    let view: Float32Array | null = null, live = true;
    const block: FloatBlock = {
      length,
      array: () => {
        if (!live) throw new Error('FloatBlock: used after free()');
        // a new view only after the memory grew (which detached the old one)
        if (view === null || view.buffer !== heap.buffer) view = new Float32Array(heap.buffer, ptr, length);
        return view;
      },
      free: () => {
        if (!live) return;
        live = false;
        view = null;
        this.#blockRegistry.unregister(block);
        this.#release(ptr, bytes);
      },
    };
    this.#blockRegistry.register(block, held, block);
    return block;
  }

  resident(...arrays: Float32Array[]): void {
    for (const a of arrays) {
      if (!isConstant(a)) throw new Error('wasm.resident: the array is not marked constant (markConstant)');
      this.#keep(a);
    }
  }

  memoryReport(): { residentBytes: number; residentArrays: number; blockBytes: number; blocks: number; memoryBytes: number } {
    return { residentBytes: this.#keptBytes, residentArrays: this.#keptCount, blockBytes: this.#blockBytes, blocks: this.#blockCount, memoryBytes: this.#ex.memory.buffer.byteLength };
  }

  #keep(a: Float32Array): number {
    let p = this.#kept.get(a);
    if (p === undefined) {
      p = this.#heap.alloc(a.length * 4);
      this.#heap.f32.set(a, p >> 2);
      this.#kept.set(a, p);
      this.#registry.register(a, p);
      this.#keptBytes += a.length * 4;
      this.#keptCount++;
    }
    return p;
  }

  /**
   * Where each operand already lies in wasm memory, into #loc[0..2]: a view of this memory (a cache
   * block) where it is, a constant's kept copy, else -1 (then it is copied into scratch). Views are
   * located first: keeping a constant, like #begin, may grow the memory, which detaches every view
   * of it (their offsets stay valid).
   */
  #locate(a: Float32Array, b?: Float32Array, c?: Float32Array): Int32Array {
    const mem = this.#heap.buffer, loc = this.#loc;
    loc[0] = a.buffer === mem ? a.byteOffset : -1;
    loc[1] = b !== undefined && b.buffer === mem ? b.byteOffset : -1;
    loc[2] = c !== undefined && c.buffer === mem ? c.byteOffset : -1;
    if (loc[0] < 0 && isConstant(a)) loc[0] = this.#keep(a);
    if (loc[1] < 0 && b !== undefined && isConstant(b)) loc[1] = this.#keep(b);
    if (loc[2] < 0 && c !== undefined && isConstant(c)) loc[2] = this.#keep(c);
    return loc;
  }

  /** Make room for `floats` floats of per-call operands (16-byte aligned each, up to 6 operands). */
  #begin(floats: number): void {
    const bytes = floats * 4 + 6 * 16;
    if (bytes > this.#scratchBytes) {
      if (this.#scratchBytes > 0) this.#heap.free(this.#scratch);
      const size = Math.max(bytes, this.#scratchBytes * 2, 1 << 16);
      this.#scratch = this.#heap.alloc(size);
      this.#scratchBytes = size;
    }
    this.#cursor = this.#scratch;
  }

  /** Room for `len` floats in scratch; its byte offset. */
  #take(len: number): number {
    const p = this.#cursor;
    this.#cursor += Math.ceil((len * 4) / 16) * 16;
    return p;
  }

  /** Copy the first `len` floats of x into scratch (or use its kept copy, `kept` >= 0). */
  #put(x: Float32Array, len: number, kept = -1): number {
    if (kept >= 0) return kept;
    const p = this.#take(len);
    const f = this.#heap.f32, o = p >> 2;
    if (len <= SMALL) for (let i = 0; i < len; i++) f[o + i] = x[i];
    else f.set(x.length === len ? x : x.subarray(0, len), o);
    return p;
  }

  #get(p: number, out: Float32Array, len: number): Float32Array {
    const f = this.#heap.f32, o = p >> 2;
    if (len <= SMALL) for (let i = 0; i < len; i++) out[i] = f[o + i];
    else out.set(f.subarray(o, o + len));
    return out;
  }

  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    const c = outBuffer(out, m * n, 'matmul');
    if (m * n === 0) return c;
    need(a, m * k, 'matmul: a'); need(b, k * n, 'matmul: b');
    const loc = this.#locate(a, b), ka = loc[0], kb = loc[1];
    this.#begin((ka < 0 ? m * k : 0) + (kb < 0 ? k * n : 0) + m * n);
    const pa = this.#put(a, m * k, ka), pb = this.#put(b, k * n, kb), pc = this.#take(m * n);
    this.#ex.matmul(pa, pb, pc, m, k, n, k, 1);
    return this.#get(pc, c, m * n);
  }

  matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    const c = outBuffer(out, m * n, 'matmulTN');
    if (m * n === 0) return c;
    need(a, m * k, 'matmulTN: a'); need(b, k * n, 'matmulTN: b');
    const loc = this.#locate(a, b), ka = loc[0], kb = loc[1];
    this.#begin((ka < 0 ? m * k : 0) + (kb < 0 ? k * n : 0) + m * n);
    const pa = this.#put(a, m * k, ka), pb = this.#put(b, k * n, kb), pc = this.#take(m * n);
    this.#ex.matmul(pa, pb, pc, m, k, n, 1, m);
    return this.#get(pc, c, m * n);
  }

  matmulT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    const c = outBuffer(out, m * n, 'matmulT');
    if (m * n === 0) return c;
    need(a, m * k, 'matmulT: a'); need(b, n * k, 'matmulT: b');
    const loc = this.#locate(a, b), ka = loc[0], kb = loc[1];
    this.#begin((ka < 0 ? m * k : 0) + (kb < 0 ? k * n : 0) + m * n);
    const pa = this.#put(a, m * k, ka), pb = this.#put(b, n * k, kb), pc = this.#take(m * n);
    this.#ex.matmulT(pa, pb, pc, m, k, n);
    return this.#get(pc, c, m * n);
  }

  softmaxRows(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
    const y = outBuffer(out, rows * cols, 'softmaxRows');
    const len = rows * cols;
    if (len === 0) return y;
    need(x, len, 'softmaxRows: x');
    const kx = this.#locate(x)[0];
    this.#begin((kx < 0 ? len : 0) + len);
    const px = this.#put(x, len, kx), py = this.#take(len);
    this.#ex.softmaxRows(px, py, rows, cols);
    return this.#get(py, y, len);
  }

  rmsNorm(x: Float32Array, weight: Float32Array, rows: number, cols: number, eps: number, out?: Float32Array): Float32Array {
    const y = outBuffer(out, rows * cols, 'rmsNorm');
    const len = rows * cols;
    if (len === 0) return y;
    need(x, len, 'rmsNorm: x'); need(weight, cols, 'rmsNorm: weight');
    const loc = this.#locate(x, weight), kx = loc[0], kw = loc[1];
    this.#begin((kx < 0 ? len : 0) + len + (kw < 0 ? cols : 0));
    const px = this.#put(x, len, kx), pw = this.#put(weight, cols, kw), py = this.#take(len);
    this.#ex.rmsNorm(px, pw, py, rows, cols, eps);
    return this.#get(py, y, len);
  }

  rope(x: Float32Array, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out?: Float32Array): Float32Array {
    if (dim % 2 !== 0) throw new RangeError(`rope: dim ${dim} must be even`);
    const y = outBuffer(out, rows * dim, 'rope');
    const len = rows * dim;
    if (len === 0) return y;
    need(x, len, 'rope: x'); need(positions, rows, 'rope: positions');
    const pf = this.#invFreq(dim, theta);
    const kx = this.#locate(x)[0];
    this.#begin((kx < 0 ? len : 0) + len + 2 * rows);
    const px = this.#put(x, len, kx), py = this.#take(len), pp = this.#take(2 * rows);
    const f64 = this.#heap.f64, o = pp >> 3;
    for (let r = 0; r < rows; r++) f64[o + r] = positions[r];
    this.#ex.rope(px, py, rows, dim, pp, pf);
    return this.#get(py, y, len);
  }

  /** theta^(-2i/dim) in float64, kept in wasm memory per (dim, theta). */
  #invFreq(dim: number, theta: number): number {
    const key = `${dim}:${theta}`;
    let p = this.#freq.get(key);
    if (p === undefined) {
      p = this.#heap.alloc((dim / 2) * 8);
      const f64 = this.#heap.f64;
      for (let i = 0; i < dim / 2; i++) f64[(p >> 3) + i] = Math.pow(theta, (-2 * i) / dim);
      this.#freq.set(key, p);
    }
    return p;
  }

  swiglu(gate: Float32Array, up: Float32Array, n: number, out?: Float32Array): Float32Array {
    const y = outBuffer(out, n, 'swiglu');
    if (n === 0) return y;
    need(gate, n, 'swiglu: gate'); need(up, n, 'swiglu: up');
    const loc = this.#locate(gate, up), kg = loc[0], ku = loc[1];
    this.#begin((kg < 0 ? n : 0) + (ku < 0 ? n : 0) + n);
    const pg = this.#put(gate, n, kg), pu = this.#put(up, n, ku), py = this.#take(n);
    this.#ex.swiglu(pg, pu, py, n);
    return this.#get(py, y, n);
  }

  causalAttention(
    q: Float32Array, k: Float32Array, v: Float32Array,
    nq: number, nk: number, dk: number, dv: number,
    scale: number, offset: number,
    out?: Float32Array, weights?: Float32Array,
  ): Float32Array {
    const o = attentionOut(out, weights, nq, nk, dv);
    if (nq === 0) return o;
    if (nk === 0 || dv === 0) return o.fill(0);
    need(q, nq * dk, 'causalAttention: q'); need(k, nk * dk, 'causalAttention: k'); need(v, nk * dv, 'causalAttention: v');
    const loc = this.#locate(q, k, v), kq = loc[0], kk = loc[1], kv = loc[2];
    this.#begin((kq < 0 ? nq * dk : 0) + (kk < 0 ? nk * dk : 0) + (kv < 0 ? nk * dv : 0) + nq * dv + (weights ? nq * nk : 0) + 2 * nk);
    const pq = this.#put(q, nq * dk, kq), pk = this.#put(k, nk * dk, kk), pv = this.#put(v, nk * dv, kv);
    const po = this.#take(nq * dv), pw = weights ? this.#take(nq * nk) : 0, ps = this.#take(2 * nk);
    this.#ex.causalAttention(pq, pk, pv, po, pw, ps, nq, nk, dk, dv, scale, offset);
    if (weights) this.#get(pw, weights, nq * nk);
    return this.#get(po, o, nq * dv);
  }
}

/** A new instance of the SIMD kernels (its own memory). Rejects where WebAssembly SIMD is missing. */
export async function createWasmBackend(): Promise<WasmBackend> {
  return new Simd(await instantiateSimd());
}
