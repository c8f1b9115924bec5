// `train --corpus`: train a model from a config on a text corpus, with checkpoints that resume bit
// for bit, Ctrl-C that saves first, a live progress line on stderr and (--json) one JSON line per
// step or evaluation on stdout. Also `eval --model DIR --text FILE`. Node-only glue around
// src/engine/train (loop, data, checkpoint, eval).
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type DeepSeekConfig, EngineInputError, charTokenizer, configToJson, initTensors, loadModel, parseConfigText,
  parseTokenizerJson, writeSafetensors,
} from '../engine/index.js';
import {
  type RunOptions, TRAINER_STATE_FILE, type TrainerState, decodeTrainerState, encodeTrainerState, textHash, trainerStateConfig,
} from '../engine/train/checkpoint.js';
import { splitText } from '../engine/train/corpus.js';
import { SavedRng, windows } from '../engine/train/data.js';
import { type EvalResult, evaluateWindows, expertLift } from '../engine/train/eval.js';
import { createOptimizer, paramsFromTensors, paramsToTensors } from '../engine/train/index.js';
import { type StepRecord, evaluateState, samplerOf, trainStep } from '../engine/train/loop.js';
import { type GradientRunner, localRunner } from '../engine/train/workers.js';
import { cliBackend } from './backend.js';
import { twoThreadRunner } from './train-worker.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where named corpora live (NAME -> static/data/NAME/{train,val}.txt). */
export const DATA_DIR = path.join(repoRoot, 'static', 'data');
export const LOG_FILE = 'train-log.jsonl';

const TRAIN_OPTIONS = {
  config: { type: 'string' }, corpus: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
  steps: { type: 'string' }, batch: { type: 'string' }, 'seq-len': { type: 'string' }, lr: { type: 'string' },
  warmup: { type: 'string' }, 'min-lr-ratio': { type: 'string' }, seed: { type: 'string' },
  'eval-every': { type: 'string' }, 'eval-windows': { type: 'string' }, 'save-every': { type: 'string' },
  'weight-decay': { type: 'string' }, 'max-grad-norm': { type: 'string' }, 'mtp-lambda': { type: 'string' },
  'bias-gamma': { type: 'string' }, 'bias-gamma-schedule': { type: 'string' }, 'bias-gamma-min-ratio': { type: 'string' }, 'balance-alpha': { type: 'string' }, balancing: { type: 'string' },
  'stop-at': { type: 'string' }, hparams: { type: 'string' }, threads: { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' },
} as const;

/** The run's defaults: the anchors' recipe (AdamW 0.9/0.95, decay 0.1, lr 3e-3, 50 warm-up steps, cosine to 10%, clip 1, batch 16 x 129). */
const DEFAULTS = {
  batch: 16, seq_len: 129, lr: 3e-3, warmup: 50, min_lr_ratio: 0.1, seed: 1, betas: [0.9, 0.95] as [number, number], eps: 1e-8,
  weight_decay: 0.1, max_grad_norm: 1, mtp_lambda: 0.3, balance_alpha: 0, bias_gamma: 1e-3, balancing: 'bias' as const, threads: 1,
};

export type Flags = Record<string, string | boolean | undefined>;

/** Parse a command's flags (strict); a bad flag is an EngineInputError (exit 2). */
export function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): Flags {
  try {
    const r = parseArgs({ args, options, allowPositionals: false, strict: true });
    return r.values as Flags;
  } catch (e) {
    throw new EngineInputError((e as Error).message);
  }
}

/** A numeric flag: absent -> fallback (undefined when none), otherwise finite, >= min, integer when asked. */
export function num(flags: Flags, name: string, o: { integer?: boolean; min?: number; above?: number }): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v))) {
    throw new EngineInputError(`--${name} must be ${o.integer ? 'an integer' : 'a number'} (got ${JSON.stringify(raw)})`);
  }
  if (o.min !== undefined && v < o.min) throw new EngineInputError(`--${name} must be >= ${o.min} (got ${v})`);
  if (o.above !== undefined && !(v > o.above)) throw new EngineInputError(`--${name} must be > ${o.above} (got ${v})`);
  return v;
}

