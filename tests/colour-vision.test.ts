// Colour-blind-safe palettes: every pair of series colours (each theme, read from charts.css) and of
// category colours stays apart in CIELAB for normal vision and for simulated protanopia,
// deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009, severity 1.0), and series
// colours keep 3:1 contrast against their theme's background. The series set before this test put
// vermillion and orange 1.8 apart for protanopes (light theme), and pink and grey 2.3 apart for
// deuteranopes (dark theme); the expert-ownership map used viridis, an order, for categories.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATEGORY_COLOURS, colourScale } from '../components/charts/chart-utils';
import type { Frame, RunFrame } from '../notebooks/load-balancing/live.js';
import { ownershipHeatmap } from '../notebooks/load-balancing/views.js';

const SIM: Record<string, number[][]> = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};
/** The least CIELAB distance (ΔE*ab) a palette must keep between any two of its colours. */
const MIN_DELTA_E = 15;

const hex = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
function lab(rgb: number[]): number[] {
  const [r, g, b] = rgb;
  const X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, Y = 0.2126 * r + 0.7152 * g + 0.0722 * b, Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}
function seen(colour: string, m: number[][]): number[] {
  const v = hex(colour).map(toLinear);
  return lab(m.map((row) => Math.min(1, Math.max(0, row[0] * v[0] + row[1] * v[1] + row[2] * v[2]))));
}
/** Pairs closer than MIN_DELTA_E, per kind of vision. */
function tooClose(colours: readonly string[]): string[] {
  const out: string[] = [];
  for (const [vision, m] of Object.entries(SIM)) {
    const L = colours.map((c) => seen(c, m));
    for (let i = 0; i < L.length; i++)
      for (let j = i + 1; j < L.length; j++) {
        const d = Math.hypot(L[i][0] - L[j][0], L[i][1] - L[j][1], L[i][2] - L[j][2]);
        if (d < MIN_DELTA_E) out.push(`${vision}: ${colours[i]} and ${colours[j]} are ${d.toFixed(1)} apart`);
      }
  }
  return out;
}
function contrast(a: string, b: string): number {
  const Y = (h: string) => { const [r, g, bb] = hex(h).map(toLinear); return 0.2126 * r + 0.7152 * g + 0.0722 * bb; };
  const [hi, lo] = [Y(a), Y(b)].sort((p, q) => q - p);
  return (hi + 0.05) / (lo + 0.05);
}

const css = readFileSync(new URL('../components/charts/charts.css', import.meta.url), 'utf8');
const globalCss = readFileSync(new URL('../src/lib/styles/global.css', import.meta.url), 'utf8');
/** The --series-N colours of each rule block in charts.css that sets them. */
const blocks = [...css.matchAll(/\{([^{}]*--series-1:[^{}]*)\}/g)].map((m) => [...m[1].matchAll(/--series-\d:\s*(#[0-9a-f]{6})/gi)].map((x) => x[1].toLowerCase()));
const backgrounds = [...new Set([...globalCss.matchAll(/--bg:\s*(#[0-9a-f]{6})/gi)].map((m) => m[1].toLowerCase()))];

describe('series colours', () => {
  it('are set for the light theme and the dark theme (twice: data-theme and the system preference)', () => {
    expect(blocks).toHaveLength(3);
    for (const b of blocks) expect(b).toHaveLength(6);
    expect(blocks[1]).toEqual(blocks[2]);
    expect(backgrounds).toHaveLength(2);
  });
  it(`stay >= ${MIN_DELTA_E} apart for normal, protan, deutan and tritan vision`, () => {
    for (const b of blocks) expect(tooClose(b)).toEqual([]);
  });
  it('keep 3:1 contrast against their background', () => {
    const [light, dark] = [backgrounds.find((b) => contrast(b, '#ffffff') < 1.5)!, backgrounds.find((b) => contrast(b, '#000000') < 1.5)!];
    for (const c of blocks[0]) expect(contrast(c, light), c).toBeGreaterThanOrEqual(3);
    for (const c of blocks[1]) expect(contrast(c, dark), c).toBeGreaterThanOrEqual(3);
  });
});

describe('category colours', () => {
  it(`stay >= ${MIN_DELTA_E} apart for normal, protan, deutan and tritan vision`, () => {
    expect(CATEGORY_COLOURS.length).toBeGreaterThanOrEqual(8);
    expect(tooClose(CATEGORY_COLOURS)).toEqual([]);
  });
  it('a categorical scale gives each whole number its own colour, in order', () => {
    const s = colourScale('categorical', [0, 7]);
    expect(Array.from({ length: 8 }, (_, i) => s.palette[s.level(i)])).toEqual([...CATEGORY_COLOURS]);
    expect(s.level(Number.NaN)).toBe(-1);
  });
  it('the expert-ownership map is categorical', () => {
    const run = (strategy: RunFrame['strategy']): RunFrame => ({
      strategy, label: strategy, steps: 1, history: [], tokens: 16, experts: 8, topk: 2,
      grid: { n: 4, extent: 1, owner: Uint8Array.from({ length: 16 }, (_, i) => i % 8), weight: new Float32Array(16) }, gridStep: 1, evaluation: null, clusters: [],
    });
    const frame: Frame = { runs: [run('none'), run('aux'), run('bias')], goal: 1, runTo: 1, playing: false, pausedAt: null, done: true, speed: 120, measured: null };
    expect(ownershipHeatmap(frame).scale).toBe('categorical');
  });
});
