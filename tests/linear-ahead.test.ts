// The linear-attention lesson's work ahead (mapsWork in notebooks/linear-attention/compute.ts): run
// for a setting, it leaves in the memo exactly what the maps' cells then read (the same objects: the
// cells compute nothing again), and those are the engine's numbers (equal to a fresh computation on
// a copy of the model, which shares no memo).
import { describe, expect, it } from 'vitest';
import { initModel } from '../src/engine/init.js';
import { tinyConfig } from '../notebooks/_kit/models';
import { compare, fiveVariants, headOf, lessonTokens, mapsWork, traceOf } from '../notebooks/linear-attention/compute';

const lessonModel = () => ({ model: initModel(tinyConfig(), { seed: 7 }), trained: false, name: 'the tiny model' });

describe('linear-attention: the maps computed ahead', () => {
  it('are what the cells read at that setting, with the engine\'s numbers', () => {
    const lm = lessonModel();
    const s = { prompt: lessonTokens(64, 3), layer: 1, head: 2, T: 24, features: 16, chunk: 4, seed: 3 };
    const done = mapsWork(lm, s).map((job) => job());
    expect(done).toHaveLength(6); // the traced forward, then the five attentions
    const trace = done[0], runs = done.slice(1) as { result: unknown; recurrent: unknown }[];

    // What the cells qkv and compared compute at this setting.
    const head = headOf(lm, s.prompt, s.layer, s.head, s.T);
    const c = compare(head, fiveVariants(s.features, s.chunk, s.seed), s.head, s.prompt.slice(0, s.T));
    expect(traceOf(lm, s.prompt)).toBe(trace);
    c.results.forEach((r, i) => expect(r).toBe(runs[i].result));
    c.recurrent.forEach((r, i) => expect(r).toBe(runs[i].recurrent));

    const copy = lessonModel();
    const fresh = compare(headOf(copy, s.prompt, s.layer, s.head, s.T), fiveVariants(s.features, s.chunk, s.seed), s.head, s.prompt.slice(0, s.T));
    expect(fresh.results[0]).not.toBe(c.results[0]);
    expect(c.results).toEqual(fresh.results);
    expect(c.recurrent).toEqual(fresh.recurrent);
  });
});