function readFileChecked(file: string, what: string): Buffer {
  if (!existsSync(file)) throw new EngineInputError(`${file}: ${what} not found`);
  if (statSync(file).isDirectory()) throw new EngineInputError(`${file}: ${what} is a directory, expected a file`);
  return readFileSync(file);
}

/** Corpus text from a file: refused when empty or not text (a NUL byte, or bytes that are not UTF-8). */
export function readCorpusFile(file: string): string {
  const bytes = readFileChecked(file, 'corpus file');
  if (bytes.length === 0) throw new EngineInputError(`${file}: the corpus file is empty`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new EngineInputError(`${file}: the corpus file is binary, not text (a NUL byte at offset ${nul})`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new EngineInputError(`${file}: the corpus file is binary, not text (its bytes are not UTF-8)`);
  }
  if (text.trim() === '') throw new EngineInputError(`${file}: the corpus file is empty (only whitespace)`);
  return text;
}

export interface Corpus { name: string; train: string; val: string; trainFile: string; valFile: string | null }

/** --corpus NAME (static/data/NAME/) or FILE (split by chunks of lines, every 10th held out). */
export function loadCorpus(spec: string): Corpus {
  const named = /^[a-z0-9-]+$/.test(spec) && !existsSync(spec) ? path.join(DATA_DIR, spec) : null;
  if (named) {
    if (!existsSync(named)) throw new EngineInputError(`--corpus ${JSON.stringify(spec)}: no such file, and no named corpus ${named}`);
    const trainFile = path.join(named, 'train.txt'), valFile = path.join(named, 'val.txt');
    return { name: spec, train: readCorpusFile(trainFile), val: readCorpusFile(valFile), trainFile, valFile };
  }
  const { train, val } = splitText(readCorpusFile(spec));
  return { name: spec, train, val, trainFile: spec, valFile: null };
}

/** Write a file atomically: a temp file beside it, then rename over. */
export function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Save an inference checkpoint (config.json, model.safetensors, tokenizer.json) and the trainer state, each atomically. */
function saveCheckpoint(dir: string, state: TrainerState): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, 'config.json'), JSON.stringify(configToJson(state.params.config), null, 2) + '\n');
  writeAtomic(path.join(dir, 'tokenizer.json'), JSON.stringify(charTokenizer.toJson(), null, 2) + '\n');
  writeAtomic(path.join(dir, 'model.safetensors'), writeSafetensors(paramsToTensors(state.params)));
  writeAtomic(path.join(dir, TRAINER_STATE_FILE), encodeTrainerState(state));
}

/** The first config.json key whose value differs (null when equal). */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return k;
  }
  return null;
}

/** Hyper-parameters from a JSON file (train.json keys): every key present and in range. */
function readHparamsFile(file: string): Partial<RunOptions> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileChecked(file, 'hyper-parameter file').toString('utf8'));
  } catch (e) {
    if (e instanceof EngineInputError) throw e;
    throw new EngineInputError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EngineInputError(`${file}: must be a JSON object`);
  const r = raw as Record<string, unknown>;
  const field = (k: string, min: number, max = Infinity): number => {
    const v = r[k];
    if (v === undefined) throw new EngineInputError(`${file}: "${k}" is missing`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new EngineInputError(`${file}: "${k}" must be a number (got ${JSON.stringify(v)})`);
    if (v < min || v > max) throw new EngineInputError(`${file}: "${k}" must be in [${min}, ${max}] (got ${v})`);
    return v;
  };
  const betas = r.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
    throw new EngineInputError(`${file}: "betas" must be two numbers in [0, 1) (got ${JSON.stringify(betas)})`);
  }
  return {
    lr: field('lr', 0), betas: betas as [number, number], eps: field('eps', 0), weight_decay: field('weight_decay', 0),
    max_grad_norm: field('max_grad_norm', 0), mtp_lambda: field('mtp_lambda', 0), balance_alpha: field('balance_alpha', 0),
    bias_gamma: field('bias_gamma', 0),
  };
}

