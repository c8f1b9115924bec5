// What a training run is made of (the lesson's inputs, resolved) and the messages between the page
// and the trainer worker. Shared by the page and worker.ts; no DOM, no engine state.
import { type DeepSeekConfig, configToJson, parseConfig } from '$engine/config';
import { TINY_CONFIG_JSON } from '$engine/tiny';
import type { RunOptions } from '$engine/train/checkpoint';

export type Balancing = 'bias' | 'aux' | 'none';
export type CorpusMix = 'stories' | 'mix';

/** A run's settings: everything its numbers depend on (the key of its saved state). */
export interface RunSettings {
  seed: number;
  size: string;
  lr: number;
  batch: number;
  seqLen: number;
  balancing: Balancing;
  /** γ of the first GAMMA_FALL_FROM characters. */
  gamma: number;
  /** γ from GAMMA_FALL_TO characters on, reached by a geometric fall (biasGammaAt); at or above `gamma`, γ stays constant. */
  gammaEnd: number;
  alpha: number;
  mtp: boolean;
  mtpLambda: number;
  corpus: CorpusMix;
}

/**
 * Characters the learning rate's cosine spans (then it stays at its floor). The router's weights move
 * with every AdamW step, in answer to one small batch: near the peak learning rate they unbalance
 * the experts faster than the biases can follow (over a 3M-character cosine, a snapshot after 920k
 * characters had MaxVio 0.14-0.16 on 600 training rows, and from 700k to 1.3M characters the held-out
 * figure stayed 0.06-0.26 with γ ending at 3.2e-4 or 1e-4), so the schedule ends before a run here
 * is at 5 minutes (seeds 1-3 from 1M to 1.3M characters: 0.03-0.12 with γ ending at 3.2e-4). These
 * figures are from the bias update on one batch's load, before BIAS_LOAD_DECAY.
 */
export const SCHEDULE_CHARS = 1_000_000;
export const WARMUP_STEPS = 50;
export const MIN_LR_RATIO = 0.1;
/**
 * Held-out windows of EVAL_SEQ characters each evaluation measures (the same ones every time, so the
 * curves are not sampling noise), spread evenly over the held-out stories and arithmetic. MaxVio of
 * a snapshot is read from their loads: on 24 + 8 windows, other equally spread sets of the same
 * size gave a trained model's MaxVio 0.10-0.19 where all 1,020 + 168 windows gave 0.11-0.13, so the
 * sets are three times that, measured a third as often (EVAL_CHARS).
 */
export const VAL_WINDOWS = 72;
export const ARITH_WINDOWS = 24;
export const EVAL_SEQ = 129;
/** An evaluation every this many training characters (and at steps EARLY_EVALS, where the curves move fast). */
export const EVAL_CHARS = 60_000;
export const EARLY_EVALS = [5, 10, 20, 40, 80];

/** Characters per training row (the twin's small-batch recipe: 8 x 65). */
export const SEQ_LEN = 65;

// The shipped model's config, when one is in static/models/ (the trainer issue ships it).
const shipped = import.meta.glob('../../static/models/nanoseek-*/config.json', { eager: true, import: 'default' }) as Record<string, Record<string, unknown>>;
const shippedEntry = Object.entries(shipped)[0];

/** The model sizes offered: golden case b's shape, the shipped model's (when it exists), else the twin's M shape. */
export const SIZES: { value: string; label: string; raw: Record<string, unknown> }[] = [
  { value: 'golden-b', label: 'golden-b: d 64, 2 layers', raw: { ...TINY_CONFIG_JSON } },
  shippedEntry
    ? { value: 'shipped', label: `shipped: d ${shippedEntry[1].hidden_size}, ${shippedEntry[1].num_hidden_layers} layers`, raw: { ...shippedEntry[1] } }
    : { value: 'm', label: 'M: d 96, 3 layers', raw: { ...TINY_CONFIG_JSON, hidden_size: 96, num_hidden_layers: 3 } },
];

/** The config of a size (MTP off: no MTP module). */
export function configOf(s: Pick<RunSettings, 'size' | 'mtp'>): DeepSeekConfig {
  const size = SIZES.find((z) => z.value === s.size) ?? SIZES[0];
  const raw = { ...size.raw, max_position_embeddings: Math.max(Number(size.raw.max_position_embeddings ?? 0), 512), num_nextn_predict_layers: s.mtp ? 1 : 0 };
  return parseConfig(raw, { file: `the ${size.value} shape` });
}

/** The twin curve family a size compares with. */
export function shapeFamily(size: string): 'golden-b' | 'm' {
  return size === 'golden-b' ? 'golden-b' : 'm';
}

/** The run's identity: settings it does not use (γ without the bias update, α without the loss, λ without MTP) are left out. */
export function settingsKey(s: RunSettings): string {
  return JSON.stringify([s.seed, s.size, s.lr, s.batch, s.seqLen, s.balancing, s.balancing === 'bias' ? s.gamma : null, s.balancing === 'bias' ? Math.min(s.gamma, s.gammaEnd) : null, s.balancing === 'aux' ? s.alpha : null, s.mtp, s.mtp ? s.mtpLambda : null, s.corpus]);
}

/**
 * γ of the bias update after `chars` characters: γ for the first GAMMA_FALL_FROM characters (the
 * biases catch up with the untrained router quickly), then falling by the same factor per character
 * to γ_end at GAMMA_FALL_TO characters, and γ_end from there on. Each bias moves by ±γ every step in
 * answer to one small, noisy batch, so the biases jitter around the even point by an amount that
 * grows with γ: the smaller the last steps' γ, the evener a snapshot of the model. With γ_end at or
 * above γ, γ is constant.
 */
