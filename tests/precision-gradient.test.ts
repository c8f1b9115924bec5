// The precision lesson's gradient figures and outlier sweep as engine-worker jobs (notebooks/precision/jobs.ts): the
// same numbers as the engine's functions called directly on the first batch's mean gradient, the
// parts a move does not change kept, and the settings computed ahead around a move (compute.ts).
import { describe, expect, it } from 'vitest';
import { initModel } from '../src/engine/init.js';
import { exponentHistogram, fp16Gradients, modelTensors } from '../src/engine/numerics/index.js';
import { rowsGradient } from '../src/engine/train/objective.js';
import { paramsFromTensors } from '../src/engine/train/params.js';
import { SHIPPED_CONFIG } from '../notebooks/_kit/shipped.js';
import { GRAD_LO, GRAD_HI, gradientFigures, meanGradient, outlierAt, outlierMatrixOf, outlierSweep } from '../notebooks/precision/jobs.js';
import { TRAIN_HP, batchesOf } from '../notebooks/precision/train.js';
import { gradientAround, outlierRun } from '../notebooks/precision/compute.js';

describe('gradientFigures', () => {
  const model = initModel(SHIPPED_CONFIG!, { seed: 4 });

  it('equals exponentHistogram and fp16Gradients of the first batch\'s mean gradient x the loss multiplier', () => {
    const rows = batchesOf(3)[0]!;
    const mean = rowsGradient(paramsFromTensors(model.config, modelTensors(model)), rows, TRAIN_HP).grads.map((v) => v / rows.length);
    const g = mean.map((v) => v * 2 ** -20);
    const f = gradientFigures({ model, seed: 3, lossLog2: -20, scaleLog2: 10 });
    expect(f.hist).toEqual(exponentHistogram(g, 1, GRAD_LO, GRAD_HI));
    expect(f.scaledHist).toEqual(exponentHistogram(g, 2 ** 10, GRAD_LO, GRAD_HI));
    const counts = ({ underflow, subnormal, overflow, nonzero }: ReturnType<typeof fp16Gradients>) => ({ underflow, subnormal, overflow, nonzero });
    expect(f.plain).toEqual(counts(fp16Gradients(g, 1)));
    expect(f.scaled).toEqual(counts(fp16Gradients(g, 2 ** 10)));
    expect(f.plain.underflow).toBeGreaterThan(f.scaled.underflow); // the scale rescues gradients at 2^-20
  });

  it('a move of the loss scale keeps the unscaled parts; meanGradient computes what the figures then use', () => {
    expect(meanGradient({ model, seed: 5 })).toBeNull();
    const a = gradientFigures({ model, seed: 5, lossLog2: -14, scaleLog2: 14 });
    const b = gradientFigures({ model, seed: 5, lossLog2: -14, scaleLog2: 15 });
    expect(b.hist).toBe(a.hist);
    expect(b.plain).toBe(a.plain);
    expect(b.scaledHist).not.toEqual(a.scaledHist);
  });
});

describe('gradientAround', () => {
  const at = { seed: 1, lossLog2: -14, scaleLog2: 14 };
  it('after a seed move: the next seed that way, the other sliders\' first steps at this seed, the seed back', () => {
    expect(gradientAround(at, { ...at, seed: 0 }).map((k) => [k.seed, k.lossLog2, k.scaleLog2])).toEqual([[2, -14, 14], [1, -13, 14], [1, -15, 14], [1, -14, 15], [1, -14, 13], [0, -14, 14]]);
    // At the slider's end the only seed left is the one back, where a drag turns: it comes first.
    expect(gradientAround({ ...at, seed: 99 }, { ...at, seed: 98 }).map((k) => k.seed)).toEqual([98, 99, 99, 99, 99]);
  });
  it('after a loss-scale move: two more that way, one back, then the multiplier either way', () => {
    expect(gradientAround(at, { ...at, scaleLog2: 15 }).map((k) => [k.lossLog2, k.scaleLog2])).toEqual([[-14, 13], [-14, 15], [-14, 12], [-13, 14], [-15, 14]]);
  });
  it('at first, or after a multiplier move: the multiplier first, within its bounds; then the scale', () => {
    const top = { ...at, lossLog2: 0 };
    expect(gradientAround(top, { ...top, lossLog2: -1 }).map((k) => [k.lossLog2, k.scaleLog2])).toEqual([[-1, 14], [0, 15], [0, 13]]);
    expect(gradientAround(at, null).map((k) => [k.lossLog2, k.scaleLog2])).toEqual([[-13, 14], [-15, 14], [-12, 14], [-14, 15], [-14, 13]]);
  });
});

describe('outlierSweep', () => {
  const model = initModel(SHIPPED_CONFIG!, { seed: 6 });
  it('is the page\'s outlier experiment at 10^0, 10^0.5, ..., 10^6, on the same matrix', () => {
    for (const [which, ids] of [['weights', []], ['activations', [72, 101, 108, 108, 111, 32, 119, 111]]] as const) {
      const sweep = outlierSweep({ model, which, ids: [...ids] });
      expect(sweep.map((p) => p.factor)).toEqual(Array.from({ length: 13 }, (_, i) => 10 ** (i / 2)));
      const m = outlierMatrixOf(model.config, modelTensors(model), which, [...ids]);
      for (const [i, f] of [[1, 0.5], [5, 2.5], [12, 6]] as const) {
        const page = outlierRun(m, f).at;
        expect(sweep[i]).toEqual({ factor: 10 ** f, tensor: page.tensor.outside, fine: page.fine.outside });
      }
      expect(sweep[12]!.tensor).toBeGreaterThan(sweep[12]!.fine); // one scale per tensor pays for the outlier
      expect(outlierAt(m, 1e6)).toEqual(outlierRun(m, 6).at);
    }
  });
});
