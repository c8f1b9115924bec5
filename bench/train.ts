// Training throughput: characters per second of forward + backward + AdamW on a batch of 16 rows,
// each predicting 129 characters (the PyTorch twin's batch, bench/anchors/tinyseek.py: it feeds 129
// ids per row; our rows carry their targets, so they are 130 ids long), for the golden-b shape
// (tests/fixtures/golden/b_moe_mtp_tiny), the shipped shape (static/models/nanoseek-stories) and the
// anchors' "M" shape, on one thread or through a GradientRunner (src/engine/train/workers.ts; two
// threads: src/cli/train-worker.ts). Rows are drawn from a given text (the project's corpus) or, when
// none is given, pseudo-random printable ASCII. Reports wall time and, in Node, CPU time of the whole
// process (process.cpuUsage, all threads). `npx tsx bench/train.ts [--backend fastest|loop|reference]
// [--steps N] [--json]`.
import type { Backend } from '../kernels/backend.js';
import { type DeepSeekConfig, initTensors, parseConfig } from '../src/engine/index.js';
import { createOptimizer, divideInPlace, lrAt, optimizerStep, paramsFromTensors, type TrainHparams } from '../src/engine/train/index.js';
import { type GradientRunner, localRunner } from '../src/engine/train/workers.js';

/** The golden-b shape (tests/fixtures/golden/b_moe_mtp_tiny/config.json). */
export const GOLDEN_B_SHAPE = {
  vocab_size: 128, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,
  q_lora_rank: 48, kv_lora_rank: 32, qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 12,
  n_routed_experts: 16, n_shared_experts: 1, num_experts_per_tok: 4, moe_intermediate_size: 24, n_group: 4, topk_group: 2,
  routed_scaling_factor: 2.5, norm_topk_prob: true, scoring_func: 'sigmoid', topk_method: 'noaux_tc', first_k_dense_replace: 1,
  num_nextn_predict_layers: 1, max_position_embeddings: 256, rope_theta: 10000, rope_scaling: null,
};

/** The anchors' "M" shape: d 96, 3 layers (2 MoE). */
export const M_SHAPE = { ...GOLDEN_B_SHAPE, hidden_size: 96, num_hidden_layers: 3, intermediate_size: 192, moe_intermediate_size: 32 };

/** The shipped model's shape (static/models/nanoseek-stories/config.json): d 96, 3 layers, the golden-b widths. */
export const SHIPPED_SHAPE = { ...GOLDEN_B_SHAPE, hidden_size: 96, num_hidden_layers: 3, max_position_embeddings: 1024 };

const HP: TrainHparams = {
  lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3,
  balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias',
};

export interface TrainBench {
  shape: string; backend: string; threads: number; batch: number;
  /** Ids per row (targets included): seqLen - 1 characters are predicted per row. */
  seqLen: number; steps: number;
  /** Median over the measured steps (after 2 warm-up steps). */
  msPerStep: number; cpuMsPerStep: number; charsPerSecond: number; cpuCharsPerSecond: number;
}

/** Cpu time of this process in ms (all threads), or NaN outside Node. */
const cpuMs = (): number => {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (!p?.cpuUsage) return NaN;
  const c = p.cpuUsage();
  return (c.user + c.system) / 1000;
};

export interface TrainBenchOptions {
  batch?: number; seqLen?: number; steps?: number;
  /** Token ids to draw rows from (the corpus); pseudo-random printable ASCII when absent. */
  text?: ArrayLike<number>;
  /** Computes each batch's gradient; one thread here (localRunner(backend)) when absent. */
  runner?: GradientRunner;
}

/** Median step time over `steps` steps after 2 warm-up steps. */
export async function benchTrain(shape: string, cfg: DeepSeekConfig, backend: Backend | undefined, opts: TrainBenchOptions = {}): Promise<TrainBench> {
  const B = opts.batch ?? 16, N = opts.seqLen ?? 130, steps = opts.steps ?? 8;
  const runner = opts.runner ?? localRunner(backend);
  const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 1 }));
  let s = 7;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
  const text = opts.text;
  const row = (): number[] => {
    if (text && text.length > N) { const at = rand() % (text.length - N); return Array.from({ length: N }, (_, i) => Math.min(127, text[at + i]!)); }
    return Array.from({ length: N }, () => 32 + (rand() % 90)); // printable ASCII, as a character corpus
  };
  const state = createOptimizer(p);
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const rows = Array.from({ length: B }, row);
    const c0 = cpuMs(), t0 = performance.now();
    const g = await runner.gradient(p, rows, HP);
    divideInPlace(g.grads, g.rows);
    optimizerStep(p, state, g.grads, g.loads, HP, lrAt(i + 1, { lr: HP.lr, warmup: 2, total: steps + 2, minLrRatio: 0.1 }));
    if (i >= 2) { wall.push(performance.now() - t0); cpu.push(cpuMs() - c0); }
  }
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
  const ms = median(wall), cms = median(cpu);
  const chars = B * (N - 1);
  return {
    shape, backend: backend?.name ?? 'loop', threads: runner.threads, batch: B, seqLen: N, steps,
    msPerStep: ms, cpuMsPerStep: cms, charsPerSecond: (chars * 1000) / ms, cpuCharsPerSecond: (chars * 1000) / cms,
  };
}

export function formatTrainBench(r: TrainBench): string {
  const cpu = Number.isFinite(r.cpuMsPerStep) ? `, ${r.cpuMsPerStep.toFixed(0)} ms CPU (${Math.round(r.cpuCharsPerSecond)} chars/s per CPU-second)` : '';
  return `train ${r.shape.padEnd(8)} ${r.backend.padEnd(10)} ${r.threads} thread${r.threads > 1 ? 's' : ' '} batch ${r.batch}x${r.seqLen - 1}: ` +
    `${r.msPerStep.toFixed(0)} ms/step wall (${Math.round(r.charsPerSecond)} chars/s)${cpu}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const flag = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const name = flag('--backend') ?? 'fastest';
  let backend: Backend;
  if (name === 'fastest') backend = await (await import('../kernels/fastest.js')).fastestBackend();
  else if (name === 'loop') backend = (await import('../kernels/loop.js')).loopBackend;
  else if (name === 'reference') backend = (await import('../kernels/reference.js')).referenceBackend;
  else throw new Error(`--backend must be fastest, loop or reference (got ${name})`);
  const steps = Number(flag('--steps') ?? 8);
  const results = [
    await benchTrain('golden-b', parseConfig(GOLDEN_B_SHAPE), backend, { steps }),
    await benchTrain('shipped', parseConfig(SHIPPED_SHAPE), backend, { steps }),
    await benchTrain('M', parseConfig(M_SHAPE), backend, { steps }),
  ];
  if (argv.includes('--json')) console.log(JSON.stringify(results));
  else for (const r of results) console.log(formatTrainBench(r));
}

if (typeof process !== 'undefined' && import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e: unknown) => { console.error(e); process.exitCode = 1; });
}
