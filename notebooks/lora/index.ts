// Lesson: LoRA. The tiny model is fine-tuned in the page on a new text twice, from the same
// weights on the same batches: every weight trained (full fine-tuning) and only low-rank adapters
// (LoRA). Trainable numbers and optimizer memory, the loss curves, the update's singular values
// (rank r exactly), merging checked against the adapters run beside the frozen weights, and samples.
import type { Backend } from '$kernels/backend';
import { cell, type Notebook } from '../_kit/types';
import { finished } from '../_kit/train-job';
import { type Base, PROMPTS, type RunState, SPECTRUM_WEIGHT, type Spectra, TARGET_SETS, TEXTS, type Tuned, baseOf, budget, fineTune, mergeCheck, tunedOf } from './compute';
import { HP, LORA_LR, MAX_STEPS, ROWS, ROW_LEN, batchesOf } from './train';
import { batchLossChart, budgetTable, formulaScope, lossChart, mergeStats, runStats, samplesTable, spectrumChart } from './views';

export const meta = {
  slug: 'lora',
  title: 'LoRA: fine-tuning a low-rank update',
  summary: 'Fine-tune the tiny model on a new text in the page, once with every weight trained and once with rank-r adapters only: what each trains and stores, the loss of both, the update\'s singular values (rank r exactly), and merging that changes nothing.',
  order: 12,
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
    { kind: 'range', name: 'steps', label: 'Train to step', min: 4, max: MAX_STEPS, step: 4, value: 16, unit: 'steps', help: 'Both runs train to this step in a worker (the same settings and step give the same curves); more steps continue the runs.' },
  ],
  cells: [
    cell('base', ['weights', 'seed'], (w: 'trained' | 'random', seed: number) => baseOf(w, seed), { kind: 'engine', detail: 'the kit\'s lessonModel (shipped, yours, or seeded random), by tensor name' }),
    cell('baseName', ['base'], (b: Base) => ({ kind: 'table', columns: [{ key: 'model', label: 'base model' }], rows: [{ model: b.name }] }), { kind: 'engine', detail: 'lessonModel' }),
    cell('batches', ['text', 'seed'], (text: string, seed: number) => batchesOf(TEXTS[text] ?? TEXTS.arithmetic!, seed), { kind: 'derived', detail: `seeded batches of ${ROWS} x ${ROW_LEN} characters` }),
    cell('budget', ['base', 'targets', 'rank', 'alpha'], (b: Base, t: string, r: number, a: number) => budgetTable(budget(b, TARGET_SETS[t]!, r), r, a), { kind: 'engine', detail: 'createLora: loraCounts; the trainer\'s parameter layout' }),
    cell('run', ['base', 'text', 'targets', 'rank', 'alpha', 'seed', 'steps'], (b: Base, text: string, t: string, r: number, a: number, seed: number, steps: number) => fineTune(b, text, t, r, a, seed, steps),
      { kind: 'engine', detail: 'in a Web Worker: loraGradient + loraOptimizerStep, and rowsGradient + optimizerStep, reported step by step (the shipped model at the defaults: the same runner\'s run computed ahead by scripts/shipped-runs.ts, notebooks/lora/shipped-run.json)' }),
    cell('runDone', ['run'], (s: RunState) => finished(s), { kind: 'derived', detail: 'both runs at the slider\'s step' }),
    cell('tuned', ['runDone'], (s: RunState) => tunedOf(s), { kind: 'engine', detail: 'the adapters, and what the worker computed of both runs at their last step' }),
    cell('firstBatch', ['batches'], (batches: number[][][]) => ({
      kind: 'table', columns: [{ key: 'row', label: 'row' }, { key: 'text', label: 'characters (↵ = newline)' }],
      rows: batches[0]!.map((r, i) => ({ row: i + 1, text: String.fromCharCode(...r).replace(/\n/g, '↵') })),
    }), { kind: 'derived', detail: 'the first batch, as text' }),
    cell('loss', ['run'], (s: RunState) => lossChart(s), { kind: 'engine', detail: 'evaluateWindows on the whole text after each step, as the worker reports' }),
    cell('batchLoss', ['run'], (s: RunState) => batchLossChart(s), { kind: 'engine', detail: 'the loss rowsGradient / loraGradient returned per step' }),
    cell('stats', ['runDone'], (s: RunState) => runStats(s), { kind: 'engine', detail: 'the worker\'s reports' }),
    cell('spectra', ['tuned'], (s: Tuned): Spectra => s.spectra,
      { kind: 'engine', detail: 'in the Web Worker: singularValues of the merged (α/r) B A and of W_after - W_before' }),
    cell('spectrum', ['spectra', 'rank'], (sp: Spectra, r: number) => spectrumChart(sp, r), { kind: 'engine', detail: 'updateSpectra' }),
    cell('merge', ['base', 'tuned', 'text', 'backend'], (b: Base, s: Tuned, text: string, backend: Backend) => mergeStats(mergeCheck(b, s.adapters, Array.from(PROMPTS[text] ?? 'a', (c) => c.charCodeAt(0)), backend)),
      { kind: 'engine', detail: 'forward with mergeLora weights, with adapterBackend, and with the base' }),
    cell('samples', ['tuned', 'text'], (s: Tuned, text: string) => samplesTable(s.samples, PROMPTS[text] ?? 'a'),
      { kind: 'engine', detail: 'in the Web Worker: generate, greedy, 32 characters' }),
    cell('scope', ['tuned', 'targets', 'spectra', 'runDone'], (s: Tuned, t: string, sp: Spectra, r: RunState) => formulaScope(s.adapters, SPECTRUM_WEIGHT[t]!, sp, r),
      { kind: 'derived', detail: 'the lesson\'s numbers by name' }),
  ],
  lead: {
    takeaway: 'LoRA trains a small fraction of the numbers beside the frozen model: what it and full fine-tuning learn of a new text from the same batches.',
    view: { cell: 'loss', title: 'Both runs on the new text: change in bits per character after each step', caption: 'The shipped model fine-tuned twice in a Web Worker, from the same weights on the same batches: every weight trained, and rank-r adapters only. 0 is the model before fine-tuning (below 0: it predicts the text better); the curves fill in as the worker reports. The table below has the bits per character themselves.' },
    controls: ['text', 'steps'],
    note: 'Runs the shipped trained model (or yours from the training lesson). Rank, scale, targets, the update\'s singular values, merging and samples follow below.',
  },
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
      prose: `Both runs start from the same model and see the same seeded batches of ${ROWS} x ${ROW_LEN} characters of the new text: full fine-tuning with AdamW at learning rate ${HP.lr}, LoRA with AdamW at ${LORA_LR} on the adapters only. They train in a Web Worker, so the page stays responsive, to the step the slider sets: the same settings and step always give the same curves (a link reproduces them), and moving the slider up continues the runs. The base is the shipped model trained on the stories (or yours from the training lesson, if you chose it; or random weights).

Both steps take one forward and backward pass through the whole model: the adapters need the gradient of every weight they adapt. LoRA saves the optimizer's memory and the size of what is stored afterwards, not this pass.`,
      controls: ['weights', 'seed', 'text', 'steps'],
      views: [
        { cell: 'baseName', title: 'The base model' },
        { cell: 'firstBatch', title: 'The first batch', caption: 'Each step trains on 2 windows of 16 characters like these, drawn from the new text.' },
        { cell: 'batchLoss', title: 'Training loss of each step\'s batch', caption: 'What each step trained on, before its update: noisy, since each batch is only a few windows of the text. The figure at the top of the page is the loss on the whole text.' },
        { cell: 'stats', title: 'Both runs at the slider\'s step' },
        { cell: 'samples', title: 'Samples before and after', caption: 'Greedy continuations of the prompt by the base, the merged LoRA model and the fully fine-tuned model at the slider\'s step.' },
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
  formula: {
    cell: 'scope',
    initial: 'max(abs(s * B * A - dW_lora))',
    examples: [
      'max(abs(s * B * A - dW_lora))',
      'sv_lora[1:r]',
      'sum(sv_full .^ 2) / sum(sv_lora .^ 2)',
      'norm(dW_full, "fro") / norm(dW_lora, "fro")',
      'bpc_full - bpc_lora',
    ],
    descriptions: {
      A: 'the adapter A of the weight in the spectrum, r x d_in',
      B: 'its adapter B, d_out x r',
      s: 'the update scale α / r',
      r: 'the rank',
      dW_lora: 'LoRA\'s update of that weight, (α/r) B A',
      dW_full: 'full fine-tuning\'s update of that weight, W_after - W_before',
      sv_lora: 'singular values of dW_lora, largest first',
      sv_full: 'singular values of dW_full',
      loss_lora: 'LoRA\'s training loss per step',
      loss_full: 'full fine-tuning\'s training loss per step',
      bpc_lora: 'LoRA: bits per character on the whole text after each step',
      bpc_full: 'full fine-tuning: bits per character on the whole text after each step',
    },
  },
};
