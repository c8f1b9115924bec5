// `medusa-train`: fit Medusa heads on a model with its trunk frozen; `speculate` with a tree or an
// acceptance rule: token-tree speculation (src/engine/tree-speculate.ts) with an MTP chain, Medusa
// heads, a draft model or no drafter, reporting tokens per verification step, acceptance per depth
// and wall time.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '../../kernels/backend.js';
import { EngineInputError, type Model, loadModel, parseTokenizerJson, readSafetensors, writeSafetensors } from '../engine/index.js';
import { type MedusaHeads, MedusaDrafter, createMedusaHeads, medusaFromTensors, medusaToTensors, parseTreeSpec } from '../engine/medusa.js';
import { collectHeadData, medusaLoss, topAccuracy, trainMedusaHeads } from '../engine/medusa-train.js';
import { ModelDrafter, MtpDrafter } from '../engine/speculate.js';
import { SavedRng, windows } from '../engine/train/data.js';
import { ChainTreeDrafter, NoDrafter, type TreeDrafter, checkRule, speculateTree } from '../engine/tree-speculate.js';
import { readCheckpointBytes, readTextFile } from './files.js';
import { cliBackend } from './backend.js';

const backendOf = cliBackend; // src/cli/backend.ts

function loadDir(dir: string, backend: Backend): Model {
  const configFile = join(dir, 'config.json'), weightsFile = join(dir, 'model.safetensors');
  return loadModel(readTextFile(configFile, 'config.json'), () => readCheckpointBytes(weightsFile, 'model.safetensors'), { configFile, weightsFile, backend });
}

function num(v: string | undefined, name: string, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x)) || x < 0) throw new EngineInputError(`--${name} must be a ${integer ? 'non-negative integer' : 'non-negative number'} (got ${JSON.stringify(v)})`);
  return x;
}

export function loadMedusa(file: string, model: Model): MedusaHeads {
  const f = readSafetensors(readCheckpointBytes(file, 'medusa.safetensors'), file);
  return medusaFromTensors(f.tensors, model.config.hidden_size, file);
}

