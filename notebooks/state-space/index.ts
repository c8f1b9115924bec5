// Lesson: HiPPO-LegS, the memory state-space models start from. A signal (a preset, seeded) is
// streamed sample by sample into N numbers; the state at any moment is the best degree-(N-1)
// polynomial summary of the whole past, and the past is recalled from it. Error against N and
// against how far back. The recurrence is src/engine/linear/hippo.ts; chart data in views.ts.
import type { LegsMethod } from '$engine/linear';
import { cell, type Notebook } from '../_kit/types';
import { DRAWN_POINTS, SIGNALS, type SignalName, makeSignal } from './signals';
import { type Streamed, streamOf, errorByLag, errorByN, rmsByN, matrixHeatmap, recallChart, recallStats, stateHeatmap } from './views';

export const meta = {
  slug: 'state-space',
  title: 'A state that remembers: HiPPO',
  summary: 'A signal streamed one sample at a time into N numbers (HiPPO-LegS, the start of state-space models): the past recalled from them at any moment, and how the error depends on N and on how far back.',
  order: 10,
};

const N_SWEEP = [1, 2, 4, 8, 16, 32, 64];

export const notebook: Notebook = {
  inputs: [
    { kind: 'curve', name: 'signal', label: 'Signal', value: 'sines', points: DRAWN_POINTS, presets: SIGNALS.map((s) => ({ value: s.value, label: s.label })), help: 'The input streamed into the state, one sample per step: draw it on the pad (mouse, pen, finger, or the arrow keys), type its values, or pick a preset.' },
    { kind: 'range', name: 'seed', label: 'Seed', min: 0, max: 99, step: 1, value: 1, help: 'Picks a preset\'s frequencies, jumps, walk or spikes (a drawing has none).' },
    { kind: 'range', name: 'length', label: 'Signal length L', min: 64, max: 1024, step: 1, log2: true, value: 256, unit: 'samples' },
    { kind: 'range', name: 'n', label: 'State size N', min: 1, max: 64, step: 1, value: 16, unit: 'numbers', help: 'Coefficients kept: the state holds the past as a polynomial of degree N − 1.' },
    { kind: 'range', name: 'at', label: 'Moment t (share of the signal seen)', min: 1, max: 100, step: 1, value: 100, unit: '%', help: 'How much of the signal has been streamed in when the past is recalled.' },
    { kind: 'select', name: 'method', label: 'Discretisation', value: 'bilinear', options: [{ value: 'bilinear', label: 'bilinear (trapezoid)' }, { value: 'euler', label: 'forward Euler (the paper\'s discrete LegS)' }] },
  ],
  cells: [
    cell('sig', ['signal', 'length', 'seed'], (name: SignalName | string, L: number, seed: number) => makeSignal(name, L, seed), { kind: 'derived', detail: 'a preset signal (seeded) or the drawing, sampled L times' }),
    cell('t', ['sig', 'at'], (sig: Float64Array, at: number) => Math.max(1, Math.round((sig.length * at) / 100)), { kind: 'derived' }),
    cell('states', ['sig', 'n', 'method'], (sig: Float64Array, N: number, method: LegsMethod) => streamOf(sig, N, method), { kind: 'engine', detail: 'HiPPO-LegS recurrence, one step per sample (float64)' }),
    cell('streamed', ['sig', 't', 'n', 'method', 'states'], (signal: Float64Array, t: number, N: number, method: LegsMethod, states: Float64Array): Streamed => ({ signal, t, N, method, states }), { kind: 'derived' }),
    cell('recallView', ['streamed'], (s: Streamed) => recallChart(s), { kind: 'engine', detail: 'legsRecall: sum_n c_n sqrt(2n+1) P_n(2x/t - 1)' }),
    cell('statsView', ['streamed'], (s: Streamed) => recallStats(s), { kind: 'engine' }),
    cell('stateView', ['streamed'], (s: Streamed) => stateHeatmap(s), { kind: 'engine', detail: 'the state after each sample' }),
    cell('byN', ['sig', 't', 'method'], (sig: Float64Array, t: number, m: LegsMethod) => rmsByN(sig, t, N_SWEEP, m), { kind: 'engine', detail: 'the signal streamed into states of 1 to 64 numbers' }),
    cell('byNView', ['byN', 'n'], (rms: number[], N: number) => errorByN(N_SWEEP, rms, N), { kind: 'engine', detail: 'RMS error of the recalled past for each N; the marker at the chosen N' }),
    cell('byLagView', ['sig', 't', 'n', 'method'], (sig: Float64Array, t: number, N: number, m: LegsMethod) => errorByLag(sig, t, N, m), { kind: 'engine', detail: 'recall error binned by distance from t' }),
    cell('matrixView', ['n'], (N: number) => matrixHeatmap(N), { kind: 'engine', detail: 'legsMatrices' }),
    cell('scope', ['streamed'], (s: Streamed) => ({
      f: Float32Array.from(s.signal.subarray(0, s.t)),
      c: Float32Array.from(s.states.subarray((s.t - 1) * s.N, s.t * s.N)),
      t: s.t, N: s.N,
    }), { kind: 'engine' }),
  ],
  lead: {
    takeaway: 'A state of N numbers, updated one sample at a time, recalls the whole signal seen so far: draw one on the pad and watch it come back.',
    view: { cell: 'recallView', title: 'The signal and the past recalled from the state at t', caption: 'The first line is the samples streamed in so far; the second is all the state gives back, from its N numbers.' },
    controls: ['signal', 'n'],
    note: 'HiPPO-LegS run in the page (float64), one step per sample; no model involved. Draw with a mouse, pen or finger, or focus the pad and use the arrow keys; the link keeps your drawing.',
  },
  sections: [
    {
      id: 'stream',
      title: 'N numbers for the whole past',
      prose: `Linear attention's state $S = \\sum_j \\phi(k_j) v_j^{\\top}$ has a fixed size, but what it keeps of the past is whatever the keys happened to pick. HiPPO ([Gu et al., 2020](https://arxiv.org/abs/2008.07669)) asks the question directly: with $N$ numbers, what is the best summary of everything seen so far? Its answer for the uniform measure on $[0, t]$ (LegS, scaled Legendre) is the projection onto the first $N$ Legendre polynomials stretched over the past,
$$c_n(t) = \\frac{1}{t}\\int_0^t f(x)\\, g_n(x)\\, dx, \\qquad g_n(x) = \\sqrt{2n+1}\\, P_n\\!\\left(\\tfrac{2x}{t} - 1\\right),$$
and the past is recalled as $f(x) \\approx \\sum_n c_n(t)\\, g_n(x)$. The remarkable part is that $c(t)$ can be updated as samples arrive, without keeping them:
$$\\frac{d}{dt} c(t) = -\\frac{1}{t} A\\, c(t) + \\frac{1}{t} B\\, f(t).$$
Here it runs one step per sample (bilinear by default), $O(N^2)$ work per step since $A$ is lower triangular, on a signal you pick or **draw**: sketch a curve on the pad (or move its points with the arrow keys) and the state recalls your drawing; the link then carries it. Drag *Moment t* to watch the state recall the past at any point.`,
      controls: ['signal', 'seed', 'length', 'n', 'at', 'method'],
      views: [
        { cell: 'recallView', title: 'The signal and the past recalled from the state at t', caption: 'The state weighs all of [0, t] evenly, so the whole past is recalled at the same resolution: N − 1 degrees of polynomial, stretched over more and more samples as t grows.' },
        { cell: 'statsView', title: 'What the state holds' },
        { cell: 'stateView', title: 'The state c(t) as it streams', caption: 'Each column is the state after that many samples. c0 is the running mean of everything seen; each higher coefficient holds a finer wiggle of the past, and for a smooth signal they are small.' },
      ],
    },
    {
      id: 'error',
      title: 'How much is lost: against N and against how far back',
      prose: 'A polynomial of degree below $N$ is held exactly by the continuous projection: the tests recall one from its $N$ coefficients to rounding. The discrete recurrence here only approaches that projection, with an error that falls like $1/L$ as the sampling gets finer (the first steps, near $t = 0$, are the coarse ones). Anything else loses its detail finer than about $t / N$ samples. Smooth signals lose little; jumps and a random walk lose their edges and their roughness. The error is about the same at every distance into the past, because the measure is uniform: LegS does not forget old samples, it blurs everything more as $t$ grows.',
      views: [
        { cell: 'byNView', title: 'RMS error of the recalled past against the state size N', caption: 'For a smooth signal the error falls steeply once N is large enough for its wiggles; for jumps it falls slowly (a polynomial cannot jump). Where it stops falling, the one-step-per-sample discretisation, not the projection, sets the floor; a longer signal lowers it.' },
        { cell: 'byLagView', title: 'Mean error by how far back', caption: 'Solid: the chosen N; dashed: half and twice as many numbers. The errors are spread over the whole past, not piled at its far end.' },
      ],
    },
    {
      id: 'matrix',
      title: 'The matrices',
      prose: `HiPPO-LegS's $A$ and $B$ follow from differentiating the projection: $A_{nk} = \\sqrt{2n+1}\\sqrt{2k+1}$ below the diagonal, $n + 1$ on it, 0 above; $B_n = \\sqrt{2n+1}$. The tests check them against the projection itself: for $f(x) = x^j$ the exact coefficients are $t^j (A + jI)^{-1} B$.

Discretised with step 1 at sample $k$, the bilinear update solves $(I + \\tfrac{A}{2k}) c_k = (I - \\tfrac{A}{2k}) c_{k-1} + \\tfrac{B}{k} f_k$. The paper's forward-Euler form $c_k = (I - \\tfrac{A}{k}) c_{k-1} + \\tfrac{B}{k} f_k$ is cheaper, but its first steps multiply by $1 - (n+1)/k$, which is large and negative for the high coefficients: with N = 32 and more, switch to Euler and watch the recall go wrong. S4, Mamba and their relatives start from this $A$, make the recurrence time-invariant or input-dependent, and learn $B$, $C$ and the step. A Mamba layer keeps $N = 16$ numbers for each of its $2d$ channels: the SSM line in the cost chart of the linear-attention lesson.`,
      views: [
        { cell: 'matrixView', title: 'A for the first (up to 10) coefficients' },
      ],
    },
  ],
  formula: {
    cell: 'scope',
    initial: 'sqrt(mean(f .^ 2))',
    examples: ['sqrt(mean(f .^ 2))', 'c', 'size(f)', 'c[1]'],
    descriptions: {
      f: 'the signal samples seen so far (1..t)',
      c: 'the state at t: N Legendre coefficients',
      t: 'samples seen',
      N: 'state size',
    },
  },
};
