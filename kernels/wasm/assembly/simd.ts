// The WebAssembly SIMD kernels, in AssemblyScript (compiled by scripts/build-wasm.mjs; not part of
// the TypeScript program: tsconfig excludes this folder). Every pointer is a byte offset into this
// module's memory, which the JS side (kernels/wasm/heap.ts) manages: this file allocates nothing.
// Matrices are row-major float32; products accumulate in float32 lanes (the reference in
// kernels/reference.ts is float64, and tests bound the difference).
//
// Register blocking: A·B and Aᵀ·B compute 4 rows x 8 columns of C per pass over k (8 f32x4
// accumulators, 2 loads of B and 4 splats of A per step: 8 multiply-adds of 4 lanes); A·Bᵀ takes
// 2 rows of A x 4 rows of B, each a run of f32x4 dot products along k (8 accumulators, 6 loads).

// ---- products ----

/**
 * C[m,n] = A' B[k,n] where A'(i,p) = A[i*sai + p*sap]: A·B with (sai, sap) = (k, 1),
 * Aᵀ·B (A stored [k,m]) with (sai, sap) = (1, m).
 */
export function matmul(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, sai: i32, sap: i32): void {
  const rowStep = <usize>sai << 2, pStep = <usize>sap << 2, bStep = <usize>n << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const ai = a + <usize>i * rowStep;
    const ci = c + <usize>i * bStep;
    let j = 0;
    for (; j + 8 <= n; j += 8) block4x8(ai, b + (<usize>j << 2), ci + (<usize>j << 2), k, rowStep, pStep, bStep);
    for (; j + 4 <= n; j += 4) block4x4(ai, b + (<usize>j << 2), ci + (<usize>j << 2), k, rowStep, pStep, bStep);
    for (; j < n; j++) {
      for (let r = 0; r < 4; r++) {
        const ar = ai + <usize>r * rowStep;
        let s: f32 = 0;
        for (let p = 0; p < k; p++) s += load<f32>(ar + <usize>p * pStep) * load<f32>(b + ((<usize>p * n + j) << 2));
        store<f32>(ci + <usize>r * bStep + (<usize>j << 2), s);
      }
    }
  }
  for (; i < m; i++) {
    const ai = a + <usize>i * rowStep;
    const ci = c + <usize>i * bStep;
    let j = 0;
    for (; j + 8 <= n; j += 8) block1x8(ai, b + (<usize>j << 2), ci + (<usize>j << 2), k, pStep, bStep);
    for (; j < n; j++) {
      let s: f32 = 0;
      for (let p = 0; p < k; p++) s += load<f32>(ai + <usize>p * pStep) * load<f32>(b + ((<usize>p * n + j) << 2));
      store<f32>(ci + (<usize>j << 2), s);
    }
  }
}

@inline function block4x8(a: usize, b: usize, c: usize, k: i32, rowStep: usize, pStep: usize, bStep: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let pa = a, pb = b;
  const r2 = rowStep << 1, r3 = rowStep * 3;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let x = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(pa + rowStep);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(pa + r2);
    c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(pa + r3);
    c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1));
    pa += pStep;
    pb += bStep;
  }
  v128.store(c, c00); v128.store(c, c01, 16); c += bStep;
  v128.store(c, c10); v128.store(c, c11, 16); c += bStep;
  v128.store(c, c20); v128.store(c, c21, 16); c += bStep;
  v128.store(c, c30); v128.store(c, c31, 16);
}

@inline function block4x4(a: usize, b: usize, c: usize, k: i32, rowStep: usize, pStep: usize, bStep: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let pa = a, pb = b;
  const r2 = rowStep << 1, r3 = rowStep * 3;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(pb);
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(pa), b0));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(pa + rowStep), b0));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(pa + r2), b0));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(pa + r3), b0));
    pa += pStep;
    pb += bStep;
  }
  v128.store(c, c0); c += bStep;
  v128.store(c, c1); c += bStep;
  v128.store(c, c2); c += bStep;
  v128.store(c, c3);
}

