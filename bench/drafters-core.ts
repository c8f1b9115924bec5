// The drafters benchmark's body, the same code in Node (bench/drafters.ts: files read from disk, CPU
// time from process.cpuUsage) and in headless Chromium (bench/browser-entry.ts via
// scripts/bench-browser.mjs: files passed in by the script, CPU time of the page's main thread from
// the DevTools protocol). For each drafter (none, DeepSeek's MTP chain, the small draft model as a
// chain when one is given, the Medusa heads as a chain of their top-1 guesses and as sparse trees):
// tokens per verification step, acceptance per draft depth (both deterministic for the seed) and the
// wall-clock and CPU time of speculateTree against plain decoding (generate) of as many tokens, at
// greedy, at temperature 1 with the exact rule and at temperature 1 with typical acceptance, on prose
// and on arithmetic. Times are the best of `repeats` runs after one warm-up; generate and the drafter
// are timed in turn within each repeat, so a change in the machine's load hits both.
import { generate } from '../src/engine/generate.js';
import { MedusaDrafter, type MedusaHeads, parseTreeSpec } from '../src/engine/medusa.js';
import type { Model } from '../src/engine/model.js';
import { ModelDrafter, MtpDrafter } from '../src/engine/speculate.js';
import type { CharTokenizer } from '../src/engine/tokenizer.js';
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
  /** Per draft depth (entry k: depth k + 1): accepted / judged at that depth (speculateTree's depthAcceptance; NaN never judged, null in JSON). */
  acceptanceByDepth: number[];
  wallMs: number;
  /** CPU time of the process (Node) or of the page's main thread (Chromium); null where none could be read. */
  cpuMs: number | null;
  /** generate's times for the same prompt and setting. */
  plainWallMs: number;
  plainCpuMs: number | null;
  speedUpWall: number;
  speedUpCpu: number | null;
}

export interface DrafterBench {
  /** 'Node' or the browser's name. */
  runtime: string;
  model: string;
  /** The small draft model's folder, when one ran. */
  draft: string | null;
  backend: string;
  tokens: number;
  repeats: number;
  rows: DrafterBenchRow[];
}

export const BENCH_PROMPTS = {
  prose: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice',
  arithmetic: '14+94=108\n42 43 44 45 46 47\n67+31=98\n75-20=55\n',
};

/** Chain lengths the small draft model runs at. */
export const SMALL_GAMMAS = [2, 4];

export interface DrafterBenchInputs {
  model: Model;
  modelName: string;
  tokenizer: CharTokenizer;
  heads: MedusaHeads;
  small: Model | null;
  smallName: string | null;
}

/** Times `f`: wall milliseconds and CPU milliseconds (null when the runtime has no CPU clock). */
export type Clock = (f: () => void) => Promise<{ wall: number; cpu: number | null }>;

export interface DrafterBenchRun {
  runtime: string;
  backend: string;
  clock: Clock;
  tokens?: number;
  repeats?: number;
  onProgress?: (line: string) => void;
}

const minOrNull = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.min(a, b));

