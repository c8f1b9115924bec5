// `train` on the command line. The golden mode (`--batch-file`) runs a few steps on one fixed batch
// exactly as tests/fixtures/golden/train/README.md defines them and writes the weights after, the
// step-1 gradients and a JSON line of every step's figures: the interface the golden test checks.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { cliBackend } from './backend.js';
import { EngineInputError, configToJson, describe, parseConfigText, readSafetensors, writeSafetensors } from '../engine/index.js';
import {
  type Balancing, type TrainHparams, type TrainParams, createOptimizer, optimizerStep, paramsFromTensors, paramsToTensors, rowsGradient,
} from '../engine/train/index.js';

export const TRAIN_USAGE = `  train     --model DIR --batch-file batch.json --hparams train.json --out OUT [--grads-out grads.safetensors] [--json]
            (golden mode: the same batch every step; train.json holds lr, betas, eps, weight_decay, max_grad_norm,
             mtp_lambda, balance_alpha, bias_gamma, steps and optionally balancing bias|aux|none)`;

const GOLDEN_OPTIONS = {
  model: { type: 'string' }, 'batch-file': { type: 'string' }, hparams: { type: 'string' }, out: { type: 'string' },
  'grads-out': { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' },
} as const;

function fail(message: string): never {
  throw new EngineInputError(message);
}

function readText(path: string, what: string): string {
  if (!existsSync(path)) fail(`${what} not found: ${path}`);
  if (statSync(path).isDirectory()) fail(`${what} is a directory, expected a file: ${path}`);
  return readFileSync(path, 'utf8');
}

function readJson(path: string, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(path, what));
  } catch (e) {
    if (e instanceof EngineInputError) throw e;
    fail(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${path}: must be a JSON object`);
  return raw as Record<string, unknown>;
}

/** Training hyper-parameters from a train.json object; each bad field is named with the file. */
export function parseHparams(raw: Record<string, unknown>, file: string): TrainHparams & { steps: number } {
  const num = (key: string, opts: { integer?: boolean; positive?: boolean; max?: number } = {}): number => {
    const v = raw[key];
    if (v === undefined) fail(`${file}: "${key}" is missing`);
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${file}: "${key}" must be a finite number (got ${describe(v)})`);
    if (opts.integer && !Number.isInteger(v)) fail(`${file}: "${key}" must be an integer (got ${v})`);
    if (v < 0 || (opts.positive && v === 0)) fail(`${file}: "${key}" must be ${opts.positive ? '> 0' : '>= 0'} (got ${v})`);
    if (opts.max !== undefined && v >= opts.max) fail(`${file}: "${key}" must be < ${opts.max} (got ${v})`);
    return v;
  };
  const betas = raw.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))) {
    fail(`${file}: "betas" must be two numbers in [0, 1) (got ${describe(betas)})`);
  }
  const balancing = raw.balancing ?? 'bias';
  if (balancing !== 'bias' && balancing !== 'aux' && balancing !== 'none') fail(`${file}: "balancing" must be "bias", "aux" or "none" (got ${describe(balancing)})`);
  return {
    lr: num('lr'), betas: [betas[0], betas[1]], eps: num('eps', { positive: true }), weight_decay: num('weight_decay'),
    max_grad_norm: num('max_grad_norm', { positive: true }), mtp_lambda: num('mtp_lambda'), balance_alpha: num('balance_alpha'),
    bias_gamma: num('bias_gamma'), balancing: balancing as Balancing, steps: num('steps', { integer: true }),
  };
}

/** batch.json's rows, checked against the vocabulary (same length, ids in range). */
function readBatch(path: string, p: TrainParams): number[][] {
  const raw = readJson(path, 'batch file');
  const rows = raw.input_ids;
  if (!Array.isArray(rows) || rows.length === 0) fail(`${path}: "input_ids" must be a non-empty array of rows of token ids`);
  const V = p.config.vocab_size;
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) fail(`${path}: input_ids[${r}] must be an array of token ids`);
    if (row.length !== rows[0].length) fail(`${path}: input_ids[${r}] has ${row.length} tokens but input_ids[0] has ${rows[0].length}: every row must be the same length`);
    row.forEach((t: unknown, i: number) => {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= V) {
        fail(`${path}: input_ids[${r}][${i}] = ${describe(t)} is not a token id in 0..${V - 1} (the model's vocab_size is ${V})`);
      }
    });
  });
  const min = p.config.num_nextn_predict_layers + 2;
  if (rows[0].length < min) fail(`${path}: input_ids rows have ${rows[0].length} tokens; training needs at least ${min}`);
  return rows as number[][];
}

