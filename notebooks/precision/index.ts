// Lesson: number formats. The bits of FP32, BF16, FP16 and the FP8 formats for a value the reader
// picks; the tiny model with its weights and activations in each format against FP32; why
// DeepSeek-V3 scales FP8 per 1 x 128 tile and 128 x 128 block; and FP16 gradients with and without
// loss scaling on a short run of the trainer. Engine work in compute.ts, drawing in views.ts.
import type { Backend } from '$kernels/backend';
import type { Scheme } from '$engine/numerics/index';
import { SCHEMES } from '$engine/numerics/index';
import { cell, type Notebook } from '../_kit/types';
import { finished } from '../_kit/train-job';
import {
  type OutlierMatrix, PASSAGES, type RunState, type SchemeRow, type Weights, gradientOf, idsOf, outlierMatrix,
  outlierRun, outlierSweepOf, referenceLogits, schemeRow, trainingRuns, weightsOf,
} from './compute';
import type { GradientFigures, SweepPoint } from './jobs';
import { MAX_STEPS } from './train';
import {
  bitsTable, gradientHistogram, outlierRows, outlierStats, outlierSweep, rangeTable, runChart, runTable, schemeBars, schemeTable, underflowStats,
  formulaScope, valueOf, valueTable,
} from './views';

export const meta = {
  slug: 'precision',
  title: 'Number formats: FP32, BF16, FP16 and FP8',
  summary: 'The bits of each format for a value you pick; the model with its weights and activations in BF16, FP16 and FP8 against FP32; why DeepSeek-V3 scales FP8 per 1x128 tile and 128x128 block; and FP16 gradients with and without loss scaling.',
  order: 11,
};

/** Characters of the passage the model reads (each scheme runs one forward pass over them). */
const CHARS = 64;
const pow2 = (v: number) => `2^${v}`;

const schemeCell = (s: Scheme) => cell(`run_${s.replace('-', '_')}`, ['fp32', 'ids', 'ref', 'activations', 'backend'],
  (w: Weights, ids: number[], ref: Float32Array, activations: boolean, backend: Backend): SchemeRow => schemeRow(w, ids, ref, s, activations, backend),
  { kind: 'engine', detail: `modelInScheme(config, tensors, '${s}', backend).forward(passage), compared with the FP32 model` });

