// Lesson: LoRA. The tiny model is fine-tuned in the page on a new text twice, from the same
// weights on the same batches: every weight trained (full fine-tuning) and only low-rank adapters
// (LoRA). Trainable numbers and optimizer memory, the loss curves, the update's singular values
// (rank r exactly), merging checked against the adapters run beside the frozen weights, and samples.
import type { Backend } from '$kernels/backend';
import { cell, type Notebook } from '../_kit/types';
import { type Base, PROMPTS, type RunState, STEPS, TARGET_SETS, TEXTS, baseOf, batchesOf, budget, fineTune, mergeCheck, samples, updateSpectra } from './compute';
import { budgetTable, lossChart, mergeStats, samplesTable, spectrumChart, timeStats } from './views';

export const meta = {
  slug: 'lora',
  title: 'LoRA: fine-tuning a low-rank update',
  summary: 'Fine-tune the tiny model on a new text in the page, once with every weight trained and once with rank-r adapters only: what each trains and stores, the loss of both, the update\'s singular values (rank r exactly), and merging that changes nothing.',
  order: 12,
};

/** The weight whose update the spectrum shows, for each target set (one the set adapts). */
const SPECTRUM_WEIGHT: Record<string, string> = {
  attention: 'model.layers.0.self_attn.o_proj.weight',
  experts: 'model.layers.0.mlp.gate_proj.weight',
  all: 'model.layers.0.self_attn.o_proj.weight',
};

