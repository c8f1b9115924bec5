// Engine throughput: prefill and decode tokens per second of a model the size of golden case `b`
// (2 layers + MTP, d = 64, 16 routed experts) for each attention path at two contexts, plus the
// cache bytes per token, and speculative decoding with the MTP drafter against plain decoding.
import type { Backend } from '../kernels/backend.js';
import { referenceBackend } from '../kernels/reference.js';
import { ATTENTION_PATHS, type AttentionPath } from '../src/engine/cache.js';
import { type DeepSeekConfig, parseConfig } from '../src/engine/config.js';
import { decodeCost } from '../src/engine/cost.js';
import { generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { MtpDrafter, speculate } from '../src/engine/speculate.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';

/** The lessons' tiny model: golden case b's shapes (max_position_embeddings raised so a 1024 context is in range). */
export const BENCH_CONFIG: DeepSeekConfig = parseConfig(TINY_CONFIG_JSON, { file: 'bench config' });

export interface EngineBenchRow {
  path: AttentionPath;
  context: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  cacheBytesPerToken: number;
  attentionFlopsPerStep: number;
}

export interface EngineBench {
  backend: string;
  config: string;
  decodeSteps: number;
  rows: EngineBenchRow[];
  speculative: { gamma: number; tokens: number; plainTokensPerSec: number; speculativeTokensPerSec: number; acceptanceRate: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function benchEngine(options: { backend?: Backend; contexts?: number[]; decodeSteps?: number; repeats?: number } = {}): EngineBench {
  const backend = options.backend ?? referenceBackend;
  const model = initModel(BENCH_CONFIG, { seed: 1 }).withBackend(backend);
  const V = BENCH_CONFIG.vocab_size;
  const steps = options.decodeSteps ?? 256;
  const repeats = options.repeats ?? 3;
  const rows: EngineBenchRow[] = [];
  // Warm the JIT on every path before timing anything.
  for (const path of ATTENTION_PATHS) generate(model, [1, 2, 3], { maxNewTokens: 64, attention: path });

  for (const context of options.contexts ?? [64, 1024]) {
    const prompt = Array.from({ length: context }, (_, i) => (i * 7) % V);
    for (const path of ATTENTION_PATHS) {
      const prefill: number[] = [], decode: number[] = [];
      let bytesPerToken = 0;
      for (let r = 0; r < repeats; r++) {
        const cache = model.createCache(path);
        let t0 = performance.now();
        model.forward(prompt, { cache });
        prefill.push(performance.now() - t0);
        // Decode `steps` tokens at about this context: roll the cache back so it stays near `context`.
        t0 = performance.now();
        for (let s = 0; s < steps; s++) {
          if (s % 16 === 0 && cache.length > context) cache.truncate(context);
          model.forward([(s * 5) % V], { cache });
        }
        decode.push(performance.now() - t0);
        bytesPerToken = cache.bytesPerToken;
      }
      rows.push({
        path, context,
        prefillTokensPerSec: context / (median(prefill) / 1000),
        decodeTokensPerSec: steps / (median(decode) / 1000),
        cacheBytesPerToken: bytesPerToken,
        attentionFlopsPerStep: decodeCost(BENCH_CONFIG, path, context).attentionFlops,
      });
    }
  }

  // Speculative (MTP drafter, greedy) against plain greedy decoding of the same tokens.
  const prompt = [5, 9, 13, 17];
  const tokens = 256, gamma = 1;
  const plain: number[] = [], spec: number[] = [];
  let rate = 0;
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    generate(model, prompt, { maxNewTokens: tokens });
    plain.push(performance.now() - t0);
    t0 = performance.now();
    rate = speculate(model, prompt, { maxNewTokens: tokens, gamma, drafter: new MtpDrafter(model) }).acceptanceRate;
    spec.push(performance.now() - t0);
  }
  return {
    backend: backend.name,
    config: 'golden b shapes: d 64, 2 layers + 1 MTP, 4 heads, d_c 32, d_h^R 8, 16 routed experts (top-4 of 2/4 groups) + 1 shared, vocab 128',
    decodeSteps: steps,
    rows,
    speculative: {
      gamma, tokens,
      plainTokensPerSec: tokens / (median(plain) / 1000),
      speculativeTokensPerSec: tokens / (median(spec) / 1000),
      acceptanceRate: rate,
    },
  };
}

export function formatEngineBench(b: EngineBench): string {
  const lines = [
    `Engine on ${b.backend} (${b.config})`,
    'path          context  prefill tok/s  decode tok/s  cache B/token  attn FLOP/step',
    ...b.rows.map((r) => `${r.path.padEnd(13)} ${String(r.context).padStart(7)}  ${r.prefillTokensPerSec.toFixed(0).padStart(13)}  ${r.decodeTokensPerSec.toFixed(0).padStart(12)}  ${String(r.cacheBytesPerToken).padStart(13)}  ${r.attentionFlopsPerStep.toExponential(2).padStart(14)}`),
    `speculative (MTP drafter, gamma ${b.speculative.gamma}, untrained weights): ${b.speculative.speculativeTokensPerSec.toFixed(0)} tok/s vs plain ${b.speculative.plainTokensPerSec.toFixed(0)} tok/s, acceptance ${(100 * b.speculative.acceptanceRate).toFixed(0)}%`,
  ];
  return lines.join('\n');
}