export const notebook: Notebook = {
  inputs: [
    { kind: 'select', name: 'weights', label: 'Weights', value: 'trained', options: [{ value: 'trained', label: 'trained (shipped model)' }, { value: 'random', label: 'random (same shape, seeded)' }], help: 'The shipped model trained on the stories, or the same shape with seeded random weights.' },
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Seeds the random weights and the training batches.' },
    { kind: 'range', name: 'mantissa', label: 'Value: digits', min: 0.001, max: 9.999, step: 0.001, value: 3.142, help: 'The value is digits x 10^power.' },
    { kind: 'range', name: 'power', label: 'Value: power of ten', min: -12, max: 12, step: 1, value: 0, help: 'The value is digits x 10^power: try 5 (past FP16 and FP8), or -6 (FP16 subnormals).' },
    { kind: 'toggle', name: 'negative', label: 'Negative value', value: false },
    {
      kind: 'select', name: 'passage', label: 'Passage the model reads', value: 'moon', help: 'Held-out text from the stories corpus; the model reads its first 64 characters, one token each.',
      options: [{ value: 'moon', label: 'The Moon and little Jack' }, { value: 'bear', label: 'Buster Bear' }, { value: 'alice', label: 'Alice' }],
    },
    { kind: 'toggle', name: 'activations', label: 'Activations in the format too', value: true, help: 'Off: only the weights are stored in the format; the arithmetic stays float32.' },
    {
      kind: 'select', name: 'outlier_matrix', label: 'Matrix for the outlier', value: 'weights', help: 'Weights: the first MoE layer\'s 16 routed experts\' gate_proj stacked (384 rows, three 128 x 128 blocks). Activations: layer 0\'s input for the passage (64 tokens).',
      options: [{ value: 'weights', label: 'expert weights (128 x 128 blocks)' }, { value: 'activations', label: 'activations (1 x 128 tiles)' }],
    },
    { kind: 'range', name: 'outlier_log10', label: 'Outlier size', min: 0, max: 6, step: 0.5, value: 5, format: (v) => (v === 0 ? 'none' : `10^${v} x the largest`), help: 'One value set to this many times the largest value already in the matrix (the slider moves log10).' },
    { kind: 'range', name: 'loss_log2', label: 'Loss multiplier', min: -24, max: 0, step: 1, value: -14, format: pow2, help: 'Train on this multiple of the loss: every gradient shrinks by it. AdamW hardly notices; FP16 does (the slider moves log2).' },
    { kind: 'range', name: 'steps', label: 'Train to step', min: 2, max: MAX_STEPS, step: 2, value: 8, unit: 'steps', help: 'The three runs train to this step in a worker (the same seed and step give the same curves); more steps continue the runs.' },
    { kind: 'range', name: 'scale_log2', label: 'Loss scale S', min: 0, max: 24, step: 1, value: 14, format: pow2, help: 'The loss is multiplied by S before the FP16 backward pass and the gradients divided by S after (the slider moves log2).' },
  ],
  cells: [
    cell('x', ['mantissa', 'power', 'negative'], (m: number, p: number, neg: boolean) => valueOf(m, p, neg), { kind: 'derived', detail: 'digits x 10^power' }),
    cell('bits', ['x'], (x: number) => bitsTable(x), { kind: 'engine', detail: 'numerics/formats.ts: encode (round to nearest, ties to even), fields' }),
    cell('values', ['x'], (x: number) => valueTable(x), { kind: 'engine', detail: 'numerics/formats.ts: decode, neighbours' }),
    cell('ranges', [], () => rangeTable(), { kind: 'engine', detail: 'numerics/formats.ts format constants' }),
    cell('fp32', ['weights', 'seed'], (which: 'trained' | 'random', seed: number) => weightsOf(which, seed), { kind: 'engine', detail: 'the kit\'s lessonModel (shipped, yours, or seeded random), by tensor name: the FP32 reference' }),
    cell('modelName', ['fp32'], (w: Weights) => ({
      kind: 'table', columns: [{ key: 'model', label: 'model' }, { key: 'params', label: 'parameters', align: 'right', format: 'si' }],
      rows: [{ model: w.name, params: [...w.tensors.values()].reduce((n, t) => n + t.data.length, 0) }],
    }), { kind: 'engine', detail: 'lessonModel' }),
    cell('ids', ['passage'], (p: string) => idsOf(PASSAGES[p] ?? PASSAGES.moon!).slice(0, CHARS), { kind: 'derived', detail: 'ASCII codes of the passage' }),
    cell('ref', ['fp32', 'ids', 'backend'], (w: Weights, ids: number[], backend: Backend) => referenceLogits(w, ids, backend), { kind: 'engine', detail: 'the FP32 model\'s logits on the passage' }),
    ...SCHEMES.map(schemeCell),
    cell('schemes', SCHEMES.map((s) => `run_${s.replace('-', '_')}`), (a: SchemeRow, b: SchemeRow, c: SchemeRow, d: SchemeRow, e: SchemeRow) => [a, b, c, d, e], { kind: 'engine', detail: 'one row per scheme' }),
    cell('schemeTable', ['schemes'], (rows: SchemeRow[]) => schemeTable(rows), { kind: 'engine', detail: 'compareLogits against FP32; bytes from schemeBytes' }),
    cell('schemeBars', ['schemes'], (rows: SchemeRow[]) => schemeBars(rows), { kind: 'engine', detail: 'compareLogits against FP32' }),
    cell('osweep', ['fp32', 'outlier_matrix', 'ids'], (w: Weights, which: OutlierMatrix, ids: number[]) => outlierSweepOf(w, which, ids),
      { kind: 'engine', detail: 'in a Web Worker: outlierComparison at 10^0, 10^0.5, ..., 10^6 on the same matrix' }),
    cell('omatrix', ['fp32', 'outlier_matrix', 'ids'], (w: Weights, which: OutlierMatrix, ids: number[]) => outlierMatrix(w, which, ids),
      { kind: 'engine', detail: 'stackedExpertWeights(model, 1) or firstLayerInput(model, passage)' }),
    cell('orun', ['omatrix', 'outlier_log10'], (m: ReturnType<typeof outlierMatrix>, f: number) => outlierRun(m, f), { kind: 'engine', detail: 'outlierComparison: E4M3 per tensor and per block / tile' }),
    cell('fineLabel', ['omatrix'], (m: ReturnType<typeof outlierMatrix>) => (m.fine === 'block' ? '128 x 128 blocks' : '1 x 128 tiles'), { kind: 'derived' }),
    cell('outlierRows', ['orun', 'omatrix', 'fineLabel'], (r: ReturnType<typeof outlierRun>, m: ReturnType<typeof outlierMatrix>, l: string) => outlierRows(r.at, m.group, l), { kind: 'engine', detail: 'OutlierResult.rowError' }),
    cell('outlierSweep', ['osweep', 'fineLabel', 'outlier_log10'], (sweep: SweepPoint[], l: string, f: number) => outlierSweep(sweep, l, 10 ** f), { kind: 'engine', detail: 'outlierComparison at 10^0 ... 10^6' }),
    cell('outlierStats', ['orun', 'fineLabel'], (r: ReturnType<typeof outlierRun>, l: string) => outlierStats(r.at, l), { kind: 'engine', detail: 'OutlierResult' }),
    cell('grad', ['fp32', 'seed', 'loss_log2', 'scale_log2'], (w: Weights, seed: number, l: number, s: number) => gradientOf(w, seed, l, s),
      { kind: 'engine', detail: 'in a Web Worker: rowsGradient on the first batch, mean over rows, times the loss multiplier; exponentHistogram and fp16Gradients of it, unscaled and scaled' }),
    cell('gradHist', ['grad', 'scale_log2'], (g: GradientFigures, s: number) => gradientHistogram(g.hist, g.scaledHist, s),
      { kind: 'engine', detail: 'exponentHistogram of the gradient, unscaled and scaled' }),
    cell('underflow', ['grad', 'scale_log2'], (g: GradientFigures, s: number) => underflowStats(g.plain, g.scaled, s), { kind: 'engine', detail: 'fp16Gradients' }),
    cell('runs', ['fp32', 'seed', 'loss_log2', 'scale_log2', 'steps'], (w: Weights, seed: number, l: number, s: number, steps: number) => trainingRuns(w, seed, l, s, steps),
      { kind: 'engine', detail: 'lossScaleRun (rowsGradient, FP16 rounding, optimizerStep) in a Web Worker, reported step by step (the shipped model at the default seed, multiplier and scale: the same runner\'s runs computed ahead by scripts/shipped-runs.ts, notebooks/precision/shipped-run.json)' }),
    cell('runsDone', ['runs'], (s: RunState) => finished(s), { kind: 'derived', detail: 'the runs at the slider\'s step' }),
    cell('runChart', ['runs'], (s: RunState) => runChart(s), { kind: 'engine', detail: 'training loss per step' }),
    cell('runTable', ['runsDone'], (s: RunState) => runTable(s), { kind: 'engine', detail: 'per run, at the slider\'s step' }),
    cell('scope', ['x', 'schemes', 'omatrix', 'runsDone'], (x: number, rows: SchemeRow[], m: ReturnType<typeof outlierMatrix>, r: RunState) => formulaScope(x, rows, m, r),
      { kind: 'derived', detail: 'the lesson\'s numbers by name' }),
  ],
  lead: {
    takeaway: 'The trained model with its weights (and activations) stored in each format, against FP32: bits per character, agreement and memory.',
    view: { cell: 'schemeTable', title: 'The model in each format against FP32', caption: 'Computed in this page by the engine: one forward pass over the passage per format. Memory counts every weight at its stored size, FP8 scales included; FP8 follows DeepSeek-V3 (E4M3, one scale per 128 x 128 weight block and per 1 x 128 activation tile).' },
    controls: ['passage', 'activations'],
    note: 'Runs the shipped trained model (or yours from the training lesson, if you chose it). The bits of each format, the model with random weights, FP8 scaling against an outlier, and FP16 training with loss scaling follow below.',
  },
  sections: [
    {
      id: 'bits',
      title: 'A number in bits',
      prose: `A binary float is a sign, an exponent field and a mantissa field: with $E$ exponent bits, $M$ mantissa bits and bias $B = 2^{E-1}-1$, a normal value is $(-1)^s\\,(1 + m/2^M)\\,2^{e-B}$. A zero exponent field holds the subnormals $(-1)^s\\,(m/2^M)\\,2^{1-B}$, which fill the gap down to 0. Each format keeps the nearest value it has; a tie goes to the code whose last mantissa bit is 0 (*round to nearest even*).

**BF16** keeps FP32's 8 exponent bits and drops 16 mantissa bits: the same range, about 3 significant digits. **FP16** trades range for precision: 5 exponent bits, 10 mantissa bits, nothing above 65504. The FP8 formats are smaller still. **E4M3** (DeepSeek-V3's choice for everything) gives up infinity to reach 448. **E5M2** has FP16's range with 2 mantissa bits.`,
      controls: ['mantissa', 'power', 'negative'],
      views: [
        { cell: 'bits', title: 'Your value in each format: the bits', caption: 'Sign, exponent field and mantissa field of the nearest value each format has. Try power 5 (FP16 and FP8 overflow), -6 (FP16 subnormals) or -8.' },
        { cell: 'values', title: 'Your value in each format: what is kept', caption: 'The value stored, the two representable values around yours, and the relative rounding error.' },
        { cell: 'ranges', title: 'What each format can hold', caption: 'The relative step is the gap between neighbouring values, relative to the value (for normal values).' },
      ],
    },
    {
      id: 'model',
      title: 'The model in each format',
      prose: `The tiny model reads a passage, one character per token, first in FP32 and then with its weights stored in each format. With the toggle on, every activation is rounded too: every op's output is rounded to BF16 or FP16. The FP8 rows follow DeepSeek-V3: linear-layer weights in E4M3 with one scale per 128 x 128 block, their inputs quantised per 1 x 128 tile as the product runs. Embeddings, output head, router, norms and attention stay in BF16. **Bits per character** is the cross-entropy of the next character. **Top-1 agreement** is how often the most likely next character matches FP32's.

The table at the top is this comparison. With random weights the model does no better than guessing among 128 characters (7 bits per character, or worse), and only the change from FP32 means anything. If you trained a model in the training lesson and chose it for the other lessons, it is the one used here. In the tiny model most matrices fit in one 128 x 128 block, so the two FP8 rows differ mainly in the activation scales.`,
      controls: ['weights', 'seed'],
      views: [
        { cell: 'modelName', title: 'The model' },
        { cell: 'schemeBars', title: 'How far the logits move', caption: 'Mean absolute difference of the logits from the FP32 model, over every position and vocabulary entry.' },
      ],
    },
    {
      id: 'outliers',
      title: 'One outlier, one scale',
      prose: `FP8 covers little range, so a matrix is scaled before it is cast: $s = \\max|x| / 448$, store $x/s$ in E4M3 and keep $s$. The stored scale is what DeepSeek's checkpoints call \`weight_scale_inv\`. With **one scale per tensor**, a single large value sets $s$ for everything: the other values shrink toward E4M3's subnormals and flush to 0. DeepSeek-V3 uses one scale per **1 x 128 tile** of activations (per token, per 128 channels) and per **128 x 128 block** of weights. An outlier then costs only its own tile or block.

Put one value of the chosen matrix at the slider's multiple of its largest value and compare. E4M3 spans about $2^{18}$ from its smallest subnormal to 448, so per-tensor scaling breaks only once the outlier is thousands of times the rest (the sweep shows where, for this matrix). Activation outliers in large models reach that.`,
      controls: ['outlier_matrix', 'outlier_log10'],
      views: [
        { cell: 'outlierRows', title: 'Error of every other value, by row group', caption: 'Per tensor, every expert (or token) pays for the outlier. With blocks, only the experts in the outlier\'s 128-row block do (rows 0-127 = experts 0-5). With tiles, only the outlier\'s own token does.' },
        { cell: 'outlierSweep', title: 'Error as the outlier grows', caption: 'Relative error of the values that do not share a block or tile with the outlier: with fine-grained scales they never see it; with one scale per tensor they do.' },
        { cell: 'outlierStats', title: 'At the slider\'s outlier' },
      ],
    },
    {
      id: 'loss-scaling',
      title: 'FP16 gradients and loss scaling',
      prose: `FP16's smallest normal value is $2^{-14}$ and its smallest subnormal $2^{-24}$, and gradients can be smaller. Training in FP16 therefore multiplies the loss by a *loss scale* $S$ before the backward pass. The chain rule is linear, so every gradient is $S$ times larger, which lifts it into FP16's range. The optimizer divides by $S$ in FP32. A step whose scaled gradients overflow to infinity is skipped and $S$ halved. BF16, with FP32's exponent range, needs none of this.

At a loss multiplier of $2^0$ the model's gradient on one batch sits well inside FP16's normal range (the histogram). The *loss multiplier* shrinks it the way small losses late in training do. The trainer then runs three short runs on the same batches: gradients in FP32, stored in FP16, and stored in FP16 with loss scaling. They train in a Web Worker to the step the slider sets, and the curves fill in as it reports; the same seed and step always give the same curves, and moving the slider up continues the runs. This is a simulation: only the gradients the optimizer reads are rounded, not every step of the backward pass.`,
      controls: ['loss_log2', 'scale_log2', 'steps'],
      views: [
        { cell: 'gradHist', title: 'Gradient magnitudes against FP16\'s range', caption: 'Counts of the first batch\'s gradient values per power of two (x: log2 |g|), before and after the loss scale. In FP16, bars left of -24 round to 0 (or up to 2^-24); bars from -24 to -15 are subnormal and keep only a few bits; the bar at 16 counts values past 65504, which overflow to infinity.' },
        { cell: 'underflow', title: 'What FP16 keeps of this gradient' },
        { cell: 'runChart', title: 'Training loss of the three runs', caption: 'AdamW divides each gradient by its own running RMS, so zeros hurt only the updates they silence. A plain SGD step would also shrink with the multiplier.' },
        { cell: 'runTable', title: 'The three runs at the slider\'s step' },
      ],
    },
  ],
  formula: {
    cell: 'scope',
    initial: '(stored - x) / x',
    examples: [
      '(stored - x) / x',
      'bpc - bpc[1]',
      'bytes / bytes[1]',
      'max(abs(W)) / 448',
      'loss_fp16 - loss_fp32',
    ],
    descriptions: {
      x: 'your value (digits x 10^power)',
      stored: 'x as FP32, BF16, FP16, E4M3, E5M2 keep it (5 values)',
      bpc: 'bits per character: FP32, BF16, FP16, FP8 per tensor, FP8 block-scaled',
      agreement: 'top-1 agreement with FP32, same order',
      bytes: 'weight memory in bytes, same order',
      W: 'the outlier experiment\'s matrix (before the outlier)',
      loss_fp32: 'training loss per step, FP32 gradients',
      loss_fp16: 'training loss per step, FP16 gradients',
      loss_scaled: 'training loss per step, FP16 gradients with loss scaling',
    },
  },
};