export const notebook: Notebook = {
  inputs: [
    { kind: 'select', name: 'weights', label: 'Base model', value: 'trained', options: [{ value: 'trained', label: 'trained (shipped model)' }, { value: 'random', label: 'random (same shape, seeded)' }], help: 'The model both runs start from: the one trained on the stories, or seeded random weights.' },
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Seeds the adapters\' initial A, the batches and the random weights.' },
    {
      kind: 'select', name: 'text', label: 'New text', value: 'arithmetic', help: 'What the model is fine-tuned on: sums and differences, or a paragraph of Alice.',
      options: [{ value: 'arithmetic', label: 'arithmetic' }, { value: 'alice', label: 'Alice' }],
    },
    { kind: 'range', name: 'rank', label: 'Rank r', min: 1, max: 16, step: 1, value: 4, help: 'Width of the adapters: A is r x in, B is out x r.' },
    { kind: 'range', name: 'alpha', label: 'Scale α', min: 1, max: 32, step: 1, value: 8, help: 'The update is (α / r) B A.' },
    {
      kind: 'select', name: 'targets', label: 'Adapted projections', value: 'attention', help: 'Which weights get adapters; the rest stay frozen.',
      options: [{ value: 'attention', label: 'attention (q, kv, o)' }, { value: 'experts', label: 'feed-forward (experts, shared, dense)' }, { value: 'all', label: 'all linear layers' }],
    },
  ],
  cells: [
    cell('base', ['weights', 'seed'], (w: 'trained' | 'random', seed: number) => baseOf(w, seed), { kind: 'engine', detail: 'the kit\'s lessonModel (shipped, yours, or seeded random), by tensor name' }),
    cell('baseName', ['base'], (b: Base) => ({ kind: 'table', columns: [{ key: 'model', label: 'base model' }], rows: [{ model: b.name }] }), { kind: 'engine', detail: 'lessonModel' }),
    cell('batches', ['text', 'seed'], (text: string, seed: number) => batchesOf(TEXTS[text] ?? TEXTS.arithmetic!, seed), { kind: 'derived', detail: `${STEPS} batches of 2 x 16 characters` }),
    cell('budget', ['base', 'targets', 'rank', 'alpha'], (b: Base, t: string, r: number, a: number) => budgetTable(budget(b, TARGET_SETS[t]!, r), r, a), { kind: 'engine', detail: 'createLora: loraCounts; the trainer\'s parameter layout' }),
    cell('run', ['base', 'batches', 'targets', 'rank', 'alpha', 'seed'], (b: Base, batches: number[][][], t: string, r: number, a: number, seed: number) => fineTune(b, batches, TARGET_SETS[t]!, r, a, seed),
      { kind: 'engine', detail: 'loraGradient + loraOptimizerStep, and rowsGradient + optimizerStep, one step each per frame' }),
    cell('firstBatch', ['batches'], (batches: number[][][]) => ({
      kind: 'table', columns: [{ key: 'row', label: 'row' }, { key: 'text', label: 'characters (↵ = newline)' }],
      rows: batches[0]!.map((r, i) => ({ row: i + 1, text: String.fromCharCode(...r).replace(/\n/g, '↵') })),
    }), { kind: 'derived', detail: 'the first batch, as text' }),
    cell('loss', ['run'], (s: RunState) => lossChart(s), { kind: 'engine', detail: 'training loss per step' }),
    cell('time', ['run'], (s: RunState) => timeStats(s), { kind: 'engine', detail: 'measured in this page' }),
    cell('spectrum', ['base', 'run', 'targets', 'rank'], (b: Base, s: RunState, t: string, r: number) => spectrumChart(updateSpectra(b, s, SPECTRUM_WEIGHT[t]!), r),
      { kind: 'engine', detail: 'singularValues of the merged (α/r) B A and of W_after - W_before' }),
    cell('merge', ['base', 'run', 'text', 'backend'], (b: Base, s: RunState, text: string, backend: Backend) => mergeStats(mergeCheck(b, s, Array.from(PROMPTS[text] ?? 'a', (c) => c.charCodeAt(0)), backend)),
      { kind: 'engine', detail: 'forward with mergeLora weights, with adapterBackend, and with the base' }),
    cell('samples', ['base', 'run', 'text', 'backend'], (b: Base, s: RunState, text: string, backend: Backend) => samplesTable(samples(b, s, PROMPTS[text] ?? 'a', backend), PROMPTS[text] ?? 'a'),
      { kind: 'engine', detail: 'generate, greedy, 32 characters' }),
  ],
  sections: [
    {
      id: 'idea',
      title: 'A low-rank update',
      prose: `Full fine-tuning moves every weight. LoRA (Hu et al., 2021) freezes a weight $W \\in \\mathbb{R}^{d_{out} \\times d_{in}}$ and learns an update of rank at most $r$:
$$W' = W + \\frac{\\alpha}{r} B A, \\qquad A \\in \\mathbb{R}^{r \\times d_{in}},\\; B \\in \\mathbb{R}^{d_{out} \\times r}.$$
$A$ starts small and random and $B$ starts at zero, so the model starts exactly where it was. Training needs no new backward pass: with $G = \\partial L / \\partial W'$ (the gradient the trainer already computes), $\\partial L/\\partial A = \\frac{\\alpha}{r} B^\\top G$ and $\\partial L/\\partial B = \\frac{\\alpha}{r} G A^\\top$. Only $A$ and $B$ need gradients and Adam's two moments.`,
      controls: ['rank', 'alpha', 'targets'],
      views: [{ cell: 'budget', title: 'What each method trains and keeps', caption: 'Gradients and Adam\'s m and v cost 12 bytes per trained float32 number; the frozen weights are only read.' }],
    },
    {
      id: 'train',
      title: 'Fine-tuning, both ways',
      prose: `Both runs start from the same model and see the same ${STEPS} batches of 2 x 16 characters of the new text, one step per frame: full fine-tuning with AdamW at learning rate 0.001, LoRA with AdamW at 0.005 on the adapters only. The base is the shipped model trained on the stories (or yours from the training lesson, if you chose it; or random weights).`,
      controls: ['weights', 'seed', 'text'],
      views: [
        { cell: 'baseName', title: 'The base model' },
        { cell: 'firstBatch', title: 'The first batch', caption: 'Each step trains on 2 windows of 16 characters like these, drawn from the new text.' },
        { cell: 'loss', title: 'Loss of both runs', caption: 'The runs train as the page runs; each point is a step\'s batch before its update.' },
        { cell: 'time', title: 'Time in this page', caption: 'Both steps take one forward and backward pass through the whole model. LoRA saves memory, not this pass.' },
        { cell: 'samples', title: 'Samples before and after', caption: 'Greedy continuations; they change as the runs go on.' },
      ],
    },
    {
      id: 'rank',
      title: 'The update has rank r',
      prose: 'The singular values of one adapted weight\'s update: LoRA\'s $\\frac{\\alpha}{r}BA$ (computed here in float64) has exactly $r$ nonzero ones; the rest are zero to rounding. Full fine-tuning\'s $W_{after} - W_{before}$ uses every direction it likes.',
      views: [{ cell: 'spectrum', title: 'Singular values of ΔW', caption: 'The marker is at r. Below the floor of 1e-12 a value is drawn at the floor.' }],
    },
    {
      id: 'merge',
      title: 'Merging changes nothing',
      prose: 'After training, $\\frac{\\alpha}{r}BA$ can be added into $W$ once: the merged model is an ordinary checkpoint of the same shape and cost, and computes what the adapters beside the frozen weights compute. The same base can also keep several adapters and swap them.',
      views: [{ cell: 'merge', title: 'Merged weights against adapters beside W', caption: 'Logits on the prompt: the merged model moved away from the base, and agrees with the unmerged adapters to float32 rounding.' }],
    },
  ],
};
