// The training objective of one batch: task loss + balance losses, and (on request) the gradient of
// their sum in model.grads. The playground's step and the gradient check both call this, so the
// check covers exactly what training uses.
import { type BalanceOptions, balanceLoss } from './balance.js';
import { type PlaygroundForwardOptions, type PlaygroundModel, type Tape, backward, forward, taskLoss } from './model.js';
import type { Batch, TaskKind } from './task.js';

export interface ObjectiveOptions extends PlaygroundForwardOptions {
  kind: TaskKind;
  balance: BalanceOptions;
}

export interface ObjectiveResult {
  tape: Tape;
  /** Task loss + balance losses (what the gradient is of). */
  loss: number;
  taskLoss: number;
  /** The auxiliary ('aux') plus sequence-wise balance losses (0 when off). */
  balanceLoss: number;
  accuracy: number | null;
}

export function objective(model: PlaygroundModel, batch: Batch, options: ObjectiveOptions, withGrad: boolean): ObjectiveResult {
  const rs = model.config.router, E = rs.n_routed_experts, K = rs.num_experts_per_tok;
  const tape = forward(model, batch.x, batch.size, options);
  const task = taskLoss(tape, options.kind, batch.labels, batch.targets);
  const bal = options.balance;
  let dScores: Float64Array | null = null, balLoss = 0;
  if ((bal.strategy === 'aux' && bal.auxAlpha !== 0) || bal.seqAlpha !== 0) {
    dScores = new Float64Array(batch.size * E);
    if (bal.strategy === 'aux') balLoss += balanceLoss(tape.scores, tape.routing, E, K, bal.auxAlpha, batch.size, dScores).loss;
    if (bal.seqAlpha !== 0) balLoss += balanceLoss(tape.scores, tape.routing, E, K, bal.seqAlpha, bal.seqLen, dScores).loss;
  }
  if (withGrad) backward(model, tape, task.dOut, dScores);
  return { tape, loss: task.loss + balLoss, taskLoss: task.loss, balanceLoss: balLoss, accuracy: task.accuracy };
}
