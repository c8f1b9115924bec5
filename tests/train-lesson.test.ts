// The training lesson's own pieces that run without a browser (the wiring in Chromium is
// tests/browser/train.mjs; the trainer's maths is the train-* tests'): the "stories only" corpus is
// the shipped training file without its arithmetic, exactly as many characters as the corpus script
// counted for the stories; a run's identity ignores the settings its strategy does not use; the
// falling bias-update speed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARITHMETIC_LINE, storiesOnly } from '../notebooks/train/corpus-mix.js';
import fc from 'fast-check';
import { biasGammaAt, GAMMA_FALL_FROM, GAMMA_FALL_TO, settingsKey, type RunSettings } from '../notebooks/train/settings.js';
import { LESSON_DEFAULTS, runOptions, settingsFrom } from '../notebooks/train/schedule.js';
import { repoRoot } from './helpers/paths.js';

const dir = path.join(repoRoot, 'static', 'data', 'stories');

describe('train lesson', () => {
  it('"stories only" is the training file without its arithmetic lines', () => {
    const mixed = readFileSync(path.join(dir, 'train.txt'), 'utf8');
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { characters: { train: number; train_stories: number } };
    expect(mixed.length).toBe(meta.characters.train);
    const stories = storiesOnly(mixed);
    expect(stories.length).toBe(meta.characters.train_stories);
    expect(stories.split('\n').some((l) => ARITHMETIC_LINE.test(l))).toBe(false);
    // the held-out arithmetic file is all arithmetic lines, the held-out stories have none
    const arith = readFileSync(path.join(dir, 'arith.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
    expect(arith.every((l) => ARITHMETIC_LINE.test(l))).toBe(true);
    expect(readFileSync(path.join(dir, 'val.txt'), 'utf8').split('\n').some((l) => ARITHMETIC_LINE.test(l))).toBe(false);
  });

  it('a run is named by the settings it uses', () => {
    const base: RunSettings = { seed: 1, size: 'golden-b', lr: 0.003, batch: 8, seqLen: 65, balancing: 'bias', gamma: 0.001, gammaEnd: 0.001, alpha: 0.01, mtp: true, mtpLambda: 0.3, corpus: 'mix' };
    expect(settingsKey({ ...base, alpha: 0.1 })).toBe(settingsKey(base));
    expect(settingsKey({ ...base, gamma: 0.01 })).not.toBe(settingsKey(base));
    expect(settingsKey({ ...base, balancing: 'aux', gamma: 0.01 })).toBe(settingsKey({ ...base, balancing: 'aux' }));
    expect(settingsKey({ ...base, gammaEnd: 0.0001 })).not.toBe(settingsKey(base));
    // γ_end at or above γ is the same constant γ
    expect(settingsKey({ ...base, gammaEnd: 0.01 })).toBe(settingsKey(base));
    expect(settingsKey({ ...base, balancing: 'none', gammaEnd: 0.0001 })).toBe(settingsKey({ ...base, balancing: 'none' }));
    expect(settingsKey({ ...base, balancing: 'aux', alpha: 0.1 })).not.toBe(settingsKey({ ...base, balancing: 'aux' }));
    expect(settingsKey({ ...base, mtp: false, mtpLambda: 1 })).toBe(settingsKey({ ...base, mtp: false }));
    expect(settingsKey({ ...base, seed: 2 })).not.toBe(settingsKey(base));
  });
});

describe('the shipped model\'s curve', () => {
  it('reads every evaluation of the shipped training log, at step x batch x predicted characters', async () => {
    const { parseTrainLog, shippedCurve } = await import('../notebooks/train/shipped-curve.js');
    const log = [
      JSON.stringify({ type: 'start', options: { batch: 16, seq_len: 129 } }),
      JSON.stringify({ type: 'step', step: 1, loss: 5 }),
      JSON.stringify({ type: 'eval', step: 100, bits_per_char: 3.4, mtp_greedy_agreement: 0.6, mtp_sampled_acceptance: 0.7 }),
      JSON.stringify({ type: 'eval', step: 200, bits_per_char: 3.0, mtp_greedy_agreement: null, mtp_sampled_acceptance: null, final: true }),
      'not json',
    ].join('\n');
    expect(parseTrainLog(log, 'm')).toEqual({ name: 'm', charsPerStep: 2048, points: [{ chars: 204800, bpc: 3.4, greedy: 0.6, sampled: 0.7 }] });
    expect(parseTrainLog(JSON.stringify({ type: 'eval', step: 1, bits_per_char: 3 }), 'm')).toBeNull();
    const shipped = await shippedCurve();
    if (shipped) {
      const lines = readFileSync(path.join(repoRoot, 'static', 'models', shipped.name, 'train-log.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"eval"') && !l.includes('"final":true'));
      expect(shipped.points).toHaveLength(lines.length);
      expect(shipped.points[0]!.chars).toBe(0);
    }
  });

  it('γ: constant at first, then never rising, from γ to γ_end; constant when γ_end is not below γ', () => {
    const g = fc.double({ min: 1e-5, max: 0.1, noNaN: true });
    fc.assert(fc.property(g, g, fc.integer({ min: 0, max: 1e8 }), fc.integer({ min: 0, max: 1e8 }), (gamma, gammaEnd, c1, c2) => {
      const [lo, hi] = c1 <= c2 ? [c1, c2] : [c2, c1];
      const at = (c: number) => biasGammaAt({ gamma, gammaEnd }, c);
      if (gammaEnd >= gamma) { expect(at(lo)).toBe(gamma); expect(at(hi)).toBe(gamma); return; }
      expect(at(hi)).toBeLessThanOrEqual(at(lo) * (1 + 1e-12));
      expect(at(hi)).toBeGreaterThanOrEqual(gammaEnd * (1 - 1e-12));
      expect(at(lo)).toBeLessThanOrEqual(gamma);
      if (hi <= GAMMA_FALL_FROM) expect(at(hi)).toBe(gamma);
      if (lo >= GAMMA_FALL_TO) expect(at(lo)).toBe(gammaEnd);
    }));
    // geometric: halfway through the fall (in characters) is the geometric mean of the ends
    const mid = (GAMMA_FALL_FROM + GAMMA_FALL_TO) / 2;
    expect(biasGammaAt({ gamma: 0.01, gammaEnd: 0.0001 }, mid)).toBeCloseTo(0.001, 12);
    expect(biasGammaAt({ gamma: 0.01, gammaEnd: 0.0001 }, GAMMA_FALL_TO)).toBeCloseTo(0.0001, 15);
  });

  it('the page\'s default run is the one the Node scripts replay: its sliders\' defaults and their run options', async () => {
    // scripts/replay-train.ts and bench-train-node.ts build their run from LESSON_DEFAULTS; the page from its inputs.
    const { notebook } = await import('../notebooks/train/index.js');
    const fromPage = Object.fromEntries(notebook.inputs.filter((i) => i.name in LESSON_DEFAULTS).map((i) => [i.name, i.value]));
    expect(fromPage).toEqual(LESSON_DEFAULTS);
    const o = runOptions(settingsFrom({ ...LESSON_DEFAULTS, size: 'golden-b' }), 1);
    // 10^-2.5 to three figures; 1M characters of 8 rows x 64 predicted characters; γ 10^-2 with the averaged load.
    expect([o.lr, o.steps, o.bias_gamma, o.bias_load_decay, o.mtp_lambda, o.balance_alpha, o.corpus]).toEqual([0.00316, 1953, 0.01, 0.9, 0.3, 0, 'stories+arithmetic']);
  });
});
