// The training section of `npm run bench`: our training characters per second (forward + backward +
// AdamW, bench/train.ts) at the golden-b and the shipped shape on one thread and on two (the trainer's
// two-thread split, src/cli/train-worker.ts), the PyTorch twin at the same shapes on the same corpus
// and 2 threads (and 1; the ratio is against its better), measured in this run (bench/twin.ts); then the native float32 matmul
// peak on one thread beside the wasm kernels' GFLOP/s from the kernel table.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fastestBackend } from '../kernels/fastest.js';
import { twoThreadRunner } from '../src/cli/train-worker.js';
import { parseConfig } from '../src/engine/config.js';
import { charTokenizer } from '../src/engine/tokenizer.js';
import type { BenchResult } from './kernels.js';
import { benchTrain, formatTrainBench, GOLDEN_B_SHAPE, type TrainBench } from './train.js';
import { cleanTwinData, nativePeak, type NativePeak, runTwin, torchStatus, TWIN_SHAPES, twinDataDir, type TwinRun } from './twin.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface TrainReport {
  loadAtStart: string; loadAtEnd: string;
  ours: TrainBench[];
  twin: TwinRun[] | { skipped: string };
  /** ours / the twin's best chars per second (over its 2- and 1-thread runs), per shape and our thread count. */
  ratios: Array<{ shape: string; threads: number; twinThreads: number; ratio: number }>;
  native: NativePeak;
  /** wasm matmul GFLOP/s (the kernel table's median) over the native peak, per size. */
  wasmFraction: Array<{ size: number; wasm: number; native: number; fraction: number }>;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

export async function benchTrainReport(opts: { quick: boolean; kernels?: BenchResult; log: (line: string) => void }): Promise<TrainReport> {
  const { quick, log } = opts;
  // The trainer's default kernels (the two-thread runner picks the same on both threads).
  const backend = await fastestBackend();
  const loadAtStart = load();
  const shapes = [
    { shape: 'golden-b', cfg: parseConfig(GOLDEN_B_SHAPE, { file: 'the golden-b shape' }) },
    { shape: 'shipped', cfg: parseConfig(JSON.parse(readFileSync(path.join(ROOT, 'static/models/nanoseek-stories/config.json'), 'utf8')), { file: 'static/models/nanoseek-stories/config.json' }) },
  ];
  const text = charTokenizer.encode(readFileSync(path.join(ROOT, 'static/data/stories/train.txt'), 'utf8'));
  const steps = quick ? 4 : 10;
  const ours: TrainBench[] = [];
  for (const { shape, cfg } of shapes) {
    const one = await benchTrain(shape, cfg, backend, { steps, text });
    ours.push(one);
    log(formatTrainBench(one));
    const runner = await twoThreadRunner(cfg);
    try {
      const two = await benchTrain(shape, cfg, backend, { steps, text, runner });
      ours.push(two);
      log(formatTrainBench(two));
    } finally {
      await runner.close();
    }
  }

  let twin: TrainReport['twin'];
  const status = torchStatus();
  if (!status.ok) {
    twin = { skipped: `PyTorch twin skipped: ${status.reason}` };
    log(twin.skipped);
  } else {
    const dir = twinDataDir();
    const minutes = quick ? 0.15 : 0.4;
    twin = [];
    try {
      for (const t of TWIN_SHAPES) {
        for (const threads of [2, 1]) {
          const r = await runTwin(t, dir, minutes, threads);
          twin.push(r);
          log(r.error ? `twin ${t.shape} ${threads} threads: ${r.error} (${r.command})` :
            `twin ${r.shape.padEnd(8)} torch ${status.version} ${threads} thread(s) batch 16x129: ${Math.round(r.charsPerSecond!)} chars/s (${r.steps} steps in ${r.trainSeconds} s of training; ${r.command})`);
        }
      }
    } finally {
      cleanTwinData(dir);
    }
  }
  const ratios: TrainReport['ratios'] = [];
  if (Array.isArray(twin)) {
    for (const o of ours) {
      const t = twin.filter((x) => x.shape === o.shape && x.charsPerSecond).sort((a, b) => b.charsPerSecond! - a.charsPerSecond!)[0];
      if (t?.charsPerSecond) ratios.push({ shape: o.shape, threads: o.threads, twinThreads: t.threads, ratio: o.charsPerSecond / t.charsPerSecond });
    }
  }

  const native = nativePeak({ quick });
  const wasmFraction: TrainReport['wasmFraction'] = [];
  if (native.peak && opts.kernels) {
    for (const c of opts.kernels.cases) {
      if (c.op !== 'matmul' || c.label || c.size < 128) continue;
      const w = c.results['wasm'], n = native.peak[String(c.size)];
      if (w && 'gflops' in w && n) wasmFraction.push({ size: c.size, wasm: w.gflops, native: n, fraction: w.gflops / n });
    }
  }
  return { loadAtStart, loadAtEnd: load(), ours, twin, ratios, native, wasmFraction };
}

export function formatTrainReport(r: TrainReport): string {
  const lines = [`training (forward + backward + AdamW, batch 16 x 129 predicted characters, stories corpus); load average ${r.loadAtStart} at start, ${r.loadAtEnd} at end`];
  for (const o of r.ours) lines.push('  ' + formatTrainBench(o));
  if (Array.isArray(r.twin)) {
    for (const t of r.twin) lines.push(t.error ? `  twin ${t.shape} ${t.threads} threads: ${t.error}` : `  PyTorch twin ${t.shape.padEnd(8)} ${t.threads} thread${t.threads > 1 ? 's' : ' '}: ${Math.round(t.charsPerSecond!)} chars/s (${t.steps} steps, ${t.trainSeconds} s)   ${t.command}`);
  } else lines.push('  ' + r.twin.skipped);
  for (const x of r.ratios) lines.push(`  nanoseek / PyTorch twin, ${x.shape}, ours on ${x.threads} thread${x.threads > 1 ? 's' : ''} vs the twin's best (${x.twinThreads} thread${x.twinThreads > 1 ? 's' : ''}): ${x.ratio.toFixed(2)}x`);
  const n = r.native;
  if (n.skipped) lines.push(`native matmul peak skipped: ${n.skipped}`);
  else {
    const f = (g?: Record<string, number>) => (g ? Object.entries(g).map(([k, v]) => `n=${k} ${v}`).join(', ') : '-');
    lines.push(`native float32 matmul, one thread (${n.lib}), GFLOP/s: as given (OPENBLAS_CORETYPE=${n.coretype ?? 'unset'}) ${f(n.asGiven)}; ` +
      `${n.unset ? `with OPENBLAS_CORETYPE/L2_SIZE unset ${f(n.unset)}` : ''}`);
    for (const w of r.wasmFraction) lines.push(`  wasm matmul n=${w.size}: ${w.wasm.toFixed(2)} GFLOP/s = ${(100 * w.fraction).toFixed(1)}% of the native peak ${w.native}`);
  }
  return lines.join('\n');
}
