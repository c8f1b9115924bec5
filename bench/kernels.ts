// Kernel benchmark: median ms and GFLOP/s of every op, at a few sizes, on every backend that works
// here (the reference and the tuned loop, both plain TypedArray loops; the WebAssembly SIMD
// kernels; each gpu.js mode that constructs; and the measured per-op choice "auto"), plus, for
// A·B and A·Bᵀ, WebAssembly peers passed in by the caller (bench/peers.ts in Node) and the ratio
// of the wasm kernels to the best of them in the same run. Runs in Node (`npx tsx bench/kernels.ts [--json] [--quick]`) and
// in a browser (import benchKernels; it touches no Node API unless run as a script).
//
// Sizes: s in 64, 128, 256, 512 (quick: 64, 128). Shapes and the flop counts used for GFLOP/s
// (useful work only; exp/cos/sin/pow count as 1 flop, compares count as 1):
//   matmul, matmulT   s x s x s            2*m*k*n, and the engine's shapes (ENGINE_SHAPES)
//   softmaxRows       s rows x s cols      5 per element (max, subtract, exp, add, divide)
//   rmsNorm           s rows x s cols      4 per element (square, add, scale, weight)
//   rope              s rows x s dim       3 per element (2 multiplies, 1 add; the angle's cos/sin not counted)
//   swiglu            n = s*s              5 per element (negate, exp, add, divide, multiply)
//   causalAttention   nq = nk = s, dk = dv = 64, offset 0: per visible (query, key) pair
//                     (s(s+1)/2 of them) 2*dk + 1 (score, scale) + 5 (softmax) + 2*dv (weighted sum)
// Timing: one first call (compilation, reported apart), then batches of calls (at least 2 ms
// each) until `minTimeMs` has passed and at least `minReps` batches ran (at most `maxReps`); the
// median of the batches' per-call means is reported. A backend whose
// first call exceeds `maxCallMs` is timed from that single call.
import { type Backend, OP_NAMES, type OpName } from '../kernels/backend.js';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { createGpuJsBackend, GPUJS_MODES, type GpuJsBackend } from '../kernels/gpujs.js';
import { bucketOf, makeWorkload, randomFloats, selectBackend, type SelectionReport } from '../kernels/select.js';
import { createWasmBackend } from '../kernels/wasm.js';

