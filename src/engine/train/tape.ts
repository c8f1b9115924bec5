// Reverse-mode differentiation: every op the full-sequence forward uses, each with its gradient
// rule right beside it (the one place these rules live). An op computes its value through the
// Backend, like the inference engine, and pushes one backward closure per call (never per element)
// onto the tape; `backward()` runs them in reverse. Heavy products go through the Backend both
// ways: for y = x W^T, dx = dy W (matmul) and dW = dy^T x (matmulTN).
//
// Buffers are Float32Array in training and Float64Array in gradient checks: the same rules run in
// float64 when the tape is given float64 buffers and a backend whose loops are written over plain
// indexable arrays and write into the `out` they are given (the reference and the loop backend
// both are). Every backend call here passes its `out`, so nothing float32 is allocated behind it.
import type { Backend } from '../../../kernels/backend.js';

export type Vec = Float32Array | Float64Array;
export type Dtype = 'float32' | 'float64';

/** A value on the tape and its gradient (null until a gradient reaches it). */
export interface Node {
  data: Vec;
  grad: Vec | null;
  /** The grad buffer holds zeros nobody has written yet, so a rule may overwrite instead of add. */
  fresh: boolean;
}

/** The Backend's ops as the tape calls them: the same functions, over either buffer type. */
interface Ops {
  matmul(a: Vec, b: Vec, m: number, k: number, n: number, out: Vec): Vec;
  matmulT(a: Vec, b: Vec, m: number, k: number, n: number, out: Vec): Vec;
  matmulTN?(a: Vec, b: Vec, m: number, k: number, n: number, out: Vec): Vec;
  rmsNorm(x: Vec, w: Vec, rows: number, cols: number, eps: number, out: Vec): Vec;
  rope(x: Vec, rows: number, dim: number, positions: ArrayLike<number>, theta: number, out: Vec): Vec;
  swiglu(g: Vec, u: Vec, n: number, out: Vec): Vec;
  causalAttention(q: Vec, k: Vec, v: Vec, nq: number, nk: number, dk: number, dv: number, scale: number, offset: number, out: Vec, weights: Vec): Vec;
}

/**
 * Buffers of finished tapes, by dtype and power-of-two capacity: a training step allocates the same
 * few hundred activations and gradients as the one before it, and allocating them anew each step
 * (hundreds of MB per second of large typed arrays) cost about a fifth of the time in collection.
 */
const pools: Record<Dtype, Map<number, Vec[]>> = { float32: new Map(), float64: new Map() };

export class Tape {
  private readonly ops: Ops;
  private readonly back: (() => void)[] = [];
  private readonly taken: Vec[] = [];

  constructor(readonly backend: Backend, readonly dtype: Dtype = 'float32') {
    this.ops = backend as unknown as Ops;
  }

  /** A zeroed buffer of n values (from the pool when one is free; back to it on release()). */
  alloc(n: number): Vec {
    return this.scratch(n, true);
  }

  /** A buffer of n values from the pool, zeroed only when asked (most are overwritten whole). */
  private scratch(n: number, zero = false): Vec {
    const cap = n <= 16 ? 16 : 2 ** Math.ceil(Math.log2(n));
    const free = pools[this.dtype].get(cap);
    let buf = free?.pop();
    if (buf) { if (zero) buf.fill(0, 0, n); } else buf = this.dtype === 'float64' ? new Float64Array(cap) : new Float32Array(cap);
    this.taken.push(buf);
    return n === cap ? buf : buf.subarray(0, n);
  }

  /** Hand every buffer this tape allocated back to the pool: its values must not be read after. */
  release(): void {
    const pool = pools[this.dtype];
    for (const buf of this.taken) {
      let list = pool.get(buf.length);
      if (!list) pool.set(buf.length, (list = []));
      list.push(buf);
    }
    this.taken.length = 0;
    this.back.length = 0;
  }

