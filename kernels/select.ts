// The per-op backend chooser. Availability is not speed (shared/STACK.md: without a GPU, gpu.js's
// WebGL2 runs ~10x slower than a plain loop), so at start-up every candidate that works here is
// measured on each op at a few problem sizes, and each call is routed to the fastest one for its
// op and size bucket. The reference (reference.ts) is always a candidate and wins ties: another
// backend is chosen only when it is clearly faster (see `margin`), so the choice is never slower
// than the reference at the sizes measured. The tuned plain loop (loop.ts) is a candidate too.
//
// What happens, in order:
// 1. Candidates: the reference, the tuned loop, each gpu.js mode (kernels/gpujs.ts) that constructs here, and any
//    `candidates` passed in. A candidate that does not construct is listed with its reason. By
//    default gpu.js webgl is not tried when webgl2 works (same device, and every GL kernel costs a
//    shader compilation at start-up); force it or list it in `gpujs` to include it.
// 2. Probe: every op of every candidate runs once on tiny odd shapes (sizes not multiples of 4, a
//    masked attention row) and is compared with the reference; a wrong answer or a throw disables
//    that op for that candidate, with the reason in the report.
// 3. Measure: op by op, bucket by bucket (all small cells first, then medium, then large, so a
//    spent budget costs the largest sizes first), the median time of a few calls per candidate.
//    A candidate whose time at a smaller size, scaled by the work ratio, would not fit in the
//    budget left is skipped; a cell the budget never reached inherits the choice of the bucket
//    below it. The first call of each candidate (compilation) is timed apart and not counted,
//    and a few warm-up calls follow it (plain JS is optimized only after some calls; wasm is
//    compiled up front). `budgetMs` covers all of steps 1-3; the event loop gets a turn between
//    probes and between cells, so a page stays responsive while this runs.
// 4. Dispatch: each call computes its op's size, looks up the bucket's choice and runs it. If a
//    chosen kernel throws, the call is answered by the reference instead, that op is routed to the
//    reference from then on, the reason is appended to `report.fallbacks`, and console.warn runs
//    once per op. (If the reference throws too, the arguments were wrong: that error is rethrown
//    and the candidate is not blamed.)
//
// The report is plain JSON (see SelectionReport) and stays live: fallbacks appear as they happen.
import { type Backend, OP_NAMES, type OpName } from './backend.js';
import { loopBackend } from './loop.js';
import { referenceBackend } from './reference.js';
import { createGpuJsBackend, GPUJS_MODES, loadGpuJs, type GpuJsBackend } from './gpujs.js';

// ---- size buckets ----

export const BUCKET_NAMES = ['small', 'medium', 'large'] as const;
export type BucketName = (typeof BUCKET_NAMES)[number];

/** Upper bound of each bucket's "size" (an equivalent matrix side, see opSize); large is unbounded. */
export const BUCKET_LIMITS: Readonly<Record<BucketName, number>> = { small: 64, medium: 256, large: Infinity };

/**
 * An op's problem size as an equivalent side length, so one set of bucket limits serves every op:
 * matmul/matmulT cbrt(m*k*n); softmaxRows/rmsNorm/rope sqrt(rows*cols); swiglu sqrt(n);
 * causalAttention cbrt(nq*nk*(dk+dv)/2). A 64x64x64 matmul and a 64x64 softmax are both size 64.
 */
export function opSize(op: OpName, dims: readonly number[]): number {
  switch (op) {
    case 'matmul':
    case 'matmulT':
    case 'matmulTN':
      return Math.cbrt(dims[0] * dims[1] * dims[2]);
    case 'softmaxRows':
    case 'rmsNorm':
    case 'rope':
      return Math.sqrt(dims[0] * dims[1]);
    case 'swiglu':
      return Math.sqrt(dims[0]);
    case 'causalAttention':
      return Math.cbrt((dims[0] * dims[1] * (dims[2] + dims[3])) / 2);
  }
}

export function bucketOfSize(size: number): BucketName {
  return size <= BUCKET_LIMITS.small ? 'small' : size <= BUCKET_LIMITS.medium ? 'medium' : 'large';
}

/** The bucket a call of `op` with these dims falls in (dims in the op's argument order). */
export function bucketOf(op: OpName, dims: readonly number[]): BucketName {
  return bucketOfSize(opSize(op, dims));
}

// ---- workloads: the inputs for probes, measurements, tests and benchmarks ----

