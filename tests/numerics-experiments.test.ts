// The precision lesson's two experiments in the engine: an outlier against per-tensor and
// fine-grained FP8 scales, and FP16 gradients with and without loss scaling.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { initTensors } from '../src/engine/init.js';
import { Model } from '../src/engine/model.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { outlierComparison, stackedExpertWeights, firstLayerInput } from '../src/engine/numerics/outlier.js';
import { exponentHistogram, fp16Gradients, lossScaleRun } from '../src/engine/numerics/loss-scaling.js';

const cfg = parseConfig({ ...TINY_CONFIG_JSON });
const tensors = initTensors(cfg, { seed: 2 });
const model = Model.fromTensors(cfg, tensors);

describe('outlier', () => {
  it('in a 128 x 128 block it spoils only its block; per tensor it spoils every row', () => {
    const w = stackedExpertWeights(model, 1);
    expect([w.rows, w.cols, w.rowsPerExpert]).toEqual([384, 64, 24]);
    const clean = outlierComparison(w.data, w.rows, w.cols, 'block', { row: 0, col: 0, factor: 0 });
    // E4M3 spans 2^-9..448: an outlier has to be ~10^4 times the rest before per-tensor scaling flushes them
    const spiked = outlierComparison(w.data, w.rows, w.cols, 'block', { row: 5, col: 3, factor: 1e5 });
    // rows 128.. are in other blocks: their error does not move
    for (let r = 128; r < 384; r++) expect(spiked.fine.rowError[r]).toBe(clean.fine.rowError[r]);
    const mean = (a: number[]) => a.slice(128).reduce((x, y) => x + y, 0) / (a.length - 128);
    expect(mean(spiked.tensor.rowError)).toBeGreaterThan(3 * mean(spiked.fine.rowError));
    expect(spiked.tensor.flushed).toBeGreaterThan(0.15);
    expect(spiked.fine.flushed).toBeLessThan(0.1);
    // outside the outlier's block (rows 128..) the fine-grained error is exactly the outlier-free one
    expect(spiked.fine.outside).toBe(clean.fine.outside);
    expect(spiked.tensor.outside).toBeGreaterThan(3 * spiked.fine.outside);
    expect(spiked.outlier.value).toBeGreaterThan(0);
  });
  it('in one token of the layer input, 1 x 128 tiles keep the other tokens exact to FP8', () => {
    const ids = Array.from('the cat sat on the mat', (c) => c.charCodeAt(0));
    const x = firstLayerInput(model, ids);
    const clean = outlierComparison(x, ids.length, cfg.hidden_size, 'tile', { row: 0, col: 0, factor: 0 });
    const spiked = outlierComparison(x, ids.length, cfg.hidden_size, 'tile', { row: 4, col: 7, factor: 1e5 });
    for (let r = 0; r < ids.length; r++) if (r !== 4) expect(spiked.fine.rowError[r]).toBe(clean.fine.rowError[r]);
    expect(spiked.tensor.relError).toBeGreaterThan(0.15);
    expect(spiked.tensor.relError).toBeGreaterThan(3 * spiked.fine.relError);
  });
});

describe('FP16 gradients and loss scaling', () => {
  it('underflow, subnormals and overflow counted; scaling lifts small values and unscales them exactly', () => {
    const g = Float32Array.from([2 ** -26, 2 ** -20, 2 ** -10, 70000, 0]);
    const a = fp16Gradients(g, 1);
    expect([a.underflow, a.subnormal, a.overflow, a.nonzero]).toEqual([1, 1, 1, 4]);
    expect(Array.from(a.grads.slice(0, 3))).toEqual([0, 2 ** -20, 2 ** -10]);
    const b = fp16Gradients(g.slice(0, 3), 2 ** 12);
    expect([b.underflow, b.subnormal, b.overflow]).toEqual([0, 0, 0]);
    expect(Array.from(b.grads)).toEqual([2 ** -26, 2 ** -20, 2 ** -10]);
    const h = exponentHistogram(Float32Array.from([1, 1.5, 0.25, 0, 2 ** -50]), 1, -40, 2);
    expect(h.find((x) => x.exponent === 0)!.count).toBe(2);
    expect(h.find((x) => x.exponent === -2)!.count).toBe(1);
    expect(h.find((x) => x.exponent === -40)!.count).toBe(1); // clamped into the lowest bin
  });
  it('a short run: FP16 with tiny gradients loses many of them, loss scaling keeps them; an overflow skips the step and halves the scale', () => {
    const rows = (s: number) => [0, 1].map((r) => Array.from({ length: 8 }, (_, i) => (s * 13 + r * 7 + i * 5) % 128));
    const batches = [rows(0), rows(1), rows(2)];
    const hp = { lr: 3e-3, betas: [0.9, 0.95] as [number, number], eps: 1e-8, weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 1e-4, bias_gamma: 1e-3, balancing: 'bias' as const };
    const small = 2 ** -16;
    const fp16 = [...lossScaleRun(cfg, tensors, batches, hp, 'fp16', { lossMultiplier: small })];
    const scaled = [...lossScaleRun(cfg, tensors, batches, hp, 'fp16-scaled', { lossMultiplier: small, scale: 2 ** 16 })];
    expect(fp16[0]!.underflow).toBeGreaterThan(0.2);
    expect(scaled[0]!.underflow).toBeLessThan(0.01);
    expect(fp16[0]!.loss).toBe(scaled[0]!.loss); // same start
    const huge = [...lossScaleRun(cfg, tensors, batches, hp, 'fp16-scaled', { scale: 2 ** 40 })];
    expect(huge[0]!.skipped).toBe(true);
    expect(huge[1]!.scale).toBe(2 ** 39);
  });
});