  /** A trained tensor: its gradient accumulates into `grad` (zeros to start, e.g. a view of the flat grads). */
  param(data: Vec, grad: Vec): Node {
    return { data, grad, fresh: true };
  }

  /** An input value; its gradient is allocated when one reaches it. */
  leaf(data: Vec): Node {
    return { data, grad: null, fresh: false };
  }

  private node(data: Vec): Node {
    return { data, grad: null, fresh: false };
  }

  /** x's gradient buffer, to add into. */
  gradOf(x: Node): Vec {
    if (x.grad === null) x.grad = this.alloc(x.data.length);
    x.fresh = false;
    return x.grad;
  }

  /** Where a rule that overwrites should write x's contribution: the grad itself when it is untouched, else scratch. */
  private target(x: Node): Vec {
    if (x.grad === null) { x.grad = this.scratch(x.data.length); return x.grad; }
    if (x.fresh) { x.fresh = false; return x.grad; }
    return this.scratch(x.data.length);
  }

  /** Finish a `target` write: add scratch into the gradient. */
  private settle(x: Node, buf: Vec): void {
    const g = x.grad!;
    if (buf === g) return;
    for (let i = 0; i < g.length; i++) g[i] += buf[i];
  }

  private record(f: () => void): void {
    this.back.push(f);
  }

  /** Run every recorded rule in reverse order (the loss ops seed their own gradients). */
  backward(): void {
    for (let i = this.back.length - 1; i >= 0; i--) this.back[i]();
    this.back.length = 0;
  }

  /** C[m,n] = A[k,m]^T B[k,n] (the weight gradient); a transpose + matmul where the backend lacks it. */
  private matmulTN(a: Vec, b: Vec, m: number, k: number, n: number, out: Vec): Vec {
    if (this.ops.matmulTN) return this.ops.matmulTN(a, b, m, k, n, out);
    const at = this.scratch(m * k);
    for (let p = 0; p < k; p++) for (let i = 0; i < m; i++) at[i * k + p] = a[p * m + i];
    return this.ops.matmul(at, b, m, k, n, out);
  }

  // ---- ops and their rules ----

