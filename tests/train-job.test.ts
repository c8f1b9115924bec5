// The lessons' training runs (notebooks/_kit/train-job.ts): a run asked again for more steps
// continues, for fewer or with other settings starts again, and follow() where there is no Worker
// (here) yields the finished run once. The precision and LoRA runners on the shipped model: their
// first step starts from the same weights on the same batch in every run.
import { describe, expect, it } from 'vitest';
import { fastestBackend } from '../kernels/fastest.js';
import { JobClient, type Runner, finished } from '../notebooks/_kit/train-job.js';
import { lessonModel } from '../notebooks/_kit/shipped.js';
import { modelTensors } from '../src/engine/numerics/index.js';
import { paramsFromTensors } from '../src/engine/train/params.js';
import { lossScaleRunner } from '../notebooks/precision/train.js';
import { TARGET_SETS, TEXTS, fineTuneRunner } from '../notebooks/lora/train.js';

/** A runner whose steps count up from `start`, logging every run it creates and every step taken. */
function counting(log: string[]): Runner<{ start: number }, number, string> {
  return (q) => {
    log.push(`new ${q.start}`);
    let n = q.start;
    return { step: () => { log.push('step'); return ++n; }, final: () => `at ${n}` };
  };
}

async function all<T>(g: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of g) out.push(v);
  return out;
}

describe('JobClient without a Worker', () => {
  it('yields the finished run once, with a report per step and the final payload', async () => {
    const log: string[] = [];
    const c = new JobClient(() => { throw new Error('no worker here'); }, counting(log));
    const values = await all(c.follow('a', 3, { start: 10 }));
    expect(values).toEqual([{ target: 3, reports: [11, 12, 13], final: 'at 13', done: true }]);
    expect(log).toEqual(['new 10', 'step', 'step', 'step']);
  });

  it('continues a run asked for more steps, and starts again for fewer or for another key', async () => {
    const log: string[] = [];
    const c = new JobClient(() => { throw new Error('no worker here'); }, counting(log));
    await all(c.follow('a', 2, { start: 0 }));
    const more = await all(c.follow('a', 4, { start: 0 }));
    expect(more[0]!.reports).toEqual([1, 2, 3, 4]);
    expect(log).toEqual(['new 0', 'step', 'step', 'step', 'step']);
    log.length = 0;
    const fewer = await all(c.follow('a', 1, { start: 0 }));
    expect(fewer[0]).toMatchObject({ reports: [1], final: 'at 1' });
    expect(log).toEqual(['new 0', 'step']);
    log.length = 0;
    await all(c.follow('b', 1, { start: 5 }));
    // Back to the first key: it is still kept (one step), so two more steps continue it.
    const back = await all(c.follow('a', 3, { start: 0 }));
    expect(back[0]!.reports).toEqual([1, 2, 3]);
    expect(log).toEqual(['new 5', 'step', 'step', 'step']);
  });

  it('finished() is pending until the run is done', async () => {
    const p = { target: 2, reports: [1], final: null, done: false };
    const race = await Promise.race([finished(p), new Promise((r) => setTimeout(() => r('pending'), 20))]);
    expect(race).toBe('pending');
    const done = { ...p, reports: [1, 2], done: true };
    expect(await finished(done)).toBe(done);
  });
});

describe('the lessons\' runners on the shipped model', async () => {
  const lm = await lessonModel('trained', undefined, 1);
  const tensors = modelTensors(lm.model);
  const config = lm.model.config;
  const backend = await fastestBackend();

  it('precision: every run\'s first step sees the same weights and batch (same loss); FP16 loses gradients, loss scaling keeps most', () => {
    const run = lossScaleRunner({ config, tensors, seed: 3, lossMultiplier: 2 ** -14, scale: 2 ** 14 }, backend);
    const first = run.step();
    expect(first.fp16.loss).toBe(first.fp32.loss);
    expect(first['fp16-scaled'].loss).toBe(first.fp32.loss);
    expect(first.fp32.underflow).toBe(0);
    expect(first.fp16.underflow).toBeGreaterThan(first['fp16-scaled'].underflow);
    expect(run.final()).toBeNull();
  });

  it('LoRA: B = 0 at the start, so the first batch\'s loss is full fine-tuning\'s; the base\'s text loss is the same in every report', () => {
    const run = fineTuneRunner({ config, tensors, text: TEXTS.arithmetic!, seed: 2, targets: TARGET_SETS.attention!, r: 2, alpha: 4 }, backend);
    const a = run.step();
    const b = run.step();
    expect(a.lora).toBe(a.full);
    expect(b.baseText).toBe(a.baseText);
    expect(b.lora).not.toBe(b.full); // after one update the two models differ
    const f = run.final();
    expect(f.adapters.r).toBe(2);
    const before = paramsFromTensors(config, tensors).data;
    expect(f.full.data.length).toBe(before.length);
    expect(f.full.data.some((v, i) => v !== before[i])).toBe(true);
  });
});
