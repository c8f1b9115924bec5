// Engine throughput: prefill and decode tokens per second of a model the size of golden case `b`
// (2 layers + MTP, d = 64, 16 routed experts) for each attention path at two contexts, plus the
// cache bytes per token, and speculative decoding with the MTP drafter against plain decoding.
import { type Backend, markConstantDeep } from '../kernels/backend.js';
import { referenceBackend } from '../kernels/reference.js';
import { ATTENTION_PATHS, type AttentionPath } from '../src/engine/cache.js';
import { type DeepSeekConfig, parseConfig } from '../src/engine/config.js';
import { decodeCost } from '../src/engine/cost.js';
import { generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { MtpDrafter, speculate } from '../src/engine/speculate.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';

/** The lessons' tiny model: golden case b's shapes (max_position_embeddings raised so a 1024 context is in range). */
export const BENCH_CONFIG: DeepSeekConfig = parseConfig(TINY_CONFIG_JSON, { file: 'bench config' });

export interface EngineBenchRow {
  /** 'absorbed (unfolded)': the absorbed path computing q^C then W_UK,i^T q^C_i (forward's foldQuery: false). */
  path: AttentionPath | 'absorbed (unfolded)';
  context: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  /** The same from this process's CPU time (user + system) where there is one (Node), else null: on a loaded machine wall time is mostly other processes' noise. */
  decodeTokensPerCpuSec: number | null;
  cacheBytesPerToken: number;
  attentionFlopsPerStep: number;
  /** Typed arrays constructed per decode step (global constructors wrapped and counted), steady state. */
  arraysPerStep: number;
  /** JS heap bytes allocated per decode step: heap growth plus what the collector freed meanwhile (v8.GCProfiler). */
  heapBytesPerStep: number;
}

const COUNTED = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'] as const;
// node:v8 without an import (this file is also bundled for the browser benchmark, where there is none): NaN bytes there.
const v8 = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:v8') as typeof import('node:v8') | undefined;

/** Run `fn` with the typed-array constructors counted; returns how many it made and the JS heap bytes it allocated. */
export function allocations(fn: () => void): { arrays: number; heapBytes: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = COUNTED.map((name) => g[name]);
  let arrays = 0;
  COUNTED.forEach((name, i) => {
    g[name] = new Proxy(saved[i] as object, { construct(target, args, newTarget) { arrays++; return Reflect.construct(target as new (...a: unknown[]) => object, args, newTarget === g[name] ? target as never : newTarget); } });
  });
  const profiler = v8 ? new v8.GCProfiler() : null;
  profiler?.start();
  const before = v8?.getHeapStatistics().used_heap_size ?? NaN;
  try {
    fn();
  } finally {
    COUNTED.forEach((name, i) => { g[name] = saved[i]; });
  }
  const after = v8?.getHeapStatistics().used_heap_size ?? NaN;
  const gcs = profiler?.stop()?.statistics ?? [];
  let freed = 0;
  for (const s of gcs) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  return { arrays, heapBytes: Math.max(0, after - before + freed) };
}

export interface EngineBench {
  backend: string;
  config: string;
  decodeSteps: number;
  rows: EngineBenchRow[];
  speculative: { gamma: number; tokens: number; plainTokensPerSec: number; speculativeTokensPerSec: number; acceptanceRate: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuUsage = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process?.cpuUsage;
/** Process CPU time in ms (NaN without one). */
const cpuMs = (): number => { const u = cpuUsage?.(); return u ? (u.user + u.system) / 1000 : NaN; };

export function benchEngine(options: { backend?: Backend; contexts?: number[]; decodeSteps?: number; repeats?: number } = {}): EngineBench {
  const backend = options.backend ?? referenceBackend;
  const model = initModel(BENCH_CONFIG, { seed: 1 }).withBackend(backend);
  // As load.ts does for a loaded model: the weights never change, so a backend may keep them
  // resident and the absorbed path folds W_UK into the query projection (mla.ts foldedQuery).
  markConstantDeep(model.weights);
  const V = BENCH_CONFIG.vocab_size;
  const steps = options.decodeSteps ?? 256;
  const repeats = options.repeats ?? 3;
  const rows: EngineBenchRow[] = [];
  // Warm the JIT on every path before timing anything.
  for (const path of ATTENTION_PATHS) generate(model, [1, 2, 3], { maxNewTokens: 64, attention: path });

  for (const context of options.contexts ?? [64, 1024]) {
    const prompt = Array.from({ length: context }, (_, i) => (i * 7) % V);
    for (const variant of [...ATTENTION_PATHS, 'absorbed (unfolded)'] as const) {
      const path: AttentionPath = variant === 'absorbed (unfolded)' ? 'absorbed' : variant;
      const foldQuery = variant !== 'absorbed (unfolded)';
      const prefill: number[] = [], decode: number[] = [], decodeCpu: number[] = [];
      let bytesPerToken = 0;
      let alloc = { arrays: 0, heapBytes: 0 };
      for (let r = 0; r < repeats; r++) {
        const cache = model.createCache(path);
        let t0 = performance.now();
        model.forward(prompt, { cache, foldQuery });
        prefill.push(performance.now() - t0);
        // Decode `steps` tokens at about this context: roll the cache back so it stays near `context`
        // (reuse: as generate's loop, the step's logits are read before the next step).
        const step = (s: number) => {
          if (s % 16 === 0 && cache.length > context) cache.truncate(context);
          model.forward([(s * 5) % V], { cache, foldQuery, reuse: true, lastLogitsOnly: true });
        };
        t0 = performance.now();
        const c0 = cpuMs();
        for (let s = 0; s < steps; s++) step(s);
        decodeCpu.push(cpuMs() - c0);
        decode.push(performance.now() - t0);
        bytesPerToken = cache.bytesPerToken;
        if (r === 0) alloc = allocations(() => { for (let s = 0; s < steps; s++) step(s); });
      }
      rows.push({
        path: variant, context,
        prefillTokensPerSec: context / (median(prefill) / 1000),
        decodeTokensPerSec: steps / (median(decode) / 1000),
        decodeTokensPerCpuSec: Number.isFinite(median(decodeCpu)) ? steps / (median(decodeCpu) / 1000) : null,
        cacheBytesPerToken: bytesPerToken,
        attentionFlopsPerStep: decodeCost(BENCH_CONFIG, path, context).attentionFlops,
        arraysPerStep: alloc.arrays / steps,
        heapBytesPerStep: alloc.heapBytes / steps,
      });
    }
  }

  // Speculative (MTP drafter, greedy) against plain greedy decoding of the same tokens.
  const prompt = [5, 9, 13, 17];
  const tokens = 256, gamma = 1;
  const plain: number[] = [], spec: number[] = [];
  let rate = 0;
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    generate(model, prompt, { maxNewTokens: tokens });
    plain.push(performance.now() - t0);
    t0 = performance.now();
    rate = speculate(model, prompt, { maxNewTokens: tokens, gamma, drafter: new MtpDrafter(model) }).acceptanceRate;
    spec.push(performance.now() - t0);
  }
  return {
    backend: backend.name,
    config: 'golden b shapes: d 64, 2 layers + 1 MTP, 4 heads, d_c 32, d_h^R 8, 16 routed experts (top-4 of 2/4 groups) + 1 shared, vocab 128',
    decodeSteps: steps,
    rows,
    speculative: {
      gamma, tokens,
      plainTokensPerSec: tokens / (median(plain) / 1000),
      speculativeTokensPerSec: tokens / (median(spec) / 1000),
      acceptanceRate: rate,
    },
  };
}

export function formatEngineBench(b: EngineBench): string {
  const lines = [
    `Engine on ${b.backend} (${b.config})`,
    'path                 context  prefill tok/s  decode tok/s  by CPU time  cache B/token  attn FLOP/step  arrays/step  heap B/step',
    ...b.rows.map((r) => `${r.path.padEnd(20)} ${String(r.context).padStart(7)}  ${r.prefillTokensPerSec.toFixed(0).padStart(13)}  ${r.decodeTokensPerSec.toFixed(0).padStart(12)}  ${(r.decodeTokensPerCpuSec?.toFixed(0) ?? '-').padStart(11)}  ${String(r.cacheBytesPerToken).padStart(13)}  ${r.attentionFlopsPerStep.toExponential(2).padStart(14)}  ${r.arraysPerStep.toFixed(2).padStart(11)}  ${r.heapBytesPerStep.toFixed(0).padStart(11)}`),
    'arrays/step: typed arrays constructed per decode step (constructors counted); heap B/step: JS heap bytes allocated per step (v8.GCProfiler: growth + freed)',
    `speculative (MTP drafter, gamma ${b.speculative.gamma}, untrained weights): ${b.speculative.speculativeTokensPerSec.toFixed(0)} tok/s vs plain ${b.speculative.plainTokensPerSec.toFixed(0)} tok/s, acceptance ${(100 * b.speculative.acceptanceRate).toFixed(0)}%`,
  ];
  return lines.join('\n');
}