  /** Rows idx[i] of src [*, cols] (embedding lookup, choosing tokens for an expert or a shorter sequence). */
  gatherRows(src: Node, idx: Int32Array, cols: number): Node {
    const n = idx.length, y = this.scratch(n * cols), s = src.data;
    // Element loops rather than y.set(s.subarray(..)): a subarray is a heap object, one per row here
    // (thousands per op), and these views were half of a training step's garbage.
    for (let i = 0; i < n; i++) {
      const so = idx[i] * cols, yo = i * cols;
      for (let j = 0; j < cols; j++) y[yo + j] = s[so + j];
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const g = this.gradOf(src);
      for (let i = 0; i < n; i++) {
        const so = idx[i] * cols, yo = i * cols;
        for (let j = 0; j < cols; j++) g[so + j] += dy[yo + j];
      }
    });
    return out;
  }

  /** Columns [start, start+count) of x [rows, cols]. */
  columns(x: Node, rows: number, cols: number, start: number, count: number): Node {
    const y = this.scratch(rows * count), s = x.data;
    for (let r = 0; r < rows; r++) { // element loops, no per-row subarray (see gatherRows)
      const so = r * cols + start, yo = r * count;
      for (let j = 0; j < count; j++) y[yo + j] = s[so + j];
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const g = this.gradOf(x);
      for (let r = 0; r < rows; r++) {
        const go = r * cols + start, yo = r * count;
        for (let j = 0; j < count; j++) g[go + j] += dy[yo + j];
      }
    });
    return out;
  }

  /** [a ; b] along columns: a [rows, ca], b [rows, cb] -> [rows, ca+cb]. */
  concatColumns(a: Node, b: Node, rows: number, ca: number, cb: number): Node {
    const w = ca + cb, y = this.scratch(rows * w);
    const as = a.data, bs = b.data;
    for (let r = 0; r < rows; r++) { // element loops, no per-row subarray (see gatherRows)
      for (let j = 0; j < ca; j++) y[r * w + j] = as[r * ca + j];
      for (let j = 0; j < cb; j++) y[r * w + ca + j] = bs[r * cb + j];
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const ga = this.gradOf(a), gb = this.gradOf(b);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < ca; j++) ga[r * ca + j] += dy[r * w + j];
        for (let j = 0; j < cb; j++) gb[r * cb + j] += dy[r * w + ca + j];
      }
    });
    return out;
  }

  /** a + b (the residual stream). */
  add(a: Node, b: Node): Node {
    const n = a.data.length, y = this.scratch(n);
    for (let i = 0; i < n; i++) y[i] = a.data[i] + b.data[i];
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      for (const x of [a, b]) {
        if (x.grad === null || x.fresh) {
          if (x.grad === null) x.grad = this.scratch(n);
          x.grad.set(dy);
          x.fresh = false;
        } else {
          const g = x.grad;
          for (let i = 0; i < n; i++) g[i] += dy[i];
        }
      }
    });
    return out;
  }

  /** x + b on every row: x [rows, cols], b [cols] (a Linear's bias). db = sum over rows of dy. */
  addBias(x: Node, b: Node, rows: number, cols: number): Node {
    const y = this.scratch(rows * cols), xs = x.data, bs = b.data;
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) y[r * cols + j] = xs[r * cols + j] + bs[j];
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const gx = this.gradOf(x), gb = this.gradOf(b);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cols; j++) { gx[r * cols + j] += dy[r * cols + j]; gb[j] += dy[r * cols + j]; }
      }
    });
    return out;
  }

  /** A Linear layer y = x W^T: x [T, in], W [out, in] (torch layout). dx = dy W, dW = dy^T x. */
  linear(x: Node, w: Node, T: number, inF: number, outF: number): Node {
    const out = this.node(this.ops.matmulT(x.data, w.data, T, inF, outF, this.scratch(T * outF)));
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const gw = this.target(w);
      this.matmulTN(dy, x.data, outF, T, inF, gw);
      this.settle(w, gw);
      const gx = this.target(x);
      this.ops.matmul(dy, w.data, T, outF, inF, gx);
      this.settle(x, gx);
    });
    return out;
  }

  /**
   * RMSNorm y = w * x / rms(x), rms = sqrt(mean(x^2) + eps), per row. With n = x / rms:
   * dw = sum over rows of dy * n; dx = (w dy - n * mean(w dy * n)) / rms.
   */
  rmsNorm(x: Node, w: Node, rows: number, cols: number, eps: number): Node {
    const out = this.node(this.ops.rmsNorm(x.data, w.data, rows, cols, eps, this.scratch(rows * cols)));
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const xs = x.data, ws = w.data, gx = this.gradOf(x), gw = this.gradOf(w);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        // One pass for sum(x^2) and sum(w dy x), one to write: mean(w dy n) = inv * sum(w dy x) / cols.
        let ss = 0, dot = 0;
        for (let j = 0; j < cols; j++) { const x = xs[o + j]; ss += x * x; dot += ws[j] * dy[o + j] * x; }
        const inv = 1 / Math.sqrt(ss / cols + eps), c = (inv * inv * inv * dot) / cols;
        for (let j = 0; j < cols; j++) {
          const x = xs[o + j], d = dy[o + j];
          gw[j] += d * x * inv;
          gx[o + j] += ws[j] * d * inv - x * c;
        }
      }
    });
    return out;
  }

  /**
   * RoPE on interleaved pairs of the columns [start, start+dim) of each of `groups` blocks of width
   * `stride` per row (one block: the shared k^R; n_h blocks: each head's q^R); row r sits at
   * position positions[r]. A rotation's transpose is the rotation by the opposite angle, so the
   * backward pass is RoPE at the negated positions.
   */
  rope(x: Node, rows: number, groups: number, stride: number, start: number, dim: number, positions: Int32Array, theta: number): Node {
    const width = groups * stride;
    const whole = groups === 1 && stride === dim && start === 0;
    const rowPos = new Int32Array(rows * groups);
    for (let r = 0; r < rows; r++) for (let g = 0; g < groups; g++) rowPos[r * groups + g] = positions[r];
    const rotate = (src: Vec, dst: Vec, sign: 1 | -1) => {
      const pos = sign === 1 ? rowPos : rowPos.map((p) => -p);
      if (whole) { this.ops.rope(src, rows, dim, pos, theta, dst); return; }
      const blk = this.scratch(rows * groups * dim);
      for (let b = 0; b < rows * groups; b++) { // element loops, no per-block subarray (see gatherRows)
        const o = Math.floor(b / groups) * width + (b % groups) * stride + start, bo = b * dim;
        for (let j = 0; j < dim; j++) blk[bo + j] = src[o + j];
      }
      const rot = this.ops.rope(blk, rows * groups, dim, pos, theta, this.scratch(rows * groups * dim));
      for (let b = 0; b < rows * groups; b++) {
        const o = Math.floor(b / groups) * width + (b % groups) * stride + start, bo = b * dim;
        for (let j = 0; j < dim; j++) dst[o + j] = rot[bo + j];
      }
    };
    const y = this.scratch(rows * width);
    if (!whole) y.set(x.data);
    if (dim > 0) rotate(x.data, y, 1);
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const d = this.scratch(rows * width);
      if (!whole) d.set(dy);
      if (dim > 0) rotate(dy, d, -1);
      const g = this.target(x);
      g.set(d);
      this.settle(x, g);
    });
    return out;
  }

  /**
   * SwiGLU's elementwise half silu(g) * u. With sig = sigmoid(g): dg = dy u sig (1 + g (1 - sig)),
   * du = dy g sig. Computed here rather than by the backend's swiglu: the backward pass needs
   * sig, and keeping it from this pass saves one exp per element (the same formula as the backend's).
   */
  swiglu(g: Node, u: Node, n: number): Node {
    const y = this.scratch(n), sig = this.scratch(n), gs = g.data, us = u.data;
    for (let i = 0; i < n; i++) {
      const x = gs[i], s = 1 / (1 + Math.exp(-x));
      sig[i] = s;
      y[i] = x * s * us[i];
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const gg = this.gradOf(g), gu = this.gradOf(u);
      for (let i = 0; i < n; i++) {
        const x = gs[i], s = sig[i], d = dy[i];
        gg[i] += d * us[i] * s * (1 + x * (1 - s));
        gu[i] += d * x * s;
      }
    });
    return out;
  }

  /** Elementwise logistic sigmoid (the router's scores). ds/du = s (1 - s). */
  sigmoid(u: Node): Node {
    const n = u.data.length, y = this.scratch(n), us = u.data;
    for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-us[i]));
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const g = this.gradOf(u);
      for (let i = 0; i < n; i++) g[i] += dy[i] * y[i] * (1 - y[i]);
    });
    return out;
  }

  /** Softmax of each row (DeepSeek-V2's router scores). du = s (ds - <s, ds>). */
  softmax(u: Node, rows: number, cols: number): Node {
    const y = this.scratch(rows * cols), us = u.data;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let max = -Infinity, sum = 0;
      for (let j = 0; j < cols; j++) max = Math.max(max, us[o + j]);
      for (let j = 0; j < cols; j++) { y[o + j] = Math.exp(us[o + j] - max); sum += y[o + j]; }
      for (let j = 0; j < cols; j++) y[o + j] /= sum;
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const g = this.gradOf(u);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += y[o + j] * dy[o + j];
        for (let j = 0; j < cols; j++) g[o + j] += y[o + j] * (dy[o + j] - dot);
      }
    });
    return out;
  }

  /**
   * MLA's causal attention over R rows of N tokens (the full recompute: no cache), all heads:
   * q [R*N, n_h*(nope+dr)] after RoPE, kv = kv_b_proj(c_KV) [R*N, n_h*(nope+dv)] (per head
   * k^C then v^C), kpe = RoPE(k^R) [R*N, dr] shared by the heads. Returns [R*N, n_h*dv].
   * Backward per (row, head), with P the softmax weights kept from the forward pass:
   * dV = P^T dO, dP = dO V^T, dS = scale * P (dP - rowsum(P dP)), dQ = dS K, dK = dS^T Q.
   */
  attention(q: Node, kv: Node, kpe: Node, R: number, N: number, nh: number, nope: number, dr: number, dv: number, scale: number): Node {
    const qk = nope + dr, kvw = nh * (nope + dv), qw = nh * qk;
    // Each (row, head)'s Q, K, V gathered into contiguous [N, *] blocks, kept for the backward pass.
    const RH = R * nh;
    const Qs = this.scratch(RH * N * qk), Ks = this.scratch(RH * N * qk), Vs = this.scratch(RH * N * dv), O = this.scratch(N * dv);
    const probs = this.scratch(RH * N * N);
    const y = this.scratch(R * N * nh * dv);
    const qs = q.data, kvs = kv.data, ks = kpe.data;
    for (let r = 0; r < R; r++) {
      for (let h = 0; h < nh; h++) {
        const b = r * nh + h;
        const Q = Qs.subarray(b * N * qk, (b + 1) * N * qk), K = Ks.subarray(b * N * qk, (b + 1) * N * qk), V = Vs.subarray(b * N * dv, (b + 1) * N * dv);
        for (let i = 0; i < N; i++) {
          const t = r * N + i, qo = t * qw + h * qk, ko = t * kvw + h * (nope + dv), po = t * dr, a = i * qk, c = i * dv;
          for (let j = 0; j < qk; j++) Q[a + j] = qs[qo + j];
          for (let j = 0; j < nope; j++) K[a + j] = kvs[ko + j];
          for (let j = 0; j < dr; j++) K[a + nope + j] = ks[po + j];
          for (let j = 0; j < dv; j++) V[c + j] = kvs[ko + nope + j];
        }
        const P = probs.subarray(b * N * N, (b + 1) * N * N);
        this.ops.causalAttention(Q, K, V, N, N, qk, dv, scale, 0, O, P);
        for (let i = 0; i < N; i++) {
          const yo = (r * N + i) * nh * dv + h * dv;
          for (let j = 0; j < dv; j++) y[yo + j] = O[i * dv + j];
        }
      }
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const gq = this.gradOf(q), gkv = this.gradOf(kv), gk = this.gradOf(kpe);
      const dO = this.scratch(N * dv), dV = this.scratch(N * dv), dP = this.scratch(N * N);
      const dQ = this.scratch(N * qk), dK = this.scratch(N * qk);
      for (let r = 0; r < R; r++) {
        for (let h = 0; h < nh; h++) {
          const b = r * nh + h;
          const Q = Qs.subarray(b * N * qk, (b + 1) * N * qk), K = Ks.subarray(b * N * qk, (b + 1) * N * qk), V = Vs.subarray(b * N * dv, (b + 1) * N * dv);
          const P = probs.subarray(b * N * N, (b + 1) * N * N);
          for (let i = 0; i < N; i++) {
            const yo = (r * N + i) * nh * dv + h * dv;
            for (let j = 0; j < dv; j++) dO[i * dv + j] = dy[yo + j];
          }
          this.matmulTN(P, dO, N, N, dv, dV);
          this.ops.matmulT(dO, V, N, dv, N, dP);
          // dS is 0 above the diagonal (P is): compute the triangle, clear the rest.
          for (let i = 0; i < N; i++) {
            const o = i * N;
            let dot = 0;
            for (let j = 0; j <= i; j++) dot += P[o + j] * dP[o + j];
            for (let j = 0; j <= i; j++) dP[o + j] = scale * P[o + j] * (dP[o + j] - dot);
            dP.fill(0, o + i + 1, o + N);
          }
          this.ops.matmul(dP, K, N, N, qk, dQ);
          this.matmulTN(dP, Q, N, N, qk, dK);
          for (let i = 0; i < N; i++) {
            const t = r * N + i;
            const qo = t * qw + h * qk, ko = t * kvw + h * (nope + dv);
            for (let j = 0; j < qk; j++) gq[qo + j] += dQ[i * qk + j];
            for (let j = 0; j < nope; j++) gkv[ko + j] += dK[i * qk + j];
            for (let j = 0; j < dr; j++) gk[t * dr + j] += dK[i * qk + nope + j];
            for (let j = 0; j < dv; j++) gkv[ko + nope + j] += dV[i * dv + j];
          }
        }
      }
    });
    return out;
  }

  /**
   * The gate weights of the chosen experts from the unbiased scores s [T, E]: g_k = c s_k / S with
   * S = sum of the chosen s (norm_topk_prob), else g_k = c s_k; c = routed_scaling_factor.
   * experts [T*K] holds each token's chosen experts. ds_j = (c dg_j - sum_k g_k dg_k) / S, or c dg_j.
   */
  gateWeights(s: Node, experts: Int32Array, T: number, E: number, K: number, norm: boolean, scale: number): Node {
    const y = this.scratch(T * K), ss = s.data;
    const sums = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      let S = 0;
      for (let k = 0; k < K; k++) S += ss[t * E + experts[t * K + k]];
      sums[t] = S;
      for (let k = 0; k < K; k++) y[t * K + k] = norm ? (scale * ss[t * E + experts[t * K + k]]) / S : scale * ss[t * E + experts[t * K + k]];
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const g = this.gradOf(s);
      for (let t = 0; t < T; t++) {
        if (norm) {
          let dot = 0;
          for (let k = 0; k < K; k++) dot += y[t * K + k] * dy[t * K + k];
          for (let k = 0; k < K; k++) g[t * E + experts[t * K + k]] += (scale * dy[t * K + k] - dot) / sums[t];
        } else {
          for (let k = 0; k < K; k++) g[t * E + experts[t * K + k]] += scale * dy[t * K + k];
        }
      }
    });
    return out;
  }

  /**
   * DeepSeekMoE's sum: out[t] = base[t] + sum over the experts e that chose t of g[slot] * ye[row],
   * where expert e ran on tokens tokens[e] (its rows, in order) and slots[e] index g [T*K].
   * dye[row] = g * dout[t]; dg[slot] = <dout[t], ye[row]>; dbase = dout.
   */
  combineExperts(base: Node, ys: (Node | null)[], tokens: Int32Array[], slots: Int32Array[], g: Node, d: number): Node {
    const y = this.scratch(base.data.length);
    y.set(base.data);
    const gs = g.data;
    for (let e = 0; e < ys.length; e++) {
      const ye = ys[e];
      if (!ye) continue;
      const tok = tokens[e], sl = slots[e], yd = ye.data;
      for (let r = 0; r < tok.length; r++) {
        const w = gs[sl[r]], yo = tok[r] * d, ro = r * d;
        for (let j = 0; j < d; j++) y[yo + j] += w * yd[ro + j];
      }
    }
    const out = this.node(y);
    this.record(() => {
      const dy = out.grad;
      if (!dy) return;
      const gb = this.gradOf(base);
      for (let i = 0; i < dy.length; i++) gb[i] += dy[i];
      const gg = this.gradOf(g);
      for (let e = 0; e < ys.length; e++) {
        const ye = ys[e];
        if (!ye) continue;
        const tok = tokens[e], sl = slots[e], yd = ye.data, gy = this.gradOf(ye);
        for (let r = 0; r < tok.length; r++) {
          const w = gs[sl[r]], yo = tok[r] * d, ro = r * d;
          let dot = 0;
          for (let j = 0; j < d; j++) {
            dot += dy[yo + j] * yd[ro + j];
            gy[ro + j] += w * dy[yo + j];
          }
          gg[sl[r]] += dot;
        }
      }
    });
    return out;
  }

  // ---- losses: they return a number and seed their own gradient (d loss = 1) ----

  /**
   * Sum over rows r of weight[r] * CE(logits[r], targets[r]) (rows with target < 0 skipped; computed
   * in float64). The gradient added is gradScale * weight[r] * (softmax(logits[r]) - onehot).
   * Also returns each row's argmax (for cheap agreement statistics).
   */
  crossEntropy(logits: Node, rows: number, V: number, targets: Int32Array, weight: Float64Array, gradScale: number): { loss: number; argmax: Int32Array } {
    const z = logits.data, argmax = new Int32Array(rows);
    // The loss ends the graph, so its gradient is known now: softmax - onehot, written in the same
    // pass that sums the exponentials (one exp per logit in all).
    const d = this.alloc(rows * V);
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const o = r * V, y = targets[r];
      let max = -Infinity, best = 0;
      for (let j = 0; j < V; j++) if (z[o + j] > max) { max = z[o + j]; best = j; }
      argmax[r] = best;
      if (y < 0) continue;
      let sum = 0;
      for (let j = 0; j < V; j++) { const e = Math.exp(z[o + j] - max); d[o + j] = e; sum += e; }
      loss += weight[r] * (max + Math.log(sum) - z[o + y]);
      const c = (gradScale * weight[r]) / sum;
      for (let j = 0; j < V; j++) d[o + j] *= c;
      d[o + y] -= gradScale * weight[r];
    }
    this.record(() => {
      if (logits.grad === null) { logits.grad = d; return; }
      const g = this.gradOf(logits);
      for (let i = 0; i < d.length; i++) g[i] += d[i];
    });
    return { loss, argmax };
  }

  /**
   * DeepSeek-V3's sequence-wise balance loss (eq. 17-20), summed over R sequences of Tr tokens:
   * alpha * sum_e f_e P_e with f_e = E/(K Tr) #{t : e chosen for t} (a constant) and
   * P_e = (1/Tr) sum_t s_{e,t} / S_t, S_t = sum_j s_{j,t} (differentiable, unbiased scores).
   * ds_{j,t} = alpha / Tr * (f_j - sum_e f_e s_{e,t} / S_t) / S_t.
   */
  balanceLoss(s: Node, experts: Int32Array, R: number, Tr: number, E: number, K: number, alpha: number): number {
    const ss = s.data, f = new Float64Array(R * E);
    let loss = 0;
    for (let r = 0; r < R; r++) {
      const fo = r * E;
      for (let t = r * Tr; t < (r + 1) * Tr; t++) for (let k = 0; k < K; k++) f[fo + experts[t * K + k]] += E / (K * Tr);
      for (let t = r * Tr; t < (r + 1) * Tr; t++) {
        let S = 0, part = 0;
        for (let e = 0; e < E; e++) { S += ss[t * E + e]; part += f[fo + e] * ss[t * E + e]; }
        loss += (alpha * part) / (S * Tr);
      }
    }
    this.record(() => {
      const g = this.gradOf(s);
      for (let r = 0; r < R; r++) {
        const fo = r * E;
        for (let t = r * Tr; t < (r + 1) * Tr; t++) {
          let S = 0, part = 0;
          for (let e = 0; e < E; e++) { S += ss[t * E + e]; part += f[fo + e] * ss[t * E + e]; }
          const inner = part / S, c = alpha / (Tr * S);
          for (let e = 0; e < E; e++) g[t * E + e] += c * (f[fo + e] - inner);
        }
      }
    });
    return loss;
  }
}