export async function runDrafterBench(inp: DrafterBenchInputs, run: DrafterBenchRun): Promise<DrafterBench> {
  const { model, heads, small } = inp;
  const N = run.tokens ?? 200, repeats = run.repeats ?? 3;
  const medusa = (spec: string, label: string): [string, number, () => TreeDrafter] => {
    const paths = parseTreeSpec(spec, heads);
    return [label, paths.length, () => new MedusaDrafter(model, heads, paths)];
  };
  const drafters: [string, number, () => TreeDrafter][] = [
    ['none', 0, () => new NoDrafter()],
    ['MTP chain 1', 1, () => new ChainTreeDrafter(new MtpDrafter(model), 1)],
    ['MTP chain 2', 2, () => new ChainTreeDrafter(new MtpDrafter(model), 2)],
    ...(small ? SMALL_GAMMAS.map((g): [string, number, () => TreeDrafter] => [`small model ${g}`, g, () => new ChainTreeDrafter(new ModelDrafter(small, model), g)]) : []),
    medusa(Array(heads.numHeads).fill(1).join(','), `Medusa chain ${heads.numHeads}`),
    medusa('4', 'Medusa tree 4'),
    medusa('16', 'Medusa tree 16'),
    medusa('32', 'Medusa tree 32'),
  ];
  const settings: [string, AcceptRule, number][] = [['greedy', 'greedy', 0], ['T=1 exact', 'exact', 1], ['T=1 typical', 'typical', 1]];
  const rows: DrafterBenchRow[] = [];
  for (const [prompt, text] of Object.entries(BENCH_PROMPTS)) {
    const ids = inp.tokenizer.encode(text);
    for (const [setting, rule, temperature] of settings) {
      const sampling = { temperature };
      const plainRun = () => { generate(model, ids, { maxNewTokens: N, sampling, seed: 1 }); };
      plainRun();
      for (const [drafter, nodes, make] of drafters) {
        const once = () => speculateTree(model, ids, { maxNewTokens: N, drafter: make(), rule, sampling, seed: 1 });
        const res = once();
        const plain = { wall: Infinity, cpu: Infinity as number | null }, spec = { wall: Infinity, cpu: Infinity as number | null };
        for (let r = 0; r < repeats; r++) {
          const a = await run.clock(plainRun), b = await run.clock(() => { once(); });
          plain.wall = Math.min(plain.wall, a.wall); plain.cpu = minOrNull(plain.cpu, a.cpu);
          spec.wall = Math.min(spec.wall, b.wall); spec.cpu = minOrNull(spec.cpu, b.cpu);
        }
        const row: DrafterBenchRow = {
          prompt, setting, drafter, nodes, tokensPerStep: res.tokensPerStep, meanAccepted: res.meanAccepted,
          acceptanceByDepth: res.depthAcceptance.map((d) => d.rate),
          wallMs: spec.wall, cpuMs: spec.cpu, plainWallMs: plain.wall, plainCpuMs: plain.cpu, speedUpWall: plain.wall / spec.wall,
          speedUpCpu: plain.cpu !== null && spec.cpu !== null && spec.cpu > 0 ? plain.cpu / spec.cpu : null,
        };
        rows.push(row);
        run.onProgress?.(`drafters (${run.runtime}): ${prompt} ${setting} ${drafter}: ${row.tokensPerStep.toFixed(2)} tokens/step, ${row.speedUpWall.toFixed(2)}x wall`);
      }
    }
  }
  return { runtime: run.runtime, model: inp.modelName, draft: small ? inp.smallName : null, backend: run.backend, tokens: N, repeats, rows };
}

const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(100 * x)}` : '-');

export function formatDrafters(b: DrafterBench): string {
  const maxDepth = Math.min(4, Math.max(0, ...b.rows.map((r) => r.acceptanceByDepth.length)));
  const depthHead = Array.from({ length: maxDepth }, (_, k) => `d${k + 1}%`.padStart(4)).join(' ');
  const lines = [
    `Drafters on ${b.model}${b.draft ? ` (small draft model ${b.draft})` : ''} (${b.runtime}, backend ${b.backend}): ${b.tokens} new tokens, best of ${b.repeats} after a warm-up, generate timed in turn with each drafter; speed-up = generate's time / speculateTree's`,
    `prompt      setting      drafter          nodes  tok/step  accepted  ${depthHead}   wall ms  generate  speed-up   cpu ms  speed-up`,
  ];
  for (const r of b.rows) {
    const depths = Array.from({ length: maxDepth }, (_, k) => pct(r.acceptanceByDepth[k] ?? NaN).padStart(4)).join(' ');
    lines.push(`${r.prompt.padEnd(11)} ${r.setting.padEnd(12)} ${r.drafter.padEnd(16)} ${String(r.nodes).padStart(5)}  ${r.tokensPerStep.toFixed(2).padStart(8)}  ${r.meanAccepted.toFixed(2).padStart(8)}  ${depths}  ${r.wallMs.toFixed(0).padStart(8)}  ${r.plainWallMs.toFixed(0).padStart(8)}  ${(r.speedUpWall.toFixed(2) + 'x').padStart(8)}  ${(r.cpuMs === null ? '-' : r.cpuMs.toFixed(0)).padStart(7)}  ${(r.speedUpCpu === null ? '-' : r.speedUpCpu.toFixed(2) + 'x').padStart(8)}`);
  }
  lines.push(
    'tok/step: tokens written per verification step (the prefill not counted); nodes: positions drafted per step (each verification scores nodes + 1);',
    `dK%: of the steps whose rule judged a draft at depth K (every shallower one accepted), the share that accepted one there; cpu: ${b.runtime === 'Node' ? 'this process\'s user + system time' : 'the page\'s main-thread time (DevTools Performance.getMetrics ThreadTime)'}.`,
  );
  return lines.join('\n');
}
