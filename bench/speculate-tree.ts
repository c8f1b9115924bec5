// Drafters side by side on the shipped model (Node): tokens per verification step, mean accepted
// length and wall-clock speed-up against plain decoding (generate), greedy and temperature 1, on
// prose and on arithmetic. Run: npx tsx bench/speculate-tree.ts [MODEL_DIR] [--tokens N] [--repeats R] [--draft-dir SMALL_MODEL_DIR]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fastestBackend } from '../kernels/fastest.js';
import { generate, loadModel, parseTokenizerJson } from '../src/engine/index.js';
import { MedusaDrafter, medusaFromTensors, parseTreeSpec } from '../src/engine/medusa.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import { ModelDrafter, MtpDrafter } from '../src/engine/speculate.js';
import { ChainTreeDrafter, NoDrafter, type TreeDrafter, speculateTree } from '../src/engine/tree-speculate.js';
import type { AcceptRule } from '../src/engine/tree.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : fallback; };
const dir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')))
  ?? join('static/models', readdirSync('static/models').filter((n) => n.startsWith('nanoseek-'))[0]);
const N = flag('tokens', 200), repeats = flag('repeats', 3);
const draftAt = args.indexOf('--draft-dir'), draftDir = draftAt >= 0 ? args[draftAt + 1] : null;

const be = await fastestBackend();
const model = loadModel(readFileSync(join(dir, 'config.json'), 'utf8'), readFileSync(join(dir, 'model.safetensors')), { backend: be });
const tok = parseTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), 'tokenizer.json', model.config.vocab_size);
const small = draftDir ? loadModel(readFileSync(join(draftDir, 'config.json'), 'utf8'), readFileSync(join(draftDir, 'model.safetensors')), { backend: be }) : null;
const heads = medusaFromTensors(readSafetensors(readFileSync(join(dir, 'medusa.safetensors')), 'medusa.safetensors').tensors, model.config.hidden_size);

const prompts = {
  prose: 'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice',
  arithmetic: '14+94=108\n42 43 44 45 46 47\n67+31=98\n75-20=55\n',
};
const drafters: [string, () => TreeDrafter][] = [
  ['none', () => new NoDrafter()],
  ['mtp chain 1', () => new ChainTreeDrafter(new MtpDrafter(model), 1)],
  ['mtp chain 2', () => new ChainTreeDrafter(new MtpDrafter(model), 2)],
  ...(small ? [2, 4].map((g): [string, () => TreeDrafter] => [`small model ${g}`, () => new ChainTreeDrafter(new ModelDrafter(small, model), g)]) : []),
  ['medusa tree 4', () => new MedusaDrafter(model, heads, parseTreeSpec('4', heads))],
  ['medusa tree 16', () => new MedusaDrafter(model, heads, parseTreeSpec('16', heads))],
  ['medusa tree 32', () => new MedusaDrafter(model, heads, parseTreeSpec('32', heads))],
];
const settings: [string, AcceptRule, number][] = [['greedy', 'greedy', 0], ['T=1 exact', 'exact', 1], ['T=1 typical', 'typical', 1]];

// CPU time of this process (the machine is shared: wall time moves with others' load), best of repeats.
const best = (f: () => void) => {
  let t = Infinity;
  for (let r = 0; r < repeats; r++) { const s = process.cpuUsage(); f(); const u = process.cpuUsage(s); t = Math.min(t, (u.user + u.system) / 1000); }
  return t;
};
console.log(`model ${dir}, ${N} new tokens, CPU ms best of ${repeats}, backend ${be.name}`);
console.log('prompt      setting      drafter          tok/step  accepted  cpu ms  speed-up vs generate');
for (const [pname, text] of Object.entries(prompts)) {
  const ids = tok.encode(text);
  for (const [sname, rule, temperature] of settings) {
    const plain = best(() => generate(model, ids, { maxNewTokens: N, sampling: { temperature }, seed: 1 }));
    for (const [dname, make] of drafters) {
      let res = speculateTree(model, ids, { maxNewTokens: N, drafter: make(), rule, sampling: { temperature }, seed: 1 });
      const ms = best(() => { res = speculateTree(model, ids, { maxNewTokens: N, drafter: make(), rule, sampling: { temperature }, seed: 1 }); });
      console.log(`${pname.padEnd(11)} ${sname.padEnd(12)} ${dname.padEnd(16)} ${res.tokensPerStep.toFixed(2).padStart(8)}  ${res.meanAccepted.toFixed(2).padStart(8)}  ${ms.toFixed(0).padStart(6)}  ${(plain / ms).toFixed(2)}x (generate ${plain.toFixed(0)} ms)`);
    }
  }
}
