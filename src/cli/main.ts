// The engine on the command line (`npm run -s engine -- COMMAND ...`). JSON on stdout with --json;
// errors on stderr. Bad input (config, checkpoint, token ids, options) exits with code 2.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '../../kernels/backend.js';
import {
  ATTENTION_PATHS, type AttentionPath, type DecodeMode, type Drafter, EngineInputError, type Model, ModelDrafter, MtpDrafter,
  type CharTokenizer, type SamplingOptions, argmaxRow, configToJson, decodeCost, describe, escapeControls, formatBytes, generate, initTensors,
  kvCacheTable, loadModel, maxSequenceTokens, parseConfigText, parseTokenizerJson, parseModelConfig, quote, speculate, writeSafetensors,
} from '../engine/index.js';
import { TRAIN_USAGE, runTrain } from './train.js';
import { CONVERT_USAGE, readModelDir, runConvert } from './convert.js';
import { readCheckpointBytes, readTextFile } from './files.js';
import { cliBackend } from './backend.js';
import { bundleTokenizer, isBundleFile, loadModelBundle } from './bundle-file.js';

/** A mistake in how the command was called. */
class UsageError extends EngineInputError {}

const USAGE = `nanoseek engine

  forward   --model DIR (--input input.json | --prompt TEXT) [--json]
  generate  --model DIR (--input input.json | --prompt TEXT) --max-new-tokens N (--greedy | --temperature T --seed S [--top-k K] [--top-p P])
            [--attention absorbed|decompressed|full-cache|recompute] [--json]
  speculate --model DIR (--input input.json | --prompt TEXT) --max-new-tokens N --draft mtp|DRAFT_DIR [--gamma K]
            (--greedy | --temperature T --seed S) [--trace] [--json]
            (with --accept exact|greedy|typical, --tree N|a,b,c or --draft medusa|none: token-tree speculation,
             see medusa-train and src/cli/medusa.ts: --epsilon 0.09 --delta 0.3, reports tokens per step,
             acceptance per depth and wall time)
  medusa-train --model DIR [--heads 3 --steps 600 --batch 256 --lr 1e-3 --rows 400 --corpus stories --out FILE --log FILE]
  kv-table  --config config.json --context N [--bytes-per-element B] [--gqa-groups 8,16] [--json]
  cost      --config config.json --context N [--json]      (cache bytes and attention FLOPs per decode step, per path)
  init      --config config.json --seed S --out DIR
${TRAIN_USAGE}
  train     --config CONFIG --corpus NAME|FILE --out DIR --steps N [--batch 16 --seq-len 129 --lr 3e-3 --warmup 50
            --min-lr-ratio 0.1 --bias-gamma 1e-3 --bias-gamma-schedule constant|cosine --bias-gamma-min-ratio R
            --balancing bias|aux|none --balance-alpha 0 --seed 1 --eval-every 100 --eval-windows 64 --save-every 100 --threads 1|2 --hparams train.json
            --stop-at K --json]   or   train --resume DIR [--corpus NAME|FILE] [--steps N]
            (corpus mode: NAME is static/data/NAME/{train,val}.txt, e.g. stories; a FILE is split by lines, every 10th
             chunk of 20 held out; DIR gets config.json, model.safetensors, tokenizer.json, trainer-state.safetensors,
             train-log.jsonl; Ctrl-C saves, --resume continues bit for bit)
  eval      --model DIR --text FILE [--contrast FILE2] [--seq-len 129] [--max-windows N] [--json]
            (bits per character, MTP greedy agreement and sampled acceptance, MaxVio per MoE layer; --contrast: each
             expert's lift P(expert | FILE2) / P(expert | FILE))
  balance   --model DIR --out DIR [--corpus stories --steps 600 --gamma 3e-4 --batch 16 --seq-len 129 --seed 1 --json]
            (the trained weights frozen, the bias update alone on seeded training batches, so each MoE layer's
             e_score_correction_bias settles near an even load; writes DIR with only those biases changed)
${CONVERT_USAGE}

  --backend reference|auto|NAME  compute backend (default: WebAssembly SIMD; auto measures and picks per op)
DIR holds config.json and model.safetensors (or is one .tar holding them, as the training lesson downloads); input.json is {"input_ids": [...]}. --prompt needs DIR/tokenizer.json
(a trained model's); with one, the output has text beside the ids.
Limits: a prompt plus --max-new-tokens (plus --gamma) within the model's max_position_embeddings;
--gamma at most ${'$'}{MAX_GAMMA}; weights at most 1 GiB of float32; config and input files at most 16 MiB.`;

