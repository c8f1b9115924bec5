// The load average the bias update can read (RunOptions.bias_load_decay, loop.ts balanceLoads): off,
// the update reads the batch's load; on, a moving average of the batches' loads, which corrects an
// expert that is overloaded on average although most small batches have it under the mean (where the
// sign of the batch's load pushes it the wrong way); and a saved trainer state carries the average,
// so a resumed run takes the same next step as an uninterrupted one.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { initTensors, parseConfigText } from '../src/engine/index.js';
import { type RunOptions, type TrainerState, decodeTrainerState, encodeTrainerState } from '../src/engine/train/checkpoint.js';
import { BatchSampler, SavedRng } from '../src/engine/train/data.js';
import { createOptimizer, paramsFromTensors, updateBias } from '../src/engine/train/index.js';
import { balanceLoads, samplerOf, trainStep } from '../src/engine/train/loop.js';
import { localRunner } from '../src/engine/train/workers.js';
import { repoRoot } from './helpers/paths.js';

const CONFIG = parseConfigText(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'train-tiny', 'config.json'), 'utf8'), { file: 'train-tiny' });
const OPTIONS: RunOptions = {
  corpus: 'test', corpus_chars: 0, corpus_hash: '', steps: 20, batch: 3, seq_len: 17, lr: 1e-2, warmup: 2, min_lr_ratio: 0.1, seed: 5,
  betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 0, bias_gamma: 1e-3, balancing: 'bias', threads: 1,
};
function state(o: Partial<RunOptions> = {}): TrainerState {
  const params = paramsFromTensors(CONFIG, initTensors(CONFIG, { seed: 3, biasScale: 0 }));
  return { params, opt: createOptimizer(params), step: 0, rng: Array.from(SavedRng.fromSeed(5).state), options: { ...OPTIONS, ...o } };
}
const text = Uint8Array.from(Array.from({ length: 400 }, (_, i) => 32 + ((i * 7 + (i >> 3)) % 60)));

describe('balanceLoads', () => {
  it('without a decay, or without bias balancing, is the batch\'s load and keeps no average', () => {
    const loads = { 'model.layers.1.mlp': [3, 1, 0, 4] };
    for (const o of [{}, { bias_load_decay: 0 }, { bias_load_decay: 0.9, balancing: 'aux' as const }]) {
      const s = state(o);
      expect(balanceLoads(s, loads)).toBe(loads);
      expect(s.loadAvg).toBeUndefined();
    }
  });

  it('starts at the first batch\'s load, then moves by (1 - decay) toward each batch\'s', () => {
    const s = state({ bias_load_decay: 0.75 });
    expect(Array.from(balanceLoads(s, { a: [4, 0] }).a!)).toEqual([4, 0]);
    expect(Array.from(balanceLoads(s, { a: [0, 8] }).a!)).toEqual([3, 2]);
    expect(Array.from(balanceLoads(s, { a: [7, 6] }).a!)).toEqual([4, 3]);
  });

  it('lowers the bias of an expert overloaded on average but under the mean in three batches of four', () => {
    // Expert 0 gets 8, 8, 8, 20 of 20 slots per batch (mean 10): 11 on average, yet under 10 in most batches.
    const cycle = [8, 8, 8, 20].map((a) => [a, 20 - a]);
    const run = (o: Partial<RunOptions>) => {
      const s = state(o), bias = new Float32Array(2);
      for (let i = 0; i < 400; i++) updateBias(bias, balanceLoads(s, { a: cycle[i % 4]! }).a!, 1e-3);
      return bias[0]!;
    };
    expect(run({})).toBeGreaterThan(0.1); // the batch's sign: +γ three times, -γ once per cycle
    expect(run({ bias_load_decay: 0.9 })).toBeLessThan(-0.3); // the average's sign: down nearly every step
  });
});

describe('a trainer state with the load average', () => {
  it('saves and reads it back, and the resumed run takes the same next step', async () => {
    const s = state({ bias_load_decay: 0.9 });
    const runner = localRunner();
    for (let i = 0; i < 3; i++) await trainStep(s, samplerOf(s, text), runner);
    expect(Object.keys(s.loadAvg ?? {}).sort()).toEqual(Object.keys(s.params.buffers).sort());
    const back = decodeTrainerState(encodeTrainerState(s), 'state', CONFIG);
    for (const [k, a] of Object.entries(s.loadAvg!)) expect(Array.from(back.loadAvg![k]!)).toEqual(Array.from(a));
    await trainStep(s, samplerOf(s, text), runner);
    await trainStep(back, new BatchSampler(text, back.options.seq_len, new SavedRng(back.rng)), runner);
    expect(Array.from(back.params.data)).toEqual(Array.from(s.params.data));
    for (const k of Object.keys(s.params.buffers)) expect(Array.from(back.params.buffers[k]!)).toEqual(Array.from(s.params.buffers[k]!));
  });

  it('a state without one reads back without one', () => {
    const s = state();
    expect(decodeTrainerState(encodeTrainerState(s), 'state', CONFIG).loadAvg).toBeUndefined();
  });
});
