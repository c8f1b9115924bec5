// The lessons' training runs (notebooks/_kit/train-job.ts): a run asked again for more steps
// continues, for fewer or with other settings starts again, and follow() where there is no Worker
// (here) yields the finished run once; with one, it yields progress as the worker reports and
// finished() settles when the run ends or is replaced (the runtime waits for it). The precision and LoRA runners on the shipped model: their
// first step starts from the same weights on the same batch in every run.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fastestBackend } from '../kernels/fastest.js';
import { JobClient, type Progress, type Runner, finished } from '../notebooks/_kit/train-job.js';
import { lessonModel } from '../notebooks/_kit/shipped.js';
import { modelTensors } from '../src/engine/numerics/index.js';
import { paramsFromTensors } from '../src/engine/train/params.js';
import { lossScaleRunner } from '../notebooks/precision/train.js';
import { PROMPTS, SPECTRUM_WEIGHT, TARGET_SETS, TEXTS, fineTuneRunner } from '../notebooks/lora/train.js';

/** A runner whose steps count up from `start`, logging every run it creates and every step taken. */
function counting(log: string[]): Runner<{ start: number }, number, string> {
  return (q) => {
    log.push(`new ${q.start}`);
    let n = q.start;
    return { step: () => { log.push('step'); return ++n; }, final: () => `at ${n}` };
  };
}