@inline function block1x8(a: usize, b: usize, c: usize, k: i32, pStep: usize, bStep: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let pa = a, pb = b;
  let p = 0;
  // two steps of k per pass: independent accumulators hide the add latency of a single row
  for (; p + 2 <= k; p += 2) {
    const x = v128.load32_splat(pa), y = v128.load32_splat(pa + pStep);
    c0 = f32x4.add(c0, f32x4.mul(x, v128.load(pb)));
    c1 = f32x4.add(c1, f32x4.mul(x, v128.load(pb, 16)));
    d0 = f32x4.add(d0, f32x4.mul(y, v128.load(pb + bStep)));
    d1 = f32x4.add(d1, f32x4.mul(y, v128.load(pb + bStep, 16)));
    pa += pStep << 1;
    pb += bStep << 1;
  }
  if (p < k) {
    const x = v128.load32_splat(pa);
    c0 = f32x4.add(c0, f32x4.mul(x, v128.load(pb)));
    c1 = f32x4.add(c1, f32x4.mul(x, v128.load(pb, 16)));
  }
  v128.store(c, f32x4.add(c0, d0));
  v128.store(c, f32x4.add(c1, d1), 16);
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** C[m,n] = A[m,k] B[n,k]ᵀ (a Linear with W stored [out, in]). */
export function matmulT(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32): void {
  const rowA = <usize>k << 2, cStep = <usize>n << 2;
  const k4 = k & ~3;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = a + <usize>i * rowA, a1 = a0 + rowA;
    const c0 = c + <usize>i * cStep, c1 = c0 + cStep;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = b + <usize>j * rowA, b1 = b0 + rowA, b2 = b1 + rowA, b3 = b2 + rowA;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      let o: usize = 0;
      const end = <usize>k4 << 2;
      for (; o < end; o += 16) {
        const x = v128.load(a0 + o), y = v128.load(a1 + o);
        let w = v128.load(b0 + o);
        s00 = f32x4.add(s00, f32x4.mul(x, w)); s10 = f32x4.add(s10, f32x4.mul(y, w));
        w = v128.load(b1 + o);
        s01 = f32x4.add(s01, f32x4.mul(x, w)); s11 = f32x4.add(s11, f32x4.mul(y, w));
        w = v128.load(b2 + o);
        s02 = f32x4.add(s02, f32x4.mul(x, w)); s12 = f32x4.add(s12, f32x4.mul(y, w));
        w = v128.load(b3 + o);
        s03 = f32x4.add(s03, f32x4.mul(x, w)); s13 = f32x4.add(s13, f32x4.mul(y, w));
      }
      let t00 = hsum(s00), t01 = hsum(s01), t02 = hsum(s02), t03 = hsum(s03);
      let t10 = hsum(s10), t11 = hsum(s11), t12 = hsum(s12), t13 = hsum(s13);
      for (let p = k4; p < k; p++) {
        const q = <usize>p << 2;
        const x = load<f32>(a0 + q), y = load<f32>(a1 + q);
        const w0 = load<f32>(b0 + q), w1 = load<f32>(b1 + q), w2 = load<f32>(b2 + q), w3 = load<f32>(b3 + q);
        t00 += x * w0; t01 += x * w1; t02 += x * w2; t03 += x * w3;
        t10 += y * w0; t11 += y * w1; t12 += y * w2; t13 += y * w3;
      }
      const jo = <usize>j << 2;
      store<f32>(c0 + jo, t00); store<f32>(c0 + jo, t01, 4); store<f32>(c0 + jo, t02, 8); store<f32>(c0 + jo, t03, 12);
      store<f32>(c1 + jo, t10); store<f32>(c1 + jo, t11, 4); store<f32>(c1 + jo, t12, 8); store<f32>(c1 + jo, t13, 12);
    }
    for (; j < n; j++) {
      const bj = b + <usize>j * rowA;
      store<f32>(c0 + (<usize>j << 2), dot(a0, bj, k));
      store<f32>(c1 + (<usize>j << 2), dot(a1, bj, k));
    }
  }
  if (i < m) matvecT(a + <usize>i * rowA, b, c + <usize>i * cStep, k, n);
}

