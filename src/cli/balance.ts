// `balance --model DIR --out DIR`: settle a trained model's router correction biases with its
// weights frozen (src/engine/train/balance.ts), on seeded batches of the training text, and write
// the model with only those biases changed, with balance-log.jsonl (the options, every step's batch
// MaxVio, a summary). The input folder is never written.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EngineInputError, charTokenizer, readSafetensors, writeSafetensors } from '../engine/index.js';
import type { StorageDtype } from '../engine/numerics/storage.js';
import { correctionBiases, settleBiases } from '../engine/train/balance.js';
import { BatchSampler, SavedRng } from '../engine/train/data.js';
import { cliBackend } from './backend.js';
import { loadCorpus, loadModelFolder, num, parse, writeAtomic } from './train-corpus.js';

const OPTIONS = {
  model: { type: 'string' }, out: { type: 'string' }, corpus: { type: 'string' }, steps: { type: 'string' },
  gamma: { type: 'string' }, batch: { type: 'string' }, 'seq-len': { type: 'string' }, seed: { type: 'string' },
  backend: { type: 'string' }, json: { type: 'boolean' },
} as const;

/** `balance --model DIR --out DIR [--corpus stories --steps 600 --gamma 3e-4 --batch 16 --seq-len 129 --seed 1 --json]`. */
export async function balanceCommand(args: string[]): Promise<void> {
  const f = parse(args, OPTIONS);
  if (typeof f.model !== 'string') throw new EngineInputError('--model DIR is required');
  if (typeof f.out !== 'string') throw new EngineInputError('--out DIR is required (the model folder is never written)');
  if (path.resolve(f.out) === path.resolve(f.model)) throw new EngineInputError(`--out ${f.out} is the --model folder: write the settled model beside it`);
  const steps = num(f, 'steps', { integer: true, above: 0 }) ?? 600;
  const gamma = num(f, 'gamma', { above: 0 }) ?? 3e-4;
  const batch = num(f, 'batch', { integer: true, above: 0 }) ?? 16;
  const seed = num(f, 'seed', { integer: true }) ?? 1;
  const backend = await cliBackend(typeof f.backend === 'string' ? f.backend : undefined);
  const { model } = loadModelFolder(f.model, backend);
  const seqLen = num(f, 'seq-len', { integer: true, above: 2 }) ?? Math.min(129, model.config.max_position_embeddings);
  if (seqLen > model.config.max_position_embeddings) throw new EngineInputError(`${path.join(f.model, 'config.json')}: --seq-len ${seqLen} is past "max_position_embeddings" ${model.config.max_position_embeddings}`);
  const corpus = loadCorpus(typeof f.corpus === 'string' ? f.corpus : 'stories');
  const ids = Uint8Array.from(charTokenizer.encode(corpus.train));
  if (ids.length < seqLen) throw new EngineInputError(`${corpus.trainFile}: ${ids.length} characters, fewer than one row of --seq-len ${seqLen}`);
  const sampler = new BatchSampler(ids, seqLen, SavedRng.fromSeed(seed));
  const before = new Map([...correctionBiases(model)].map(([k, b]) => [k, Float32Array.from(b)]));
  const t0 = performance.now();
  const fmt = (m: Record<string, number>) => Object.values(m).map((v) => v.toFixed(3)).join(' / ');
  const log: string[] = [JSON.stringify({ type: 'start', model: f.model, corpus: corpus.name, train_file: corpus.trainFile, train_characters: ids.length, steps, gamma, batch, seq_len: seqLen, seed })];
  const history = settleBiases(model, {
    steps, gamma, rows: () => sampler.next(batch),
    onStep: (s) => {
      log.push(JSON.stringify({ type: 'step', ...s }));
      if (f.json) process.stdout.write(log.at(-1) + '\n');
      else if (s.step % 50 === 0 || s.step === steps) process.stderr.write(`step ${s.step}/${steps}  batch MaxVio ${fmt(s.max_vio)}\n`);
    },
  });

  // The input's tensors, with the settled biases in place of the old ones, stored as they were.
  const weightsFile = path.join(f.model, 'model.safetensors');
  const file = readSafetensors(new Uint8Array(readFileSync(weightsFile)), weightsFile);
  const biases = correctionBiases(model);
  const out = new Map([...file.tensors].map(([name, t]) => {
    const prefix = name.replace(/\.gate\.e_score_correction_bias$/, '');
    const settled = prefix !== name ? biases.get(prefix) : undefined;
    return [name, { shape: t.shape, data: settled ?? t.data, storeAs: t.dtype as StorageDtype }];
  }));
  mkdirSync(f.out, { recursive: true });
  writeAtomic(path.join(f.out, 'model.safetensors'), writeSafetensors(out, file.metadata));
  for (const name of ['config.json', 'tokenizer.json']) {
    const from = path.join(f.model, name);
    if (existsSync(from)) copyFileSync(from, path.join(f.out, name));
  }
  const moved = Object.fromEntries([...biases].map(([k, b]) => [k, Math.max(...b.map((v, e) => Math.abs(v - before.get(k)![e]!)))]));
  const last = history.slice(-Math.min(50, history.length));
  const meanVio: Record<string, number> = {};
  for (const k of biases.keys()) meanVio[k] = last.reduce((s, h) => s + (h.max_vio[k] ?? 0), 0) / last.length;
  const summary = { type: 'done', model: f.model, out: f.out, corpus: corpus.name, steps, gamma, batch, seq_len: seqLen, seed, largest_bias_change: moved, mean_batch_max_vio_last_50: meanVio, seconds: (performance.now() - t0) / 1000 };
  log.push(JSON.stringify(summary));
  writeAtomic(path.join(f.out, 'balance-log.jsonl'), log.join('\n') + '\n');
  if (f.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stderr.write(`done: ${steps} steps of γ ${gamma} in ${summary.seconds.toFixed(1)} s; mean batch MaxVio over the last ${last.length}: ${fmt(meanVio)}; saved to ${f.out}\n`);
}