/** The most tokens one speculative step drafts (each costs a drafter pass). */
const MAX_GAMMA = 64;
/** The longest context the kv-table and cost tables price (arithmetic only; a billion tokens). */
const MAX_TABLE_CONTEXT = 1e9;

const OPTIONS = {
  model: { type: 'string' }, input: { type: 'string' }, config: { type: 'string' }, out: { type: 'string' },
  prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' }, greedy: { type: 'boolean' }, temperature: { type: 'string' },
  seed: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' }, attention: { type: 'string' },
  draft: { type: 'string' }, gamma: { type: 'string' }, context: { type: 'string' },
  'bytes-per-element': { type: 'string' }, 'gqa-groups': { type: 'string' }, backend: { type: 'string' },
  json: { type: 'boolean' }, trace: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function need(flags: Flags, name: keyof Flags): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${String(name)} is required`);
  return v;
}

function numberFlag(flags: Flags, name: keyof Flags, opts: { integer?: boolean; min?: number; max?: number; fallback?: number }): number {
  const raw = flags[name];
  if (raw === undefined) {
    if (opts.fallback !== undefined) return opts.fallback;
    throw new UsageError(`--${String(name)} is required`);
  }
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) {
    throw new UsageError(`--${String(name)} must be ${opts.integer ? 'an integer' : 'a number'} (got ${describe(raw)})`);
  }
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${String(name)} must be >= ${opts.min} (got ${v})`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${String(name)} must be <= ${opts.max} (got ${v})`);
  return v;
}

const readText = readTextFile;

const makeBackend = cliBackend; // src/cli/backend.ts

async function loadModelDir(dir: string, backend: Backend): Promise<Model> {
  if (isBundleFile(dir)) return loadModelBundle(dir, backend);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(`--model must be a folder holding config.json and model.safetensors (got a file: ${escapeControls(dir)})`);
  }
  // DeepSeek's shipped layout: shards listed by model.safetensors.index.json (src/cli/convert.ts reads them)
  if (existsSync(join(dir, 'model.safetensors.index.json'))) return readModelDir(dir).model.withBackend(backend);
  const configFile = join(dir, 'config.json'), weightsFile = join(dir, 'model.safetensors');
  const configText = readText(configFile, 'config.json');
  // The weights are read only once the config is known to fit (loadModel calls this after checking it).
  return loadModel(configText, () => readCheckpointBytes(weightsFile, 'model.safetensors'), { configFile, weightsFile, backend });
}

/** The prompt of input.json, checked against the model's vocabulary. */
function readInputIds(pathArg: string, model: Model): number[] {
  const text = readText(pathArg, 'input file');
  const path = escapeControls(pathArg);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EngineInputError(`${path}: not valid JSON: ${escapeControls(String((e as Error).message)).slice(0, 200)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EngineInputError(`${path}: must be a JSON object {"input_ids": [...]}`);
  }
  const ids = (raw as { input_ids?: unknown }).input_ids;
  if (!Array.isArray(ids)) throw new EngineInputError(`${path}: "input_ids" must be an array of token ids`);
  if (ids.length === 0) throw new EngineInputError(`${path}: "input_ids" is empty: give at least one token id`);
  const limit = maxSequenceTokens(model.config);
  if (ids.length > limit) {
    throw new EngineInputError(`${path}: "input_ids" holds ${ids.length} tokens, more than the ${limit} positions this model runs (max_position_embeddings ${model.config.max_position_embeddings})`);
  }
  ids.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t)) throw new EngineInputError(`${path}: input_ids[${i}] = ${describe(t)} is not an integer token id`);
  });
  const V = model.config.vocab_size;
  ids.forEach((t: number, i) => {
    if (t < 0 || t >= V) throw new EngineInputError(`${path}: input_ids[${i}] = ${t} is not a token id in 0..${V - 1} (the model's vocab_size is ${V})`);
  });
  return ids as number[];
}

/** The model folder's tokenizer.json (checked against the config's vocab_size), or null when it has none. */
function readTokenizer(dir: string, model: Model): CharTokenizer | null {
  if (isBundleFile(dir)) return bundleTokenizer(dir, model);
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) return null;
  return parseTokenizerJson(readText(file, 'tokenizer.json'), escapeControls(file), model.config.vocab_size, escapeControls(join(dir, 'config.json')));
}