/** A deterministic stream of floats in [-1, 1). */
export function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** A ready-to-run call of one op with fixed inputs (and reusable output buffers). */
export interface Workload {
  op: OpName;
  dims: number[];
  /** "16x32x64"-style label. */
  label: string;
  /** Multiply-add-style work units (used to scale timings between sizes). */
  work: number;
  run(backend: Backend): Float32Array;
  /** The attention weights of the last run (causalAttention only). */
  weights?: Float32Array;
}

/** Build a workload for `op` at `dims` with deterministic inputs. */
export function makeWorkload(op: OpName, dims: readonly number[], seed = 1): Workload {
  const d = [...dims];
  const label = d.join('x');
  switch (op) {
    case 'matmul':
    case 'matmulT':
    case 'matmulTN': {
      const [m, k, n] = d;
      const a = randomFloats(m * k, seed), b = randomFloats(k * n, seed + 1), out = new Float32Array(m * n);
      return { op, dims: d, label, work: m * k * n, run: (be) => be[op](a, b, m, k, n, out) };
    }
    case 'softmaxRows': {
      const [rows, cols] = d;
      const x = randomFloats(rows * cols, seed).map((v) => v * 8), out = new Float32Array(rows * cols);
      return { op, dims: d, label, work: rows * cols, run: (be) => be.softmaxRows(x, rows, cols, out) };
    }
    case 'rmsNorm': {
      const [rows, cols] = d;
      const x = randomFloats(rows * cols, seed), w = randomFloats(cols, seed + 1), out = new Float32Array(rows * cols);
      return { op, dims: d, label, work: rows * cols, run: (be) => be.rmsNorm(x, w, rows, cols, 1e-6, out) };
    }
    case 'rope': {
      const [rows, dim] = d;
      const x = randomFloats(rows * dim, seed), out = new Float32Array(rows * dim);
      const pos = Array.from({ length: rows }, (_, i) => i);
      return { op, dims: d, label, work: rows * dim, run: (be) => be.rope(x, rows, dim, pos, 10000, out) };
    }
    case 'swiglu': {
      const [n] = d;
      const g = randomFloats(n, seed).map((v) => v * 4), u = randomFloats(n, seed + 1), out = new Float32Array(n);
      return { op, dims: d, label, work: n, run: (be) => be.swiglu(g, u, n, out) };
    }
    case 'causalAttention': {
      const [nq, nk, dk, dv] = d;
      const offset = d[4] ?? nk - nq;
      const q = randomFloats(nq * dk, seed), k = randomFloats(nk * dk, seed + 1), v = randomFloats(nk * dv, seed + 2);
      const out = new Float32Array(nq * dv);
      const wl: Workload = {
        op, dims: d, label, work: nq * nk * (dk + dv), weights: new Float32Array(nq * nk),
        run: (be) => be.causalAttention(q, k, v, nq, nk, dk, dv, 1 / Math.sqrt(dk), offset, out, wl.weights),
      };
      return wl;
    }
  }
}

/** The shape measured for each op in each bucket (mid-bucket, shaped like the engine's calls). */
export const MEASURE_SHAPES: Readonly<Record<OpName, Readonly<Record<BucketName, readonly number[]>>>> = {
  matmul: { small: [16, 32, 64], medium: [32, 128, 512], large: [64, 384, 768] },
  matmulT: { small: [16, 32, 64], medium: [32, 128, 512], large: [64, 384, 768] },
  matmulTN: { small: [32, 16, 64], medium: [128, 128, 256], large: [384, 256, 768] },
  softmaxRows: { small: [8, 128], medium: [64, 256], large: [256, 512] },
  rmsNorm: { small: [8, 128], medium: [64, 256], large: [256, 512] },
  rope: { small: [8, 128], medium: [64, 256], large: [256, 512] },
  swiglu: { small: [1024], medium: [16384], large: [131072] },
  causalAttention: { small: [32, 32, 64, 64], medium: [128, 128, 128, 128], large: [384, 384, 128, 128] },
};

/** Tiny odd shapes for the correctness probe (not multiples of 4; a query row with no visible key). */
const PROBE_SHAPES: Readonly<Record<OpName, readonly number[]>> = {
  matmul: [3, 5, 7],
  matmulT: [3, 5, 7],
  matmulTN: [3, 5, 7],
  softmaxRows: [3, 7],
  rmsNorm: [3, 6],
  rope: [3, 6],
  swiglu: [7],
  causalAttention: [4, 5, 3, 5, -1],
};

// ---- options and report ----

