// The training objective (tests/fixtures/golden/train/README.md) and its gradient over some rows:
//   per row: L_main + mtp_lambda * L_mtp + balance_alpha * L_bal
// Everything returned is a SUM over the given rows, so workers can each take part of a batch and
// their results add; the caller divides by the batch's row count for the mean.
import type { Backend } from '../../../kernels/backend.js';
import { loopBackend } from '../../../kernels/loop.js';
import { EngineInputError } from '../errors.js';
import { forwardLosses } from './forward.js';
import type { TrainParams } from './params.js';
import { type Dtype, Tape, type Vec } from './tape.js';

export type Balancing = 'bias' | 'aux' | 'none';

export interface TrainHparams {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  max_grad_norm: number;
  mtp_lambda: number;
  balance_alpha: number;
  bias_gamma: number;
  /** bias: the bias update (and the balance loss at balance_alpha as given); aux: the loss only; none: neither. */
  balancing: Balancing;
}

export interface RowsGradient {
  rows: number;
  /** Sums over rows of the per-row terms (balance already times alpha; mtp before lambda). */
  loss: number;
  main: number;
  mtp: number;
  balance: number;
  /** d(sum of per-row losses)/d(param), in TrainParams.data's layout. */
  grads: Float32Array;
  /** Tokens per routed expert, per MoE layer prefix (the MTP block's included), summed over rows. */
  loads: Record<string, number[]>;
  /** MTP greedy agreement counts (the draft for t+2 equals the main argmax at t+1). */
  agree?: { mtpGreedy: number; count: number };
}

/** What the objective needs of the params: the layout and values, in either precision. */
export type ParamsLike = Pick<TrainParams, 'config' | 'names' | 'shapes' | 'offsets' | 'buffers'> & { data: Vec };

/** Check rows: at least one, all the same length (>= 2, >= 3 with an MTP module), ids in the vocabulary. */
export function checkRows(p: Pick<TrainParams, 'config'>, rows: readonly (readonly number[])[], what = 'rows'): { R: number; N: number; ids: Int32Array } {
  const cfg = p.config, R = rows.length;
  if (R === 0) throw new EngineInputError(`${what}: give at least one row of token ids`);
  // Each MTP depth k predicts k+1 ahead, so the deepest needs D+2 tokens for one position.
  const N = rows[0].length, min = cfg.num_nextn_predict_layers + 2;
  const ids = new Int32Array(R * N);
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) throw new EngineInputError(`${what}[${r}] must be an array of token ids`);
    if (row.length !== N) throw new EngineInputError(`${what}[${r}] has ${row.length} tokens but ${what}[0] has ${N}: every row must be the same length`);
    row.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= cfg.vocab_size) {
        throw new EngineInputError(`${what}[${r}][${i}] = ${JSON.stringify(t)} is not a token id in 0..${cfg.vocab_size - 1} (vocab_size ${cfg.vocab_size})`);
      }
      ids[r * N + i] = t;
    });
  });
  if (N < min) throw new EngineInputError(`${what}: rows of ${N} tokens are too short: training needs at least ${min}${min > 2 ? ` (MTP depth ${min - 2} predicts ${min - 1} ahead)` : ''}`);
  return { R, N, ids };
}

/** Forward and backward in the tape's precision: `grads` (zeros, same layout as data) receives the gradient. */
export function gradientInto(p: ParamsLike, grads: Vec, rows: readonly (readonly number[])[], hp: Pick<TrainHparams, 'mtp_lambda' | 'balance_alpha' | 'balancing'>, options: { backend?: Backend; dtype?: Dtype } = {}): Omit<RowsGradient, 'grads'> {
  const { R, N, ids } = checkRows(p, rows);
  const dtype: Dtype = options.dtype ?? (p.data instanceof Float64Array ? 'float64' : 'float32');
  const tape = new Tape(options.backend ?? loopBackend, dtype);
  const nodes = new Map<string, ReturnType<Tape['param']>>();
  const param = (name: string) => {
    let n = nodes.get(name);
    if (!n) {
      const o = p.offsets[name];
      if (o === undefined) throw new Error(`no trained tensor named ${name}`);
      const len = p.shapes[name].reduce((a, b) => a * b, 1);
      n = tape.param(p.data.subarray(o, o + len), grads.subarray(o, o + len));
      nodes.set(name, n);
    }
    return n;
  };
  const balanceAlpha = hp.balancing === 'none' ? 0 : hp.balance_alpha;
  const sums = forwardLosses({ tape, cfg: p.config, param, buffers: p.buffers, balanceAlpha }, ids, R, N, hp.mtp_lambda);
  tape.backward();
  tape.release();
  const loss = sums.main + hp.mtp_lambda * sums.mtp + sums.balance;
  return { rows: R, loss, main: sums.main, mtp: sums.mtp, balance: sums.balance, loads: sums.loads, ...(sums.agree ? { agree: sums.agree } : {}) };
}

/** Forward + backward over some rows (float32 parameters; products on `backend`, the loop backend by default). */
export function rowsGradient(p: TrainParams, rows: number[][], hp: TrainHparams, backend?: Backend): RowsGradient {
  const grads = new Float32Array(p.data.length);
  const r = gradientInto(p, grads, rows, hp, { backend, dtype: 'float32' });
  return { ...r, grads };
}
