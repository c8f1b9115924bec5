// HiPPO-LegS (Gu et al. 2020, "HiPPO: Recurrent Memory with Optimal Polynomial Projections").
// At time t, the N coefficients c(t) are the projection of the whole past f on [0, t] onto the
// first N scaled Legendre polynomials g_n(x) = sqrt(2n+1) P_n(2x/t - 1), under the uniform measure:
//   c_n(t) = (1/t) int_0^t f(x) g_n(x) dx,      f(x) ~ sum_n c_n(t) g_n(x)   for 0 <= x <= t.
// Differentiating gives a linear ODE, d/dt c = -(1/t) A c + (1/t) B f(t), with
//   A_nk = sqrt(2n+1) sqrt(2k+1) (n > k),  n + 1 (n = k),  0 (n < k);   B_n = sqrt(2n+1).
// Discretised with one unit step per sample, the state is updated per token in O(N^2) (A is lower
// triangular) and holds N numbers however long the signal: the model of a state-space layer.
//   bilinear: (I + A/(2k)) c_k = (I - A/(2k)) c_{k-1} + (B/k) f_k
//   euler (the paper's discrete LegS): c_k = (I - A/k) c_{k-1} + (B/k) f_k
// (HiPPO's sign convention keeps A positive here and writes the minus in the ODE.)

export type LegsMethod = 'bilinear' | 'euler';

/** HiPPO-LegS A [N, N] (row-major) and B [N]. */
export function legsMatrices(N: number): { A: Float64Array; B: Float64Array } {
  if (!(Number.isInteger(N) && N >= 1)) throw new RangeError('legsMatrices: N must be a positive integer');
  const A = new Float64Array(N * N), B = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    B[n] = Math.sqrt(2 * n + 1);
    for (let k = 0; k < n; k++) A[n * N + k] = Math.sqrt(2 * n + 1) * Math.sqrt(2 * k + 1);
    A[n * N + n] = n + 1;
  }
  return { A, B };
}

/** P_0..P_{N-1} at u in [-1, 1] (three-term recurrence). */
export function legendre(N: number, u: number, out = new Float64Array(N)): Float64Array {
  if (N > 0) out[0] = 1;
  if (N > 1) out[1] = u;
  for (let n = 1; n + 1 < N; n++) out[n + 1] = ((2 * n + 1) * u * out[n] - n * out[n - 1]) / (n + 1);
  return out;
}

/** The streaming LegS state: c after k samples. */
export class LegsState {
  readonly c: Float64Array;
  k = 0;
  private readonly A: Float64Array;
  private readonly B: Float64Array;
  private readonly tmp: Float64Array;

  constructor(readonly N: number, readonly method: LegsMethod = 'bilinear') {
    ({ A: this.A, B: this.B } = legsMatrices(N));
    this.c = new Float64Array(N);
    this.tmp = new Float64Array(N);
  }

  /** Take in the next sample f_k (k = 1, 2, ...). */
  step(f: number): void {
    const { N, A, B, c, tmp } = this;
    const k = ++this.k;
    const h = this.method === 'bilinear' ? 1 / (2 * k) : 1 / k;
    // tmp = (I - h A) c + (B / k) f
    for (let n = 0; n < N; n++) {
      let s = c[n];
      for (let j = 0; j <= n; j++) s -= h * A[n * N + j] * c[j];
      tmp[n] = s + (B[n] / k) * f;
    }
    if (this.method === 'euler') { c.set(tmp); return; }
    // Solve (I + h A) c = tmp: lower triangular, forward substitution.
    for (let n = 0; n < N; n++) {
      let s = tmp[n];
      for (let j = 0; j < n; j++) s -= h * A[n * N + j] * c[j];
      c[n] = s / (1 + h * A[n * N + n]);
    }
  }

  /** Numbers held, whatever the signal length. */
  get size(): number {
    return this.N;
  }
}

/** f(x) ~ sum_n c_n sqrt(2n+1) P_n(2x/t - 1) for x in [0, t]. */
export function legsReconstruct(c: ArrayLike<number>, t: number, x: number): number {
  const N = c.length;
  const P = legendre(N, (2 * x) / t - 1);
  let s = 0;
  for (let n = 0; n < N; n++) s += c[n] * Math.sqrt(2 * n + 1) * P[n];
  return s;
}