/** One row: c[j] = a · B[j] for j < n, four rows of B per pass (a decode step's Linear). */
function matvecT(a: usize, b: usize, c: usize, k: i32, n: i32): void {
  const rowB = <usize>k << 2;
  const k4 = k & ~3;
  const end = <usize>k4 << 2;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const b0 = b + <usize>j * rowB, b1 = b0 + rowB, b2 = b1 + rowB, b3 = b2 + rowB;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let o: usize = 0; o < end; o += 16) {
      const x = v128.load(a + o);
      s0 = f32x4.add(s0, f32x4.mul(x, v128.load(b0 + o)));
      s1 = f32x4.add(s1, f32x4.mul(x, v128.load(b1 + o)));
      s2 = f32x4.add(s2, f32x4.mul(x, v128.load(b2 + o)));
      s3 = f32x4.add(s3, f32x4.mul(x, v128.load(b3 + o)));
    }
    let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
    for (let p = k4; p < k; p++) {
      const q = <usize>p << 2;
      const x = load<f32>(a + q);
      t0 += x * load<f32>(b0 + q); t1 += x * load<f32>(b1 + q); t2 += x * load<f32>(b2 + q); t3 += x * load<f32>(b3 + q);
    }
    const jo = <usize>j << 2;
    store<f32>(c + jo, t0); store<f32>(c + jo, t1, 4); store<f32>(c + jo, t2, 8); store<f32>(c + jo, t3, 12);
  }
  for (; j < n; j++) store<f32>(c + (<usize>j << 2), dot(a, b + <usize>j * rowB, k));
}

/** a · b over k floats. */
@inline function dot(a: usize, b: usize, k: i32): f32 {
  const k4 = k & ~3;
  const end = <usize>k4 << 2;
  let s = f32x4.splat(0);
  for (let o: usize = 0; o < end; o += 16) s = f32x4.add(s, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  let t = hsum(s);
  for (let p = k4; p < k; p++) t += load<f32>(a + (<usize>p << 2)) * load<f32>(b + (<usize>p << 2));
  return t;
}

// ---- row-wise ops ----

/** y = w * x / sqrt(mean(x^2) + eps), row by row. */
export function rmsNorm(x: usize, w: usize, y: usize, rows: i32, cols: i32, eps: f64): void {
  const c4 = cols & ~3;
  const end = <usize>c4 << 2, rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let s = f32x4.splat(0);
    for (let o: usize = 0; o < end; o += 16) {
      const v = v128.load(xr + o);
      s = f32x4.add(s, f32x4.mul(v, v));
    }
    let ss: f64 = <f64>hsum(s);
    for (let j = c4; j < cols; j++) {
      const v = <f64>load<f32>(xr + (<usize>j << 2));
      ss += v * v;
    }
    const inv = <f32>(1 / Math.sqrt(ss / <f64>cols + eps));
    const vi = f32x4.splat(inv);
    for (let o: usize = 0; o < end; o += 16) v128.store(yr + o, f32x4.mul(v128.load(w + o), f32x4.mul(v128.load(xr + o), vi)));
    for (let j = c4; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(w + o) * (load<f32>(xr + o) * inv));
    }
  }
}

/** Softmax of each row (the row max subtracted first); exponentials in float64. */
export function softmaxRows(x: usize, y: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let max: f32 = -Infinity;
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(xr + (<usize>j << 2));
      if (v > max) max = v;
    }
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      const e = Math.exp(<f64>load<f32>(xr + o) - <f64>max);
      store<f32>(yr + o, <f32>e);
      sum += e;
    }
    const inv = <f32>(1 / sum);
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(yr + o) * inv);
    }
  }
}

