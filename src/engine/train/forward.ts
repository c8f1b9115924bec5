// The full-sequence forward pass of src/engine/model.ts (blocks, MLA on the full-recompute path,
// dense SwiGLU, DeepSeekMoE, MTP), recorded on a Tape so it can be differentiated. It reads the
// same tensors by their Hugging Face names and routes with the engine's own route(); each step
// below names the model.ts / mla.ts / ffn.ts code it mirrors, and tests/train-model.test.ts
// checks that its logits equal Model.forward's and Model.mtpForward's. Rows are batched: R rows of
// N tokens are one [R*N, d] matrix everywhere except attention, which stays within a row.
import { type DeepSeekConfig, isMoeLayer, qkHeadDim } from '../config.js';
import { type RouterSettings, type Routing, route, routerSettings } from '../router.js';
import type { Node, Tape } from './tape.js';

export interface ForwardContext {
  tape: Tape;
  cfg: DeepSeekConfig;
  /** A trained tensor by Hugging Face name (the shared head under its main-model name). */
  param: (name: string) => Node;
  /** e_score_correction_bias by MoE prefix. */
  buffers: Record<string, ArrayLike<number>>;
  /** alpha of the sequence-wise balance loss (0: not computed). */
  balanceAlpha: number;
}

export interface ForwardSums {
  main: number;
  mtp: number;
  balance: number;
  /** Tokens per routed expert per MoE layer prefix, over all rows. */
  loads: Record<string, number[]>;
  agree: { mtpGreedy: number; count: number } | undefined;
}

/** Position of each of R*N batched tokens within its row. */
function rowPositions(R: number, N: number): Int32Array {
  const pos = new Int32Array(R * N);
  for (let t = 0; t < R * N; t++) pos[t] = t % N;
  return pos;
}

/** MLA (mla.ts: project() then the recompute path) for x [R*N, d]. */
function attention(c: ForwardContext, p: string, x: Node, R: number, N: number, pos: Int32Array): Node {
  const { tape, cfg } = c, T = R * N, d = cfg.hidden_size, nh = cfg.num_attention_heads, qk = qkHeadDim(cfg);
  const nope = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim, dc = cfg.kv_lora_rank, dv = cfg.v_head_dim, eps = cfg.rms_norm_eps;
  const w = (n: string) => c.param(`${p}.self_attn.${n}.weight`);
  let q: Node;
  if (cfg.q_lora_rank === null) {
    q = tape.linear(x, w('q_proj'), T, d, nh * qk);
  } else {
    const rq = cfg.q_lora_rank;
    const cq = tape.rmsNorm(tape.linear(x, w('q_a_proj'), T, d, rq), w('q_a_layernorm'), T, rq, eps);
    q = tape.linear(cq, w('q_b_proj'), T, rq, nh * qk);
  }
  q = tape.rope(q, T, nh, qk, nope, dr, pos, cfg.rope_theta);
  const kvA = tape.linear(x, w('kv_a_proj_with_mqa'), T, d, dc + dr);
  const ckv = tape.rmsNorm(tape.columns(kvA, T, dc + dr, 0, dc), w('kv_a_layernorm'), T, dc, eps);
  const kpe = tape.rope(tape.columns(kvA, T, dc + dr, dc, dr), T, 1, dr, 0, dr, pos, cfg.rope_theta);
  const kv = tape.linear(ckv, w('kv_b_proj'), T, dc, nh * (nope + dv));
  const heads = tape.attention(q, kv, kpe, R, N, nh, nope, dr, dv, 1 / Math.sqrt(qk));
  return tape.linear(heads, w('o_proj'), T, nh * dv, d);
}

/** down(silu(gate x) * up x) (ffn.ts swigluMlp). */
function swigluMlp(c: ForwardContext, p: string, x: Node, T: number, width: number): Node {
  const { tape } = c, d = c.cfg.hidden_size;
  const g = tape.linear(x, c.param(`${p}.gate_proj.weight`), T, d, width);
  const u = tape.linear(x, c.param(`${p}.up_proj.weight`), T, d, width);
  return tape.linear(tape.swiglu(g, u, T * width), c.param(`${p}.down_proj.weight`), T, width, d);
}

