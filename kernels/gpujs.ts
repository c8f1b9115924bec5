// The accelerated face of the Backend: every op as gpu.js kernels, in one gpu.js mode
// ('webgl2', 'webgl', 'webasm', 'cpu', 'headlessgl'; 'webgpu' is probed but refused, see below).
//
// How the kernels are written, and why:
// - Kernel sources are string literals, not functions. gpu.js parses `fn.toString()`, and a bundler
//   or test transform (esbuild's keepNames `__name(...)`, coverage counters, minifiers) can rewrite a
//   function's text; a string reaches gpu.js byte for byte in Node, vitest and a Vite bundle alike.
// - Every array is passed flat (a row-major Float32Array) and indexed by hand, so the kernels never
//   depend on gpu.js's nested-array conventions; shapes are kernel *constants*. gpu.js bakes
//   constants into the generated code (GLSL loop bounds must be constant; the webasm backend bakes
//   every offset into its bytecode anyway), so one compiled kernel serves one shape, and kernels
//   are cached per (op, shape) in a small LRU: repeated calls at a shape never recompile.
// - Row reductions (softmax, RMSNorm, attention) run as two passes: one thread per row computes the
//   row statistic, then one thread per element applies it. A single per-element kernel would
//   recompute the row reduction in every thread (cols times the work), which a GPU hides and the
//   webasm/cpu backends pay in full.
// - float32 everywhere (`precision: 'single'`, `tactic: 'precision'` so GLSL uses highp).
// - gpu.js silently degrades a kernel it cannot build to its cpu backend. That would make
//   "gpu.js webasm" secretly be gpu.js cpu, so after the first run of each kernel the mode that
//   actually ran is checked and a degraded kernel throws (the selector then falls back and says why).
//
// WebGPU: gpu.js's webgpu kernels always return a Promise (there is no synchronous readback), and
// the Backend interface is synchronous, so that mode cannot implement it. createGpuJsBackend('webgpu')
// throws a GpuJsUnavailableError saying so (and whether an adapter answered), which the selector
// records as the candidate's reason.
//
// gpu.js is imported lazily (dynamic import) so a page that merely imports this module does not
// load gpu.js at build or prerender time.
import { attentionOut, type Backend, outBuffer } from './backend.js';
import * as loop from './loop.js';
import * as ref from './reference.js';

/** Modes of gpu.js 2.24 that can run a kernel (its 'gpu'/'async' modes are auto-pickers, 'dev' a mock). */
export const GPUJS_MODES = ['webgpu', 'webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu'] as const;
export type GpuJsMode = (typeof GPUJS_MODES)[number];

// ---- a narrow view of the gpu.js API this file uses (its own .d.ts does not type kernel.kernel) ----

interface GpuJsKernelSettings {
  output: number[];
  constants?: Record<string, number>;
  precision?: 'single' | 'unsigned';
  tactic?: 'speed' | 'balanced' | 'precision';
  loopMaxIterations?: number;
  dynamicOutput?: boolean;
  dynamicArguments?: boolean;
}

/** A compiled gpu.js kernel as `createKernel` returns it (the "run shortcut"). */
interface GpuJsKernel {
  (...args: unknown[]): unknown;
  /** The backend kernel currently behind the shortcut (replaced on fallback). */
  readonly kernel?: { readonly constructor: { readonly mode?: string }; readonly fallbackReason?: string | null };
  destroy(removeCanvasReferences?: boolean): void;
}

interface GpuJsInstance {
  readonly mode: string;
  createKernel(source: string, settings: GpuJsKernelSettings): GpuJsKernel;
  destroy(): Promise<void> | void;
}

/** The parts of gpu.js's `GPU` class used here. */
export interface GpuJsClass {
  new (settings: { mode: string }): GpuJsInstance;
  isWebGPUAvailable(): Promise<boolean>;
  readonly isWebGPUSupported: boolean;
}

let gpuJsPromise: Promise<GpuJsClass> | null = null;

/**
 * The WebGL renderer's name when it is a software rasteriser (SwiftShader, llvmpipe, ...), which
 * runs shaders on the CPU; null where there is a hardware device, or no WebGL to ask (Node). Read
 * without gpu.js, so a page on a machine with no GPU need not download gpu.js at all.
 */
export function softwareRenderer(): string | null {
  const d = graphicsDevice();
  return d.kind === 'software' ? d.renderer : null;
}