/** A WebAssembly peer for A·B and A·Bᵀ (see bench/peers.ts). */
export interface BenchPeer {
  name: string;
  product(transposeB: boolean, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<() => Promise<Float32Array>>;
}

/**
 * A·B and A·Bᵀ as the engine calls them on the lessons' model (d 64, FFN 96-192, vocab 128,
 * 4 heads, d_c 32): a decode row through the FFN and lm_head, a 64-token prefill block, a training
 * batch of 16 x 128 tokens, and the absorbed attention's scores over 1010 cached latents.
 */
export const ENGINE_SHAPES: ReadonlyArray<{ label: string; dims: [number, number, number] }> = [
  { label: 'decode FFN', dims: [1, 64, 192] },
  { label: 'decode lm_head', dims: [1, 64, 128] },
  { label: 'prefill block', dims: [64, 64, 192] },
  { label: 'training batch', dims: [2048, 64, 192] },
  { label: 'latent scores', dims: [4, 32, 1010] },
];

export interface BenchOptions {
  /** Problem sizes s (default [64, 128, 256, 512]; quick: [64, 128]). */
  sizes?: readonly number[];
  /** Ops to run (default: all). */
  ops?: readonly OpName[];
  /** gpu.js modes to try (default: all of GPUJS_MODES). */
  modes?: readonly string[];
  /** Also benchmark the per-op selection ("auto"); default true. */
  auto?: boolean;
  /** Options for the selection when `auto` (default: its defaults). */
  autoBudgetMs?: number;
  minReps?: number;
  maxReps?: number;
  minTimeMs?: number;
  maxCallMs?: number;
  /** Fewer sizes and repetitions. */
  quick?: boolean;
  /** Called with a line of progress text per case. */
  onProgress?: (line: string) => void;
  /** WebAssembly peers timed on matmul/matmulT (Node: bench/peers.ts). */
  peers?: readonly BenchPeer[];
  /** Peers that did not load, with why (listed in the result). */
  peersUnavailable?: ReadonlyArray<{ name: string; reason: string }>;
  /** Also time matmul/matmulT at ENGINE_SHAPES (default true). */
  engineShapes?: boolean;
}

export interface BenchTiming {
  medianMs: number;
  gflops: number;
  /** The fastest batch (less sensitive to other processes on a shared machine). */
  bestGflops: number;
  reps: number;
  firstCallMs: number;
}

export interface BenchCase {
  op: OpName;
  size: number;
  /** The op's dims, e.g. "128x128x128". */
  shape: string;
  flops: number;
  /** Per backend name: a timing, or why it was not timed. */
  results: Record<string, BenchTiming | { error: string }>;
  /** For "auto": which candidate ran this case. */
  autoRoute?: string;
  /** An engine shape's label (ENGINE_SHAPES), for cases not at a square size. */
  label?: string;
  /** matmul/matmulT with peers: the fastest peer (by its fastest batch), and wasm's best GFLOP/s over it. */
  bestPeer?: { name: string; gflops: number; wasmRatio: number };
}

export interface BenchResult {
  environment: string;
  startedAt: string;
  totalMs: number;
  flopCounts: Record<OpName, string>;
  backends: Array<{ name: string; available: boolean; reason?: string; peer?: boolean }>;
  /** The backend timed as the baseline (the plain loop). */
  baseline: string;
  cases: BenchCase[];
  /** The selection report behind "auto", when benchmarked. */
  autoReport?: SelectionReport;
}

export const FLOP_COUNTS: Record<OpName, string> = {
  matmul: '2*m*k*n',
  matmulT: '2*m*k*n',
  matmulTN: '2*m*k*n',
  softmaxRows: '5*rows*cols',
  rmsNorm: '4*rows*cols',
  rope: '3*rows*dim',
  swiglu: '5*n',
  causalAttention: '(2*dk + 2*dv + 6) * visible pairs, visible = sum_i min(nk, offset+i+1)',
};

const HEAD_DIM = 64;

/** Dims (in the op's argument order) and flops of `op` at size s. */
export function benchShape(op: OpName, s: number): { dims: number[]; flops: number } {
  switch (op) {
    case 'matmul':
    case 'matmulT':
    case 'matmulTN':
      return { dims: [s, s, s], flops: 2 * s * s * s };
    case 'softmaxRows':
      return { dims: [s, s], flops: 5 * s * s };
    case 'rmsNorm':
      return { dims: [s, s], flops: 4 * s * s };
    case 'rope':
      return { dims: [s, s], flops: 3 * s * s };
    case 'swiglu':
      return { dims: [s * s], flops: 5 * s * s };
    case 'causalAttention': {
      const visible = (s * (s + 1)) / 2;
      return { dims: [s, s, HEAD_DIM, HEAD_DIM, 0], flops: visible * (4 * HEAD_DIM + 6) };
    }
  }
}

const now = (): number => performance.now();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Run the benchmark; resolves to a plain (JSON-serializable) object. */
export async function benchKernels(options: BenchOptions = {}): Promise<BenchResult> {
  const t0 = now();
  const quick = options.quick === true;
  const sizes = options.sizes ?? (quick ? [64, 128] : [64, 128, 256, 512]);
  const ops = options.ops ?? OP_NAMES;
  const minReps = options.minReps ?? (quick ? 2 : 3);
  const maxReps = options.maxReps ?? (quick ? 5 : 15);
  const minTimeMs = options.minTimeMs ?? (quick ? 50 : 250);
  const maxCallMs = options.maxCallMs ?? 3000;
  const progress = options.onProgress ?? (() => {});

  const g = globalThis as { window?: unknown; navigator?: { userAgent?: string }; process?: { version?: string; platform?: string; arch?: string } };
  const environment = typeof g.window !== 'undefined'
    ? `browser: ${g.navigator?.userAgent ?? 'unknown'}`
    : `node ${g.process?.version ?? '?'} ${g.process?.platform ?? ''} ${g.process?.arch ?? ''}`.trim();

  const backends: Backend[] = [referenceBackend, loopBackend];
  const listed: BenchResult['backends'] = [{ name: referenceBackend.name, available: true }, { name: loopBackend.name, available: true }];
  try {
    const wasm = await createWasmBackend();
    backends.push(wasm);
    listed.push({ name: wasm.name, available: true });
  } catch (e) {
    listed.push({ name: 'wasm', available: false, reason: message(e) });
  }
  const gpus: GpuJsBackend[] = [];
  for (const mode of options.modes ?? GPUJS_MODES) {
    try {
      const be = await createGpuJsBackend(mode);
      gpus.push(be);
      backends.push(be);
      listed.push({ name: be.name, available: true });
    } catch (e) {
      listed.push({ name: `gpu.js ${mode}`, available: false, reason: message(e) });
    }
  }
  let autoReport: SelectionReport | undefined;
  let auto: Awaited<ReturnType<typeof selectBackend>> | undefined;
  if (options.auto !== false) {
    auto = await selectBackend({ budgetMs: options.autoBudgetMs, quick });
    autoReport = auto.report;
    backends.push(auto);
    listed.push({ name: auto.name, available: true });
  }
  const peers = options.peers ?? [];
  for (const p of peers) listed.push({ name: p.name, available: true, peer: true });
  for (const p of options.peersUnavailable ?? []) listed.push({ name: p.name, available: false, reason: p.reason, peer: true });

  const cases: BenchCase[] = [];
  // Calls are timed in batches of at least 2 ms (browsers coarsen performance.now() to 0.1 ms or
  // more); a time is a batch's mean per call, the reported one the median over batches.
  const time = async (run: () => unknown, flops: number): Promise<BenchTiming> => {
    let t = now();
    await run();
    const firstCallMs = now() - t;
    // warm-up (JIT tiers, caches): a few calls, bounded in time
    const tw = now();
    let warm = 0;
    for (; warm < 20 && firstCallMs <= maxCallMs && (warm === 0 || now() - tw < minTimeMs / 4); warm++) await run();
    const perCall = warm > 0 ? (now() - tw) / warm : firstCallMs;
    const batch = Math.max(1, Math.min(10000, Math.ceil(2 / Math.max(perCall, 1e-4))));
    const times: number[] = [];
    let calls = 0;
    if (firstCallMs > maxCallMs) {
      t = now();
      await run();
      times.push(now() - t);
      calls = 1;
    } else {
      let spent = 0;
      while (times.length < maxReps && (times.length < minReps || spent < minTimeMs)) {
        t = now();
        for (let i = 0; i < batch; i++) await run();
        const dt = now() - t;
        times.push(dt / batch);
        calls += batch;
        spent += dt;
      }
    }
    const ms = median(times);
    return { medianMs: Math.round(ms * 1e7) / 1e7, gflops: r4(flops / (ms * 1e6)), bestGflops: r4(flops / (Math.min(...times) * 1e6)), reps: calls, firstCallMs: r4(firstCallMs) };
  };
  const plan: Array<{ op: OpName; size: number; dims: number[]; flops: number; label?: string }> = [];
  for (const op of ops) {
    for (const s of sizes) plan.push({ op, size: s, ...benchShape(op, s) });
    if ((op === 'matmul' || op === 'matmulT') && options.engineShapes !== false) {
      for (const e of ENGINE_SHAPES) plan.push({ op, size: Math.round(Math.cbrt(e.dims[0] * e.dims[1] * e.dims[2])), dims: [...e.dims], flops: 2 * e.dims[0] * e.dims[1] * e.dims[2], label: e.label });
    }
  }
  try {
    for (const { op, size: s, dims, flops, label } of plan) {
      {
        const wl = makeWorkload(op, dims, 11);
        const c: BenchCase = { op, size: s, shape: dims.slice(0, op === 'causalAttention' ? 4 : dims.length).join('x'), flops, results: {}, ...(label ? { label } : {}) };
        for (const be of backends) {
          try {
            c.results[be.name] = await time(() => wl.run(be), flops);
          } catch (e) {
            c.results[be.name] = { error: message(e) };
          }
        }
        if (op === 'matmul' || op === 'matmulT') {
          const [m, k, n] = dims;
          const a = randomFloats(m * k, 11), b = randomFloats(k * n, 12);
          for (const p of peers) {
            try {
              const run = await p.product(op === 'matmulT', a, b, m, k, n);
              c.results[p.name] = await time(run, flops);
            } catch (e) {
              c.results[p.name] = { error: message(e) };
            }
          }
          const timed = peers.map((p) => [p.name, c.results[p.name]] as const).filter((x): x is readonly [string, BenchTiming] => x[1] !== undefined && 'gflops' in x[1]);
          const wasm = c.results.wasm;
          if (timed.length > 0 && wasm && 'gflops' in wasm) {
            // fastest batch against fastest batch: on a shared machine medians move with the load
            const [name, best] = timed.reduce((x, y) => (y[1].bestGflops > x[1].bestGflops ? y : x));
            c.bestPeer = { name, gflops: best.bestGflops, wasmRatio: r4(wasm.bestGflops / best.bestGflops) };
          }
        }
        if (auto) c.autoRoute = auto.routeOf(op, bucketOf(op, dims));
        cases.push(c);
        progress(`${op} ${c.shape}: ` + Object.entries(c.results).map(([n, r]) => `${n} ${'medianMs' in r ? r.medianMs.toFixed(3) + ' ms' : 'error'}`).join(', '));
      }
    }
  } finally {
    for (const be of gpus) be.destroy();
    auto?.destroy();
  }

  return {
    environment,
    startedAt: new Date(Date.now() - (now() - t0)).toISOString(),
    totalMs: Math.round(now() - t0),
    flopCounts: FLOP_COUNTS,
    backends: listed,
    baseline: referenceBackend.name,
    cases,
    ...(autoReport ? { autoReport } : {}),
  };
}

/** The result as a fixed-width text table: per op, one row per size, "ms (GFLOP/s)" per backend. */
export function formatBench(result: BenchResult): string {
  const names = result.backends.filter((b) => b.available).map((b) => b.name);
  const lines: string[] = [];
  lines.push(`kernels benchmark — ${result.environment} — ${(result.totalMs / 1000).toFixed(1)} s`);
  lines.push(`cells: median ms (GFLOP/s); x: speed relative to the plain loop (${result.baseline}); "auto" shows the candidate it routed to;`);
  lines.push('peers (A·B, A·Bᵀ only) keep B in their memory and upload A per call; the wasm kernels here copy both per call. last column: wasm GFLOP/s over the best peer\'s (fastest batch of each)');
  for (const b of result.backends) if (!b.available) lines.push(`unavailable: ${b.name}: ${b.reason}`);
  const w = 30;
  let currentOp = '';
  for (const c of result.cases) {
    if (c.op !== currentOp) {
      currentOp = c.op;
      lines.push('');
      lines.push(`${c.op}  [flops = ${result.flopCounts[c.op]}]`);
      lines.push('shape'.padEnd(30) + names.map((n) => n.padStart(w)).join('') + ((c.op === 'matmul' || c.op === 'matmulT') && result.backends.some((b) => b.peer && b.available) ? '  wasm/best peer' : ''));
    }
    const base = c.results[result.baseline];
    const baseMs = base && 'medianMs' in base ? base.medianMs : NaN;
    const cells = names.map((n) => {
      const r = c.results[n];
      if (!r) return '-'.padStart(w);
      if ('error' in r) return 'error'.padStart(w);
      const rel = n === result.baseline ? '' : ` ${(baseMs / r.medianMs).toFixed(2)}x`;
      const route = n === 'auto' && c.autoRoute ? ` ${c.autoRoute.replace('gpu.js ', '').replace('reference', 'ref')}` : '';
      return ` ${fmt(r.medianMs)} (${r.gflops.toFixed(2)})${rel}${route}`.padStart(w);
    });
    const wasmBest = c.results.wasm && 'bestGflops' in c.results.wasm ? c.results.wasm.bestGflops : NaN;
    const peer = c.bestPeer ? `  ${c.bestPeer.wasmRatio.toFixed(2)}x (${wasmBest.toFixed(1)} vs ${c.bestPeer.gflops.toFixed(1)} ${c.bestPeer.name})` : '';
    lines.push(`${c.shape}${c.label ? ` ${c.label}` : ''}`.padEnd(30) + cells.join('') + peer);
  }
  return lines.join('\n');
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

/** CLI: `npx tsx bench/kernels.ts [--json] [--quick] [--no-auto] [--sizes=64,128]`. */
export async function main(argv: readonly string[]): Promise<void> {
  const json = argv.includes('--json');
  const sizesArg = argv.find((a) => a.startsWith('--sizes='));
  const result = await benchKernels({
    quick: argv.includes('--quick'),
    auto: !argv.includes('--no-auto'),
    ...(sizesArg ? { sizes: sizesArg.slice('--sizes='.length).split(',').map(Number) } : {}),
    onProgress: json ? undefined : (line) => console.error(line),
  });
  console.log(json ? JSON.stringify(result) : formatBench(result));
}

const proc = (globalThis as { process?: { argv?: string[]; cwd?: () => string } }).process;
if (proc?.argv?.[1] && proc.cwd) {
  let script = '';
  try {
    script = new URL(proc.argv[1], `file://${proc.cwd()}/`).href;
  } catch {
    script = '';
  }
  if (script === import.meta.url) {
    main(proc.argv.slice(2)).catch((e: unknown) => {
      console.error(e);
      (proc as { exitCode?: number }).exitCode = 1;
    });
  }
}
