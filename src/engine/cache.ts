// KV caches for the three decode paths of Multi-head Latent Attention.
// - absorbed / decompressed: the latent cache, per token per layer only the normalised c_KV
//   [d_c] and the rotated, head-shared k_rope [d_h^R]: (d_c + d_h^R) numbers.
// - full-cache: K [n_h, qk_nope + qk_rope] and V [n_h, v_head_dim] per token per layer, as plain
//   multi-head attention caches them.
// On a backend with its own memory (the WebAssembly kernels: Backend.allocFloats) the cached rows
// live there, grown by doubling like plain arrays: a step writes only the new token's rows and the
// kernels read the cache where it lies, instead of copying the whole cache in at every call.
import type { FloatBlock } from '../../kernels/backend.js';
import { type DeepSeekConfig, qkHeadDim } from './config.js';

export type AttentionPath = 'absorbed' | 'decompressed' | 'full-cache';
export const ATTENTION_PATHS: readonly AttentionPath[] = ['absorbed', 'decompressed', 'full-cache'];

/** Where a cache's floats live: a backend's own memory (Backend.allocFloats), or null for plain arrays. */
export type FloatStore = ((length: number) => FloatBlock) | null;

/**
 * Growable row storage: `rows` rows of `width` floats, capacity doubling. With a store, the rows
 * live in its memory: `data` is then the block's current view, which a backend call may detach
 * (its memory grew), so read `data` / `view()` again after every backend call, never keep them.
 */