/** Options given on the command line (only those given). */
function optionsFromFlags(f: Flags): Partial<RunOptions> {
  const o: Partial<RunOptions> = {};
  const set = <K extends keyof RunOptions>(k: K, v: RunOptions[K] | undefined) => { if (v !== undefined) o[k] = v; };
  if (typeof f.hparams === 'string') Object.assign(o, readHparamsFile(f.hparams));
  set('steps', num(f, 'steps', { integer: true, min: 1 }));
  set('batch', num(f, 'batch', { integer: true, min: 1 }));
  set('seq_len', num(f, 'seq-len', { integer: true, min: 3 }));
  set('lr', num(f, 'lr', { above: 0 }));
  set('warmup', num(f, 'warmup', { integer: true, min: 0 }));
  set('min_lr_ratio', num(f, 'min-lr-ratio', { min: 0 }));
  set('seed', num(f, 'seed', { integer: true, min: 0 }));
  set('weight_decay', num(f, 'weight-decay', { min: 0 }));
  set('max_grad_norm', num(f, 'max-grad-norm', { above: 0 }));
  set('mtp_lambda', num(f, 'mtp-lambda', { min: 0 }));
  set('bias_gamma', num(f, 'bias-gamma', { min: 0 }));
  set('balance_alpha', num(f, 'balance-alpha', { min: 0 }));
  set('bias_gamma_min_ratio', num(f, 'bias-gamma-min-ratio', { min: 0 }));
  if (o.bias_gamma_min_ratio !== undefined && o.bias_gamma_min_ratio > 1) throw new EngineInputError(`--bias-gamma-min-ratio must be <= 1 (got ${o.bias_gamma_min_ratio})`);
  set('threads', num(f, 'threads', { integer: true, min: 1 }));
  if (o.threads !== undefined && o.threads > 2) throw new EngineInputError(`--threads must be 1 or 2 (got ${o.threads})`);
  if (f.balancing !== undefined) {
    if (!['bias', 'aux', 'none'].includes(f.balancing as string)) throw new EngineInputError(`--balancing must be bias, aux or none (got ${JSON.stringify(f.balancing)})`);
    o.balancing = f.balancing as RunOptions['balancing'];
  }
  if (f['bias-gamma-schedule'] !== undefined) {
    if (!['constant', 'cosine'].includes(f['bias-gamma-schedule'] as string)) throw new EngineInputError(`--bias-gamma-schedule must be constant or cosine (got ${JSON.stringify(f['bias-gamma-schedule'])})`);
    o.bias_gamma_schedule = f['bias-gamma-schedule'] as RunOptions['bias_gamma_schedule'];
  }
  if (o.min_lr_ratio !== undefined && o.min_lr_ratio > 1) throw new EngineInputError(`--min-lr-ratio must be <= 1 (got ${o.min_lr_ratio})`);
  return o;
}

/** Options a resumed run may change (the rest must match the saved run, or the run would not be the same run). */
const CHANGEABLE_ON_RESUME = new Set<keyof RunOptions>(['threads']);

const fmtTime = (s: number) => (!Number.isFinite(s) ? '?' : s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);
const fmtVio = (v: Record<string, number>) => Object.values(v).length ? Math.max(...Object.values(v)).toFixed(2) : '-';

/** Compact eval figures for logs. */
function evalLine(step: number, e: EvalResult, what: string) {
  return {
    type: 'eval', step, on: what, characters: e.characters, bits_per_char: e.bits_per_char,
    mtp_greedy_agreement: e.mtp_greedy_agreement, mtp_sampled_acceptance: e.mtp_sampled_acceptance, max_vio: e.max_vio,
  };
}