async function all<T>(g: Iterable<T | Promise<T>>): Promise<T[]> {
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

  it('caps in-process runs at inlineSteps, keeping the target', async () => {
    const c = new JobClient(() => { throw new Error('no worker here'); }, counting([]), { inlineSteps: 2 });
    expect(await all(c.follow('a', 5, { start: 0 }))).toEqual([{ target: 5, reports: [1, 2], final: 'at 2', done: true }]);
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

  it('finished() of a done value is that value', () => {
    const done = { target: 1, reports: [1], final: null, done: true };
    expect(finished(done)).toBe(done);
  });
});

/** A stand-in Worker: records what the page posts; the test plays the worker's replies. */
class FakeWorker {
  posted: unknown[] = [];
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: unknown = null;
  postMessage(m: unknown) { this.posted.push(m); }
  reply(m: unknown) { this.onmessage?.({ data: m }); }
}

describe('JobClient with a Worker', () => {
  const setup = () => {
    vi.stubGlobal('Worker', FakeWorker);
    const w = new FakeWorker();
    const c = new JobClient<{ start: number }, number, string>(() => w as unknown as Worker, counting([]));
    return { w, c };
  };
  afterEach(() => { vi.unstubAllGlobals(); });

  it('yields progress as the worker reports; finished() waits for the last value', async () => {
    const { w, c } = setup();
    const g = c.follow('k', 2, { start: 0 });
    const first = g.next().value as Progress<number, string>;
    expect(first).toEqual({ target: 2, reports: [], final: null, done: false });
    expect(w.posted).toEqual([{ type: 'start', id: 0, key: 'k', steps: 2, request: { start: 0 } }]);
    const whenDone = finished(first);
    let settled = false;
    void Promise.resolve(whenDone).then(() => { settled = true; });
    const second = g.next().value as Promise<Progress<number, string>>;
    w.reply({ type: 'reports', id: 0, from: 0, reports: [7] });
    expect(await second).toEqual({ target: 2, reports: [7], final: null, done: false });
    await Promise.resolve();
    expect(settled).toBe(false);
    // Two messages before the next pull: one value with both.
    w.reply({ type: 'reports', id: 0, from: 1, reports: [8] });
    w.reply({ type: 'done', id: 0, final: 'F' });
    const last = await (g.next().value as Promise<Progress<number, string>>);
    expect(last).toEqual({ target: 2, reports: [7, 8], final: 'F', done: true });
    expect(await whenDone).toBe(last);
    expect(g.next().done).toBe(true);
    expect(w.posted).toHaveLength(1); // no cancel for a finished run
  });

  it('a run replaced before it finishes tells the worker to stop, and its finished() settles', async () => {
    const { w, c } = setup();
    const g = c.follow('k', 5, { start: 0 });
    const first = g.next().value as Progress<number, string>;
    const pending = g.next().value as Promise<Progress<number, string>>;
    g.return(undefined); // what the runtime does when an input changes
    await expect(finished(first)).rejects.toThrow(/replaced/);
    await expect(pending).rejects.toThrow(/replaced/);
    expect(w.posted.at(-1)).toEqual({ type: 'cancel', id: 0 });
    // Replies for the old run reach nobody; a new run gets its own id.
    w.reply({ type: 'reports', id: 0, from: 0, reports: [1] });
    c.follow('k', 5, { start: 0 }).next();
    expect(w.posted.at(-1)).toMatchObject({ type: 'start', id: 1 });
  });

  it('more steps of the run the worker keeps go without the request; fewer, another run, or a worker without it, with it', async () => {
    const { w, c } = setup();
    c.follow('k', 2, { start: 0 }).next();
    c.follow('k', 4, { start: 0 }).next();
    expect(w.posted.at(-1)).toEqual({ type: 'start', id: 1, key: 'k', steps: 4, request: null });
    c.follow('k', 3, { start: 0 }).next(); // fewer steps: the worker starts the run again
    expect(w.posted.at(-1)).toMatchObject({ id: 2, request: { start: 0 } });
    c.follow('j', 3, { start: 5 }).next();
    expect(w.posted.at(-1)).toMatchObject({ id: 3, key: 'j', request: { start: 5 } });
    const g = c.follow('j', 6, { start: 5 });
    g.next();
    expect(w.posted.at(-1)).toMatchObject({ id: 4, request: null });
    // A worker that no longer has the run asks again: the same start, with the request.
    w.reply({ type: 'again', id: 4 });
    expect(w.posted.at(-1)).toEqual({ type: 'start', id: 4, key: 'j', steps: 6, request: { start: 5 } });
    g.return(undefined);
  });

  it('a worker error rejects the cell and finished()', async () => {
    const { w, c } = setup();
    const g = c.follow('k', 3, { start: 0 });
    const first = g.next().value as Progress<number, string>;
    const pending = g.next().value as Promise<Progress<number, string>>;
    w.reply({ type: 'error', id: 0, message: 'no memory' });
    await expect(pending).rejects.toThrow('no memory');
    await expect(finished(first)).rejects.toThrow('no memory');
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
    const run = fineTuneRunner({ config, tensors, text: TEXTS.arithmetic!, seed: 2, targets: TARGET_SETS.attention!, r: 2, alpha: 4, spectrumWeight: SPECTRUM_WEIGHT.attention!, prompt: PROMPTS.arithmetic! }, backend);
    const a = run.step();
    const b = run.step();
    expect(a.lora).toBe(a.full);
    expect(b.baseText).toBe(a.baseText);
    expect(b.lora).not.toBe(b.full); // after one update the two models differ
    const f = run.final();
    expect(f.adapters.r).toBe(2);
    // What the page shows of the runs, computed in the worker at the last step: LoRA's update of the
    // weight has rank r = 2, full fine-tuning moved it, and the samples are labelled with the step.
    const [rows, cols] = paramsFromTensors(config, tensors).shapes[SPECTRUM_WEIGHT.attention!]!;
    expect([f.spectra.rows, f.spectra.cols]).toEqual([rows, cols]);
    expect(f.spectra.lora[1]!).toBeGreaterThan(0);
    expect(f.spectra.lora.slice(2).every((v) => v < 1e-9 * f.spectra.lora[0]!)).toBe(true);
    expect(f.spectra.full[0]!).toBeGreaterThan(0);
    expect(f.samples.map((x) => x.model)).toEqual(['before (base)', 'LoRA, merged (step 2)', 'full fine-tuning (step 2)']);
  });
});