export interface SelectOptions {
  /**
   * Wall-time budget of the whole selection in ms (default 1500; 250 with `quick`): loading gpu.js,
   * constructing and probing candidates, then measuring until the budget is spent (the measurement
   * gets at least a quarter of it).
   */
  budgetMs?: number;
  /** Small budget and few repetitions, for tests and CLIs that only need a sane choice. */
  quick?: boolean;
  /** Timed calls per candidate and cell (default 5; 2 with `quick`). */
  reps?: number;
  /** gpu.js modes to try (default: all of GPUJS_MODES); `false` or [] for none. */
  gpujs?: readonly string[] | false;
  /**
   * Reuse the choices of an earlier report (e.g. this session's first page) instead of measuring:
   * only the candidates it chose are built and probed; a choice that no longer works here falls
   * back to the reference, with a note.
   */
  reuse?: SelectionReport;
  /** Include the tuned plain loop (loop.ts) as a candidate (default true). */
  loop?: boolean;
  /** Extra candidates (custom kernels, or deliberately failing ones in tests). Names must be unique. */
  candidates?: readonly Backend[];
  /** Use this candidate (by name: 'reference', 'gpu.js webasm', ...) for every op; no measurement. */
  force?: string;
  /** A non-reference candidate is chosen only if its median is below margin x the reference's (default 0.9). */
  margin?: number;
  /** Where the once-per-op warning goes (default console.warn). */
  warn?: (message: string) => void;
}

export interface CandidateReport {
  name: string;
  kind: 'reference' | 'loop' | 'gpu.js' | 'custom';
  /** The gpu.js mode, for kind 'gpu.js'. */
  mode?: string;
  /** Constructed and passed the probe for at least one op. */
  available: boolean;
  /** Why it is unavailable (construction error, async-only, every probe failed). */
  reason?: string;
  constructMs?: number;
  /** Time of the correctness probe (includes compiling its kernels), ms. */
  probeMs?: number;
  /** Per op: 'ok', or why the probe failed (absent: not probed). */
  probe: Partial<Record<OpName, string>>;
}

export interface CellReport {
  /** The candidate calls in this op and bucket are routed to. */
  chosen: string;
  /** Whether the choice comes from a measurement in this cell (false: inherited, forced or defaulted). */
  measured: boolean;
  /** The measured shape, e.g. "16x32x64". */
  shape: string;
  /** Median ms per call of each candidate measured (compilation excluded). */
  timingsMs: Record<string, number>;
  /** The first call of each candidate (includes kernel compilation), ms. */
  firstCallMs?: Record<string, number>;
  /** Why a candidate was skipped or stopped in this cell, or how the choice was made. */
  notes?: Record<string, string>;
  /** Set when a run-time failure moved this cell to the reference. */
  fallback?: string;
}

export interface OpReport {
  /** The most common choice across buckets (ties: the smaller bucket); per-bucket choices in `buckets`. */
  chosen: string;
  /** Timings of the first measured bucket (medium, else small, else large) whose choice is `chosen`. */
  timingsMs: Record<string, number>;
  buckets: Record<BucketName, CellReport>;
}

export interface FallbackRecord {
  op: OpName | '*';
  from: string;
  to: string;
  bucket?: BucketName;
  reason: string;
  /** ms since selection started. */
  atMs: number;
}

export interface SelectionReport {
  name: string;
  forced: string | null;
  /** The choices were taken from an earlier report (options.reuse), not measured now. */
  reused: boolean;
  environment: 'browser' | 'worker' | 'node' | 'unknown';
  budgetMs: number;
  /** Construction + probes + measurement, ms. */
  elapsedMs: number;
  /** The measurement phase alone, ms. */
  measureMs: number;
  /** Importing gpu.js, ms (null when no gpu.js mode was tried). */
  gpuJsLoadMs: number | null;
  buckets: Record<BucketName, { maxSize: number | null; shapes: Record<OpName, string> }>;
  sizeRule: string;
  candidates: CandidateReport[];
  ops: Record<OpName, OpReport>;
  fallbacks: FallbackRecord[];
}

/** The Backend selectBackend returns. */
export interface SelectedBackend extends Backend {
  readonly report: SelectionReport;
  /** Name of the candidate that a call of `op` in `bucket` runs on now. */
  routeOf(op: OpName, bucket: BucketName): string;
  /** Release gpu.js kernels and contexts. */
  destroy(): void;
}