/**
 * What WebGL runs on here: 'hardware' (a GPU gpu.js may win on), 'software' (a rasteriser on the
 * CPU, with its name) or 'none' (no WebGL to ask: Node, or a browser without it). Read without
 * gpu.js.
 */
export function graphicsDevice(): { kind: 'hardware' | 'none' } | { kind: 'software'; renderer: string } {
  const g = globalThis as { document?: { createElement(tag: string): unknown }; OffscreenCanvas?: new (w: number, h: number) => unknown };
  let canvas: { getContext(kind: string): unknown } | null = null;
  try {
    if (g.OffscreenCanvas) canvas = new g.OffscreenCanvas(1, 1) as { getContext(kind: string): unknown };
    else if (g.document) canvas = g.document.createElement('canvas') as { getContext(kind: string): unknown };
  } catch {
    return { kind: 'none' };
  }
  if (!canvas) return { kind: 'none' };
  type GL = { RENDERER: number; getParameter(p: number): unknown; getExtension(name: string): { UNMASKED_RENDERER_WEBGL?: number; loseContext?(): void } | null };
  let gl: GL | null = null;
  try {
    gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as GL | null;
  } catch {
    return { kind: 'none' };
  }
  if (!gl) return { kind: 'none' };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info?.UNMASKED_RENDERER_WEBGL ?? gl.RENDERER) ?? '');
  gl.getExtension('WEBGL_lose_context')?.loseContext?.();
  return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer) ? { kind: 'software', renderer } : { kind: 'hardware' };
}

/**
 * Load gpu.js once (lazily). In Node it is the CommonJS build (named export `GPU`); in a browser
 * bundle it is the UMD build whose export *is* the GPU class (with `GPU.GPU === GPU`).
 */
export function loadGpuJs(): Promise<GpuJsClass> {
  if (!gpuJsPromise) {
    gpuJsPromise = import('gpu.js').then((mod: unknown) => {
      const m = mod as { GPU?: unknown; default?: { GPU?: unknown } | unknown };
      const def = m.default as { GPU?: unknown } | undefined;
      const GPU = (m.GPU ?? def?.GPU ?? def) as GpuJsClass | undefined;
      if (typeof GPU !== 'function') throw new Error('gpu.js loaded but exports no GPU class');
      return GPU;
    });
    gpuJsPromise.catch(() => { gpuJsPromise = null; });
  }
  return gpuJsPromise;
}

/** Thrown when a mode cannot serve as a synchronous Backend here (unsupported, async-only, degraded). */
export class GpuJsUnavailableError extends Error {
  override readonly name = 'GpuJsUnavailableError';
}

// ---- kernel sources (strings on purpose, see the header) ----
// Conventions: 2-D outputs are [width = cols, height = rows], so this.thread.x is the column and
// this.thread.y the row; constants carry the shape.

