// Both cores: a batch's rows are cut into contiguous parts, each part's rowsGradient is computed on
// its own thread, and the parts' sums are added in part order (so the result does not depend on which
// thread finishes first). This file holds the split, the sum and the message protocol; it imports
// nothing from Node or the DOM, so a Node worker_threads glue (src/cli/train-worker.ts) and a browser
// Web Worker glue run the same code. Compared with one thread, only the order of float additions
// changes (sum over all rows vs sum of two half sums).
import type { DeepSeekConfig } from '../config.js';
import type { Backend } from '../../../kernels/backend.js';
import { type RowsGradient, type TrainHparams, type TrainParams, gradientInto, rowsGradient, trainLayout } from './index.js';

/** Cut rows into `parts` contiguous runs, as even as possible (earlier parts take the extra row). */
export function splitRows(rows: readonly number[][], parts: number): number[][][] {
  const out: number[][][] = [];
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const n = Math.floor(rows.length / parts) + (i < rows.length % parts ? 1 : 0);
    out.push(rows.slice(at, at + n));
    at += n;
  }
  return out.filter((p) => p.length > 0);
}

/**
 * The sum of partial gradients, added in the given order (float32 grads, like rowsGradient's). The
 * sum is written into the first part's grads (a copy of them would be one more 2 MB array per step
 * at the shipped shape): the caller hands its parts over.
 */
export function sumGradients(parts: readonly RowsGradient[]): RowsGradient {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const grads = first.grads;
  const loads: Record<string, number[]> = {};
  for (const [k, l] of Object.entries(first.loads)) loads[k] = [...l];
  const sum: RowsGradient = { rows: first.rows, loss: first.loss, main: first.main, mtp: first.mtp, balance: first.balance, grads, loads };
  let agree = first.agree ? { ...first.agree } : undefined;
  for (const p of parts.slice(1)) {
    sum.rows += p.rows; sum.loss += p.loss; sum.main += p.main; sum.mtp += p.mtp; sum.balance += p.balance;
    const add = p.grads;
    for (let i = 0; i < grads.length; i++) grads[i] += add[i]!;
    for (const [k, l] of Object.entries(p.loads)) {
      const into = (loads[k] ??= new Array(l.length).fill(0));
      l.forEach((v, e) => { into[e] += v; });
    }
    if (agree && p.agree) agree = { mtpGreedy: agree.mtpGreedy + p.agree.mtpGreedy, count: agree.count + p.agree.count };
    else agree = undefined;
  }
  if (agree) sum.agree = agree;
  return sum;
}

/** Computes the summed gradient of some rows at the current parameters. */
export interface GradientRunner {
  readonly threads: number;
  gradient(p: TrainParams, rows: number[][], hp: TrainHparams): Promise<RowsGradient>;
  close(): Promise<void>;
}

/** One thread: rowsGradient on all rows, here. */
export function localRunner(backend?: Backend): GradientRunner {
  return {
    threads: 1,
    gradient: async (p, rows, hp) => rowsGradient(p, rows, hp, backend),
    close: async () => {},
  };
}

/** Posts a task, transferring (not copying) the listed buffers. */
export type PostTask = (task: WorkerTask, transfer: ArrayBuffer[]) => void;

/** A two-thread runner, and the two calls its transport makes: each reply or failure, and the worker's end. */
export interface SplitRunner extends GradientRunner {
  deliver(m: WorkerReply | WorkerFailure): void;
  fail(e: Error): void;
}

/**
 * Two threads: half of every batch's rows here, the other half sent with `post` to a gradient worker,
 * the two sums added in that order. The transport (worker_threads, a Web Worker, a MessagePort) only
 * posts tasks and hands every message back to `deliver`; `label` names the worker in its errors.
 * The parameter copy and the worker's gradient travel in two buffers that go back and forth
 * (transferred, never cloned), so a step allocates no large array for the second thread.
 */
