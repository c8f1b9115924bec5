// The feed-forward halves of a decoder block: the dense SwiGLU MLP of the first
// `first_k_dense_replace` layers, and DeepSeekMoE (DeepSeek-V3 §2.1.2):
//   h' = u + sum_i FFN^(s)_i(u) + sum_i g_i FFN^(r)_i(u)
// with shared experts that always run and routed experts chosen by the gate (router.ts).
import type { Backend } from '../../kernels/backend.js';
import { type RouterSettings, type Routing, route } from './router.js';
import type { MoEWeights, SwiGLUWeights } from './weights.js';

/** down(silu(gate x) * up x) for x [T, d]. */
export function swigluMlp(be: Backend, w: SwiGLUWeights, x: Float32Array, T: number, d: number): Float32Array {
  const g = be.matmulT(x, w.gate, T, d, w.width);
  const u = be.matmulT(x, w.up, T, d, w.width);
  return be.matmulT(be.swiglu(g, u, T * w.width, g), w.down, T, w.width, d);
}

export interface MoEResult {
  out: Float32Array;
  routing: Routing;
}

/** The gate alone: route T tokens of the MoE input u [T, d] by their logits u_t · e_i. */
export function routeTokens(be: Backend, settings: RouterSettings, w: MoEWeights, u: Float32Array, T: number, d: number): Routing {
  return route(be.matmulT(u, w.gate, T, d, settings.n_routed_experts), T, w.bias, settings);
}

/** DeepSeekMoE for x [T, d]: shared experts on every token, each routed expert on its tokens. */
export function moeForward(be: Backend, settings: RouterSettings, w: MoEWeights, x: Float32Array, T: number, d: number): MoEResult {
  const E = settings.n_routed_experts;
  const routing = routeTokens(be, settings, w, x, T, d);
  const out = w.shared ? swigluMlp(be, w.shared, x, T, d) : new Float32Array(T * d);

  // Batch the tokens of each expert so each expert runs once per call.
  const members: { token: number; weight: number }[][] = Array.from({ length: E }, () => []);
  routing.experts.forEach((chosen, t) => chosen.forEach((e, k) => members[e].push({ token: t, weight: routing.weights[t][k] })));
  for (let e = 0; e < E; e++) {
    const m = members[e];
    if (m.length === 0) continue;
    const xe = new Float32Array(m.length * d);
    m.forEach(({ token }, r) => xe.set(x.subarray(token * d, (token + 1) * d), r * d));
    const ye = swigluMlp(be, w.experts[e], xe, m.length, d);
    m.forEach(({ token, weight }, r) => {
      for (let j = 0; j < d; j++) out[token * d + j] += weight * ye[r * d + j];
    });
  }
  return { out, routing };
}
