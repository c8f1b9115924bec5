// HiPPO-LegS (src/engine/linear/hippo.ts): the matrices are those of the projection they claim to
// track (the exact coefficients of x^j are t^j (A + jI)^-1 B), a polynomial of degree < N is
// reconstructed from its N coefficients to rounding, and the discrete recurrence converges to the
// exact projection as the signal is sampled more finely.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LegsState, gaussLegendre, legsMatrices, legsProjection, legsReconstruct, legsRecall, legsRecallError, legsRecallErrorFrom, legsRecallRmse, legsStream, rootMeanSquare } from '../src/engine/linear/hippo.js';
import { createRng } from '../src/engine/sampling.js';

/** Solve M x = b for a small dense M (Gaussian elimination with partial pivoting). */
function solve(M: Float64Array, b: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(M), x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let j = r + 1; j < n; j++) x[r] -= a[r * n + j] * x[j];
    x[r] /= a[r * n + r];
  }
  return x;
}

describe('Gauss-Legendre quadrature', () => {
  it('integrates polynomials of degree < 2Q exactly', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 59 }), (Q, deg) => {
      fc.pre(deg < 2 * Q);
      const { nodes, weights } = gaussLegendre(Q);
      let s = 0;
      for (let i = 0; i < Q; i++) s += weights[i] * nodes[i] ** deg;
      const exact = deg % 2 === 1 ? 0 : 2 / (deg + 1);
      expect(Math.abs(s - exact)).toBeLessThan(1e-13);
    }), { numRuns: 200, seed: 1 });
  });
});

describe('HiPPO-LegS matrices', () => {
  it('the coefficients of x^j on [0, t] are t^j (A + jI)^-1 B: the ODE dc/dt = (-A c + B f)/t holds for them', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 24 }), fc.nat(23), fc.double({ min: 0.5, max: 50, noNaN: true }), (N, j0, t) => {
      const j = j0 % N;
      const { A, B } = legsMatrices(N);
      const M = Float64Array.from(A);
      for (let n = 0; n < N; n++) M[n * N + n] += j;
      const predicted = solve(M, B, N).map((x) => x * t ** j);
      const exact = legsProjection((x) => x ** j, t, N);
      for (let n = 0; n < N; n++) expect(Math.abs(predicted[n] - exact[n])).toBeLessThan(1e-10 * Math.max(1, t ** j));
    }), { numRuns: 200, seed: 2 });
  });

  it('a polynomial of degree < N is reconstructed from its N coefficients to rounding', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 1, max: 200, noNaN: true }), (N, seed, t) => {
      const rng = createRng(seed);
      const coef = Array.from({ length: N }, () => 2 * rng() - 1);
      // p(x) = sum_j coef_j (x/t)^j, degree N - 1.
      const p = (x: number) => coef.reduce((s, a, j) => s + a * (x / t) ** j, 0);
      const c = legsProjection(p, t, N);
      for (let i = 0; i <= 20; i++) {
        const x = (t * i) / 20;
        expect(Math.abs(legsReconstruct(c, t, x) - p(x))).toBeLessThan(1e-11 * N);
      }
    }), { numRuns: 200, seed: 3 });
  });

  it('a polynomial of degree N is not: N numbers cannot hold it', () => {
    const N = 6, t = 10, p = (x: number) => (x / t) ** N;
    const c = legsProjection(p, t, N);
    let worst = 0;
    for (let i = 0; i <= 20; i++) worst = Math.max(worst, Math.abs(legsReconstruct(c, t, (t * i) / 20) - p((t * i) / 20)));
    expect(worst).toBeGreaterThan(1e-3);
  });
});

describe('the discrete recurrence', () => {
  it('converges to the exact projection of a sampled polynomial as the sampling gets finer (error ~ 1/L for both discretisations)', () => {
    const N = 8;
    const p = (u: number) => 0.3 - u + 2 * u ** 2 - 0.7 * u ** 5; // on u = x / L in [0, 1]
    for (const method of ['bilinear', 'euler'] as const) {
    const errAt = (L: number) => {
      const st = new LegsState(N, method);
      for (let i = 0; i < L; i++) st.step(p((i + 0.5) / L));
      const exact = legsProjection((x) => p(x / L), L, N);
      return Math.max(...Array.from(st.c, (c, n) => Math.abs(c - exact[n])));
    };
    const e1 = errAt(250), e2 = errAt(1000), e3 = errAt(4000);
    // 4x the samples, about 4x less error (first order: the steps near t = 0 are coarse).
    expect(e2, method).toBeLessThan(e1 / 3);
    expect(e3, method).toBeLessThan(e2 / 3);
    expect(e3, method).toBeLessThan(2e-4);
    }
  });

  it('holds N numbers however long the signal', () => {
    const st = new LegsState(12);
    for (let i = 0; i < 5000; i++) st.step(Math.sin(i / 40));
    expect(st.size).toBe(12);
    expect(st.c.length).toBe(12);
    expect(Array.from(st.c).every(Number.isFinite)).toBe(true);
  });
});

describe('recall from the state', () => {
  it('more coefficients recall a smooth signal better (bilinear, error falls with N)', () => {
    const f = Float64Array.from({ length: 400 }, (_, i) => Math.sin(i / 25) + 0.5 * Math.cos(i / 9));
    const errs = [4, 8, 16, 32].map((N) => legsRecallRmse(f, 400, N));
    for (let i = 1; i < errs.length; i++) expect(errs[i], `${errs}`).toBeLessThan(errs[i - 1]);
    expect(errs[3]).toBeLessThan(0.05);
  });
});

describe('legsRecall', () => {
  it('gives exactly legsReconstruct at every sample\'s middle, for any state and length', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.constant(-0), fc.double({ min: -50, max: 50, noNaN: true })), { maxLength: 70 }), fc.integer({ min: 1, max: 300 }), (c, k) => {
      const all = legsRecall(c, k);
      expect(all.length).toBe(k);
      for (let i = 0; i < k; i++) expect(all[i]).toBe(legsReconstruct(c, k, i + 0.5));
    }), { numRuns: 200, seed: 11 });
  });
});

describe('recall from states already streamed', () => {
  it('equals streaming the first t samples again, at every t, for both discretisations', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom<'bilinear' | 'euler'>('bilinear', 'euler'), (seed, L, N, method) => {
      const rng = createRng(seed);
      const signal = Float64Array.from({ length: L }, () => 2 * rng() - 1);
      const states = legsStream(signal, N, method);
      for (const t of [1, Math.ceil(L / 2), L]) {
        const a = legsRecallErrorFrom(signal, states, N, t), b = legsRecallError(signal, t, N, method);
        for (let i = 0; i < t; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-12);
        expect(Math.abs(rootMeanSquare(a) - legsRecallRmse(signal, t, N, method))).toBeLessThan(1e-12);
      }
    }));
  });

  it('refuses states of another shape', () => {
    expect(() => legsRecallErrorFrom(new Float64Array(4), new Float64Array(7), 2, 2)).toThrow(/states hold/);
  });
});
