// A training run's whole state in one safetensors file (trainer-state.safetensors): the flat
// parameters, Adam's m and v, each MoE layer's routing bias (and the load average its update reads,
// when the run keeps one), and in the metadata the config, the
// step, the optimizer's step, the data sampler's RNG words and the run's options. Everything a
// resumed run needs to continue bit for bit; one file, so writing it (temp file, rename) is atomic.
// Pure bytes in and out: the CLI does the file I/O.
import type { DeepSeekConfig } from '../config.js';
import { configToJson } from '../config.js';
import { CheckpointError } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../safetensors.js';
import { type TrainParams, trainLayout } from './params.js';

export const TRAINER_STATE_FILE = 'trainer-state.safetensors';
const FORMAT = 'nanoseek-trainer-1';

/** The run's settings as saved (the CLI's options, resolved). */
export interface RunOptions {
  corpus: string;
  /** Characters of the training text and a hash of it: resuming on other text is refused. */
  corpus_chars: number;
  corpus_hash: string;
  steps: number;
  batch: number;
  seq_len: number;
  lr: number;
  warmup: number;
  min_lr_ratio: number;
  seed: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  max_grad_norm: number;
  mtp_lambda: number;
  balance_alpha: number;
  bias_gamma: number;
  /** How γ moves over the run; absent in runs saved before it existed, which used 'constant'. */
  bias_gamma_schedule?: 'constant' | 'cosine';
  /** Where the cosine γ ends, as a fraction of bias_gamma; absent: min_lr_ratio. */
  bias_gamma_min_ratio?: number;
  balancing: 'bias' | 'aux' | 'none';
  /**
   * With bias balancing: the bias update reads each expert's load averaged over recent batches,
   * avg = decay * avg + (1 - decay) * this batch's load, instead of this batch's load alone (absent
   * or 0). The sign of one small batch's load is a poor stand-in for the sign of the mean load
   * (loop.ts balanceLoads).
   */
  bias_load_decay?: number;
  threads: number;
}

export interface TrainerState {
  params: TrainParams;
  /** Adam's moments and its step count (what optimizerStep mutates). */
  opt: { step: number; m: Float32Array; v: Float32Array };
  /** Steps taken. */
  step: number;
  /** The sampler's sfc32 words after the last step's batch. */
  rng: number[];
  options: RunOptions;
  /** Per MoE layer prefix: the averaged load the bias update reads (only with options.bias_load_decay). */
  loadAvg?: Record<string, Float32Array>;
}

export function encodeTrainerState(s: TrainerState): Uint8Array {
  const n = s.params.data.length;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  tensors.set('params', { shape: [n], data: s.params.data });
  tensors.set('adam.m', { shape: [n], data: s.opt.m });
  tensors.set('adam.v', { shape: [n], data: s.opt.v });
  for (const [prefix, b] of Object.entries(s.params.buffers)) tensors.set(`bias.${prefix}`, { shape: [b.length], data: b });
  for (const [prefix, a] of Object.entries(s.loadAvg ?? {})) tensors.set(`load_avg.${prefix}`, { shape: [a.length], data: a });
  return writeSafetensors(tensors, {
    format: FORMAT,
    config: JSON.stringify(configToJson(s.params.config)),
    step: String(s.step),
    optimizer_step: String(s.opt.step),
    rng: JSON.stringify(s.rng),
    options: JSON.stringify(s.options),
  });
}

/** The config.json object saved in a trainer state (to compare with a --config before resuming). */
export function trainerStateConfig(bytes: Uint8Array, file: string): Record<string, unknown> {
  const meta = readSafetensors(bytes, file).metadata ?? {};
  if (meta.format !== FORMAT) throw new CheckpointError(file, null, `is not a nanoseek trainer state ("format" is ${JSON.stringify(meta.format)}, expected "${FORMAT}")`);
  try {
    return JSON.parse(meta.config ?? '') as Record<string, unknown>;
  } catch {
    throw new CheckpointError(file, null, 'its metadata "config" is not valid JSON');
  }
}

/** Read a trainer state for `config` (already checked to be the saved one). */
export function decodeTrainerState(bytes: Uint8Array, file: string, config: DeepSeekConfig): TrainerState {
  const f = readSafetensors(bytes, file);
  const meta = f.metadata ?? {};
  if (meta.format !== FORMAT) throw new CheckpointError(file, null, `is not a nanoseek trainer state ("format" is ${JSON.stringify(meta.format)}, expected "${FORMAT}")`);
  const { names, shapes, offsets, total, biases } = trainLayout(config);
  const get = (name: string, length: number): Float32Array => {
    const t = f.tensors.get(name);
    if (!t) throw new CheckpointError(file, name, 'is missing');
    if (t.data.length !== length) throw new CheckpointError(file, name, `has ${t.data.length} values, the config needs ${length}`);
    return Float32Array.from(t.data);
  };
  const buffers: Record<string, Float32Array> = {};
  let loadAvg: Record<string, Float32Array> | undefined;
  for (const b of biases) {
    const prefix = b.replace(/\.gate\.e_score_correction_bias$/, '');
    buffers[prefix] = get(`bias.${prefix}`, config.n_routed_experts!);
    if (f.tensors.has(`load_avg.${prefix}`)) (loadAvg ??= {})[prefix] = get(`load_avg.${prefix}`, config.n_routed_experts!);
  }
  const int = (key: string): number => {
    const v = Number(meta[key]);
    if (!Number.isInteger(v) || v < 0) throw new CheckpointError(file, null, `metadata "${key}" must be a non-negative integer (got ${JSON.stringify(meta[key])})`);
    return v;
  };
  let rng: number[], options: RunOptions;
  try {
    rng = JSON.parse(meta.rng ?? '') as number[];
    options = JSON.parse(meta.options ?? '') as RunOptions;
  } catch {
    throw new CheckpointError(file, null, 'metadata "rng" or "options" is not valid JSON');
  }
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
    throw new CheckpointError(file, null, 'metadata "rng" must be four 32-bit words');
  }
  return {
    params: { config, names, shapes, offsets, data: get('params', total), buffers },
    opt: { step: int('optimizer_step'), m: get('adam.m', total), v: get('adam.v', total) },
    step: int('step'),
    rng,
    options,
    ...(loadAvg ? { loadAvg } : {}),
  };
}

/** FNV-1a (32-bit) of a string, hex: identifies the training text in a saved state. */
export function textHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