// ---- helpers ----

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function environment(): SelectionReport['environment'] {
  const g = globalThis as { window?: unknown; document?: unknown; importScripts?: unknown; process?: { versions?: { node?: string } } };
  if (typeof g.window !== 'undefined' && typeof g.document !== 'undefined') return 'browser';
  if (typeof g.importScripts === 'function') return 'worker';
  if (g.process?.versions?.node) return 'node';
  return 'unknown';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const round = (ms: number): number => Math.round(ms * 1e4) / 1e4;

/** Let the event loop run (input, rendering) without setTimeout's 4 ms clamp. */
function yieldNow(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate;
    return new Promise((resolve) => si(resolve));
  }
  if (typeof g.MessageChannel === 'function') {
    const ch = new g.MessageChannel();
    return new Promise((resolve) => {
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(0);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Compare a probe result with the reference: |got - want| <= 1e-3 + 1e-3 |want| (catches wrong answers, not float noise). */
function probeMismatch(got: Float32Array, want: Float32Array): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (!(Math.abs(g - w) <= 1e-3 + 1e-3 * Math.abs(w))) return `wrong answer at ${i}: ${g} vs reference ${w}`;
  }
  return null;
}

interface Candidate {
  backend: Backend;
  report: CandidateReport;
  /** Ops whose probe passed. */
  ok: Set<OpName>;
  destroy?: () => void;
}

// ---- the dispatcher ----

type Route = Record<OpName, Record<BucketName, Backend>>;

class AutoBackend implements SelectedBackend {
  readonly #route: Route;
  readonly #warned = new Set<string>();
  readonly #warn: (m: string) => void;
  readonly #t0: number;
  readonly #candidates: Candidate[];

  constructor(readonly name: string, readonly report: SelectionReport, route: Route, candidates: Candidate[], warn: (m: string) => void, t0: number) {
    this.#route = route;
    this.#candidates = candidates;
    this.#warn = warn;
    this.#t0 = t0;
  }

  routeOf(op: OpName, bucket: BucketName): string {
    return this.#route[op][bucket].name;
  }

  destroy(): void {
    for (const c of this.#candidates) {
      try { c.destroy?.(); } catch { /* ignore */ }
    }
  }

  #call<T>(op: OpName, size: number, run: (be: Backend) => T): T {
    const bucket = bucketOfSize(size);
    const be = this.#route[op][bucket];
    if (be === referenceBackend) return run(referenceBackend);
    try {
      return run(be);
    } catch (e) {
      const result = run(referenceBackend); // throws (unblamed) if the arguments themselves are bad
      this.#fail(op, bucket, be, e);
      return result;
    }
  }

  #fail(op: OpName, bucket: BucketName, be: Backend, e: unknown): void {
    const reason = `${be.name} threw: ${message(e)}`;
    for (const b of BUCKET_NAMES) {
      if (this.#route[op][b] === be) {
        this.#route[op][b] = referenceBackend;
        const cell = this.report.ops[op].buckets[b];
        cell.chosen = referenceBackend.name;
        cell.fallback = reason;
      }
    }
    this.report.ops[op].chosen = summarize(this.report.ops[op].buckets).chosen;
    this.report.fallbacks.push({ op, from: be.name, to: referenceBackend.name, bucket, reason, atMs: round(now() - this.#t0) });
    if (!this.#warned.has(op)) {
      this.#warned.add(op);
      this.#warn(`[kernels] ${op}: ${reason}; using the reference for ${op} from now on`);
    }
  }

  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    return this.#call('matmul', Math.cbrt(m * k * n), (be) => be.matmul(a, b, m, k, n, out));
  }
  matmulT(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    return this.#call('matmulT', Math.cbrt(m * k * n), (be) => be.matmulT(a, b, m, k, n, out));
  }
  matmulTN(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array): Float32Array {
    return this.#call('matmulTN', Math.cbrt(m * k * n), (be) => be.matmulTN(a, b, m, k, n, out));
  }
  softmaxRows(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
    return this.#call('softmaxRows', Math.sqrt(rows * cols), (be) => be.softmaxRows(x, rows, cols, out));
  }
  rmsNorm(x: Float32Array, weight: Float32Array, rows: number, cols: number, eps: number, out?: Float32Array): Float32Array {
    return this.#call('rmsNorm', Math.sqrt(rows * cols), (be) => be.rmsNorm(x, weight, rows, cols, eps, out));
  }
  rope(x: Float32Array, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out?: Float32Array): Float32Array {
    return this.#call('rope', Math.sqrt(rows * dim), (be) => be.rope(x, rows, dim, positions, theta, out));
  }
  swiglu(gate: Float32Array, up: Float32Array, n: number, out?: Float32Array): Float32Array {
    return this.#call('swiglu', Math.sqrt(n), (be) => be.swiglu(gate, up, n, out));
  }
  causalAttention(
    q: Float32Array, k: Float32Array, v: Float32Array,
    nq: number, nk: number, dk: number, dv: number,
    scale: number, offset: number,
    out?: Float32Array, weights?: Float32Array,
  ): Float32Array {
    return this.#call('causalAttention', Math.cbrt((nq * nk * (dk + dv)) / 2),
      (be) => be.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, out, weights));
  }
}