/** config.json + model.safetensors of a model folder as trainable params. */
export function loadParams(dir: string): TrainParams {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`--model must be a folder holding config.json and model.safetensors (got ${dir})`);
  const configFile = join(dir, 'config.json'), weightsFile = join(dir, 'model.safetensors');
  const config = parseConfigText(readText(configFile, 'config.json'), { file: configFile });
  if (!existsSync(weightsFile)) fail(`model.safetensors not found: ${weightsFile}`);
  const { tensors } = readSafetensors(new Uint8Array(readFileSync(weightsFile)), weightsFile);
  return paramsFromTensors(config, tensors, weightsFile);
}

/** Write config.json + model.safetensors (every tensor, biases and MTP copies included). */
export function saveParams(dir: string, p: TrainParams): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToJson(p.config), null, 2) + '\n');
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(paramsToTensors(p)));
}

/** The products' backend: the fastest (WebAssembly SIMD, else the tuned loop) unless named. */
export interface GoldenStep {
  step: number; loss: number; main: number; mtp: number; balance: number; grad_norm: number; loads: Record<string, number[]>;
}

/** The golden mode: `steps` updates on the same batch at the constant lr of train.json. */
export async function trainGolden(args: string[]): Promise<void> {
  let flags: ReturnType<typeof parseArgs<{ options: typeof GOLDEN_OPTIONS }>>['values'];
  try {
    flags = parseArgs({ args, options: GOLDEN_OPTIONS, strict: true }).values;
  } catch (e) {
    fail(`train: ${(e as Error).message} (see --help)`);
  }
  const need = (k: keyof typeof flags): string => {
    const v = flags[k];
    if (typeof v !== 'string' || v === '') fail(`train: --${k} is required (see --help)`);
    return v;
  };
  const p = loadParams(need('model'));
  const rows = readBatch(need('batch-file'), p);
  const hpFile = need('hparams');
  const hp = parseHparams(readJson(hpFile, 'hparams file'), hpFile);
  const out = need('out');
  const backend = await cliBackend(flags.backend, { only: ['fastest', 'loop', 'reference', 'auto'], what: 'training' });
  const state = createOptimizer(p);
  const steps: GoldenStep[] = [];
  for (let s = 1; s <= hp.steps; s++) {
    const g = rowsGradient(p, rows, hp, backend);
    const R = g.rows;
    for (let i = 0; i < g.grads.length; i++) g.grads[i] /= R;
    if (s === 1 && flags['grads-out']) {
      const tensors = new Map(p.names.map((n) => [n, { shape: p.shapes[n], data: g.grads.subarray(p.offsets[n], p.offsets[n] + p.shapes[n].reduce((a, b) => a * b, 1)) }]));
      mkdirSync(dirname(flags['grads-out']), { recursive: true });
      writeFileSync(flags['grads-out'], writeSafetensors(tensors));
    }
    const { grad_norm } = optimizerStep(p, state, g.grads, g.loads, hp, hp.lr);
    steps.push({ step: s, loss: g.loss / R, main: g.main / R, mtp: g.mtp / R, balance: g.balance / R, grad_norm, loads: g.loads });
    if (!flags.json) process.stderr.write(`step ${s}: loss ${(g.loss / R).toFixed(6)} grad_norm ${grad_norm.toFixed(6)}\n`);
  }
  saveParams(out, p);
  process.stdout.write(flags.json ? JSON.stringify({ steps }) + '\n' : `wrote ${join(out, 'model.safetensors')} after ${hp.steps} steps\n`);
}

/** `train ...`: the golden mode when --batch-file is given. */
export async function runTrain(args: string[]): Promise<void> {
  if (args.some((a) => a === '--batch-file' || a.startsWith('--batch-file='))) return trainGolden(args);
  if (args.some((a) => /^--(corpus|resume)(=|$)/.test(a))) return (await import('./train-corpus.js')).trainCorpusCommand(args);
  fail(`train: give --batch-file (golden mode) or --corpus (corpus mode)\n\n${TRAIN_USAGE}`);
}
