// The decode caches live in the backend's own memory (issue 11): on the wasm kernels the latent
// and full caches are blocks of WebAssembly memory (Backend.allocFloats), grown by doubling, which
// the kernels read where they lie, so a step copies only its new rows into wasm memory, not the
// whole cache; every path still equals the full recompute, also when the memory grows in the
// middle of a decode (which detaches every view of it); the reference and loop backends keep
// plain arrays; release() gives the blocks back.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { markConstantDeep, OP_NAMES } from '../kernels/backend.js';
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { createWasmBackend, type WasmBackend } from '../kernels/wasm.js';
import { ATTENTION_PATHS } from '../src/engine/cache.js';
import { parseConfig } from '../src/engine/config.js';
import { initModel } from '../src/engine/init.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { arbConfig } from './helpers/configs.js';

function worstScaledError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  return worst;
}

let wasm: WasmBackend;
beforeAll(async () => { wasm = await createWasmBackend(); });

/** Floats copied into the buffer `memoryBuffer()` gives with TypedArray.prototype.set while `fn` runs (the wasm backend copies operands over 256 floats this way). */
function floatsSetInto(memoryBuffer: () => ArrayBufferLike, fn: () => void): number {
  const proto = Object.getPrototypeOf(Float32Array.prototype) as { set: (src: ArrayLike<number>, offset?: number) => void };
  const saved = proto.set;
  let floats = 0;
  proto.set = function (this: Float32Array, src: ArrayLike<number>, offset?: number) {
    if (this.buffer === memoryBuffer()) floats += src.length;
    return saved.call(this, src, offset);
  };
  try {
    fn();
  } finally {
    proto.set = saved;
  }
  return floats;
}

describe('decode caches in the backend\'s memory', () => {
  it('on wasm the cached rows are views of its memory; on the reference and the loop, plain arrays', () => {
    const cfg = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' });
    const base = initModel(cfg, { seed: 1 });
    const mem = wasm.allocFloats(1); // a block of its own, to name the memory
    const memoryBuffer = () => mem.array().buffer;
    for (const path of ATTENTION_PATHS) {
      const cache = base.withBackend(wasm).createCache(path);
      base.withBackend(wasm).forward([1, 2, 3], { cache });
      const rows = path === 'full-cache' ? [cache.layers[0].k[0], cache.layers[0].v[0]] : [cache.layers[0].ckv, cache.layers[0].kPe];
      for (const r of rows) expect(r.data.buffer, path).toBe(memoryBuffer());
      for (const be of [referenceBackend, loopBackend]) {
        const plain = base.withBackend(be).createCache(path);
        const r = path === 'full-cache' ? plain.layers[0].k[0] : plain.layers[0].ckv;
        expect(r.data.buffer, `${be.name} ${path}`).not.toBe(memoryBuffer());
      }
    }
    mem.free();
  });

  it('a step at context ~500 copies less than one layer\'s c_KV into wasm memory (the cache is not copied in)', () => {
    const cfg = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' });
    const model = initModel(cfg, { seed: 2 }).withBackend(wasm);
    markConstantDeep(model.weights);
    const probe = wasm.allocFloats(1); // a block of its own, to name the memory
    const cache = model.createCache('absorbed');
    const V = cfg.vocab_size;
    model.forward(Array.from({ length: 500 }, (_, i) => (i * 7) % V), { cache });
    model.forward([1], { cache, reuse: true, lastLogitsOnly: true }); // every buffer at its size
    const N = cache.length + 1;
    const copied = floatsSetInto(() => probe.array().buffer, () => model.forward([2], { cache, reuse: true, lastLogitsOnly: true }));
    // copying the cache in, as before, was at least layers x N x (2 d_c + d_h^R) floats per step
    expect(copied).toBeLessThan(N * cfg.kv_lora_rank);
    expect(copied).toBeGreaterThan(0); // the counter sees the per-step operands (the scores)
    probe.free();
  });

  it('every path on wasm equals the full recompute while the cache doubles and the memory grows mid-decode (random configs)', async () => {
    await fc.assert(
      fc.asyncProperty(arbConfig(), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 14, max: 40 }), fc.integer({ min: 0, max: 39 }),
        async (cfg, seed, prefill, n, growAt) => {
          const wasm = await createWasmBackend(); // a fresh, small memory
          // during one step the memory grows after every op (as when a call's scratch grows): a view of the cache held across a call detaches
          let growing = false;
          const grows = new Proxy(wasm, {
            get(target, key) {
              const v = Reflect.get(target, key, target);
              if (typeof key !== 'string' || !(OP_NAMES as readonly string[]).includes(key)) return typeof v === 'function' ? v.bind(target) : v;
              return (...args: unknown[]) => {
                const r = (v as (...a: unknown[]) => unknown).apply(target, args);
                if (growing) target.memory.grow(1);
                return r;
              };
            },
          });
          const base = initModel(cfg, { seed });
          markConstantDeep(base.weights);
          const model = base.withBackend(grows);
          const V = cfg.vocab_size;
          const tokens = Array.from({ length: prefill + n }, (_, i) => (seed * 3 + i * 13) % V);
          const full = base.withBackend(referenceBackend).forward(tokens).logits;
          for (const path of ATTENTION_PATHS) {
            const cache = model.createCache(path);
            const logits = new Float32Array(tokens.length * V);
            logits.set(model.forward(tokens.slice(0, prefill), { cache }).logits);
            for (let i = prefill; i < tokens.length; i++) {
              growing = i - prefill === growAt % n;
              logits.set(model.forward([tokens[i]], { cache }).logits, i * V);
              growing = false;
            }
            expect(worstScaledError(logits, full), path).toBeLessThan(2e-5);
            cache.release();
          }
        }),
      { numRuns: 25, seed: 20261202 },
    );
  });

  it('release() gives the blocks back at once; a cache dropped without it is given back by the GC', () => {
    const cfg = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' });
    const model = initModel(cfg, { seed: 4 }).withBackend(wasm);
    const before = wasm.memoryReport();
    const cache = model.createCache('full-cache');
    model.forward([1, 2, 3, 4, 5], { cache });
    const during = wasm.memoryReport();
    expect(during.blocks - before.blocks).toBe(2 * cfg.num_hidden_layers * cfg.num_attention_heads);
    cache.release();
    const after = wasm.memoryReport();
    expect(after.blocks).toBe(before.blocks);
    expect(after.blockBytes).toBe(before.blockBytes);
    expect(cache.length).toBe(0);
  });
});