function summarize(buckets: Record<BucketName, CellReport>): { chosen: string; timingsMs: Record<string, number> } {
  const count = new Map<string, number>();
  for (const b of BUCKET_NAMES) count.set(buckets[b].chosen, (count.get(buckets[b].chosen) ?? 0) + 1);
  let chosen = buckets.small.chosen;
  for (const b of BUCKET_NAMES) if ((count.get(buckets[b].chosen) ?? 0) > (count.get(chosen) ?? 0)) chosen = buckets[b].chosen;
  for (const b of ['medium', 'small', 'large'] as const) {
    if (buckets[b].measured && buckets[b].chosen === chosen) return { chosen, timingsMs: buckets[b].timingsMs };
  }
  return { chosen, timingsMs: {} };
}

// ---- building candidates ----

async function gatherCandidates(options: SelectOptions, loadMs: { value: number | null }): Promise<Candidate[]> {
  const candidates: Candidate[] = [{
    backend: referenceBackend,
    report: { name: referenceBackend.name, kind: 'reference', available: true, probe: {} },
    ok: new Set(OP_NAMES),
  }];
  const names = new Set([referenceBackend.name]);
  // The tuned plain TypedArray loop (loop.ts): no set-up cost, often the fastest at lesson sizes.
  if (options.loop !== false && (options.force === undefined || options.force === loopBackend.name)) {
    names.add(loopBackend.name);
    const c: Candidate = { backend: loopBackend, report: { name: loopBackend.name, kind: 'loop', available: true, probe: {} }, ok: new Set() };
    candidates.push(c);
    await probe(c);
  }
  const modes = options.gpujs === false ? [] : (options.gpujs ?? GPUJS_MODES);
  const wanted = options.force;
  if (modes.length > 0 && (wanted === undefined || wanted.startsWith('gpu.js '))) {
    const t = now();
    try {
      await loadGpuJs();
    } catch {
      // each mode below reports the import error as its reason
    }
    loadMs.value = round(now() - t);
  }
  for (const mode of modes) {
    const name = `gpu.js ${mode}`;
    if (wanted !== undefined && wanted !== name) continue; // forcing: build only what is asked for
    names.add(name);
    // WebGL1 runs on the same device as WebGL2 through an older API; measuring both doubles the
    // shader compilations of the start-up for nothing, so by default webgl is tried only without webgl2.
    const webgl2 = candidates.find((c) => c.report.mode === 'webgl2');
    if (mode === 'webgl' && wanted === undefined && options.gpujs === undefined && webgl2?.report.available) {
      candidates.push({ backend: referenceBackend, report: { name, kind: 'gpu.js', mode, available: false, reason: 'not tried: gpu.js webgl2 works here (same device, newer API); force it or list it in options.gpujs to try it', probe: {} }, ok: new Set() });
      continue;
    }
    const t = now();
    try {
      const be: GpuJsBackend = await createGpuJsBackend(mode);
      const c: Candidate = { backend: be, report: { name, kind: 'gpu.js', mode, available: true, constructMs: round(now() - t), probe: {} }, ok: new Set(), destroy: () => be.destroy() };
      candidates.push(c);
      const tp = now();
      await probe(c);
      c.report.probeMs = round(now() - tp);
      if (!c.report.available) c.destroy?.();
    } catch (e) {
      candidates.push({ backend: referenceBackend, report: { name, kind: 'gpu.js', mode, available: false, reason: message(e), constructMs: round(now() - t), probe: {} }, ok: new Set() });
    }
  }
  for (const be of options.candidates ?? []) {
    if (names.has(be.name)) throw new Error(`selectBackend: two candidates are named "${be.name}"`);
    names.add(be.name);
    const c: Candidate = { backend: be, report: { name: be.name, kind: 'custom', available: true, probe: {} }, ok: new Set() };
    candidates.push(c);
    const tp = now();
    await probe(c);
    c.report.probeMs = round(now() - tp);
  }
  return candidates;
}

