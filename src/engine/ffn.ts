// The feed-forward halves of a decoder block: the dense SwiGLU MLP of the first
// `first_k_dense_replace` layers, and DeepSeekMoE (DeepSeek-V3 §2.1.2):
//   h' = u + sum_i FFN^(s)_i(u) + sum_i g_i FFN^(r)_i(u)
// with shared experts that always run and routed experts chosen by the gate (router.ts).
// With a Workspace (a decode step's, cache.ts) every intermediate lives in its reused buffers,
// so a step in steady state allocates no arrays; without one, each call makes fresh ones.
import type { Backend } from '../../kernels/backend.js';
import type { Workspace } from './cache.js';
import { type RouterSettings, type Routing, emptyRouting, route, routingFits } from './router.js';
import type { MoEWeights, SwiGLUWeights } from './weights.js';

const f32 = (ws: Workspace | null, name: string, length: number): Float32Array => ws ? ws.f32(name, length) : new Float32Array(length);

/**
 * down(silu(gate x) * up x) for x [T, d]. With `ws`, its buffers are named after `key` (calls
 * that may live at once, or differ in width, need different keys).
 */
export function swigluMlp(be: Backend, w: SwiGLUWeights, x: Float32Array, T: number, d: number, ws: Workspace | null = null, key = 'mlp'): Float32Array {
  const names = bufferNames(key);
  const g = be.matmulT(x, w.gate, T, d, w.width, f32(ws, names[0], T * w.width));
  const u = be.matmulT(x, w.up, T, d, w.width, f32(ws, names[1], T * w.width));
  return be.matmulT(be.swiglu(g, u, T * w.width, g), w.down, T, w.width, d, f32(ws, names[2], T * d));
}

/** The buffer names of one swigluMlp key, made once (not a new string per call). */
const names = new Map<string, readonly [string, string, string]>();
function bufferNames(key: string): readonly [string, string, string] {
  let n = names.get(key);
  if (!n) names.set(key, n = [`${key}.gate`, `${key}.up`, `${key}.down`]);
  return n;
}

export interface MoEResult {
  out: Float32Array;
  routing: Routing;
}

/**
 * The gate alone: route T tokens of the MoE input u [T, d] by their logits u_t · e_i. With `ws`
 * the logits go in its buffer; with `into` the routing is written into that earlier result.
 */
export function routeTokens(be: Backend, settings: RouterSettings, w: MoEWeights, u: Float32Array, T: number, d: number, ws: Workspace | null = null, into?: Routing): Routing {
  const E = settings.n_routed_experts;
  return route(be.matmulT(u, w.gate, T, d, E, f32(ws, 'moe.logits', T * E)), T, w.bias, settings, into);
}

/**
 * DeepSeekMoE for x [T, d]: shared experts on every token, each routed expert on its tokens.
 * `ws`: scratch for the intermediates (and `out`). `reuseRouting`: the routing is also kept in
 * `ws` and overwritten by the next call (only for a caller done with it by then).
 */
export function moeForward(be: Backend, settings: RouterSettings, w: MoEWeights, x: Float32Array, T: number, d: number, ws: Workspace | null = null, reuseRouting = false): MoEResult {
  const E = settings.n_routed_experts;
  const into = ws && reuseRouting
    ? ws.obj('moe.routing', () => emptyRouting(T, settings), (r) => routingFits(r, T, settings))
    : undefined;
  // the routing keeps its logits: in the workspace only when the routing itself is reused
  const routing = routeTokens(be, settings, w, x, T, d, into ? ws : null, into);
  let out: Float32Array;
  if (w.shared) out = swigluMlp(be, w.shared, x, T, d, ws, 'moe.shared');
  else (out = f32(ws, 'moe.out', T * d)).fill(0);

  // Batch the tokens of each expert so each expert runs once per call: a counting sort of the
  // (token, slot) pairs by expert, tokens ascending within an expert.
  const K = settings.num_experts_per_tok;
  const start = ws ? ws.i32('moe.start', E + 1) : new Int32Array(E + 1);
  const slotToken = ws ? ws.i32('moe.token', T * K) : new Int32Array(T * K);
  const slotK = ws ? ws.i32('moe.k', T * K) : new Int32Array(T * K); // the slot's rank in its token's choice
  start.fill(0, 0, E + 1);
  for (let t = 0; t < T; t++) {
    const chosen = routing.experts[t];
    for (let k = 0; k < chosen.length; k++) start[chosen[k] + 1]++;
  }
  for (let e = 0; e < E; e++) start[e + 1] += start[e];
  const fill = ws ? ws.i32('moe.fill', E) : new Int32Array(E);
  for (let e = 0; e < E; e++) fill[e] = start[e];
  for (let t = 0; t < T; t++) {
    const chosen = routing.experts[t];
    for (let k = 0; k < chosen.length; k++) {
      const slot = fill[chosen[k]]++;
      slotToken[slot] = t;
      slotK[slot] = k;
    }
  }
  for (let e = 0; e < E; e++) {
    const m = start[e + 1] - start[e];
    if (m === 0) continue;
    const xe = f32(ws, 'moe.xe', m * d);
    for (let r = 0; r < m; r++) {
      const token = slotToken[start[e] + r];
      for (let j = 0; j < d; j++) xe[r * d + j] = x[token * d + j];
    }
    const ye = swigluMlp(be, w.experts[e], xe, m, d, ws, 'moe.expert');
    for (let r = 0; r < m; r++) {
      const token = slotToken[start[e] + r], weight = routing.weights[token][slotK[start[e] + r]];
      for (let j = 0; j < d; j++) out[token * d + j] += weight * ye[r * d + j];
    }
  }
  return { out, routing };
}
