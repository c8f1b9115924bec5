// The training lesson's default run (notebooks/train), replayed in Node step for step as its worker
// takes it (worker.ts freshState, oneStep, measure), to read its budget figures by characters seen
// instead of by seconds: held-out bits per character, MTP greedy agreement, and MaxVio per MoE layer
// as the page measures it (held-out prose and arithmetic windows, weighted by the corpus's
// arithmetic share). Not part of `npm test` (it trains for minutes, on one core).
//
//   nice -n 19 node --import tsx scripts/replay-train.ts [--to 3000000] [--from 2000000] [--every 100000]
//     [--gamma-end=-4] [--gamma=-2] [--seed 1] [--all-windows 2400000,2700000,3000000] [--save prefix] [--load-decay 0.9]
//
// --gamma and --gamma-end are log10 γ like the lesson's sliders; --load-decay is schedule.ts
// BIAS_LOAD_DECAY (0: the bias update reads each batch's own load; absent: the lesson's). Each line printed is one JSON
// evaluation: chars, val_bpc, greedy, maxvio (per layer, the page's figure), and where asked,
// maxvio_all (the same formula on every held-out window), maxvio_train_text (as many windows of the
// training text) and maxvio_train50 (the load summed over the last 50 training batches). The
// settings, schedule and run options are the lesson's own (notebooks/train/schedule.ts). --save writes the trainer state at
// the --all-windows points to prefix-<chars>.safetensors (src/engine/train/checkpoint.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fastestBackend } from '../kernels/fastest.js';
import { parseConfig } from '../src/engine/config.js';
import { initTensors } from '../src/engine/init.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { charTokenizer } from '../src/engine/tokenizer.js';
import { type RunOptions, type TrainerState, encodeTrainerState } from '../src/engine/train/checkpoint.js';
import { SavedRng, windows } from '../src/engine/train/data.js';
import { type EvalResult, evaluateWindows, maxVio } from '../src/engine/train/eval.js';
import { createOptimizer, modelFromParams, paramsFromTensors } from '../src/engine/train/index.js';
import { samplerOf, trainStep } from '../src/engine/train/loop.js';
import { localRunner } from '../src/engine/train/workers.js';
import { storiesOnly } from '../notebooks/train/corpus-mix.js';
import { ARITH_WINDOWS, EVAL_SEQ, LESSON_DEFAULTS, VAL_WINDOWS, biasGammaAt, runOptions, settingsFrom } from '../notebooks/train/schedule.js';

const { values } = parseArgs({
  options: {
    to: { type: 'string' }, from: { type: 'string' }, every: { type: 'string' }, seed: { type: 'string' },
    gamma: { type: 'string' }, 'gamma-end': { type: 'string' }, 'all-windows': { type: 'string' }, save: { type: 'string' }, 'load-decay': { type: 'string' },
  },
});
const TO = Number(values.to ?? 3_000_000), FROM = Number(values.from ?? 2_000_000), EVERY = Number(values.every ?? 100_000);
const ALL_AT = (values['all-windows'] ?? '2400000,2700000,3000000').split(',').filter(Boolean).map(Number);