async function probe(c: Candidate): Promise<void> {
  if (!c.report.available || c.backend === referenceBackend) return;
  for (const op of OP_NAMES) {
    await yieldNow();
    const dims = PROBE_SHAPES[op];
    try {
      const want = makeWorkload(op, dims, 7);
      const got = makeWorkload(op, dims, 7);
      const w = Float32Array.from(want.run(referenceBackend));
      const g = Float32Array.from(got.run(c.backend));
      let bad = probeMismatch(g, w);
      if (!bad && op === 'causalAttention') {
        const ww = want.weights, gw = got.weights;
        if (ww && gw) {
          const wb = probeMismatch(gw, ww);
          if (wb) bad = `weights: ${wb}`;
        }
      }
      if (bad) c.report.probe[op] = bad;
      else {
        c.report.probe[op] = 'ok';
        c.ok.add(op);
      }
    } catch (e) {
      c.report.probe[op] = `threw: ${message(e)}`;
    }
  }
  if (c.ok.size === 0) {
    c.report.available = false;
    c.report.reason = `failed the correctness probe on every op (${c.report.probe.matmul ?? 'no probe'})`;
  }
}

// ---- measuring ----

interface Settings {
  budgetMs: number;
  reps: number;
  margin: number;
  /** Most ms spent on timed calls of one candidate in one cell. */
  cellCapMs: number;
  /** Warm-up calls before timing (at least one, at most this many, while under warmMs). */
  warmCalls: number;
  warmMs: number;
}

function measureCell(
  op: OpName, bucket: BucketName, cands: Candidate[], s: Settings, deadline: number,
  prev: Map<string, { ms: number; work: number }>,
): CellReport {
  const wl = makeWorkload(op, MEASURE_SHAPES[op][bucket], 3);
  const cell: CellReport = { chosen: referenceBackend.name, measured: true, shape: wl.label, timingsMs: {}, firstCallMs: {}, notes: {} };
  const notes = cell.notes!;
  const firsts = cell.firstCallMs!;
  interface Run { c: Candidate; name: string; times: number[]; spent: number; done: boolean }
  const runs: Run[] = [];
  // Skip what cannot fit, then a first call (compilation, timed apart) and one warm-up call each.
  for (const c of cands) {
    const name = c.report.name;
    const isRef = c.backend === referenceBackend;
    const left = deadline - now();
    const p = prev.get(name);
    const estimate = p ? (p.ms * wl.work) / p.work : 0;
    if (!isRef && left < 0) { notes[name] = 'not measured: budget spent'; continue; }
    if (!isRef && p && estimate * 3 > left) {
      notes[name] = `skipped: ~${estimate.toFixed(1)} ms per call expected from the smaller size, ${Math.max(0, left).toFixed(0)} ms of budget left`;
      continue;
    }
    try {
      const t = now();
      wl.run(c.backend);
      firsts[name] = round(now() - t);
      // Warm-up: plain JS reaches optimized code only after a number of calls (wasm is compiled up
      // front), so a cold measurement would be biased against the loop.
      // A first call longer than warmMs has warmed up already (long loops are optimized mid-call).
      const tw = now();
      if (firsts[name] < s.warmMs) for (let i = 0; i < s.warmCalls && (i === 0 || now() - tw < s.warmMs); i++) wl.run(c.backend);
      runs.push({ c, name, times: [], spent: 0, done: false });
    } catch (e) {
      notes[name] = `threw: ${message(e)}`;
    }
  }
  // Timed calls, round-robin so drift (JIT, GC, thermal) hits every candidate alike.
  const refRun = runs.find((r) => r.c.backend === referenceBackend);
  for (let rep = 0; rep < s.reps; rep++) {
    for (const r of runs) {
      if (r.done) continue;
      const isRef = r === refRun;
      if (!isRef && now() > deadline && r.times.length > 0) { r.done = true; notes[r.name] = `budget spent after ${r.times.length} call(s)`; continue; }
      let dt: number;
      try {
        const t = now();
        wl.run(r.c.backend);
        dt = now() - t;
      } catch (e) {
        r.done = true;
        r.times.length = 0;
        notes[r.name] = `threw: ${message(e)}`;
        continue;
      }
      r.times.push(dt);
      r.spent += dt;
      if (r.spent > s.cellCapMs) r.done = true;
      // clearly losing to the loop: more samples would not change the choice
      // (two samples, or one wildly slow one, so a single GC pause does not decide)
      const refMed = refRun && refRun.times.length > 0 ? median(refRun.times) : Infinity;
      const own = r.times.length >= 2 ? median(r.times) : dt;
      if (!isRef && dt > 1 && ((r.times.length >= 2 && own > 4 * refMed) || dt > 20 * refMed)) {
        r.done = true;
        notes[r.name] = `stopped after ${r.times.length} call(s): over 4x the reference`;
      }
    }
  }
  for (const r of runs) {
    if (r.times.length === 0) continue;
    const ms = median(r.times);
    cell.timingsMs[r.name] = round(ms);
    prev.set(r.name, { ms, work: wl.work });
  }
  // choose: the fastest, but the reference unless beaten by the margin
  const refMs = cell.timingsMs[referenceBackend.name];
  let best = referenceBackend.name;
  let bestMs = refMs ?? Infinity;
  for (const [name, ms] of Object.entries(cell.timingsMs)) {
    if (name === referenceBackend.name) continue;
    if (ms < bestMs && (refMs === undefined || ms < s.margin * refMs)) {
      best = name;
      bestMs = ms;
    }
  }
  cell.chosen = best;
  if (Object.keys(notes).length === 0) delete cell.notes;
  return cell;
}

