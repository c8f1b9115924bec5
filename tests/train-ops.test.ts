// Finite-difference checks of every gradient rule on the tape (src/engine/train/tape.ts), on random
// shapes and values, in float64: the tape runs on Float64Array buffers with the reference backend,
// so the rules are checked without float32 rounding (central differences, h = 1e-5, agree to ~1e-8;
// the tolerance 1e-6 * (1 + |g|) leaves room and still catches any wrong term).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { referenceBackend } from '../kernels/reference.js';
import { type Node, Tape } from '../src/engine/train/tape.js';

/** A deterministic stream of floats in [-1, 1). */
function floats(n: number, seed: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = scale * ((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

/**
 * Build an op on leaves holding `inputs`; the scalar checked is sum(c * out) for a fixed random c
 * (or the op's own loss when it returns a number). Returns the largest |analytic - numeric| /
 * (1 + |numeric|) over every input element.
 */
function fdError(inputs: Float64Array[], op: (t: Tape, x: Node[]) => Node | number, seed: number): number {
  const run = (vals: Float64Array[], withGrad: boolean) => {
    const tape = new Tape(referenceBackend, 'float64');
    const leaves = vals.map((v) => tape.leaf(v));
    const out = op(tape, leaves);
    let loss: number;
    if (typeof out === 'number') {
      loss = out;
    } else {
      const c = floats(out.data.length, seed + 99);
      loss = 0;
      for (let i = 0; i < c.length; i++) loss += c[i] * out.data[i];
      if (withGrad) out.grad = c;
    }
    if (withGrad) tape.backward();
    return { loss, leaves };
  };
  const { leaves } = run(inputs, true);
  const h = 1e-5;
  let worst = 0;
  inputs.forEach((x, a) => {
    const g = leaves[a].grad ?? new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const plus = inputs.map((v) => Float64Array.from(v)), minus = inputs.map((v) => Float64Array.from(v));
      plus[a][i] += h;
      minus[a][i] -= h;
      const num = (run(plus, false).loss - run(minus, false).loss) / (2 * h);
      worst = Math.max(worst, Math.abs(g[i] - num) / (1 + Math.abs(num)));
    }
  });
  return worst;
}

const TOL = 1e-6;
const dim = (min: number, max: number) => fc.integer({ min, max });
const params = { numRuns: 12 };

describe('gradient rules against central differences (float64, random shapes)', () => {
  it('linear y = x W^T', () => {
    fc.assert(fc.property(dim(1, 5), dim(1, 6), dim(1, 6), dim(0, 1e6), (T, i, o, seed) => {
      expect(fdError([floats(T * i, seed), floats(o * i, seed + 1)], (t, [x, w]) => t.linear(x, w, T, i, o), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('linear with the weight used twice (a shared head accumulates both uses)', () => {
    fc.assert(fc.property(dim(1, 4), dim(1, 5), dim(1, 5), dim(0, 1e6), (T, i, o, seed) => {
      expect(fdError([floats(T * i, seed), floats(T * i, seed + 2), floats(o * i, seed + 1)],
        (t, [x, y, w]) => t.add(t.linear(x, w, T, i, o), t.linear(y, w, T, i, o)), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('rmsNorm', () => {
    fc.assert(fc.property(dim(1, 4), dim(1, 9), dim(0, 1e6), (rows, cols, seed) => {
      expect(fdError([floats(rows * cols, seed), floats(cols, seed + 1)], (t, [x, w]) => t.rmsNorm(x, w, rows, cols, 1e-6), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('RoPE on interleaved pairs: the shared k^R and each head\'s q^R block', () => {
    fc.assert(fc.property(dim(1, 5), dim(1, 3), dim(0, 3), fc.constantFrom(2, 4, 6), dim(0, 1e6), fc.constantFrom(10000, 50), (rows, groups, nope, dr, seed, theta) => {
      const stride = nope + dr, pos = Int32Array.from({ length: rows }, (_, r) => (r * 7 + seed) % 40);
      expect(fdError([floats(rows * groups * stride, seed)], (t, [x]) => t.rope(x, rows, groups, stride, nope, dr, pos, theta), seed)).toBeLessThan(TOL);
      expect(fdError([floats(rows * dr, seed)], (t, [x]) => t.rope(x, rows, 1, dr, 0, dr, pos, theta), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('swiglu, sigmoid, softmax', () => {
    fc.assert(fc.property(dim(1, 4), dim(1, 6), dim(0, 1e6), (rows, cols, seed) => {
      const n = rows * cols;
      expect(fdError([floats(n, seed, 3), floats(n, seed + 1)], (t, [g, u]) => t.swiglu(g, u, n), seed)).toBeLessThan(TOL);
      expect(fdError([floats(n, seed, 3)], (t, [u]) => t.sigmoid(u), seed)).toBeLessThan(TOL);
      expect(fdError([floats(n, seed, 3)], (t, [u]) => t.softmax(u, rows, cols), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('gatherRows (a row taken twice accumulates), columns, concatColumns, add, addBias', () => {
    fc.assert(fc.property(dim(1, 5), dim(1, 4), dim(0, 1e6), (rows, cols, seed) => {
      const idx = Int32Array.from({ length: rows + 2 }, (_, i) => (i * 3 + seed) % rows);
      expect(fdError([floats(rows * cols, seed)], (t, [x]) => t.gatherRows(x, idx, cols), seed)).toBeLessThan(TOL);
      const start = seed % cols, count = cols - start;
      expect(fdError([floats(rows * cols, seed)], (t, [x]) => t.columns(x, rows, cols, start, count), seed)).toBeLessThan(TOL);
      expect(fdError([floats(rows * cols, seed), floats(rows * 2, seed + 1)], (t, [a, b]) => t.concatColumns(a, b, rows, cols, 2), seed)).toBeLessThan(TOL);
      expect(fdError([floats(rows * cols, seed), floats(rows * cols, seed + 1)], (t, [a, b]) => t.add(a, b), seed)).toBeLessThan(TOL);
      expect(fdError([floats(rows * cols, seed), floats(cols, seed + 1)], (t, [x, b]) => t.addBias(x, b, rows, cols), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('causal attention over rows and heads (q, kv_b output, shared k^R)', () => {
    fc.assert(fc.property(dim(1, 2), dim(1, 5), dim(1, 3), dim(0, 3), fc.constantFrom(0, 2, 4), dim(1, 3), dim(0, 1e6), (R, N, nh, nope, dr, dv, seed) => {
      fc.pre(nope + dr > 0);
      const T = R * N, qk = nope + dr;
      const inputs = [floats(T * nh * qk, seed, 2), floats(T * nh * (nope + dv), seed + 1, 2), floats(T * dr, seed + 2, 2)];
      expect(fdError(inputs, (t, [q, kv, kpe]) => t.attention(q, kv, kpe, R, N, nh, nope, dr, dv, 1 / Math.sqrt(qk)), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('gate weights of the chosen experts, normalised or not, times the scaling factor', () => {
    fc.assert(fc.property(dim(1, 4), dim(2, 6), fc.boolean(), fc.constantFrom(1, 2.5), dim(0, 1e6), (T, E, norm, scale, seed) => {
      const K = 1 + (seed % (E - 1));
      const experts = new Int32Array(T * K);
      // K distinct experts per token: a rotation of 0..E-1.
      for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) experts[t * K + k] = (t + seed + k) % E;
      const s = floats(T * E, seed).map((x) => 0.2 + 0.7 * Math.abs(x)); // scores in (0, 1)
      expect(fdError([s], (t, [x]) => t.gateWeights(x, experts, T, E, K, norm, scale), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('combining experts: weighted rows added onto the shared path', () => {
    fc.assert(fc.property(dim(1, 4), dim(1, 4), dim(1, 3), dim(0, 1e6), (T, d, E, seed) => {
      const K = Math.min(E, 2);
      const tokens: Int32Array[] = [], slots: Int32Array[] = [];
      const lists: number[][] = Array.from({ length: E }, () => []);
      for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) lists[(t + k + seed) % E].push(t * K + k);
      lists.forEach((l) => { tokens.push(Int32Array.from(l, (i) => Math.floor(i / K))); slots.push(Int32Array.from(l)); });
      const inputs = [floats(T * d, seed), floats(T * K, seed + 1), ...tokens.map((tok, e) => floats(tok.length * d, seed + 2 + e))];
      expect(fdError(inputs, (t, [base, g, ...ys]) => t.combineExperts(base, ys.map((y, e) => (tokens[e].length ? y : null)), tokens, slots, g, d), seed)).toBeLessThan(TOL);
    }), params);
  });

  it('cross-entropy (weighted rows, skipped rows, a gradient scale)', () => {
    fc.assert(fc.property(dim(1, 5), dim(2, 7), dim(0, 1e6), (rows, V, seed) => {
      const targets = Int32Array.from({ length: rows }, (_, r) => (r === 1 ? -1 : (r * 5 + seed) % V));
      const w = Float64Array.from({ length: rows }, (_, r) => 0.5 + r);
      // The gradient seeded is gradScale times that of the returned loss: check with gradScale 1,
      // then that a scale of 0.3 scales the gradient.
      expect(fdError([floats(rows * V, seed, 3)], (t, [z]) => t.crossEntropy(z, rows, V, targets, w, 1).loss, seed)).toBeLessThan(TOL);
      const tape = new Tape(referenceBackend, 'float64');
      const z = tape.leaf(floats(rows * V, seed, 3)), z2 = tape.leaf(Float64Array.from(z.data));
      tape.crossEntropy(z, rows, V, targets, w, 1);
      tape.crossEntropy(z2, rows, V, targets, w, 0.3);
      tape.backward();
      for (let i = 0; i < z.data.length; i++) expect(z2.grad![i]).toBeCloseTo(0.3 * z.grad![i], 12);
    }), params);
  });

  it('sequence-wise balance loss over rows (f constant, P differentiable)', () => {
    fc.assert(fc.property(dim(1, 3), dim(1, 5), dim(2, 6), dim(0, 1e6), (R, Tr, E, seed) => {
      const K = 1 + (seed % (E - 1)), T = R * Tr;
      const experts = new Int32Array(T * K);
      for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) experts[t * K + k] = (t * 2 + seed + k) % E;
      const s = floats(T * E, seed).map((x) => 0.1 + 0.8 * Math.abs(x));
      expect(fdError([s], (t, [x]) => t.balanceLoss(x, experts, R, Tr, E, K, 0.7), seed)).toBeLessThan(TOL);
    }), params);
  });
});