/** The prompt's ids: input.json, or --prompt TEXT through the model's tokenizer. */
function promptIds(flags: Flags, model: Model, tokenizer: CharTokenizer | null, dir: string): number[] {
  if (flags.prompt === undefined) return readInputIds(need(flags, 'input'), model);
  if (flags.input !== undefined) throw new UsageError('give either --input or --prompt, not both');
  if (!tokenizer) throw new UsageError(`${escapeControls(join(dir, 'tokenizer.json'))} not found: --prompt needs a model with a tokenizer (or give --input input.json)`);
  const ids = tokenizer.encode(flags.prompt);
  if (ids.length === 0) throw new UsageError('--prompt is empty: give at least one character');
  const limit = maxSequenceTokens(model.config);
  if (ids.length > limit) throw new UsageError(`--prompt is ${ids.length} tokens, more than the ${limit} positions this model runs (max_position_embeddings ${model.config.max_position_embeddings})`);
  return ids;
}

/** Refuse a run that would reach past the positions the model runs, before any work. */
function checkRunLength(model: Model, prompt: number, maxNewTokens: number, gamma = 0): void {
  const limit = maxSequenceTokens(model.config);
  const total = prompt + maxNewTokens + gamma;
  if (total > limit) {
    const parts = `${prompt} prompt tokens + --max-new-tokens ${maxNewTokens}${gamma ? ` + --gamma ${gamma}` : ''}`;
    throw new UsageError(`${parts} = ${total} positions, more than the ${limit} this model runs (max_position_embeddings ${model.config.max_position_embeddings})`);
  }
}

function samplingFrom(flags: Flags): { sampling: SamplingOptions; seed: number } {
  if (flags.greedy) {
    if (flags.temperature !== undefined) throw new UsageError('give either --greedy or --temperature, not both');
    return { sampling: { temperature: 0 }, seed: 0 };
  }
  if (flags.temperature === undefined) throw new UsageError('give --greedy, or --temperature T with --seed S');
  const temperature = numberFlag(flags, 'temperature', { min: 0 });
  const seed = numberFlag(flags, 'seed', { integer: true });
  const topK = numberFlag(flags, 'top-k', { integer: true, min: 0, fallback: 0 });
  const topP = numberFlag(flags, 'top-p', { fallback: 1 });
  if (!(topP > 0 && topP <= 1)) throw new UsageError(`--top-p must be in (0, 1] (got ${topP})`);
  return { sampling: { temperature, topK, topP }, seed };
}

function rows(x: Float32Array, n: number, cols: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * cols, (i + 1) * cols)));
}

const print = (json: boolean, value: unknown, text: () => string) => {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text() + '\n');
};

/** The longest error line printed (the parts quoted from files are already bounded). */
const MAX_ERROR_CHARS = 2000;

/** Exit once everything written to stdout and stderr has been handed to the OS: process.exit
 *  right after a large write to a pipe would cut it (81,920 of 309,402 bytes reached `wc -c`). */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