export const GAMMA_FALL_FROM = 150_000;
export const GAMMA_FALL_TO = SCHEDULE_CHARS;
export function biasGammaAt(s: Pick<RunSettings, 'gamma' | 'gammaEnd'>, chars: number): number {
  if (s.gammaEnd >= s.gamma || chars <= GAMMA_FALL_FROM) return s.gamma;
  if (chars >= GAMMA_FALL_TO) return s.gammaEnd;
  return s.gamma * (s.gammaEnd / s.gamma) ** ((chars - GAMMA_FALL_FROM) / (GAMMA_FALL_TO - GAMMA_FALL_FROM));
}

/**
 * With bias balancing, the bias update reads each expert's load averaged over the recent batches
 * (each step keeps this share of the average; src/engine/train/loop.ts balanceLoads), not the load of
 * the one batch of 512 characters. An expert's load on such a batch is lopsided (the experts that
 * take digits get little in most batches and a crowd in the few with arithmetic lines), so the sign
 * of one batch's load settled an expert where the median batch was even: on seed 1 at 2.7M
 * characters, one expert 10% overloaded on average was over the mean in as many batches as under.
 */
export const BIAS_LOAD_DECAY = 0.9;

export function charsPerStep(s: Pick<RunSettings, 'batch' | 'seqLen'>): number {
  return s.batch * (s.seqLen - 1);
}

/** The engine's run options for these settings (what a saved trainer state records). */
export function runOptions(s: RunSettings, threads: number): RunOptions {
  return {
    corpus: s.corpus === 'mix' ? 'stories+arithmetic' : 'stories', corpus_chars: 0, corpus_hash: '',
    steps: Math.max(WARMUP_STEPS + 1, Math.round(SCHEDULE_CHARS / charsPerStep(s))), batch: s.batch, seq_len: s.seqLen,
    lr: s.lr, warmup: WARMUP_STEPS, min_lr_ratio: MIN_LR_RATIO, seed: s.seed, betas: [0.9, 0.95], eps: 1e-8,
    weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: s.mtp ? s.mtpLambda : 0,
    // The auxiliary loss weighs in only for the aux strategy; the bias strategy runs without it (as the twin does).
    balance_alpha: s.balancing === 'aux' ? s.alpha : 0, bias_gamma: s.gamma, balancing: s.balancing, threads,
    ...(s.balancing === 'bias' ? { bias_load_decay: BIAS_LOAD_DECAY } : {}),
  };
}

export { configToJson };

// ---- messages: page -> worker ----
export type ToWorker =
  | { type: 'init'; settings: RunSettings; threads: number; dataUrl: string; saved: Uint8Array | null; untrained: UntrainedStats | null }
  | { type: 'run' }
  | { type: 'pause' }
  | { type: 'step' }
  | { type: 'snapshot'; id: number }
  /** Save the run to the browser's storage (store.ts) from the worker: its state with this history, under this key. */
  | { type: 'save'; id: number; key: string; history: unknown }
  | { type: 'export'; id: number }
  | { type: 'load'; id: number; bytes: Uint8Array; file: string }
  /** The reader pressed something: leave the cores to the page until `until` (ms since the epoch). */
  | { type: 'yield'; until: number };

// ---- messages: worker -> page ----
export interface StepPoint {
  step: number;
  chars: number;
  lr: number;
  bpc: number;
  loss: number;
  gradNorm: number;
  mtpAgree: number | null;
  /** Per MoE layer (prefix order of `layers`): tokens per routed expert on this batch. */
  load: number[][];
  /** Per MoE layer: e_score_correction_bias after the step. */
  bias: number[][];
}

export interface EvalPoint {
  step: number;
  chars: number;
  valBpc: number;
  greedy: number | null;
  sampled: number | null;
  /** Per MoE layer: MaxVio on the held-out windows, prose and arithmetic weighted as in the training text (worker.ts measure). */
  maxVio: number[];
  /** Per MoE layer: P(expert | arithmetic) / P(expert), by top-k slots; P(expert) over held-out prose and arithmetic together. */
  lift: number[][];
  /** Logits of the next character after the probe prompt (first PROBE_LOGITS of them): what a reloaded checkpoint must reproduce. */
  probe: number[];
}

export interface UntrainedStats { lift: number[][]; maxVio: number[]; greedy: number | null; sampled: number | null; valBpc: number }

export interface Sample { step: number; chars: number; text: string }

export type FromWorker =
  | { type: 'ready'; layers: string[]; params: number; step: number; chars: number; untrained: UntrainedStats; loadedFrom: string | null; threads: number; kernels: string }
  | { type: 'steps'; points: StepPoint[]; charsPerSec: number | null }
  | { type: 'eval'; point: EvalPoint }
  | { type: 'sample'; sample: Sample }
  | { type: 'state'; running: boolean }
  | { type: 'snapshot'; id: number; bytes: Uint8Array }
  | { type: 'saved'; id: number; ok: boolean }
  | { type: 'export'; id: number; bytes: Uint8Array; probe: number[] }
  | { type: 'loaded'; id: number; file: string; layers: string[]; params: number; config: Record<string, unknown> }
  | { type: 'load-error'; id: number; message: string }
  | { type: 'error'; message: string };

/** The prompt every sample starts from, and the probe whose logits are compared after a reload. */
export const SAMPLE_PROMPT = 'Once upon a time';
export const SAMPLE_CHARS = 160;
export const SAMPLE_TEMPERATURE = 0.8;
export const PROBE_LOGITS = 16;
