// The Backend selectBackend returns: each call is routed by op and size bucket to the chosen
// candidate. Two ways out of a bad choice, both recorded in the live report (the badge shows them):
// - a chosen kernel that throws: the call is answered by the reference, and the op is routed to
//   the reference from then on (if the reference throws too, the arguments were wrong: rethrown,
//   the candidate not blamed);
// - a watched candidate (gpu.js, custom) whose call takes longer than `slowCallMs` (a slider's
//   budget; a call that compiled a kernel is allowed `compileCallMs`): every op routed to it moves
//   to the CPU fallback (the wasm kernels when built here, else the tuned loop) at once, so a slow
//   backend, even a forced one, costs one slow call, not a frozen page.
import type { Backend, FloatBlock, OpName } from '../backend.js';
import { loopBackend } from '../loop.js';
import { referenceBackend } from '../reference.js';
import { type CellReport, type SelectedBackend, type SelectionReport, summarize } from './report.js';
import { message, now, round } from './util.js';
import { BUCKET_NAMES, type BucketName, bucketOfSize } from './workloads.js';

export type Route = Record<OpName, Record<BucketName, Backend>>;

export interface Watchdog {
  /** Backends whose calls are timed (gpu.js modes, custom candidates). */
  watched: Set<Backend>;
  slowCallMs: number;
  compileCallMs: number;
  /** Where an op goes when its backend is too slow (a CPU backend that passed that op's probe). */
  fallbackFor: (op: OpName) => Backend;
}

export class AutoBackend implements SelectedBackend {
  readonly #route: Route;
  readonly #warned = new Set<string>();
  readonly #warn: (m: string) => void;
  readonly #t0: number;
  readonly #release: () => void;
  readonly #watchdog: Watchdog;

  /** Storage for caches in the kept WebAssembly instance's memory (absent when wasm is not built here). */
  readonly allocFloats?: (length: number) => FloatBlock;

  constructor(readonly name: string, readonly report: SelectionReport, route: Route, release: () => void, watchdog: Watchdog, warn: (m: string) => void, t0: number, floats?: Backend) {
    if (floats?.allocFloats) this.allocFloats = (n) => floats.allocFloats!(n);
    this.#route = route;
    this.#release = release;
    this.#watchdog = watchdog;
    this.#warn = warn;
    this.#t0 = t0;
  }

  routeOf(op: OpName, bucket: BucketName): string {
    return this.#route[op][bucket].name;
  }

  destroy(): void {
    this.#release();
  }

  #call<T>(op: OpName, size: number, run: (be: Backend) => T): T {
    const bucket = bucketOfSize(size);
    const be = this.#route[op][bucket];
    if (be === referenceBackend) return run(referenceBackend);
    const watched = this.#watchdog.watched.has(be);
    const compiles = watched ? (be as { compileCount?: number }).compileCount : undefined;
    const t = watched ? now() : 0;
    let result: T;
    try {
      result = run(be);
    } catch (e) {
      const answer = run(referenceBackend); // throws (unblamed) if the arguments themselves are bad
      this.#reroute(op, be, referenceBackend, `${be.name} threw: ${message(e)}`, bucket, [op]);
      return answer;
    }
    if (watched) {
      const dt = now() - t;
      const compiled = compiles !== undefined && (be as { compileCount?: number }).compileCount !== compiles;
      const limit = compiled ? this.#watchdog.compileCallMs : this.#watchdog.slowCallMs;
      if (dt > limit) {
        const to = this.#watchdog.fallbackFor(op);
        const reason = `${be.name} took ${Math.round(dt)} ms for one ${op} call (limit ${limit} ms${compiled ? ' with compilation' : ''})`;
        this.#reroute(op, be, to, reason, bucket, null);
      }
    }
    return result;
  }

  /** Route `ops` (null: every op) away from `from` to `to`, record why, warn once per op. */
  #reroute(op: OpName, from: Backend, to: Backend, reason: string, bucket: BucketName, ops: OpName[] | null): void {
    const affected: OpName[] = [];
    for (const o of Object.keys(this.#route) as OpName[]) {
      if (ops && !ops.includes(o)) continue;
      const target = ops ? to : (o === op ? to : this.#watchdog.fallbackFor(o));
      for (const b of BUCKET_NAMES) {
        if (this.#route[o][b] !== from) continue;
        this.#route[o][b] = target;
        const cell: CellReport = this.report.ops[o].buckets[b];
        cell.chosen = target.name;
        cell.fallback = reason;
        if (!affected.includes(o)) affected.push(o);
      }
      this.report.ops[o].chosen = summarize(this.report.ops[o].buckets).chosen;
    }
    this.report.fallbacks.push({ op: ops ? op : '*', from: from.name, to: to.name, bucket, reason, atMs: round(now() - this.#t0) });
    const key = ops ? op : `*${from.name}`;
    if (!this.#warned.has(key)) {
      this.#warned.add(key);
      this.#warn(`[kernels] ${reason}; ${ops ? op : affected.join(', ')} on ${to.name} from now on`);
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

/** The CPU fallback for `op`: the first of `cpu` that passed its probe, else the tuned loop. */
export function cpuFallback(cpu: ReadonlyArray<{ backend: Backend; ok: Set<OpName> }>): (op: OpName) => Backend {
  return (op) => cpu.find((c) => c.ok.has(op))?.backend ?? loopBackend;
}