const SRC = {
  // C[y][x] = sum_p A[y][p] B[p][x]
  matmul: `function (a, b) {
  let s = 0;
  for (let p = 0; p < this.constants.k; p++) {
    s += a[this.thread.y * this.constants.k + p] * b[p * this.constants.n + this.thread.x];
  }
  return s;
}`,
  // C[y][x] = sum_p A[y][p] B[x][p]
  matmulT: `function (a, b) {
  let s = 0;
  for (let p = 0; p < this.constants.k; p++) {
    s += a[this.thread.y * this.constants.k + p] * b[this.thread.x * this.constants.k + p];
  }
  return s;
}`,
  // Output [2, rows]: column 0 = row max, column 1 = sum of exp(x - max).
  softmaxStats: `function (x) {
  const o = this.thread.y * this.constants.cols;
  let m = x[o];
  for (let j = 1; j < this.constants.cols; j++) {
    m = Math.max(m, x[o + j]);
  }
  if (this.thread.x === 0) {
    return m;
  }
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) {
    s += Math.exp(x[o + j] - m);
  }
  return s;
}`,
  softmaxApply: `function (x, stats) {
  const r = this.thread.y;
  return Math.exp(x[r * this.constants.cols + this.thread.x] - stats[r * 2]) / stats[r * 2 + 1];
}`,
  // Output [rows]: 1 / sqrt(mean(x^2) + eps).
  rmsInv: `function (x) {
  const o = this.thread.x * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) {
    const v = x[o + j];
    s += v * v;
  }
  return 1 / Math.sqrt(s / this.constants.cols + this.constants.eps);
}`,
  rmsApply: `function (x, w, inv) {
  return w[this.thread.x] * (x[this.thread.y * this.constants.cols + this.thread.x] * inv[this.thread.y]);
}`,
  // Interleaved pairs; invFreq[i] = theta^(-2i/dim) computed on the host in float64.
  // cos/sin are computed here, not with Math.cos/Math.sin: GPU built-ins are loosely specified
  // (SwiftShader's are off by ~2e-4 even on small arguments) and webasm calls out to JS for them.
  // Cody-Waite reduction by pi/2 (three-part constant, so q * part is exact in float32 for
  // |angle| < ~1e5), then the float32 minimax polynomials of Cephes' sinf/cosf on [-pi/4, pi/4]:
  // about 1 ulp, plus the float32 rounding of the angle itself (~|angle| * 2^-24).
  rope: `function (x, pos, invFreq) {
  const c = this.thread.x;
  const i = Math.floor(c / 2);
  const base = this.thread.y * this.constants.dim + 2 * i;
  const angle = pos[this.thread.y] * invFreq[i];
  const q = Math.floor(angle * 0.6366197723675814 + 0.5);
  const r = ((angle - q * 1.5703125) - q * 0.0004837512969970703) - q * 0.00000007549789954891882;
  const r2 = r * r;
  const sr = r + r * r2 * (-0.16666654611 + r2 * (0.0083321608736 + r2 * -0.00019515295891));
  const cr = 1 - 0.5 * r2 + r2 * r2 * (0.04166664568298827 + r2 * (-0.001388731625493765 + r2 * 0.00002443315711809948));
  const quadrant = q - 4 * Math.floor(q / 4);
  let co = cr;
  let si = sr;
  if (quadrant === 1) {
    co = -sr;
    si = cr;
  } else if (quadrant === 2) {
    co = -cr;
    si = -sr;
  } else if (quadrant === 3) {
    co = sr;
    si = -cr;
  }
  const x0 = x[base];
  const x1 = x[base + 1];
  if (c - 2 * i === 0) {
    return x0 * co - x1 * si;
  }
  return x0 * si + x1 * co;
}`,
  swiglu: `function (g, u) {
  const v = g[this.thread.x];
  return v / (1 + Math.exp(-v)) * u[this.thread.x];
}`,
  // Output [nk, nq]: scaled scores where visible (key x <= offset + query y), else 0 (never read).
  attnScores: `function (q, k) {
  if (this.thread.x > this.constants.offset + this.thread.y) {
    return 0;
  }
  let s = 0;
  for (let p = 0; p < this.constants.dk; p++) {
    s += q[this.thread.y * this.constants.dk + p] * k[this.thread.x * this.constants.dk + p];
  }
  return s * this.constants.scale;
}`,
  // Output [2, nq]: max and sum of exp over the visible keys of each query row (max -1e30 and sum 0
  // when nothing is visible; the apply kernel then writes zeros).
  attnStats: `function (s) {
  const r = this.thread.y;
  const o = r * this.constants.nk;
  const last = Math.min(this.constants.nk - 1, this.constants.offset + r);
  let m = -1e30;
  for (let j = 0; j < this.constants.nk; j++) {
    if (j <= last) {
      m = Math.max(m, s[o + j]);
    }
  }
  if (this.thread.x === 0) {
    return m;
  }
  let t = 0;
  for (let j = 0; j < this.constants.nk; j++) {
    if (j <= last) {
      t += Math.exp(s[o + j] - m);
    }
  }
  return t;
}`,
  attnWeights: `function (s, stats) {
  const r = this.thread.y;
  if (this.thread.x > this.constants.offset + r) {
    return 0;
  }
  return Math.exp(s[r * this.constants.nk + this.thread.x] - stats[r * 2]) / stats[r * 2 + 1];
}`,
  // Output [dv, nq]: sum over visible keys of weight * v.
  attnOut: `function (w, v) {
  const r = this.thread.y;
  const last = Math.min(this.constants.nk - 1, this.constants.offset + r);
  let s = 0;
  for (let j = 0; j < this.constants.nk; j++) {
    if (j <= last) {
      s += w[r * this.constants.nk + j] * v[j * this.constants.dv + this.thread.x];
    }
  }
  return s;
}`,
} as const;