/**
 * Rotary embedding on interleaved pairs; pos (float64 [rows]) and invFreq (float64 [dim/2],
 * theta^(-2i/dim), computed by the caller once per (dim, theta)).
 */
export function rope(x: usize, y: usize, rows: i32, dim: i32, pos: usize, invFreq: usize): void {
  const half = dim >> 1;
  for (let r = 0; r < rows; r++) {
    const p = load<f64>(pos + (<usize>r << 3));
    const xr = x + ((<usize>r * dim) << 2), yr = y + ((<usize>r * dim) << 2);
    for (let i = 0; i < half; i++) {
      const angle = p * load<f64>(invFreq + (<usize>i << 3));
      const cs = Math.cos(angle), sn = Math.sin(angle);
      const o = <usize>i << 3;
      const x0 = <f64>load<f32>(xr + o), x1 = <f64>load<f32>(xr + o, 4);
      store<f32>(yr + o, <f32>(x0 * cs - x1 * sn));
      store<f32>(yr + o, <f32>(x0 * sn + x1 * cs), 4);
    }
  }
}

/** silu(gate) * up, elementwise. */
export function swiglu(g: usize, u: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const x = <f64>load<f32>(g + o);
    store<f32>(y + o, <f32>((x / (1 + Math.exp(-x))) * <f64>load<f32>(u + o)));
  }
}

// ---- attention ----

/**
 * Causal attention of one head: q[nq,dk], k[nk,dk], v[nk,dv] -> o[nq,dv]; query i sees keys
 * j <= offset + i. scores: float64 scratch of nk. When w != 0 the weights [nq,nk] are written
 * there (zeros where masked).
 */
export function causalAttention(
  q: usize, k: usize, v: usize, o: usize, w: usize, scores: usize,
  nq: i32, nk: i32, dk: i32, dv: i32, scale: f64, offset: i32,
): void {
  const rowK = <usize>dk << 2, rowV = <usize>dv << 2;
  const dv4 = dv & ~3;
  const endV = <usize>dv4 << 2;
  for (let i = 0; i < nq; i++) {
    const last = min(nk - 1, offset + i);
    const qi = q + <usize>i * rowK, oi = o + <usize>i * rowV;
    let top: f64 = -Infinity;
    for (let j = 0; j <= last; j++) {
      const s = <f64>dot(qi, k + <usize>j * rowK, dk) * scale;
      store<f64>(scores + (<usize>j << 3), s);
      if (s > top) top = s;
    }
    let sum: f64 = 0;
    for (let j = 0; j <= last; j++) {
      const e = Math.exp(load<f64>(scores + (<usize>j << 3)) - top);
      store<f64>(scores + (<usize>j << 3), e);
      sum += e;
    }
    const inv = 1 / sum;
    for (let o2: usize = 0; o2 < endV; o2 += 16) v128.store(oi + o2, f32x4.splat(0));
    for (let t = dv4; t < dv; t++) store<f32>(oi + (<usize>t << 2), 0);
    for (let j = 0; j <= last; j++) {
      const p = <f32>(load<f64>(scores + (<usize>j << 3)) * inv);
      if (w != 0) store<f32>(w + ((<usize>i * nk + j) << 2), p);
      const vj = v + <usize>j * rowV;
      const pv = f32x4.splat(p);
      for (let o2: usize = 0; o2 < endV; o2 += 16) v128.store(oi + o2, f32x4.add(v128.load(oi + o2), f32x4.mul(pv, v128.load(vj + o2))));
      for (let t = dv4; t < dv; t++) {
        const ot = <usize>t << 2;
        store<f32>(oi + ot, load<f32>(oi + ot) + p * load<f32>(vj + ot));
      }
    }
    if (w != 0) for (let j = max(last + 1, 0); j < nk; j++) store<f32>(w + ((<usize>i * nk + j) << 2), 0);
  }
}

/** Where the JS side may start allocating (after this module's static data). */
export function heapBase(): usize {
  return __heap_base;
}
