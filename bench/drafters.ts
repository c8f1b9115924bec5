// Drafters side by side on the shipped model (Node): for each drafter (none, DeepSeek's MTP chain,
// the Medusa heads as a chain of their top-1 guesses, Medusa sparse trees, and a small draft model
// when given), tokens per verification step (deterministic for the seed) and the wall-clock and CPU
// time of speculateTree against plain decoding (generate), at greedy, at temperature 1 with the exact
// rule and at temperature 1 with typical acceptance, on prose and on arithmetic. Times are the best of
// `repeats` runs after one warm-up, generate and speculateTree timed in turn; on a shared machine wall time moves with others' load, so the CPU
// time of this process is reported beside it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../kernels/backend.js';
import { fastestBackend } from '../kernels/fastest.js';
import { generate, loadModel, parseTokenizerJson } from '../src/engine/index.js';
import { MedusaDrafter, medusaFromTensors, parseTreeSpec } from '../src/engine/medusa.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import { ModelDrafter, MtpDrafter } from '../src/engine/speculate.js';
import { ChainTreeDrafter, NoDrafter, type TreeDrafter, speculateTree } from '../src/engine/tree-speculate.js';
import type { AcceptRule } from '../src/engine/tree.js';

export interface DrafterBenchRow {
  prompt: string;
  setting: string;
  drafter: string;
  /** Nodes drafted per step. */
  nodes: number;
  tokensPerStep: number;
  meanAccepted: number;
  wallMs: number;
  cpuMs: number;
  /** generate's times for the same prompt and setting. */
  plainWallMs: number;
  plainCpuMs: number;
  speedUpWall: number;
  speedUpCpu: number;
}

export interface DrafterBench {
  model: string;
  backend: string;
  tokens: number;
  repeats: number;
  rows: DrafterBenchRow[];
}

export const BENCH_PROMPTS = {
  prose: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice',
  arithmetic: '14+94=108\n42 43 44 45 46 47\n67+31=98\n75-20=55\n',
};

/** The first shipped model folder (static/models/nanoseek-*). */
export function shippedModelDir(): string {
  return join('static/models', readdirSync('static/models').filter((n) => n.startsWith('nanoseek-')).sort()[0]!);
}

export interface DrafterBenchOptions {
  dir?: string;
  tokens?: number;
  repeats?: number;
  draftDir?: string | null;
  backend?: Backend;
  onProgress?: (line: string) => void;
}