type KernelName = keyof typeof SRC;

export interface GpuJsBackendOptions {
  /** Most compiled kernels kept alive per backend (least recently used are destroyed). Default 64. */
  cacheLimit?: number;
  /** Supply the gpu.js GPU class instead of importing it (e.g. a page that loaded the UMD build). */
  GPU?: GpuJsClass;
}

/** A Backend running on gpu.js, plus housekeeping. */
export interface GpuJsBackend extends Backend {
  /** The gpu.js mode asked for (and verified to be the one running). */
  readonly mode: GpuJsMode;
  /** Compiled kernels currently cached. */
  readonly kernelCount: number;
  /** Kernels compiled since construction (a cache miss each). */
  readonly compileCount: number;
  /** Release every kernel and the gpu.js instance; the backend must not be used afterwards. */
  destroy(): void;
}

function isMode(mode: string): mode is GpuJsMode {
  return (GPUJS_MODES as readonly string[]).includes(mode);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Exactly `length` elements of `x` (a view when longer), or a RangeError when it is too short. */
function exact(x: Float32Array, length: number, what: string): Float32Array {
  if (x.length === length) return x;
  if (x.length < length) throw new RangeError(`${what} has length ${x.length}, expected at least ${length}`);
  return x.subarray(0, length);
}

/** Copy a gpu.js result (a Float32Array, or rows of them) into `out` as rows x cols. */
function store(result: unknown, out: Float32Array, rows: number, cols: number, op: string): Float32Array {
  if (result instanceof Float32Array) {
    if (result.length < rows * cols) throw new Error(`${op}: gpu.js returned ${result.length} values, expected ${rows * cols}`);
    out.set(result.length === out.length ? result : result.subarray(0, rows * cols));
    return out;
  }
  if (Array.isArray(result) && result.length === rows) {
    for (let r = 0; r < rows; r++) {
      const row = result[r] as ArrayLike<number> | undefined;
      if (!row || row.length !== cols) throw new Error(`${op}: gpu.js returned a malformed row ${r}`);
      out.set(row, r * cols);
    }
    return out;
  }
  throw new Error(`${op}: gpu.js returned an unexpected result (${Object.prototype.toString.call(result)})`);
}

/** A gpu.js 2-D result (rows of Float32Array) as one flat array, copying only when needed. */
function flat(result: unknown, rows: number, cols: number, op: string): Float32Array {
  if (result instanceof Float32Array && result.length === rows * cols) return result;
  // Rows that are consecutive views of one buffer (webasm, cpu) are already flat.
  if (Array.isArray(result) && result.length === rows && rows > 0) {
    const first = result[0] as unknown;
    const last = result[rows - 1] as unknown;
    if (first instanceof Float32Array && last instanceof Float32Array && first.buffer === last.buffer &&
        last.byteOffset - first.byteOffset === (rows - 1) * cols * 4 && first.length === cols) {
      return new Float32Array(first.buffer, first.byteOffset, rows * cols);
    }
  }
  return store(result, new Float32Array(rows * cols), rows, cols, op);
}

const invFreqCache = new Map<string, Float32Array>();
function invFreq(dim: number, theta: number): Float32Array {
  const key = `${dim}:${theta}`;
  let f = invFreqCache.get(key);
  if (!f) {
    f = new Float32Array(dim / 2);
    for (let i = 0; i < dim / 2; i++) f[i] = Math.pow(theta, (-2 * i) / dim);
    if (invFreqCache.size > 64) invFreqCache.clear();
    invFreqCache.set(key, f);
  }
  return f;
}

/**
 * Build a Backend whose ops run as gpu.js kernels in `mode`. Rejects with GpuJsUnavailableError when
 * the mode is unknown, unsupported here, or cannot serve a synchronous Backend (webgpu).
 */
export async function createGpuJsBackend(mode: string, options: GpuJsBackendOptions = {}): Promise<GpuJsBackend> {
  if (!isMode(mode)) throw new GpuJsUnavailableError(`unknown gpu.js mode "${mode}" (known: ${GPUJS_MODES.join(', ')})`);
  const GPU = options.GPU ?? (await loadGpuJs());
  if (mode === 'webgpu') {
    let adapter = false;
    try {
      adapter = GPU.isWebGPUSupported && (await GPU.isWebGPUAvailable());
    } catch {
      adapter = false;
    }
    throw new GpuJsUnavailableError(adapter
      ? 'a WebGPU adapter answered, but gpu.js webgpu kernels return Promises and the Backend interface is synchronous'
      : 'no WebGPU adapter here (navigator.gpu absent or requestAdapter() gave null); gpu.js webgpu kernels are also async-only');
  }
  let gpu: GpuJsInstance;
  try {
    gpu = new GPU({ mode });
  } catch (e) {
    throw new GpuJsUnavailableError(`gpu.js mode "${mode}" does not construct here: ${message(e)}`);
  }
  if (gpu.mode !== mode) {
    void gpu.destroy();
    throw new GpuJsUnavailableError(`gpu.js answered mode "${gpu.mode}" when asked for "${mode}"`);
  }
  return new GpuJsBackendImpl(gpu, mode, options.cacheLimit ?? 64);
}

class GpuJsBackendImpl implements GpuJsBackend {
  readonly name: string;
  compileCount = 0;
  #gpu: GpuJsInstance | null;
  #cache = new Map<string, GpuJsKernel>();
  #verified = new WeakSet<GpuJsKernel>();
  #limit: number;

  constructor(gpu: GpuJsInstance, readonly mode: GpuJsMode, cacheLimit: number) {
    this.#gpu = gpu;
    this.name = `gpu.js ${mode}`;
    this.#limit = Math.max(4, cacheLimit);
  }

  get kernelCount(): number {
    return this.#cache.size;
  }

  destroy(): void {
    for (const k of this.#cache.values()) {
      try { k.destroy(); } catch { /* already gone */ }
    }
    this.#cache.clear();
    const gpu = this.#gpu;
    this.#gpu = null;
    if (gpu) {
      try {
        const p = gpu.destroy();
        if (p && typeof (p as Promise<void>).catch === 'function') (p as Promise<void>).catch(() => {});
      } catch { /* ignore */ }
    }
  }

  /** The kernel for `name` at these constants/output, compiled on first use. */
  #kernel(name: KernelName, output: number[], constants: Record<string, number>): GpuJsKernel {
    const gpu = this.#gpu;
    if (!gpu) throw new Error(`${this.name} was destroyed`);
    const key = `${name}|${output.join('x')}|${Object.keys(constants).map((c) => `${c}=${constants[c]}`).join(',')}`;
    let k = this.#cache.get(key);
    if (k) {
      this.#cache.delete(key);
      this.#cache.set(key, k);
      return k;
    }
    k = gpu.createKernel(SRC[name], {
      output,
      constants,
      precision: 'single',
      tactic: 'precision',
      dynamicOutput: false,
      dynamicArguments: false,
    });
    this.compileCount++;
    this.#cache.set(key, k);
    while (this.#cache.size > this.#limit) {
      const [oldKey, old] = this.#cache.entries().next().value as [string, GpuJsKernel];
      this.#cache.delete(oldKey);
      try { old.destroy(); } catch { /* ignore */ }
    }
    return k;
  }

  /** Run a kernel; on its first run check gpu.js did not silently swap in another backend. */
  #run(name: KernelName, output: number[], constants: Record<string, number>, args: unknown[]): unknown {
    const k = this.#kernel(name, output, constants);
    const result = k(...args);
    if (!this.#verified.has(k)) {
      // gpu.js's GL kernels all call their mode 'gpu'; a degraded kernel is a CPUKernel ('cpu').
      const actual = k.kernel?.constructor.mode;
      const gl = this.mode === 'webgl2' || this.mode === 'webgl' || this.mode === 'headlessgl';
      if (actual !== undefined && actual !== this.mode && !(gl && actual === 'gpu')) {
        const why = k.kernel?.fallbackReason;
        throw new Error(`gpu.js ran kernel ${name} on "${actual}" instead of "${this.mode}"${why ? `: ${why}` : ''}`);
      }
      if (result && typeof (result as { then?: unknown }).then === 'function') {
        throw new Error(`gpu.js kernel ${name} returned a Promise; the Backend interface is synchronous`);
      }
      this.#verified.add(k);
    }
    return result;
  }

  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    const c = outBuffer(out, m * n, 'matmul');
    if (m * n === 0) return c;
    if (k === 0) return c.fill(0);
    const r = this.#run('matmul', [n, m], { k, n }, [exact(a, m * k, 'matmul: a'), exact(b, k * n, 'matmul: b')]);
    return store(r, c, m, n, 'matmul');
  }

  matmulT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    const c = outBuffer(out, m * n, 'matmulT');
    if (m * n === 0) return c;
    if (k === 0) return c.fill(0);
    const r = this.#run('matmulT', [n, m], { k }, [exact(a, m * k, 'matmulT: a'), exact(b, n * k, 'matmulT: b')]);
    return store(r, c, m, n, 'matmulT');
  }

  // The weight gradient runs on the CPU loop: it is a training-only op and the trainer calls it
  // on the CPU anyway (no GL readback per step).
  matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    return loop.matmulTN(a, b, m, k, n, out);
  }

  softmaxRows(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
    const y = outBuffer(out, rows * cols, 'softmaxRows');
    if (rows * cols === 0) return y;
    const xs = exact(x, rows * cols, 'softmaxRows: x');
    const stats = flat(this.#run('softmaxStats', [2, rows], { cols }, [xs]), rows, 2, 'softmaxRows');
    const r = this.#run('softmaxApply', [cols, rows], { cols }, [xs, stats]);
    return store(r, y, rows, cols, 'softmaxRows');
  }

  rmsNorm(x: Float32Array, weight: Float32Array, rows: number, cols: number, eps: number, out?: Float32Array): Float32Array {
    const y = outBuffer(out, rows * cols, 'rmsNorm');
    if (rows * cols === 0) return y;
    const xs = exact(x, rows * cols, 'rmsNorm: x');
    const inv = flat(this.#run('rmsInv', [rows], { cols, eps }, [xs]), 1, rows, 'rmsNorm');
    const r = this.#run('rmsApply', [cols, rows], { cols }, [xs, exact(weight, cols, 'rmsNorm: weight'), inv]);
    return store(r, y, rows, cols, 'rmsNorm');
  }

  rope(x: Float32Array, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out?: Float32Array): Float32Array {
    if (dim % 2 !== 0) throw new RangeError(`rope: dim ${dim} must be even`);
    const y = outBuffer(out, rows * dim, 'rope');
    if (rows * dim === 0) return y;
    if (positions.length < rows) throw new RangeError(`rope: positions has length ${positions.length}, expected ${rows}`);
    const pos = new Float32Array(rows);
    for (let r = 0; r < rows; r++) pos[r] = positions[r];
    const r = this.#run('rope', [dim, rows], { dim }, [exact(x, rows * dim, 'rope: x'), pos, invFreq(dim, theta)]);
    return store(r, y, rows, dim, 'rope');
  }

  swiglu(gate: Float32Array, up: Float32Array, n: number, out?: Float32Array): Float32Array {
    const y = outBuffer(out, n, 'swiglu');
    if (n === 0) return y;
    const r = this.#run('swiglu', [n], {}, [exact(gate, n, 'swiglu: gate'), exact(up, n, 'swiglu: up')]);
    return store(r, y, 1, n, 'swiglu');
  }

  causalAttention(
    q: Float32Array, k: Float32Array, v: Float32Array,
    nq: number, nk: number, dk: number, dv: number,
    scale: number, offset: number,
    out?: Float32Array, weights?: Float32Array,
  ): Float32Array {
    const o = attentionOut(out, weights, nq, nk, dv);
    if (nq === 0) return o;
    if (nk === 0 || dv === 0) {
      o.fill(0);
      return o;
    }
    if (dk === 0) return ref.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, o, weights);
    const scores = flat(this.#run('attnScores', [nk, nq], { dk, scale, offset },
      [exact(q, nq * dk, 'causalAttention: q'), exact(k, nk * dk, 'causalAttention: k')]), nq, nk, 'causalAttention');
    const stats = flat(this.#run('attnStats', [2, nq], { nk, offset }, [scores]), nq, 2, 'causalAttention');
    const w = flat(this.#run('attnWeights', [nk, nq], { nk, offset }, [scores, stats]), nq, nk, 'causalAttention');
    if (weights) weights.set(w);
    const r = this.#run('attnOut', [dv, nq], { nk, dv, offset }, [w, exact(v, nk * dv, 'causalAttention: v')]);
    return store(r, o, nq, dv, 'causalAttention');
  }
}
