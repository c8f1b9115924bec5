// The figures of a trained model's card, measured: on the held-out stories and the held-out
// arithmetic lines, bits per character, MTP greedy agreement and sampled acceptance, MaxVio per MoE
// layer, and each layer's expert lift on arithmetic, P(expert | arithmetic) / P(expert | all held-out
// text), beside the same for the untrained model the run started from (the run's seed). Then samples
// at temperature 0.8 and MTP self-speculative acceptance. Writes DIR/figures.json and prints it.
//   npx tsx scripts/model-figures.ts static/models/nanoseek-stories [--max-windows N] [--untrained-windows 200]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fastestBackend } from '../kernels/fastest.js';
import { MtpDrafter, charTokenizer, generate, initTensors, loadModel, speculate } from '../src/engine/index.js';
import { type Model } from '../src/engine/model.js';
import { mixArithmetic } from '../src/engine/train/corpus.js';
import { windows } from '../src/engine/train/data.js';
import { type EvalResult, evaluateWindows, expertLift } from '../src/engine/train/eval.js';
import { modelFromParams, paramsFromTensors } from '../src/engine/train/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: model-figures.ts MODEL_DIR [--max-windows N]');
const mw = process.argv.indexOf('--max-windows');
const maxWindows = mw > 0 ? Number(process.argv[mw + 1]) : Infinity;
// The untrained baseline needs less text: its figures are far from the trained ones (first 200 windows).
const uw = process.argv.indexOf('--untrained-windows');
const untrainedWindows = uw > 0 ? Number(process.argv[uw + 1]) : 200;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const data = (f: string) => readFileSync(path.join(root, 'static', 'data', 'stories', f), 'utf8');

const backend = await fastestBackend();
const configText = readFileSync(path.join(dir, 'config.json'), 'utf8');
const trained = loadModel(configText, new Uint8Array(readFileSync(path.join(dir, 'model.safetensors'))), { backend });
let seed = 1, seqLen = 129;
try {
  const log = readFileSync(path.join(dir, 'train-log.jsonl'), 'utf8').split('\n')[0]!;
  const start = JSON.parse(log) as { options: { seed: number; seq_len: number } };
  seed = start.options.seed;
  seqLen = start.options.seq_len;
} catch { /* no log: defaults */ }
const untrained = modelFromParams(paramsFromTensors(trained.config, initTensors(trained.config, { seed, biasScale: 0 })), backend);

function measure(model: Model, maxWindows: number) {
  const stories = evaluateWindows(model, windows(charTokenizer.encode(data('val.txt')), seqLen, maxWindows));
  const arith = evaluateWindows(model, windows(charTokenizer.encode(data('arith.txt')), seqLen, maxWindows));
  // The held-out stories with arithmetic mixed in as in training (~17%): the mix the bias update balances.
  const mixed = evaluateWindows(model, windows(charTokenizer.encode(mixArithmetic(data('val.txt'), 3)), seqLen, maxWindows));
  const all: Record<string, number[]> = {};
  for (const [k, l] of Object.entries(stories.loads)) all[k] = l.map((v, e) => v + arith.loads[k]![e]!);
  const lift = expertLift(arith.loads, all);
  const brief = (e: EvalResult) => ({
    characters: e.characters, bits_per_char: e.bits_per_char, mtp_greedy_agreement: e.mtp_greedy_agreement,
    mtp_sampled_acceptance: e.mtp_sampled_acceptance, max_vio: e.max_vio,
  });
  return {
    stories: brief(stories), arithmetic: brief(arith), mixed: brief(mixed),
    arithmetic_lift: Object.fromEntries(Object.entries(lift).map(([k, v]) => [k, { max: v.max, expert: v.expert, lift: v.lift.map((x) => Math.round(x * 100) / 100) }])),
    arithmetic_top_expert_share: Object.fromEntries(Object.entries(arith.loads).map(([k, l]) => [k, Math.max(...l) / l.reduce((a, b) => a + b, 0)])),
  };
}

const t0 = performance.now();
const figures: Record<string, unknown> = { trained: measure(trained, maxWindows), untrained: measure(untrained, Math.min(maxWindows, untrainedWindows)) };
const prompts = ['Once upon a time there was a little ', 'Alice was beginning to ', '"Oh dear!" said the ', '12+35='];
figures.samples_t08 = prompts.map((p, i) => {
  const ids = charTokenizer.encode(p);
  const out = generate(trained, ids, { maxNewTokens: 240, sampling: { temperature: 0.8 }, seed: 100 + i });
  return { prompt: p, seed: 100 + i, text: charTokenizer.decode(out.tokens) };
});
const spec = (temperature: number, seedS: number, prompt: string) => {
  const out = speculate(trained, charTokenizer.encode(prompt), { maxNewTokens: 300, gamma: 1, drafter: new MtpDrafter(trained, 'absorbed'), sampling: { temperature }, seed: seedS, attention: 'absorbed' });
  return { prompt, temperature, seed: seedS, acceptance_rate: out.acceptanceRate, target_passes: out.targetPasses, tokens: out.tokens.length };
};
figures.mtp_speculation = [spec(0, 0, prompts[0]!), spec(0.8, 1, prompts[0]!), spec(0, 0, '12+35=47\n60-24=36\n')];
figures.seconds = (performance.now() - t0) / 1000;
figures.backend = backend.name;
writeFileSync(path.join(dir, 'figures.json'), JSON.stringify(figures, null, 2) + '\n');
process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