/** medusa-train --model DIR [--heads 3 --steps 600 --batch 256 --lr 1e-3 --rows 400 --seq-len 129 --corpus stories --out FILE --log FILE] */
export async function medusaTrainCommand(args: string[]): Promise<void> {
  const { values: f } = parseArgs({ args, strict: true, options: {
    model: { type: 'string' }, heads: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
    rows: { type: 'string' }, 'seq-len': { type: 'string' }, corpus: { type: 'string' }, out: { type: 'string' }, log: { type: 'string' },
    seed: { type: 'string' }, backend: { type: 'string' },
  } });
  if (!f.model) throw new EngineInputError('--model DIR is required');
  const model = loadDir(f.model, await backendOf(f.backend));
  const tok = parseTokenizerJson(readTextFile(join(f.model, 'tokenizer.json'), 'tokenizer.json'), join(f.model, 'tokenizer.json'), model.config.vocab_size);
  const K = num(f.heads, 'heads', 3, true), steps = num(f.steps, 'steps', 600, true), batch = num(f.batch, 'batch', 256, true);
  const lr = num(f.lr, 'lr', 1e-3), nRows = num(f.rows, 'rows', 400, true), seqLen = num(f['seq-len'], 'seq-len', 129, true);
  const seed = num(f.seed, 'seed', 1, true);
  const corpus = f.corpus ?? 'stories';
  const dataDir = join('static', 'data', corpus);
  const trainText = readTextFile(join(dataDir, 'train.txt'), 'corpus train.txt', 64 * 2 ** 20);
  const valText = readTextFile(join(dataDir, 'val.txt'), 'corpus val.txt', 64 * 2 ** 20);
  const out = f.out ?? join(f.model, 'medusa.safetensors');
  const log = (line: string) => { process.stdout.write(line + '\n'); if (f.log) appendFileSync(f.log, line + '\n'); };
  const t0 = performance.now();
  // Random windows of the training text (seeded), and the first windows of the held-out text.
  // As the model was trained: every 10th row from the arithmetic drills when the corpus has them.
  const arithFile = join(dataDir, 'arith.txt');
  const arith = existsSync(arithFile) ? tok.encode(readTextFile(arithFile, 'corpus arith.txt')) : [];
  const ids = tok.encode(trainText), rng = SavedRng.fromSeed(seed);
  const rows = Array.from({ length: nRows }, (_, r) => {
    const src = arith.length > seqLen && r % 10 === 9 ? arith : ids;
    const s = rng.below(src.length - seqLen);
    return src.slice(s, s + seqLen);
  });
  const train = collectHeadData(model, rows, K);
  const val = collectHeadData(model, windows(tok.encode(valText), seqLen, Math.max(20, Math.round(nRows / 8))), K);
  log(`trunk states: ${train.count} train, ${val.count} held-out positions (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const heads = createMedusaHeads(K, model.config.hidden_size);
  log(`held-out CE per head before (= lm_head): ${medusaLoss(model, heads, val).map((x) => x.toFixed(3)).join(' ')}`);
  trainMedusaHeads(model, heads, train, { steps, batch, lr, seed, logEvery: 50, log: (s, l) => log(`step ${s} train CE ${l.map((x) => x.toFixed(3)).join(' ')}`) });
  log(`held-out CE per head after: ${medusaLoss(model, heads, val).map((x) => x.toFixed(3)).join(' ')}`);
  heads.accuracy = topAccuracy(model, heads, val, 10);
  log(`held-out top-1 accuracy per head: ${heads.accuracy.map((a) => a[0].toFixed(3)).join(' ')}; top-5: ${heads.accuracy.map((a) => a.slice(0, 5).reduce((x, y) => x + y, 0).toFixed(3)).join(' ')}`);
  writeFileSync(out, writeSafetensors(medusaToTensors(heads), { format: 'pt', medusa_num_heads: String(K), medusa_num_layers: '1' }));
  log(`wrote ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** speculate --model DIR --prompt TEXT --max-new-tokens N --draft mtp|medusa|none|DRAFT_DIR [--tree SPEC --gamma K --accept exact|greedy|typical --epsilon E --delta D --temperature T --seed S --medusa FILE --json] */
export async function treeSpeculateCommand(args: string[]): Promise<void> {
  const { values: f } = parseArgs({ args, strict: true, options: {
    model: { type: 'string' }, prompt: { type: 'string' }, input: { type: 'string' }, 'max-new-tokens': { type: 'string' }, draft: { type: 'string' },
    tree: { type: 'string' }, gamma: { type: 'string' }, accept: { type: 'string' }, epsilon: { type: 'string' }, delta: { type: 'string' },
    temperature: { type: 'string' }, greedy: { type: 'boolean' }, seed: { type: 'string' }, medusa: { type: 'string' }, json: { type: 'boolean' },
    backend: { type: 'string' }, attention: { type: 'string' }, trace: { type: 'boolean' },
  } });
  if (!f.model) throw new EngineInputError('--model DIR is required');
  if (f.attention !== undefined && f.attention !== 'absorbed') throw new EngineInputError('--attention: tree verification runs on the absorbed cache only');
  const model = loadDir(f.model, await backendOf(f.backend));
  let ids: number[];
  if (f.prompt !== undefined) {
    const tok = parseTokenizerJson(readTextFile(join(f.model, 'tokenizer.json'), 'tokenizer.json'), join(f.model, 'tokenizer.json'), model.config.vocab_size);
    ids = tok.encode(f.prompt);
  } else if (f.input !== undefined) {
    const raw = JSON.parse(readTextFile(f.input, 'input file')) as { input_ids?: unknown };
    if (!Array.isArray(raw.input_ids)) throw new EngineInputError(`${f.input}: "input_ids" must be an array of token ids`);
    ids = raw.input_ids as number[];
  } else throw new EngineInputError('give --prompt TEXT or --input input.json');
  const maxNewTokens = num(f['max-new-tokens'], 'max-new-tokens', 64, true);
  const rule = checkRule(f.accept ?? 'exact');
  const temperature = f.greedy ? 0 : num(f.temperature, 'temperature', 0);
  const draft = f.draft ?? 'mtp';
  let drafter: TreeDrafter;
  let treeNodes = 0;
  if (draft === 'medusa') {
    const file = f.medusa ?? join(f.model, 'medusa.safetensors');
    if (!existsSync(file)) throw new EngineInputError(`${file} not found: train heads with medusa-train --model ${f.model}`);
    const heads = loadMedusa(file, model);
    const md = new MedusaDrafter(model, heads, parseTreeSpec(f.tree ?? '16', heads));
    treeNodes = md.nodes;
    drafter = md;
  } else if (draft === 'none') {
    drafter = new NoDrafter();
  } else {
    if (f.tree !== undefined) throw new EngineInputError(`--tree applies to --draft medusa; --draft ${draft} drafts a chain of --gamma tokens`);
    const gamma = num(f.gamma, 'gamma', draft === 'mtp' ? 1 : 4, true);
    if (gamma < 1 || gamma > 16) throw new EngineInputError(`--gamma must be in 1..16 (got ${gamma})`);
    const inner = draft === 'mtp' ? new MtpDrafter(model) : new ModelDrafter(loadDir(draft, model.backend), model, 'absorbed', draft);
    drafter = new ChainTreeDrafter(inner, gamma);
    treeNodes = gamma;
  }
  const t0 = performance.now();
  const out = speculateTree(model, ids, {
    maxNewTokens, drafter, rule, sampling: { temperature }, seed: num(f.seed, 'seed', 0, true),
    epsilon: f.epsilon === undefined ? undefined : num(f.epsilon, 'epsilon', 0.09),
    delta: f.delta === undefined ? undefined : num(f.delta, 'delta', 0.3), trace: f.trace,
  });
  const seconds = (performance.now() - t0) / 1000;
  const report = {
    drafter: drafter.name, rule: out.rule, temperature, tree_nodes: treeNodes, tokens: out.tokens,
    target_passes: out.targetPasses, tokens_per_step: out.tokensPerStep, mean_accepted: out.meanAccepted,
    accepted_at_depth: out.acceptedAtDepth,
    depth_acceptance: out.depthAcceptance.map((d) => ({ depth: d.depth, tried: d.tried, accepted: d.accepted, rate: d.tried > 0 ? d.rate : null })),
    wall_seconds: seconds, tokens_per_second: out.tokens.length / seconds,
  };
  if (f.json) { process.stdout.write(JSON.stringify(report) + '\n'); return; }
  process.stdout.write(`${out.tokens.join(' ')}\n` +
    `drafter ${drafter.name} (${treeNodes} nodes/step), accept rule ${out.rule}, temperature ${temperature}\n` +
    `${out.tokensPerStep.toFixed(3)} tokens per verification step (mean accepted ${out.meanAccepted.toFixed(3)}), ${out.targetPasses} target passes\n` +
    `steps reaching depth: ${out.acceptedAtDepth.map((a, k) => `${k + 1}:${a.toFixed(3)}`).join(' ')}\n` +
    `acceptance per depth (accepted/judged there): ${out.depthAcceptance.map((d) => `${d.depth}:${d.accepted}/${d.tried}`).join(' ')}\n` +
    `wall ${seconds.toFixed(3)} s (${report.tokens_per_second.toFixed(1)} tokens/s)\n`);
}

export const MEDUSA_USAGE = `  medusa-train --model DIR [--heads 3 --steps 600 --batch 256 --lr 1e-3 --rows 400 --corpus stories --out DIR/medusa.safetensors --log FILE]
  speculate --model DIR (--prompt TEXT | --input FILE) --max-new-tokens N --draft mtp|medusa|none|DRAFT_DIR --accept exact|greedy|typical
            [--tree N|a,b,c (medusa) --gamma K (chain) --epsilon 0.09 --delta 0.3 --temperature T --seed S --json]`;
