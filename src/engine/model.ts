// The tiny DeepSeek-V3: embedding, decoder blocks (RMSNorm -> MLA -> residual, RMSNorm -> dense
// MLP or DeepSeekMoE -> residual), final RMSNorm, lm_head; and the MTP modules (DeepSeek-V3 §2.2).
import type { Backend } from '../../kernels/backend.js';
import { referenceBackend } from '../../kernels/reference.js';
import { type DeepSeekConfig, isMoeLayer, maxSequenceTokens } from './config.js';
import { type AttentionPath, type FloatStore, KVCache } from './cache.js';
import { EngineInputError, checkFinite } from './errors.js';
import { moeForward, swigluMlp } from './ffn.js';
import { type AttentionTrace, type HeadMixer, type TreeMask, mlaForward } from './mla.js';
import { type RouterSettings, type Routing, routerSettings } from './router.js';
import { type LayerWeights, type ModelWeights, type Tensor, bindWeights } from './weights.js';

export interface LayerTrace {
  /** Decoder layer index (num_hidden_layers + k for MTP module k). */
  layer: number;
  attention: AttentionTrace;
  /** Routing of a DeepSeekMoE layer (with its logits and group scores), null for a dense one. */
  routing: Routing | null;
  /** The DeepSeekMoE layer's input u_t [T, d] (RMSNorm of the residual stream), null for a dense layer. */
  moeInput: Float32Array | null;
}

export interface ForwardOptions {
  /** Cache to read and extend; without one the tokens are a whole sequence from position 0. */
  cache?: KVCache | null;
  /** Return the internals lessons show. Off by default: nothing is kept when not asked for. */
  trace?: boolean;
  /**
   * Run lm_head on the last token only (what generation reads): logits is then [1, vocab]. The
   * other tokens' logits cost d x vocab multiply-adds each and nobody reads them.
   */
  lastLogitsOnly?: boolean;
  /**
   * Stop with a NonFiniteError naming the layer and op when the residual stream or the logits
   * turn NaN or Infinity (on by default: one pass over [T, d] per sublayer, small beside its
   * matmuls). A lesson showing overflow on purpose turns it off.
   */
  checkFinite?: boolean;
  /** Replace decoder layer `layer`'s per-head softmax mixing by `mixer` (projections and W_O kept). */
  replaceAttention?: { layer: number; mixer: HeadMixer };
  /** The new tokens are a token tree (tree.ts): positions by depth, each attends to its ancestors (absorbed cache only). */
  tree?: TreeMask;
  /**
   * With a cache and no trace: the result's logits, hidden and routing live in the cache's
   * workspace and are overwritten by the next forward on that cache (so a decode step allocates
   * no arrays). For loops that are done with a step's result before the next (generate).
   * Intermediates are reused whenever there is a cache and no trace, whatever this says.
   */
  reuse?: boolean;
  /**
   * Absorbed path: compute the latent queries with W_UK folded into the query projection once per
   * model (mla.ts foldedQuery; default true; only for constant, i.e. loaded, weights), or with
   * false as two products, q^C then W_UK,i^T q^C_i per head.
   */
  foldQuery?: boolean;
}

/** Messages and routing keys of a layer, made once (not a string per decode step). */
interface LayerText { attn: string; mlp: string; routingKey: string }
const layerTexts = new WeakMap<LayerWeights, LayerText>();
function layerText(w: LayerWeights): LayerText {
  let t = layerTexts.get(w);
  if (!t) {
    t = {
      attn: `layer ${w.index} (model.layers.${w.index}.self_attn): the residual stream after attention`,
      mlp: `layer ${w.index} (model.layers.${w.index}.mlp): the residual stream after the ${w.moe ? 'DeepSeekMoE' : 'MLP'}`,
      routingKey: `model.layers.${w.index}.mlp`,
    };
    layerTexts.set(w, t);
  }
  return t;
}

export interface ForwardResult {
  tokens: number;
  /** Logits [T, vocab] for the new tokens ([1, vocab], the last token's, with lastLogitsOnly). */
  logits: Float32Array;
  /** Final hidden states after model.norm [T, d] (what lm_head multiplies; the MTP input). */
  hidden: Float32Array;
  /** Routing of each DeepSeekMoE layer, keyed by its weight prefix `model.layers.{i}.mlp`. */
  routing: Record<string, Routing>;
  trace: LayerTrace[] | null;
}

export interface MtpResult {
  tokens: number;
  /** Logits [T, vocab]; row i predicts the token two ahead of position i (t_{i+k+1} for depth k). */
  logits: Float32Array;
  /** The module's block output [T, d] before shared_head.norm: the next depth's input. */
  hidden: Float32Array;
  routing: Routing | null;
  trace: LayerTrace | null;
}

export class Model {
  readonly router: RouterSettings | null;