export class Rows {
  #plain: Float32Array | null = null;
  #block: FloatBlock | null = null;
  constructor(readonly width: number, capacity: number, readonly store: FloatStore = null) {
    if (store && width * capacity > 0) this.#block = store(width * capacity);
    else this.#plain = new Float32Array(width * capacity);
  }
  /** All rows of capacity (the first `length` of the layer are meaningful). */
  get data(): Float32Array {
    return this.#block ? this.#block.array() : this.#plain!;
  }
  ensure(rows: number): void {
    const have = this.#block ? this.#block.length : this.#plain!.length;
    if (rows * this.width <= have) return;
    let cap = Math.max(1, have / Math.max(1, this.width));
    while (cap < rows) cap *= 2;
    if (this.store) {
      const next = this.store(cap * this.width); // may grow the memory: views are taken after
      if (this.#block) {
        next.array().set(this.#block.array());
        this.#block.free();
      }
      this.#block = next;
      this.#plain = null;
    } else {
      const next = new Float32Array(cap * this.width);
      next.set(this.#plain!);
      this.#plain = next;
    }
  }
  /** The first `rows` rows, as a view (no copy). */
  view(rows: number): Float32Array { return this.data.subarray(0, rows * this.width); }
  /** Give a store's block back now (the cache is done with); plain arrays are left to the GC. */
  release(): void {
    this.#block?.free();
    this.#block = null;
    this.#plain = new Float32Array(0);
  }
}

/**
 * Reusable arrays for one layer's decode steps, so a step in steady state allocates no float
 * storage: each name keeps a buffer that only grows, and `f32` hands out an exact-length view of
 * it (the same view object while the length is unchanged). What it returns is overwritten by the
 * next step: only for results used within the step (never for a trace).
 */
export class Workspace {
  readonly #buffers = new Map<string, Float32Array>();
  readonly #views = new Map<string, Float32Array>();
  readonly #ints = new Map<string, Int32Array>();
  readonly #objects = new Map<string, unknown>();

  f32(name: string, length: number): Float32Array {
    let buffer = this.#buffers.get(name);
    if (!buffer || buffer.length < length) {
      buffer = new Float32Array(Math.max(length, 2 * (buffer?.length ?? 0)));
      this.#buffers.set(name, buffer);
    }
    const view = this.#views.get(name);
    if (view && view.length === length && view.buffer === buffer.buffer) return view;
    const fresh = buffer.length === length ? buffer : buffer.subarray(0, length);
    this.#views.set(name, fresh);
    return fresh;
  }

  /** An Int32Array of at least `length` (index scratch: only the first `length` are meaningful). */
  i32(name: string, length: number): Int32Array {
    let buffer = this.#ints.get(name);
    if (!buffer || buffer.length < length) {
      buffer = new Int32Array(Math.max(length, 2 * (buffer?.length ?? 0)));
      this.#ints.set(name, buffer);
    }
    return buffer;
  }

  /** An object kept under `name`, made by `make` on first use (or when `fits` refuses the kept one). */
  obj<T>(name: string, make: () => T, fits?: (kept: T) => boolean): T {
    let o = this.#objects.get(name) as T | undefined;
    if (o === undefined || (fits && !fits(o))) {
      o = make();
      this.#objects.set(name, o);
    }
    return o;
  }
}

/** One decoder layer's cache. `length` is the number of tokens it holds. */
export class LayerCache {
  length = 0;
  /** Per-step scratch of the decode path (mla.ts), reused across steps. */
  readonly workspace = new Workspace();
  readonly ckv: Rows; // latent paths: [T, d_c]
  readonly kPe: Rows; // latent paths: [T, d_h^R]
  readonly k: Rows[]; // full-cache: per head [T, qk]
  readonly v: Rows[]; // full-cache: per head [T, d_v]

  constructor(readonly path: AttentionPath, cfg: DeepSeekConfig, capacity = 16, store: FloatStore = null) {
    const latent = path !== 'full-cache';
    this.ckv = new Rows(cfg.kv_lora_rank, latent ? capacity : 0, store);
    this.kPe = new Rows(cfg.qk_rope_head_dim, latent ? capacity : 0, store);
    const heads = latent ? 0 : cfg.num_attention_heads;
    this.k = Array.from({ length: heads }, () => new Rows(qkHeadDim(cfg), capacity, store));
    this.v = Array.from({ length: heads }, () => new Rows(cfg.v_head_dim, capacity, store));
  }

  /** Give the rows' storage back now (see KVCache.release). */
  release(): void {
    for (const r of [this.ckv, this.kPe, ...this.k, ...this.v]) r.release();
    this.length = 0;
  }

  /** Numbers stored per cached token (elements, not bytes). */
  get elementsPerToken(): number {
    if (this.path === 'full-cache') return this.k.length * (this.k[0]?.width ?? 0) + this.v.length * (this.v[0]?.width ?? 0);
    return this.ckv.width + this.kPe.width;
  }

  reserve(tokens: number): void {
    if (this.path === 'full-cache') {
      for (const r of this.k) r.ensure(tokens);
      for (const r of this.v) r.ensure(tokens);
    } else {
      this.ckv.ensure(tokens);
      this.kPe.ensure(tokens);
    }
  }
}

/** The cache of a stack of layers (the main model's, or an MTP module's). */
export class KVCache {
  readonly layers: LayerCache[];
  /** Per-step scratch of the model around the layers (embedding, final norm, logits), reused across steps. */
  readonly workspace = new Workspace();
  /** `store`: where the rows live (Backend.allocFloats of the model's backend), or null for plain arrays. */
  constructor(readonly path: AttentionPath, cfg: DeepSeekConfig, layerCount: number, store: FloatStore = null) {
    if (!ATTENTION_PATHS.includes(path)) throw new Error(`unknown attention path "${path}" (use ${ATTENTION_PATHS.join(', ')})`);
    this.layers = Array.from({ length: layerCount }, () => new LayerCache(path, cfg, 16, store));
  }
  /** Give the cached rows' storage back at once (a backend's memory; otherwise it waits for the GC). The cache is empty after. */
  release(): void {
    for (const l of this.layers) l.release();
  }
  /** Tokens cached (every layer holds the same number). */
  get length(): number { return this.layers[0]?.length ?? 0; }
  /** Drop every token from position `n` on (speculative decoding rolls back rejected drafts). */
  truncate(n: number): void {
    if (n < 0 || n > this.length) throw new RangeError(`truncate(${n}) outside 0..${this.length}`);
    for (const l of this.layers) l.length = n;
  }
  /** Float32 bytes held for the cached tokens, all layers. */
  get bytes(): number {
    return this.layers.reduce((acc, l) => acc + l.length * l.elementsPerToken * 4, 0);
  }
  /** Float32 bytes per cached token, all layers. */
  get bytesPerToken(): number {
    return this.layers.reduce((acc, l) => acc + l.elementsPerToken * 4, 0);
  }
}