/** Gauss-Legendre nodes and weights on [-1, 1] (Newton's method on P_Q; exact for degree < 2Q). */
export function gaussLegendre(Q: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(Q), weights = new Float64Array(Q);
  for (let i = 0; i < Q; i++) {
    let u = Math.cos((Math.PI * (i + 0.75)) / (Q + 0.5));
    let dP = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1, p1 = u;
      for (let n = 1; n < Q; n++) { const p2 = ((2 * n + 1) * u * p1 - n * p0) / (n + 1); p0 = p1; p1 = p2; }
      if (Q === 1) { p1 = u; p0 = 1; }
      dP = (Q * (u * p1 - p0)) / (u * u - 1);
      const du = p1 / dP;
      u -= du;
      if (Math.abs(du) < 1e-16) break;
    }
    nodes[i] = u;
    weights[i] = 2 / ((1 - u * u) * dP * dP);
  }
  return { nodes, weights };
}

/** The exact LegS coefficients of a function on [0, t] (Gauss-Legendre with Q points). */
export function legsProjection(f: (x: number) => number, t: number, N: number, Q = N + 8): Float64Array {
  const { nodes, weights } = gaussLegendre(Q);
  const c = new Float64Array(N);
  const P = new Float64Array(N);
  for (let i = 0; i < Q; i++) {
    const fx = f((t * (nodes[i] + 1)) / 2);
    legendre(N, nodes[i], P);
    for (let n = 0; n < N; n++) c[n] += 0.5 * weights[i] * fx * Math.sqrt(2 * n + 1) * P[n];
  }
  return c;
}

/** Stream a sampled signal through an N-number state; the state after each sample ([L, N]). */
export function legsStream(signal: ArrayLike<number>, N: number, method: LegsMethod = 'bilinear'): Float64Array {
  const st = new LegsState(N, method);
  const out = new Float64Array(signal.length * N);
  for (let i = 0; i < signal.length; i++) { st.step(signal[i]); out.set(st.c, i * N); }
  return out;
}

/**
 * The past as the state after k samples remembers it: sample i (i < k) sits at the middle of its
 * unit interval, x = i + 1/2 on [0, k].
 */
export function legsRecall(c: ArrayLike<number>, k: number): Float64Array {
  // legsReconstruct at each sample, in one loop without allocating: the same products in the same
  // order (c_n sqrt(2n+1) first, then times P_n), so the same numbers. A page recalls up to 1024
  // samples from up to 128 numbers for several N at every move of its sliders.
  const N = c.length;
  const w = new Float64Array(N);
  for (let n = 0; n < N; n++) w[n] = c[n] * Math.sqrt(2 * n + 1);
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const u = (2 * (i + 0.5)) / k - 1;
    if (N === 0) continue;
    let p0 = 1, s = 0;
    s += w[0] * p0;
    if (N > 1) {
      let p1 = u;
      s += w[1] * p1;
      for (let n = 1; n + 1 < N; n++) {
        const p2 = ((2 * n + 1) * u * p1 - n * p0) / (n + 1);
        s += w[n + 1] * p2;
        p0 = p1; p1 = p2;
      }
    }
    out[i] = s;
  }
  return out;
}

/** |recalled - true| for every sample 0..t-1 after streaming the first t samples into N numbers. */
export function legsRecallError(signal: ArrayLike<number>, t: number, N: number, method: LegsMethod = 'bilinear'): Float64Array {
  if (!(Number.isInteger(t) && t >= 1 && t <= signal.length)) throw new RangeError(`legsRecallError: t must be in 1..${signal.length}`);
  const st = new LegsState(N, method);
  for (let i = 0; i < t; i++) st.step(signal[i]);
  const rec = legsRecall(st.c, t);
  return rec.map((r, i) => Math.abs(r - signal[i]));
}

/**
 * legsRecallError from states already streamed (legsStream's [L, N] output): the error at any t
 * without streaming the signal again (a page moving t, or sweeping N, keeps the streams).
 */
export function legsRecallErrorFrom(signal: ArrayLike<number>, states: Float64Array, N: number, t: number): Float64Array {
  if (!(Number.isInteger(t) && t >= 1 && t <= signal.length)) throw new RangeError(`legsRecallErrorFrom: t must be in 1..${signal.length}`);
  if (states.length !== signal.length * N) throw new RangeError(`legsRecallErrorFrom: states hold ${states.length} numbers, not ${signal.length} x ${N}`);
  const rec = legsRecall(states.subarray((t - 1) * N, t * N), t);
  return rec.map((r, i) => Math.abs(r - signal[i]));
}

/** Root-mean-square of an error vector. */
export function rootMeanSquare(e: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < e.length; i++) s += e[i] * e[i];
  return Math.sqrt(s / e.length);
}

/** Root-mean-square of legsRecallError. */
export function legsRecallRmse(signal: ArrayLike<number>, t: number, N: number, method: LegsMethod = 'bilinear'): number {
  const e = legsRecallError(signal, t, N, method);
  let s = 0;
  for (let i = 0; i < e.length; i++) s += e[i] * e[i];
  return Math.sqrt(s / e.length);
}