/**
 * route()'s results by token count, refilled by the next call with as many tokens: moe() copies out
 * what it needs at once, and a fresh Routing is three small arrays per token (a few MB a step).
 */
const routings = new Map<number, Routing>();

/** DeepSeekMoE (ffn.ts moeForward) for x [R*Tr, d]; routing by router.ts route(). */
function moe(c: ForwardContext, p: string, x: Node, R: number, Tr: number, rs: RouterSettings, sums: ForwardSums): Node {
  const { tape, cfg } = c, T = R * Tr, d = cfg.hidden_size, E = rs.n_routed_experts, K = rs.num_experts_per_tok;
  const logits = tape.linear(x, c.param(`${p}.gate.weight`), T, d, E);
  const bias = c.buffers[p] ?? null;
  const routing = route(logits.data, T, rs.topk_method === 'noaux_tc' ? bias : null, rs, routings.get(T));
  if (routings.size > 8) routings.clear(); // a few batch shapes are in use at a time
  routings.set(T, routing);
  const experts = new Int32Array(T * K);
  const count = new Int32Array(E);
  for (let t = 0; t < T; t++) {
    const chosen = routing.experts[t];
    for (let k = 0; k < K; k++) { experts[t * K + k] = chosen[k]; count[chosen[k]]++; }
  }
  const prev = sums.loads[p];
  sums.loads[p] = Array.from(count, (n, e) => n + (prev ? prev[e] : 0));
  const s = rs.scoring_func === 'sigmoid' ? tape.sigmoid(logits) : tape.softmax(logits, T, E);
  if (c.balanceAlpha !== 0) sums.balance += tape.balanceLoss(s, experts, R, Tr, E, K, c.balanceAlpha);
  const g = tape.gateWeights(s, experts, T, E, K, rs.norm_topk_prob, rs.routed_scaling_factor);

  const base = cfg.n_shared_experts > 0
    ? swigluMlp(c, `${p}.shared_experts`, x, T, cfg.moe_intermediate_size * cfg.n_shared_experts)
    : tape.leaf(tape.alloc(T * d));
  // Each expert runs once on the batch of its tokens.
  const tokens: Int32Array[] = [], slots: Int32Array[] = [], fill = new Int32Array(E);
  for (let e = 0; e < E; e++) { tokens.push(new Int32Array(count[e])); slots.push(new Int32Array(count[e])); }
  for (let i = 0; i < T * K; i++) {
    const e = experts[i], r = fill[e]++;
    tokens[e][r] = Math.floor(i / K);
    slots[e][r] = i;
  }
  const ys = tokens.map((tok, e) => tok.length === 0 ? null
    : swigluMlp(c, `${p}.experts.${e}`, tape.gatherRows(x, tok, d), tok.length, cfg.moe_intermediate_size));
  return tape.combineExperts(base, ys, tokens, slots, g, d);
}

/** One decoder block (model.ts block): h + MLA(norm h), then + FFN(norm h). */
function block(c: ForwardContext, l: number, h: Node, R: number, N: number, pos: Int32Array, rs: RouterSettings | null, sums: ForwardSums): Node {
  const { tape, cfg } = c, T = R * N, d = cfg.hidden_size, eps = cfg.rms_norm_eps, p = `model.layers.${l}`;
  const a = attention(c, p, tape.rmsNorm(h, c.param(`${p}.input_layernorm.weight`), T, d, eps), R, N, pos);
  h = tape.add(h, a);
  const x = tape.rmsNorm(h, c.param(`${p}.post_attention_layernorm.weight`), T, d, eps);
  const f = isMoeLayer(cfg, l) ? moe(c, `${p}.mlp`, x, R, N, rs!, sums) : swigluMlp(c, `${p}.mlp`, x, T, cfg.intermediate_size);
  return tape.add(h, f);
}