// The lesson's default settings (notebooks/train/schedule.ts), with the sliders given here.
const s = settingsFrom({
  ...LESSON_DEFAULTS, size: 'golden-b', seed: Number(values.seed ?? LESSON_DEFAULTS.seed),
  log_gamma: Number(values.gamma ?? LESSON_DEFAULTS.log_gamma), log_gamma_end: Number(values['gamma-end'] ?? LESSON_DEFAULTS.log_gamma_end),
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (f: string) => readFileSync(path.join(root, 'static/data/stories', f), 'utf8');
const trainText = read('train.txt');
const stories = storiesOnly(trainText);
const arithShare = 1 - stories.length / trainText.length;
const train = Uint8Array.from(charTokenizer.encode(trainText));
const spread = (all: number[][], n: number) => (all.length <= n ? all : Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!));
const allVal = windows(charTokenizer.encode(read('val.txt')), EVAL_SEQ), allArith = windows(charTokenizer.encode(read('arith.txt')), EVAL_SEQ);
const val = spread(allVal, VAL_WINDOWS), arith = spread(allArith, ARITH_WINDOWS);
// Windows of the training text itself (arithmetic lines where they fall): the load the bias update evens out.
const trainWindows = spread(windows(Array.from(train), EVAL_SEQ), allVal.length + allArith.length);

const config = parseConfig({ ...TINY_CONFIG_JSON, max_position_embeddings: Math.max(TINY_CONFIG_JSON.max_position_embeddings, 512), num_nextn_predict_layers: 1 }, { file: 'the golden-b shape' });
const options: RunOptions = {
  ...runOptions(s, 1), corpus_chars: trainText.length,
  ...(values['load-decay'] !== undefined ? { bias_load_decay: Number(values['load-decay']) } : {}),
};
const params = paramsFromTensors(config, initTensors(config, { seed: s.seed, biasScale: 0 }));
const state: TrainerState = { params, opt: createOptimizer(params), step: 0, rng: Array.from(SavedRng.fromSeed(s.seed).state), options };
const backend = await fastestBackend();
const runner = localRunner(backend);
const layers = Object.keys(params.buffers).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
const perStep = s.batch * (s.seqLen - 1);
const chars = () => state.step * perStep;

/** worker.ts measure(): each expert's share of the top-k slots on prose and on arithmetic, weighted by the arithmetic share. */
function mixVio(prose: EvalResult, ar: EvalResult): number[] {
  const share = (l: number[] | undefined, e: number) => { const t = l ? l.reduce((a, b) => a + b, 0) : 0; return t > 0 ? l![e]! / t : 0; };
  return layers.map((k) => maxVio((prose.loads[k] ?? []).map((_, e) => (1 - arithShare) * share(prose.loads[k], e) + arithShare * share(ar.loads[k], e))));
}

const r3 = (x: number) => Number(x.toFixed(3));
const recent: number[][][] = [];
const biasHist: number[][][] = [];
console.error(JSON.stringify({ settings: s, arithShare: r3(arithShare), windows: { val: allVal.length, arith: allArith.length } }));
const t0 = performance.now();
let next = FROM;
while (chars() < TO) {
  state.options.bias_gamma = biasGammaAt(s, chars());
  const sampler = samplerOf(state, train);
  let loads: Record<string, number[]> = {};
  const rec = { threads: 1, close: async () => {}, gradient: async (p: typeof params, rows: number[][], hp: Parameters<typeof runner.gradient>[2]) => { const g = await runner.gradient(p, rows, hp); loads = g.loads; return g; } };
  await trainStep(state, sampler, rec);
  recent.push(layers.map((k) => loads[k] ?? [])); if (recent.length > 50) recent.shift();
  biasHist.push(layers.map((k) => Array.from(state.params.buffers[k]!))); if (biasHist.length > 120) biasHist.shift();
  if (chars() >= next) {
    next += EVERY;
    const model = modelFromParams(state.params, backend);
    const prose = evaluateWindows(model, val), ar = evaluateWindows(model, arith);
    const out: Record<string, unknown> = {
      chars: chars(), step: state.step, gamma: Number(state.options.bias_gamma.toPrecision(3)), val_bpc: r3(prose.bits_per_char), greedy: r3(prose.mtp_greedy_agreement ?? 0),
      maxvio: mixVio(prose, ar).map(r3),
      maxvio_train50: layers.map((_, i) => r3(maxVio(recent[0]![i]!.map((_, e) => recent.reduce((t, b) => t + b[i]![e]!, 0))))),
      // How far each bias wandered over the last 120 steps (max - min, mean over experts).
      bias_range120: layers.map((_, i) => r3(biasHist[0]![i]!.reduce((t, _, e) => { const v = biasHist.map((b) => b[i]![e]!); return t + Math.max(...v) - Math.min(...v); }, 0) / biasHist[0]![i]!.length)),
      seconds: Math.round((performance.now() - t0) / 1000),
    };
    if (ALL_AT.some((c) => Math.abs(c - chars()) < perStep)) {
      const pa = evaluateWindows(model, allVal), aa = evaluateWindows(model, allArith);
      out.maxvio_all = mixVio(pa, aa).map(r3);
      out.maxvio_all_prose = layers.map((k) => r3(maxVio(pa.loads[k]!)));
      out.val_bpc_all = r3(pa.bits_per_char);
      const tw = evaluateWindows(model, trainWindows);
      out.maxvio_train_text = layers.map((k) => r3(maxVio(tw.loads[k]!)));
      if (values.save) writeFileSync(`${values.save}-${chars()}.safetensors`, encodeTrainerState(state));
    }
    console.log(JSON.stringify(out));
  }
}
