// The training lesson's run settings and schedule: the defaults of its sliders, the settings they
// resolve to, and the engine's run options for them. No Vite and no DOM, so the page, its worker and
// the Node scripts that replay the lesson's run (scripts/replay-train.ts, bench-train-node.ts) read
// the same numbers instead of copies.
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

/** The lesson's sliders that make a run's settings, and their defaults (the page's initial values). */
export interface SettingSliders {
  seed: number; size: string; log_lr: number; batch: number; corpus: CorpusMix; balancing: Balancing;
  log_gamma: number; log_gamma_end: number; log_alpha: number; mtp: boolean; mtp_lambda: number;
}
export const LESSON_DEFAULTS: Omit<SettingSliders, 'size'> = {
  seed: 1, log_lr: -2.5, batch: 8, corpus: 'mix', balancing: 'bias', log_gamma: -2, log_gamma_end: -4, log_alpha: -2, mtp: true, mtp_lambda: 0.3,
};

/** The settings the sliders stand for (log sliders to values, rounded as their labels show them). */
export function settingsFrom(v: SettingSliders): RunSettings {
  return {
    seed: v.seed, size: v.size, lr: Number((10 ** v.log_lr).toPrecision(3)), batch: v.batch, seqLen: SEQ_LEN, balancing: v.balancing,
    gamma: Number((10 ** v.log_gamma).toPrecision(2)), gammaEnd: Number((10 ** v.log_gamma_end).toPrecision(2)),
    alpha: Number((10 ** v.log_alpha).toPrecision(2)), mtp: v.mtp, mtpLambda: v.mtp_lambda, corpus: v.corpus,
  };
}