/** One line on stderr: control characters escaped (a file's text cannot forge lines), bounded. */
function printError(prefix: string, message: string): void {
  const line = escapeControls(message);
  process.stderr.write(`${prefix}${line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS)}... (cut)` : line}\n`);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (command === 'train') return runTrain(rest); // src/cli/train.ts parses its own flags
  if (command === 'convert') return runConvert(rest); // src/cli/convert.ts
  if (command === 'eval') return (await import('./train-corpus.js')).evalCommand(rest); // src/cli/train-corpus.ts
  if (command === 'balance') return (await import('./balance.js')).balanceCommand(rest); // src/cli/balance.ts
  if (command === 'medusa-train') return (await import('./medusa.js')).medusaTrainCommand(rest); // src/cli/medusa.ts
  // Token trees, Medusa and acceptance rules: src/cli/medusa.ts (plain chain speculation stays below)
  if (command === 'speculate' && rest.some((a) => a === '--accept' || a === '--tree' || a === 'medusa' || a === 'none')) return (await import('./medusa.js')).treeSpeculateCommand(rest);
  let flags: Flags;
  try {
    const parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
    if (parsed.positionals.length > 0) throw new Error(`unexpected argument ${quote(parsed.positionals[0]!)}`);
    flags = parsed.values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see --help)`);
  }
  const json = flags.json ?? false;

  switch (command) {
    case 'forward': {
      const model = await loadModelDir(need(flags, 'model'), await makeBackend(flags.backend));
      const tokenizer = readTokenizer(need(flags, 'model'), model);
      const ids = promptIds(flags, model, tokenizer, need(flags, 'model'));
      const cfg = model.config, V = cfg.vocab_size, T = ids.length;
      const out = model.forward(ids);
      const routing = Object.fromEntries(Object.entries(out.routing).map(([k, r]) => [k, { experts: r.experts, weights: r.weights, groups: r.groups }]));
      const result: Record<string, unknown> = { logits: rows(out.logits, T, V), routing };
      if (model.weights.mtp.length > 0) {
        // Row i reads t_{i+1}; the last row reads the first greedy token.
        const next = [...ids.slice(1), argmaxRow(out.logits, T - 1, V)];
        const mtp = model.mtpForward(0, out.hidden, next);
        result.mtp = {
          input_next_tokens: next,
          logits: rows(mtp.logits, T, V),
          routing: mtp.routing ? { experts: mtp.routing.experts, weights: mtp.routing.weights, groups: mtp.routing.groups } : null,
        };
      }
      if (tokenizer) {
        result.input_ids = ids;
        result.text = tokenizer.decode(ids);
        result.argmax_text = tokenizer.decode(ids.map((_, i) => argmaxRow(out.logits, i, V)));
      }
      const show = (t: number) => (tokenizer ? `${t} ${JSON.stringify(tokenizer.tokenText(t))}` : String(t));
      print(json, result, () => ids.map((t, i) => `position ${i} token ${show(t)}: argmax ${show(argmaxRow(out.logits, i, V))}`).join('\n'));
      return;
    }
    case 'generate': {
      const model = await loadModelDir(need(flags, 'model'), await makeBackend(flags.backend));
      const tokenizer = readTokenizer(need(flags, 'model'), model);
      const ids = promptIds(flags, model, tokenizer, need(flags, 'model'));
      const maxNewTokens = numberFlag(flags, 'max-new-tokens', { integer: true, min: 0 });
      const { sampling, seed } = samplingFrom(flags);
      const attention = (flags.attention ?? 'absorbed') as DecodeMode;
      if (![...ATTENTION_PATHS, 'recompute'].includes(attention)) {
        throw new UsageError(`--attention must be one of ${[...ATTENTION_PATHS, 'recompute'].join(', ')} (got ${quote(attention)})`);
      }
      checkRunLength(model, ids.length, maxNewTokens);
      const out = generate(model, ids, { maxNewTokens, sampling, seed, attention });
      print(json, { tokens: out.tokens, cache_bytes: out.steps.map((s) => s.cacheBytes), ...(tokenizer ? { prompt_ids: ids, prompt: tokenizer.decode(ids), text: tokenizer.decode(out.tokens) } : {}) },
        () => (tokenizer ? `${out.tokens.join(' ')}\n${tokenizer.decode(ids)}${tokenizer.decode(out.tokens)}` : out.tokens.join(' ')));
      return;
    }
    case 'speculate': {
      const backend = await makeBackend(flags.backend);
      const model = await loadModelDir(need(flags, 'model'), backend);
      const tokenizer = readTokenizer(need(flags, 'model'), model);
      const ids = promptIds(flags, model, tokenizer, need(flags, 'model'));
      const maxNewTokens = numberFlag(flags, 'max-new-tokens', { integer: true, min: 0 });
      const { sampling, seed } = samplingFrom(flags);
      const draft = need(flags, 'draft');
      const attention = (flags.attention ?? 'absorbed') as AttentionPath;
      if (!ATTENTION_PATHS.includes(attention)) throw new UsageError(`--attention must be one of ${ATTENTION_PATHS.join(', ')} (got ${quote(attention)})`);
      const modelDir = need(flags, 'model');
      if (draft === 'mtp' && model.weights.mtp.length === 0) {
        throw new UsageError(`${join(modelDir, 'config.json')}: "num_nextn_predict_layers" is 0, so this model has no MTP module to draft with: pass --draft DRAFT_DIR (a smaller model) instead`);
      }
      const drafter: Drafter = draft === 'mtp'
        ? new MtpDrafter(model, attention)
        : new ModelDrafter(await loadModelDir(draft, backend), model, attention, draft);
      const gamma = numberFlag(flags, 'gamma', { integer: true, min: 1, fallback: draft === 'mtp' ? 1 : 4 });
      if (gamma > MAX_GAMMA) throw new UsageError(`--gamma must be <= ${MAX_GAMMA} (got ${gamma})`);
      checkRunLength(model, ids.length, maxNewTokens, gamma);
      const out = speculate(model, ids, { maxNewTokens, gamma, drafter, sampling, seed, attention, trace: flags.trace });
      const steps = out.steps.map((s) => ({
        proposed: s.proposed, accepted: s.accepted, emitted: s.emitted, last: s.last,
        ...(s.decisions ? { decisions: s.decisions } : {}),
      }));
      print(json, { tokens: out.tokens, steps, acceptance_rate: out.acceptanceRate, target_passes: out.targetPasses, ...(tokenizer ? { prompt_ids: ids, prompt: tokenizer.decode(ids), text: tokenizer.decode(out.tokens) } : {}) },
        () => `${out.tokens.join(' ')}\n${tokenizer ? tokenizer.decode(ids) + tokenizer.decode(out.tokens) + '\n' : ''}accepted ${out.accepted}/${out.proposed} drafts (${(100 * out.acceptanceRate).toFixed(1)}%) in ${out.targetPasses} target passes`);
      return;
    }
    case 'kv-table': {
      const file = need(flags, 'config');
      const cfg = parseConfigText(readText(file, 'config'), { file, allowRopeScaling: true });
      const context = numberFlag(flags, 'context', { integer: true, min: 0, max: MAX_TABLE_CONTEXT });
      const bytesPerElement = numberFlag(flags, 'bytes-per-element', { min: 0, max: 64, fallback: 2 });
      const gqaGroups = flags['gqa-groups'] === undefined ? undefined : flags['gqa-groups'].split(',').map((g) => {
        const v = Number(g);
        if (!Number.isInteger(v) || v < 1) throw new UsageError(`--gqa-groups must be a comma-separated list of positive integers (got ${quote(flags['gqa-groups']!)})`);
        return v;
      });
      const table = kvCacheTable(cfg, { context, bytesPerElement, gqaGroups });
      print(json, { config: file, context, bytes_per_element: bytesPerElement, rows: table }, () => [
        `KV cache at ${context} tokens, ${bytesPerElement} bytes per number, ${table[0]?.layers ?? 0} layers (${file})`,
        ...table.map((r) => `${r.scheme.padEnd(7)} ${String(r.elementsPerTokenPerLayer).padStart(7)} per token per layer   ${formatBytes(r.totalBytes).padStart(12)}   ${r.ratioToMla.toFixed(1)}x MLA`),
      ].join('\n'));
      return;
    }
    case 'cost': {
      const file = need(flags, 'config');
      const cfg = parseConfigText(readText(file, 'config'), { file, allowRopeScaling: true });
      const context = numberFlag(flags, 'context', { integer: true, min: 1, max: MAX_TABLE_CONTEXT });
      const costs = ATTENTION_PATHS.map((p) => decodeCost(cfg, p, context));
      print(json, { config: file, context, paths: costs }, () => costs.map((c) =>
        `${c.path.padEnd(13)} cache ${formatBytes(c.cacheBytes).padStart(10)}   attention ${(c.attentionFlops / 1e6).toFixed(2)} MFLOP per step`).join('\n'));
      return;
    }
    case 'init': {
      const file = need(flags, 'config');
      const text = readText(file, 'config');
      const cfg = parseModelConfig(text, file);
      const seed = numberFlag(flags, 'seed', { integer: true });
      const dir = need(flags, 'out');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(configToJson(cfg), null, 2) + '\n');
      writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(initTensors(cfg, { seed })));
      print(json, { out: dir, seed }, () => `wrote ${dir}/config.json and ${dir}/model.safetensors (seed ${seed})`);
      return;
    }
    default:
      throw new UsageError(`unknown command ${quote(command)} (see --help)`);
  }
}

/** A file-system failure (EACCES, ENOSPC, ENOTDIR, ...) is about the input, not a bug. */
function isFileSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

// A reader that closes the pipe early (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 2));

run(process.argv.slice(2)).then(
  () => exitAfterFlush(0),
  (e: unknown) => {
    if (e instanceof EngineInputError) {
      printError('error: ', e.message);
      exitAfterFlush(2);
    } else if (isFileSystemError(e)) {
      printError('error: ', e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`);
      exitAfterFlush(2);
    } else {
      // A bug, not bad input: still one line; NANOSEEK_DEBUG=1 prints the stack.
      const err = e instanceof Error ? e : new Error(String(e));
      if (process.env.NANOSEEK_DEBUG) process.stderr.write(`${err.stack}\n`);
      else printError('internal error: ', `${err.name}: ${err.message} (NANOSEEK_DEBUG=1 shows where)`);
      exitAfterFlush(1);
    }
  },
);