export async function trainCorpusCommand(args: string[]): Promise<void> {
  const f = parse(args, TRAIN_OPTIONS);
  const json = f.json === true;
  const given = optionsFromFlags(f);
  const evalEvery = num(f, 'eval-every', { integer: true, min: 0 }) ?? 100;
  const saveEvery = num(f, 'save-every', { integer: true, min: 0 }) ?? 100;
  const evalWindows = num(f, 'eval-windows', { integer: true, min: 1 }) ?? 64;
  // Stop (and save) after this step as if interrupted: a run in sessions, and the resume test.
  const stopAt = num(f, 'stop-at', { integer: true, min: 1 }) ?? Infinity;
  const resume = typeof f.resume === 'string' ? f.resume : null;
  const out = typeof f.out === 'string' ? f.out : resume;
  if (!out) throw new EngineInputError('--out DIR is required (where checkpoints and the log go)');
  if (!resume && typeof f.corpus !== 'string') throw new EngineInputError('--corpus NAME|FILE is required');
  if (!resume && typeof f.config !== 'string') throw new EngineInputError('--config CONFIG is required (or --resume DIR)');

  let config: DeepSeekConfig | null = null;
  let configJson: Record<string, unknown> | null = null;
  if (typeof f.config === 'string') {
    config = parseConfigText(readFileChecked(f.config, 'config file').toString('utf8'), { file: f.config });
    configJson = configToJson(config);
    if (config.vocab_size !== charTokenizer.vocab_size) {
      throw new EngineInputError(`${f.config}: "vocab_size" is ${config.vocab_size}, but the character tokenizer has ${charTokenizer.vocab_size} ids`);
    }
  }

  let state: TrainerState;
  let corpus: Corpus;
  if (resume) {
    const file = path.join(resume, TRAINER_STATE_FILE);
    const bytes = new Uint8Array(readFileChecked(file, 'trainer state (the folder is not a training run\'s output)'));
    const saved = trainerStateConfig(bytes, file);
    if (configJson) {
      const k = firstDifference(saved, configJson);
      if (k !== null) throw new EngineInputError(`${file}: config field "${k}" is ${JSON.stringify(saved[k])} in the saved run but ${JSON.stringify(configJson[k])} in ${f.config}: this run is from another config`);
    }
    config = parseConfigText(JSON.stringify(saved), { file });
    state = decodeTrainerState(bytes, file, config);
    for (const [k, v] of Object.entries(given) as [keyof RunOptions, unknown][]) {
      if (k === 'steps') continue; // a resumed run may be given more steps, but the schedule then differs from the saved run's
      if (CHANGEABLE_ON_RESUME.has(k)) { (state.options as unknown as Record<string, unknown>)[k] = v; continue; }
      if (JSON.stringify(state.options[k]) !== JSON.stringify(v)) {
        throw new EngineInputError(`${file}: "${k}" is ${JSON.stringify(state.options[k])} in the saved run but ${JSON.stringify(v)} was given`);
      }
    }
    if (given.steps !== undefined) state.options.steps = given.steps;
    corpus = loadCorpus(typeof f.corpus === 'string' ? f.corpus : state.options.corpus); // the saved run's unless given
    if (state.options.corpus_hash !== textHash(corpus.train) || state.options.corpus_chars !== corpus.train.length) {
      throw new EngineInputError(`${file}: "corpus" ${JSON.stringify(state.options.corpus)} (${state.options.corpus_chars} characters, hash ${state.options.corpus_hash}) is not the --corpus given (${corpus.train.length} characters, hash ${textHash(corpus.train)})`);
    }
  } else {
    if (given.steps === undefined) throw new EngineInputError('--steps N is required');
    corpus = loadCorpus(f.corpus as string);
    const options: RunOptions = {
      ...DEFAULTS, ...given, steps: given.steps,
      corpus: corpus.name, corpus_chars: corpus.train.length, corpus_hash: textHash(corpus.train),
    } as RunOptions;
    const params = paramsFromTensors(config!, initTensors(config!, { seed: options.seed, biasScale: 0 }));
    // The data order draws from its own stream (SavedRng mixes the seed differently from init's).
    state = { params, opt: createOptimizer(params), step: 0, rng: Array.from(SavedRng.fromSeed(options.seed).state), options };
  }
  const trainIds = Uint8Array.from(charTokenizer.encode(corpus.train));
  const valIds = Uint8Array.from(charTokenizer.encode(corpus.val));
  const o = state.options;
  const cfgFile = typeof f.config === 'string' ? f.config : path.join(resume!, TRAINER_STATE_FILE);
  if (o.seq_len > config!.max_position_embeddings) {
    throw new EngineInputError(`${cfgFile}: --seq-len ${o.seq_len} is past "max_position_embeddings" ${config!.max_position_embeddings}`);
  }
  if (trainIds.length < o.seq_len) throw new EngineInputError(`${corpus.trainFile}: ${trainIds.length} characters of training text, fewer than one row of --seq-len ${o.seq_len}`);
  if (valIds.length < 2) throw new EngineInputError(`${corpus.valFile ?? corpus.trainFile}: no held-out text to evaluate on`);

  const backend = await cliBackend(typeof f.backend === 'string' ? f.backend : undefined);
  const runner: GradientRunner = o.threads === 2 ? await twoThreadRunner(config!, typeof f.backend === 'string' ? f.backend : undefined) : localRunner(backend);
  const sampler = samplerOf(state, trainIds);
  mkdirSync(out, { recursive: true });
  const logFile = path.join(out, LOG_FILE);
  if (resume) keepLogUpTo(logFile, state.step);
  else writeAtomic(logFile, ''); // a new run starts a new log
  const emit = (rec: Record<string, unknown>) => {
    const line = JSON.stringify(rec);
    appendFileSync(logFile, line + '\n');
    if (json) process.stdout.write(line + '\n');
  };
  if (state.step === 0) emit({ type: 'start', config: configToJson(config!), options: o, train_characters: trainIds.length, val_characters: valIds.length });
  else emit({ type: 'resume', step: state.step, options: o });

  let interrupted = false, signalled = false;
  const onSigint = () => { interrupted = true; signalled = true; };
  process.on('SIGINT', onSigint);
  const tty = process.stderr.isTTY === true;
  let lastVal: EvalResult | null = null;
  let chars = 0, busy = 0;
  const startStep = state.step;
  const progress = (r: StepRecord) => {
    const cps = chars / Math.max(busy, 1e-9);
    const eta = ((o.steps - r.step) * o.batch * o.seq_len) / cps;
    const line = `step ${r.step}/${o.steps}  ${Math.round(cps)} chars/s  train ${r.bits_per_char.toFixed(3)} bpc  val ${lastVal ? lastVal.bits_per_char.toFixed(3) : '-'} bpc  MaxVio ${fmtVio(r.max_vio)}  MTP ${r.mtp_agreement === null ? '-' : r.mtp_agreement.toFixed(2)}  ETA ${fmtTime(eta)}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (r.step % 10 === 0 || r.step === o.steps) process.stderr.write(line + '\n');
  };
  const evaluate = () => {
    lastVal = evaluateState(state, valIds, evalWindows, backend);
    emit(evalLine(state.step, lastVal, `val (first ${evalWindows} windows)`));
  };
  try {
    if (state.step === 0 && evalEvery > 0) evaluate();
    while (state.step < o.steps && !interrupted) {
      const t0 = performance.now();
      const r = await trainStep(state, sampler, runner);
      busy += (performance.now() - t0) / 1000;
      chars += r.characters;
      emit({ type: 'step', ...r, chars_per_s: Math.round(chars / busy), run_seconds: Math.round(busy * 10) / 10 });
      progress(r);
      if (evalEvery > 0 && r.step % evalEvery === 0 && r.step < o.steps) evaluate();
      if (saveEvery > 0 && r.step % saveEvery === 0) saveCheckpoint(out, state);
      await new Promise((res) => setImmediate(res)); // let a Ctrl-C in
      if (state.step >= stopAt && state.step < o.steps) interrupted = true;
    }
    if (!interrupted) {
      const full = evaluateState(state, valIds, Infinity, backend);
      lastVal = full;
      emit({ ...evalLine(state.step, full, 'val (all)'), final: true });
    }
    saveCheckpoint(out, state);
    if (tty) process.stderr.write('\n');
    process.stderr.write(interrupted
      ? `interrupted: saved step ${state.step} to ${out} (continue with --resume ${out})\n`
      : `done: ${state.step} steps, ${state.step - startStep} in this run at ${Math.round(chars / Math.max(busy, 1e-9))} chars/s; val ${lastVal ? (lastVal as EvalResult).bits_per_char.toFixed(3) : '-'} bits/char; saved to ${out}\n`);
  } finally {
    process.off('SIGINT', onSigint);
    await runner.close();
  }
  if (signalled) process.exit(130); // 128 + SIGINT, after the state is saved
}

/** Drop log lines past the resumed step (a crash after the last save left steps that will be redone). */
function keepLogUpTo(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8').split('\n').filter((l) => {
    if (!l) return false;
    try {
      const r = JSON.parse(l) as { step?: number };
      return r.step === undefined || r.step <= step;
    } catch {
      return false;
    }
  });
  writeAtomic(file, kept.map((l) => l + '\n').join(''));
}

// ---- eval ----

const EVAL_OPTIONS = {
  model: { type: 'string' }, text: { type: 'string' }, contrast: { type: 'string' }, 'seq-len': { type: 'string' },
  'max-windows': { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' },
} as const;

/** config.json + model.safetensors (+ tokenizer.json, checked) of a model folder. */
export function loadModelFolder(dir: string, backendArg: Awaited<ReturnType<typeof cliBackend>>) {
  const configFile = path.join(dir, 'config.json'), weightsFile = path.join(dir, 'model.safetensors'), tokFile = path.join(dir, 'tokenizer.json');
  const model = loadModel(readFileChecked(configFile, 'config.json').toString('utf8'), new Uint8Array(readFileChecked(weightsFile, 'model.safetensors')), { configFile, weightsFile, backend: backendArg });
  const tokenizer = existsSync(tokFile) ? parseTokenizerJson(readFileSync(tokFile, 'utf8'), tokFile, model.config.vocab_size, configFile) : null;
  return { model, tokenizer };
}

/** `eval --model DIR --text FILE [--contrast FILE2] [--json]`. */
export async function evalCommand(args: string[]): Promise<void> {
  const f = parse(args, EVAL_OPTIONS);
  if (typeof f.model !== 'string') throw new EngineInputError('--model DIR is required');
  if (typeof f.text !== 'string') throw new EngineInputError('--text FILE is required');
  const backend = await cliBackend(typeof f.backend === 'string' ? f.backend : undefined);
  const { model } = loadModelFolder(f.model, backend);
  const seqLen = num(f, 'seq-len', { integer: true, min: 3 }) ?? Math.min(129, model.config.max_position_embeddings);
  if (seqLen > model.config.max_position_embeddings) throw new EngineInputError(`${path.join(f.model, 'config.json')}: --seq-len ${seqLen} is past "max_position_embeddings" ${model.config.max_position_embeddings}`);
  const maxWindows = num(f, 'max-windows', { integer: true, min: 1 }) ?? Infinity;
  const run = (file: string) => evaluateWindows(model, windows(charTokenizer.encode(readCorpusFile(file)), seqLen, maxWindows));
  const t0 = performance.now();
  const e = run(f.text);
  const result: Record<string, unknown> = { model: f.model, text: f.text, seq_len: seqLen, ...e };
  if (typeof f.contrast === 'string') {
    const c = run(f.contrast);
    result.contrast = { text: f.contrast, ...c, lift: expertLift(c.loads, e.loads) };
  }
  result.seconds = (performance.now() - t0) / 1000;
  const pct = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  process.stdout.write(f.json ? JSON.stringify(result) + '\n' : [
    `${f.text}: ${e.characters} characters, ${e.bits_per_char.toFixed(4)} bits/char`,
    `MTP greedy agreement ${pct(e.mtp_greedy_agreement)}, sampled acceptance ${pct(e.mtp_sampled_acceptance)}`,
    ...Object.entries(e.max_vio).map(([k, v]) => `${k}: MaxVio ${v.toFixed(3)}`),
  ].join('\n') + '\n');
}
