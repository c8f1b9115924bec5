// A backend that runs another and counts the multiply-adds of what it ran: the lessons show the
// engine's own work per decode step this way, counted as it happens, not estimated beside it.
import type { Backend } from './backend.js';

export interface CountingBackend extends Backend {
  /** Multiply-adds since the last reset (matrix products and attention's two products). */
  macs: number;
  reset(): void;
}

export function countingBackend(inner: Backend): CountingBackend {
  const be: CountingBackend = {
    name: `${inner.name} (counted)`,
    macs: 0,
    reset() { be.macs = 0; },
    matmul(a, b, m, k, n, out) { be.macs += m * k * n; return inner.matmul(a, b, m, k, n, out); },
    matmulT(a, b, m, k, n, out) { be.macs += m * k * n; return inner.matmulT(a, b, m, k, n, out); },
    matmulTN(a, b, m, k, n, out) { be.macs += m * k * n; return inner.matmulTN(a, b, m, k, n, out); },
    softmaxRows: (x, rows, cols, out) => inner.softmaxRows(x, rows, cols, out),
    rmsNorm: (x, w, rows, cols, eps, out) => inner.rmsNorm(x, w, rows, cols, eps, out),
    rope: (x, rows, dim, positions, theta, out) => inner.rope(x, rows, dim, positions, theta, out),
    swiglu: (g, u, n, out) => inner.swiglu(g, u, n, out),
    causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, out, weights) {
      // Each query scores and sums over the keys it can see.
      for (let i = 0; i < nq; i++) be.macs += Math.min(nk, offset + i + 1) * (dk + dv);
      return inner.causalAttention(q, k, v, nq, nk, dk, dv, scale, offset, out, weights);
    },
  };
  return be;
}