export async function benchDrafters(o: DrafterBenchOptions = {}): Promise<DrafterBench> {
  const dir = o.dir ?? shippedModelDir();
  const N = o.tokens ?? 200, repeats = o.repeats ?? 3;
  const be = o.backend ?? (await fastestBackend());
  const load = (d: string) => loadModel(readFileSync(join(d, 'config.json'), 'utf8'), readFileSync(join(d, 'model.safetensors')), { backend: be });
  const model = load(dir);
  const tok = parseTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), 'tokenizer.json', model.config.vocab_size);
  const small = o.draftDir ? load(o.draftDir) : null;
  const heads = medusaFromTensors(readSafetensors(readFileSync(join(dir, 'medusa.safetensors')), 'medusa.safetensors').tensors, model.config.hidden_size);
  const medusa = (spec: string, label: string): [string, number, () => TreeDrafter] => {
    const paths = parseTreeSpec(spec, heads);
    return [label, paths.length, () => new MedusaDrafter(model, heads, paths)];
  };
  const drafters: [string, number, () => TreeDrafter][] = [
    ['none', 0, () => new NoDrafter()],
    ['MTP chain 1', 1, () => new ChainTreeDrafter(new MtpDrafter(model), 1)],
    ['MTP chain 2', 2, () => new ChainTreeDrafter(new MtpDrafter(model), 2)],
    ...(small ? [2, 4].map((g): [string, number, () => TreeDrafter] => [`small model ${g}`, g, () => new ChainTreeDrafter(new ModelDrafter(small, model), g)]) : []),
    medusa(Array(heads.numHeads).fill(1).join(','), `Medusa chain ${heads.numHeads}`),
    medusa('4', 'Medusa tree 4'),
    medusa('16', 'Medusa tree 16'),
    medusa('32', 'Medusa tree 32'),
  ];
  const settings: [string, AcceptRule, number][] = [['greedy', 'greedy', 0], ['T=1 exact', 'exact', 1], ['T=1 typical', 'typical', 1]];
  // Best of `repeats` (after one warm-up run each), wall and CPU separately; generate and the drafter
  // are timed in turn within each repeat, so a change in the machine's load hits both.
  const clock = (f: () => void) => {
    const c0 = process.cpuUsage(), t0 = performance.now();
    f();
    const wall = performance.now() - t0, c = process.cpuUsage(c0);
    return { wall, cpu: (c.user + c.system) / 1000 };
  };
  const rows: DrafterBenchRow[] = [];
  for (const [prompt, text] of Object.entries(BENCH_PROMPTS)) {
    const ids = tok.encode(text);
    for (const [setting, rule, temperature] of settings) {
      const sampling = { temperature };
      const plainRun = () => { generate(model, ids, { maxNewTokens: N, sampling, seed: 1 }); };
      plainRun();
      for (const [drafter, nodes, make] of drafters) {
        const run = () => speculateTree(model, ids, { maxNewTokens: N, drafter: make(), rule, sampling, seed: 1 });
        const res = run();
        const plain = { wall: Infinity, cpu: Infinity }, spec = { wall: Infinity, cpu: Infinity };
        for (let r = 0; r < repeats; r++) {
          const a = clock(plainRun), b = clock(() => { run(); });
          plain.wall = Math.min(plain.wall, a.wall); plain.cpu = Math.min(plain.cpu, a.cpu);
          spec.wall = Math.min(spec.wall, b.wall); spec.cpu = Math.min(spec.cpu, b.cpu);
        }
        const row: DrafterBenchRow = {
          prompt, setting, drafter, nodes, tokensPerStep: res.tokensPerStep, meanAccepted: res.meanAccepted,
          wallMs: spec.wall, cpuMs: spec.cpu, plainWallMs: plain.wall, plainCpuMs: plain.cpu, speedUpWall: plain.wall / spec.wall, speedUpCpu: plain.cpu / spec.cpu,
        };
        rows.push(row);
        o.onProgress?.(`drafters: ${prompt} ${setting} ${drafter}: ${row.tokensPerStep.toFixed(2)} tokens/step, ${row.speedUpWall.toFixed(2)}x wall`);
      }
    }
  }
  return { model: dir, backend: be.name, tokens: N, repeats, rows };
}

export function formatDrafters(b: DrafterBench): string {
  const lines = [
    `Drafters on ${b.model} (Node, backend ${b.backend}): ${b.tokens} new tokens, best of ${b.repeats} after a warm-up, generate timed in turn with each drafter; speed-up = generate's time / speculateTree's`,
    'prompt      setting      drafter          nodes  tok/step  accepted   wall ms  generate  speed-up   cpu ms  speed-up',
  ];
  for (const r of b.rows) {
    lines.push(`${r.prompt.padEnd(11)} ${r.setting.padEnd(12)} ${r.drafter.padEnd(16)} ${String(r.nodes).padStart(5)}  ${r.tokensPerStep.toFixed(2).padStart(8)}  ${r.meanAccepted.toFixed(2).padStart(8)}  ${r.wallMs.toFixed(0).padStart(8)}  ${r.plainWallMs.toFixed(0).padStart(8)}  ${(r.speedUpWall.toFixed(2) + 'x').padStart(8)}  ${r.cpuMs.toFixed(0).padStart(7)}  ${(r.speedUpCpu.toFixed(2) + 'x').padStart(8)}`);
  }
  lines.push('tok/step: tokens written per verification step (the prefill not counted); nodes: positions drafted per step (each verification scores nodes + 1).');
  return lines.join('\n');
}