export function splitRunner(backend: Backend | undefined, post: PostTask, close: () => Promise<void>, label = 'gradient worker'): SplitRunner {
  let nextId = 0;
  const waiting = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  let spare: Spare = {};
  return {
    threads: 2,
    async gradient(p, rows, hp) {
      const [mine, theirs] = splitRows(rows, 2);
      if (!theirs) return rowsGradient(p, mine!, hp, backend);
      const id = nextId++;
      const reply = new Promise<WorkerReply>((resolve, reject) => waiting.set(id, { resolve, reject }));
      const task = workerTask(id, p, theirs, hp, spare);
      spare = {};
      post(task, task.grads ? [task.data.buffer as ArrayBuffer, task.grads.buffer as ArrayBuffer] : [task.data.buffer as ArrayBuffer]);
      const a = rowsGradient(p, mine!, hp, backend);
      const b = await reply;
      const sum = sumGradients([a, b.result]); // into a.grads: b's buffers are free again
      spare = { data: b.data, grads: b.result.grads };
      return sum;
    },
    close,
    deliver(m) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.type === 'error') w?.reject(new Error(`${label}: ${m.message}`));
      else w?.resolve(m);
    },
    fail(e) {
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
    },
  };
}

// ---- the message protocol between the trainer and a gradient worker ----

/** Sent once: the model's config (the worker builds the flat layout from it). */
export interface WorkerInit { type: 'init'; config: DeepSeekConfig; backend?: string }
/**
 * Sent per step: a copy of the current parameters (its own buffer, to transfer), the routing biases,
 * this worker's rows, and optionally a buffer to write the gradient into (any contents).
 */
export interface WorkerTask { type: 'gradient'; id: number; data: Float32Array; buffers: Record<string, Float32Array>; rows: number[][]; hp: TrainHparams; grads?: Float32Array }
/** The reply: the partial RowsGradient, and the task's parameter buffer handed back for the next task (both transferred). */
export interface WorkerReply { type: 'gradient'; id: number; result: RowsGradient; data?: Float32Array }
export interface WorkerFailure { type: 'error'; id: number; message: string }

/** The worker's side: a TrainParams for the config over each task's parameter buffer (read in place). */
export function gradientWorker(init: WorkerInit, backend?: Backend): (task: WorkerTask) => { reply: WorkerReply; transfer: ArrayBuffer[] } {
  const layout = trainLayout(init.config);
  const p: TrainParams = { config: init.config, names: layout.names, shapes: layout.shapes, offsets: layout.offsets, data: new Float32Array(0), buffers: {} };
  return (task) => {
    if (task.data.length !== layout.total) throw new Error(`the task has ${task.data.length} parameters, the config ${layout.total}`);
    p.data = task.data;
    p.buffers = task.buffers;
    const grads = task.grads?.length === layout.total ? task.grads.fill(0) : new Float32Array(layout.total);
    const result: RowsGradient = { ...gradientInto(p, grads, task.rows, task.hp, { backend, dtype: 'float32' }), grads };
    const transfer = [grads.buffer as ArrayBuffer];
    if (task.data.byteLength === task.data.buffer.byteLength) transfer.push(task.data.buffer as ArrayBuffer);
    return { reply: { type: 'gradient', id: task.id, result, data: task.data }, transfer };
  };
}

/** Buffers a finished task handed back, for the next one. */
export interface Spare { data?: Float32Array; grads?: Float32Array }

/**
 * The trainer's side of a task: what to post for `rows`. The parameters are copied into `spare.data`
 * when it fits (else a new buffer): the trainer's own array must stay here, and the copy is
 * transferred. `spare.grads`, when given, goes along for the worker to write into.
 */
export function workerTask(id: number, p: TrainParams, rows: number[][], hp: TrainHparams, spare: Spare = {}): WorkerTask {
  const buffers: Record<string, Float32Array> = {};
  for (const [k, b] of Object.entries(p.buffers)) buffers[k] = Float32Array.from(b);
  const fits = (a?: Float32Array): a is Float32Array => !!a && a.length === p.data.length && a.byteLength === a.buffer.byteLength;
  const data = fits(spare.data) ? spare.data : new Float32Array(p.data.length);
  data.set(p.data);
  return { type: 'gradient', id, data, buffers, rows, hp, ...(fits(spare.grads) ? { grads: spare.grads } : {}) };
}