/**
 * The objective's terms over R rows of N tokens (ids [R*N]), recorded on the tape:
 * main = sum over rows of mean_i CE(logits_i, ids[i+1]); mtp = sum over rows of the mean over
 * depths of mean_i CE(mtp_logits_i, ids[i+k+1]); balance = alpha * sum over rows and MoE layers of
 * the sequence-wise balance loss. Their gradients are seeded with weights 1, mtpLambda and 1.
 */
export function forwardLosses(c: ForwardContext, ids: Int32Array, R: number, N: number, mtpLambda: number): ForwardSums {
  const { tape, cfg } = c, d = cfg.hidden_size, V = cfg.vocab_size, L = cfg.num_hidden_layers, eps = cfg.rms_norm_eps;
  const rs = cfg.n_routed_experts === null ? null : routerSettings(cfg);
  const sums: ForwardSums = { main: 0, mtp: 0, balance: 0, loads: {}, agree: undefined };
  const head = c.param(cfg.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const embed = c.param('model.embed_tokens.weight');

  const pos = rowPositions(R, N);
  let h = tape.gatherRows(embed, ids, d);
  for (let l = 0; l < L; l++) h = block(c, l, h, R, N, pos, rs, sums);
  const hidden = tape.rmsNorm(h, c.param('model.norm.weight'), R * N, d, eps);
  const logits = tape.linear(hidden, head, R * N, d, V);
  const targets = new Int32Array(R * N).fill(-1);
  for (let r = 0; r < R; r++) for (let i = 0; i + 1 < N; i++) targets[r * N + i] = ids[r * N + i + 1];
  const main = tape.crossEntropy(logits, R * N, V, targets, new Float64Array(R * N).fill(1 / (N - 1)), 1);
  sums.main = main.loss;

  // MTP depth k (model.ts mtpForward): position i of a row reads the previous depth's state at i
  // and the embedding of token i+k, runs causally over i = 0..N-2-k, and predicts token i+k+1.
  const D = cfg.num_nextn_predict_layers;
  let prev = hidden, prevN = N;
  for (let k = 1; k <= D; k++) {
    const Tm = N - 1 - k, l = L + k - 1, p = `model.layers.${l}`;
    const keep = new Int32Array(R * Tm), next = new Int32Array(R * Tm), tgt = new Int32Array(R * Tm);
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < Tm; i++) {
        keep[r * Tm + i] = r * prevN + i;
        next[r * Tm + i] = ids[r * N + i + k];
        tgt[r * Tm + i] = ids[r * N + i + k + 1];
      }
    }
    const e = tape.rmsNorm(tape.gatherRows(embed, next, d), c.param(`${p}.enorm.weight`), R * Tm, d, eps);
    const hn = tape.rmsNorm(tape.gatherRows(prev, keep, d), c.param(`${p}.hnorm.weight`), R * Tm, d, eps);
    let hm = tape.linear(tape.concatColumns(e, hn, R * Tm, d, d), c.param(`${p}.eh_proj.weight`), R * Tm, 2 * d, d);
    hm = block(c, l, hm, R, Tm, rowPositions(R, Tm), rs, sums);
    const ml = tape.linear(tape.rmsNorm(hm, c.param(`${p}.shared_head.norm.weight`), R * Tm, d, eps), head, R * Tm, d, V);
    const ce = tape.crossEntropy(ml, R * Tm, V, tgt, new Float64Array(R * Tm).fill(1 / (Tm * D)), mtpLambda);
    sums.mtp += ce.loss;
    if (k === 1) {
      // The draft for t+2 (MTP row i) against the main model's argmax at t+1 (main row i+1).
      let agree = 0;
      for (let r = 0; r < R; r++) for (let i = 0; i < Tm; i++) if (ce.argmax[r * Tm + i] === main.argmax[r * N + i + 1]) agree++;
      sums.agree = { mtpGreedy: agree, count: R * Tm };
    }
    prev = hm;
    prevN = Tm;
  }
  return sums;
}