  constructor(readonly config: DeepSeekConfig, readonly weights: ModelWeights, readonly backend: Backend = referenceBackend) {
    this.router = config.n_routed_experts === null ? null : routerSettings(config);
  }

  /** Bind checkpoint tensors (checked by name and shape) to a config. */
  static fromTensors(config: DeepSeekConfig, tensors: ReadonlyMap<string, Tensor>, options: { file?: string; backend?: Backend } = {}): Model {
    return new Model(config, bindWeights(config, tensors, options.file), options.backend);
  }

  /** The same weights computed on another backend. */
  withBackend(backend: Backend): Model {
    return new Model(this.config, this.weights, backend);
  }

  /** A cache for the main model; its rows live in the backend's own memory when it has one (allocFloats). */
  createCache(path: AttentionPath = 'absorbed'): KVCache {
    return new KVCache(path, this.config, this.config.num_hidden_layers, this.#store());
  }

  /** A cache for MTP module k (one decoder layer). */
  createMtpCache(path: AttentionPath = 'absorbed'): KVCache {
    return new KVCache(path, this.config, 1, this.#store());
  }

  #store(): FloatStore {
    const be = this.backend;
    return be.allocFloats ? (n) => be.allocFloats!(n) : null;
  }

  /** Throw a clear error for an empty list or an id outside the vocabulary. */
  checkTokens(tokens: readonly number[], what = 'input_ids'): void {
    if (tokens.length === 0) throw new EngineInputError(`${what} is empty: give at least one token id`);
    const V = this.config.vocab_size;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new EngineInputError(`${what}[${i}] = ${JSON.stringify(t)} is not a token id in 0..${V - 1} (vocab_size ${V})`);
      }
    }
  }

  private embed(table: Float32Array, tokens: readonly number[], out?: Float32Array): Float32Array {
    const d = this.config.hidden_size;
    const h = out ?? new Float32Array(tokens.length * d);
    for (let i = 0; i < tokens.length; i++) {
      const from = tokens[i] * d, to = i * d;
      for (let j = 0; j < d; j++) h[to + j] = table[from + j];
    }
    return h;
  }

  /** Refuse a sequence reaching past the positions this model runs (before any work). */
  private checkPositions(start: number, T: number): void {
    const limit = maxSequenceTokens(this.config);
    if (start + T > limit) {
      const why = limit < this.config.max_position_embeddings ? `the engine runs at most ${limit} positions` : `max_position_embeddings is ${limit}`;
      throw new EngineInputError(`the sequence would reach ${start + T} positions (${start} cached + ${T} new), but ${why}`);
    }
  }

  /** One decoder block, updating h [T, d] in place. */
  private block(w: LayerWeights, h: Float32Array, T: number, start: number, cache: KVCache | null, cacheLayer: number, trace: boolean, finite = true, mixer: HeadMixer | null = null, tree: TreeMask | null = null, reuse = false, foldQuery = true) {
    const be = this.backend, cfg = this.config, d = cfg.hidden_size, eps = cfg.rms_norm_eps;
    const layerCache = cache ? cache.layers[cacheLayer] : null;
    const ws = layerCache && !trace ? layerCache.workspace : null; // a decode step's reused arrays
    const text = layerText(w);
    const x1 = be.rmsNorm(h, w.inputNorm, T, d, eps, ws ? ws.f32('block.attnInput', T * d) : undefined);
    const attn = mlaForward(be, cfg, w.attn, x1, T, start, layerCache, trace, mixer, tree, foldQuery);
    for (let i = 0; i < h.length; i++) h[i] += attn.out[i];
    if (finite) checkFinite(h, text.attn);
    const x = be.rmsNorm(h, w.postAttentionNorm, T, d, eps, ws ? ws.f32('block.ffnInput', T * d) : undefined);
    let routing: Routing | null = null;
    let ffn: Float32Array;
    if (w.moe) {
      const r = moeForward(be, this.router!, w.moe, x, T, d, ws, reuse);
      ffn = r.out;
      routing = r.routing;
    } else {
      ffn = swigluMlp(be, w.mlp!, x, T, d, ws);
    }
    for (let i = 0; i < h.length; i++) h[i] += ffn[i];
    if (finite) checkFinite(h, text.mlp);
    return { routing, trace: attn.trace ? { layer: w.index, attention: attn.trace, routing, moeInput: w.moe ? x : null } : null };
  }

  /** Run the main model over new tokens (positions continue from the cache). */
  forward(tokens: readonly number[], options: ForwardOptions = {}): ForwardResult {
    this.checkTokens(tokens);
    const cfg = this.config, be = this.backend, d = cfg.hidden_size, T = tokens.length, V = cfg.vocab_size;
    const cache = options.cache ?? null;
    if (cache && cache.layers.length !== cfg.num_hidden_layers) throw new Error('forward: the cache is not this model\'s main cache');
    const start = cache ? cache.length : 0;
    this.checkPositions(start, T);
    const trace = options.trace ?? false;
    const finite = options.checkFinite ?? true;
    const ws = cache && !trace ? cache.workspace : null; // intermediates
    const out = ws && options.reuse ? ws : null; // results too
    const h = this.embed(this.weights.embed, tokens, ws ? ws.f32('residual', T * d) : undefined);
    const routing: Record<string, Routing> = out ? out.obj('routing', () => ({})) : {};
    const traces: LayerTrace[] | null = trace ? [] : null;
    const swap = options.replaceAttention;
    const layers = this.weights.layers;
    for (let l = 0; l < layers.length; l++) {
      const r = this.block(layers[l], h, T, start, cache, l, trace, finite, swap && swap.layer === l ? swap.mixer : null, options.tree ?? null, options.reuse ?? false, options.foldQuery ?? true);
      if (r.routing) routing[layerText(layers[l]).routingKey] = r.routing;
      if (r.trace) traces!.push(r.trace);
    }
    const hidden = be.rmsNorm(h, this.weights.norm, T, d, cfg.rms_norm_eps, out ? out.f32('hidden', T * d) : undefined);
    const logits = options.lastLogitsOnly
      ? be.matmulT(T === 1 ? hidden : hidden.subarray((T - 1) * d), this.weights.lmHead, 1, d, V, out ? out.f32('logits', V) : undefined)
      : be.matmulT(hidden, this.weights.lmHead, T, d, V, out ? out.f32('logits', T * V) : undefined);
    if (finite) checkFinite(logits, 'the logits (model.norm, lm_head)');
    return { tokens: T, logits, hidden, routing, trace: traces };
  }

  /**
   * MTP module k (0-based) over T positions: row i combines the previous depth's hidden state at
   * position i (`prevHidden` [T, d]: the main model's after model.norm for k = 0) with the
   * embedding of the token one ahead (`nextTokens[i]`). x_i = eh_proj([enorm(Emb(t)) ; hnorm(h_i)]),
   * then the module's own decoder block (causal, its own cache), then shared_head.
   */
  mtpForward(k: number, prevHidden: Float32Array, nextTokens: readonly number[], options: ForwardOptions = {}): MtpResult {
    const cfg = this.config, be = this.backend, d = cfg.hidden_size, eps = cfg.rms_norm_eps;
    const m = this.weights.mtp[k];
    if (!m) throw new EngineInputError(`this model has ${this.weights.mtp.length} MTP module(s) (num_nextn_predict_layers); module ${k} does not exist`);
    this.checkTokens(nextTokens, 'MTP input tokens');
    const T = nextTokens.length;
    if (prevHidden.length !== T * d) throw new Error(`mtpForward: prevHidden has ${prevHidden.length} values, expected ${T} x ${d}`);
    const cache = options.cache ?? null;
    if (cache && cache.layers.length !== 1) throw new Error('mtpForward: the cache is not an MTP module cache');
    const start = cache ? cache.length : 0;
    this.checkPositions(start, T);
    const finite = options.checkFinite ?? true;
    const e = be.rmsNorm(this.embed(m.embed, nextTokens), m.enorm, T, d, eps);
    const hn = be.rmsNorm(prevHidden, m.hnorm, T, d, eps);
    const cat = new Float32Array(T * 2 * d);
    for (let i = 0; i < T; i++) {
      cat.set(e.subarray(i * d, (i + 1) * d), i * 2 * d);
      cat.set(hn.subarray(i * d, (i + 1) * d), i * 2 * d + d);
    }
    const h = be.matmulT(cat, m.ehProj, T, 2 * d, d);
    if (finite) checkFinite(h, `MTP module ${k} (model.layers.${m.layer.index}.eh_proj)`);
    const r = this.block(m.layer, h, T, start, cache, 0, options.trace ?? false, finite);
    const logits = be.matmulT(be.rmsNorm(h, m.headNorm, T, d, eps), m.head, T, d, cfg.vocab_size);
    if (finite) checkFinite(logits, `the MTP module ${k} logits (model.layers.${m.layer.index}.shared_head)`);
    return { tokens: T, logits, hidden: h, routing: r.routing, trace: r.trace };
  }

  /** Does decoder layer `l` use DeepSeekMoE? */
  isMoe(l: number): boolean {
    return isMoeLayer(this.config, l);
  }
}

/** Index of the largest value in row `row` of a [rows, cols] matrix (first one on ties). */
export function argmaxRow(x: Float32Array, row: number, cols: number): number {
  let best = 0, max = -Infinity;
  for (let j = 0; j < cols; j++) {
    const v = x[row * cols + j];
    if (v > max) { max = v; best = j; }
  }
  return best;
}

/** Row `row` of a [rows, cols] matrix as a view. */
export function rowOf(x: Float32Array, row: number, cols: number): Float32Array {
  return x.subarray(row * cols, (row + 1) * cols);
}