/** The per-op, per-bucket choices of an earlier report, if it is complete; else null. */
function reusableChoices(report: SelectionReport | undefined): { names: Set<string>; cells: Record<OpName, Record<BucketName, CellReport>> } | null {
  if (!report || typeof report !== 'object' || !report.ops) return null;
  const names = new Set<string>();
  const cells = {} as Record<OpName, Record<BucketName, CellReport>>;
  for (const op of OP_NAMES) {
    const buckets = report.ops[op]?.buckets;
    if (!buckets) return null;
    for (const b of BUCKET_NAMES) {
      if (typeof buckets[b]?.chosen !== 'string') return null;
      names.add(buckets[b].chosen);
    }
    cells[op] = buckets;
  }
  return { names, cells };
}

/**
 * Measure what works here and return a Backend that routes each op, by size, to the fastest
 * working candidate (or to `options.force` for every op). Never rejects because a gpu.js mode
 * is missing: the reference is always there.
 */
export async function selectBackend(options: SelectOptions = {}): Promise<SelectedBackend> {
  const t0 = now();
  const quick = options.quick === true;
  const settings: Settings = {
    budgetMs: options.budgetMs ?? (quick ? 250 : 1500),
    reps: Math.max(1, options.reps ?? (quick ? 2 : 5)),
    margin: options.margin ?? 0.9,
    cellCapMs: quick ? 15 : 60,
    warmCalls: 20,
    warmMs: quick ? 3 : 6,
  };
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const loadMs = { value: null as number | null };
  const reuse = options.force === undefined ? reusableChoices(options.reuse) : null;
  const candidates = await gatherCandidates(reuse ? {
    ...options,
    loop: reuse.names.has(loopBackend.name),
    gpujs: [...reuse.names].filter((n) => n.startsWith('gpu.js ')).map((n) => n.slice('gpu.js '.length)),
  } : options, loadMs);

  const buckets = {} as SelectionReport['buckets'];
  for (const b of BUCKET_NAMES) {
    const shapes = {} as Record<OpName, string>;
    for (const op of OP_NAMES) shapes[op] = MEASURE_SHAPES[op][b].join('x');
    buckets[b] = { maxSize: Number.isFinite(BUCKET_LIMITS[b]) ? BUCKET_LIMITS[b] : null, shapes };
  }
  const report: SelectionReport = {
    name: options.force ?? 'auto',
    forced: options.force ?? null,
    reused: reuse !== null,
    environment: environment(),
    budgetMs: settings.budgetMs,
    elapsedMs: 0,
    measureMs: 0,
    gpuJsLoadMs: loadMs.value,
    buckets,
    sizeRule: 'size = cbrt(m*k*n) for matmul/matmulT/matmulTN, sqrt(rows*cols) for softmaxRows/rmsNorm/rope, sqrt(n) for swiglu, ' +
      'cbrt(nq*nk*(dk+dv)/2) for causalAttention; small <= 64 < medium <= 256 < large',
    candidates: candidates.map((c) => c.report),
    ops: {} as Record<OpName, OpReport>,
    fallbacks: [],
  };
  const route = {} as Route;
  const byName = new Map(candidates.map((c) => [c.report.name, c]));

  // The budget covers the whole selection (import, construction, probes, measurement), but the
  // measurement always gets at least a quarter of it, so the small sizes are measured.
  const tm = now();
  if (options.force !== undefined) {
    const forced = byName.get(options.force);
    if (!forced || !forced.report.available) {
      const reason = !forced
        ? `no candidate named "${options.force}" (known: ${[...byName.keys()].join(', ')})`
        : `${forced.report.name} is unavailable: ${forced.report.reason ?? 'unknown reason'}`;
      report.fallbacks.push({ op: '*', from: options.force, to: referenceBackend.name, reason, atMs: round(now() - t0) });
      warn(`[kernels] cannot force ${options.force}: ${reason}; using the reference`);
    }
    for (const op of OP_NAMES) {
      const usable = forced && forced.ok.has(op);
      if (forced && forced.report.available && !usable) {
        const reason = `${forced.report.name} failed the ${op} probe: ${forced.report.probe[op] ?? 'not probed'}`;
        report.fallbacks.push({ op, from: forced.report.name, to: referenceBackend.name, reason, atMs: round(now() - t0) });
      }
      const be = usable ? forced.backend : referenceBackend;
      route[op] = { small: be, medium: be, large: be };
      const cells = {} as Record<BucketName, CellReport>;
      for (const b of BUCKET_NAMES) {
        cells[b] = { chosen: be.name, measured: false, shape: MEASURE_SHAPES[op][b].join('x'), timingsMs: {}, notes: { [be.name]: usable ? 'forced' : 'forced candidate unusable for this op' } };
      }
      report.ops[op] = { chosen: be.name, timingsMs: {}, buckets: cells };
    }
  } else if (reuse) {
    for (const op of OP_NAMES) {
      const cells = {} as Record<BucketName, CellReport>;
      route[op] = { small: referenceBackend, medium: referenceBackend, large: referenceBackend };
      for (const b of BUCKET_NAMES) {
        const earlier = reuse.cells[op][b];
        const c = byName.get(earlier.chosen);
        const works = c !== undefined && c.report.available && c.ok.has(op);
        const be = works ? c.backend : referenceBackend;
        route[op][b] = be;
        cells[b] = {
          ...earlier,
          chosen: be.name,
          measured: false,
          notes: { [be.name]: works ? 'reused from an earlier measurement in this session' : `${earlier.chosen} no longer works here: reference` },
        };
      }
      report.ops[op] = { ...summarize(cells), buckets: cells };
    }
  } else {
    const deadline = Math.max(t0 + settings.budgetMs, tm + settings.budgetMs / 4);
    const cells = {} as Record<OpName, Partial<Record<BucketName, CellReport>>>;
    const prev = {} as Record<OpName, Map<string, { ms: number; work: number }>>;
    for (const op of OP_NAMES) {
      cells[op] = {};
      prev[op] = new Map();
      route[op] = { small: referenceBackend, medium: referenceBackend, large: referenceBackend };
    }
    const usable = candidates.filter((c) => c.report.available);
    for (const b of BUCKET_NAMES) {
      for (const op of OP_NAMES) {
        await yieldNow(); // keep the page responsive between cells
        const cands = usable.filter((c) => c.ok.has(op));
        const below = b === 'small' ? undefined : cells[op][b === 'medium' ? 'small' : 'medium'];
        if (cands.length === 1) {
          cells[op][b] = { chosen: referenceBackend.name, measured: false, shape: MEASURE_SHAPES[op][b].join('x'), timingsMs: {}, notes: { [referenceBackend.name]: 'the only candidate for this op' } };
        } else if (now() > deadline) {
          const chosen = below?.chosen ?? referenceBackend.name;
          cells[op][b] = { chosen, measured: false, shape: MEASURE_SHAPES[op][b].join('x'), timingsMs: {}, notes: { [chosen]: below ? `budget spent: inherited from ${b === 'medium' ? 'small' : 'medium'}` : 'budget spent: default' } };
        } else {
          cells[op][b] = measureCell(op, b, cands, settings, deadline, prev[op]);
        }
        route[op][b] = byName.get(cells[op][b]!.chosen)?.backend ?? referenceBackend;
      }
    }
    for (const op of OP_NAMES) {
      const full = cells[op] as Record<BucketName, CellReport>;
      report.ops[op] = { ...summarize(full), buckets: full };
    }
  }
  report.measureMs = round(now() - tm);
  report.elapsedMs = round(now() - t0);

  // Release candidates nobody routes to (their kernels and contexts) unless forced/selected.
  const used = new Set<Backend>();
  for (const op of OP_NAMES) for (const b of BUCKET_NAMES) used.add(route[op][b]);
  const keep: Candidate[] = [];
  for (const c of candidates) {
    if (used.has(c.backend)) keep.push(c);
    else c.destroy?.();
  }
  return new AutoBackend(report.name, report, route, keep, warn, t0);
}
