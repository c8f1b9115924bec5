// Training throughput on one thread: characters (tokens) per second of forward + backward + AdamW
// on a batch of 16 rows x 129 characters (the PyTorch twin's batch, ../shared/anchors), for the
// golden-b shape (tests/fixtures/golden/b_moe_mtp_tiny) and a larger "M" shape (d 96, 3 layers).
// Reports wall time and CPU time (process.cpuUsage): on a shared machine the CPU figure is the
// steadier one. `npx tsx bench/train.ts [--backend fastest|loop|reference] [--steps N] [--json]`.
import type { Backend } from '../kernels/backend.js';
import { type DeepSeekConfig, initTensors, parseConfig } from '../src/engine/index.js';
import { createOptimizer, lrAt, optimizerStep, paramsFromTensors, rowsGradient, type TrainHparams } from '../src/engine/train/index.js';

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

const HP: TrainHparams = {
  lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3,
  balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias',
};

export interface TrainBench {
  shape: string; backend: string; batch: number; seqLen: number; steps: number;
  /** Median over the measured steps (after 2 warm-up steps). */
  msPerStep: number; cpuMsPerStep: number; charsPerSecond: number; cpuCharsPerSecond: number;
}

export function benchTrain(shape: string, cfg: DeepSeekConfig, backend: Backend | undefined, opts: { batch?: number; seqLen?: number; steps?: number } = {}): TrainBench {
  const B = opts.batch ?? 16, N = opts.seqLen ?? 129, steps = opts.steps ?? 8;
  const p = paramsFromTensors(cfg, initTensors(cfg, { seed: 1 }));
  let s = 7;
  const rows = Array.from({ length: B }, () => Array.from({ length: N }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 32 + ((s >>> 8) % 90); // printable ASCII, as a character corpus
  }));
  const state = createOptimizer(p);
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    const g = rowsGradient(p, rows, HP, backend);
    for (let j = 0; j < g.grads.length; j++) g.grads[j] /= g.rows;
    optimizerStep(p, state, g.grads, g.loads, HP, lrAt(i + 1, { lr: HP.lr, warmup: 2, total: steps + 2, minLrRatio: 0.1 }));
    const c = process.cpuUsage(c0);
    if (i >= 2) { wall.push(performance.now() - t0); cpu.push((c.user + c.system) / 1000); }
  }
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
  const ms = median(wall), cms = median(cpu);
  return {
    shape, backend: backend?.name ?? 'loop', batch: B, seqLen: N, steps,
    msPerStep: ms, cpuMsPerStep: cms, charsPerSecond: (B * N * 1000) / ms, cpuCharsPerSecond: (B * N * 1000) / cms,
  };
}

export function formatTrainBench(r: TrainBench): string {
  return `train ${r.shape.padEnd(8)} ${r.backend.padEnd(10)} batch ${r.batch}x${r.seqLen}: ${r.msPerStep.toFixed(0)} ms/step wall ` +
    `(${Math.round(r.charsPerSecond)} chars/s), ${r.cpuMsPerStep.toFixed(0)} ms CPU (${Math.round(r.cpuCharsPerSecond)} chars/s)`;
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
    benchTrain('golden-b', parseConfig(GOLDEN_B_SHAPE), backend, { steps }),
    benchTrain('M', parseConfig(M_SHAPE), backend, { steps }),
  ];
  if (argv.includes('--json')) console.log(JSON.stringify(results));
  else for (const r of results) console.log(formatTrainBench(r));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e: unknown) => { console.error(e); process.exitCode = 1; });
}
