// The signals the HiPPO lesson streams into its state: presets, deterministic from the seed, or
// the reader's drawing (from the URL, so a link reproduces it). (Signals, not model math: the
// recurrence itself is src/engine/linear/hippo.ts.)
import { createRng, normal } from '$engine/sampling';
import { decodeCurve, isDrawing, sampleCurve } from '../_kit/curve';

/** Points of a drawn signal (one URL character each). */
export const DRAWN_POINTS = 64;

export type SignalName = 'sines' | 'steps' | 'chirp' | 'walk' | 'spikes';

export const SIGNALS: { value: SignalName; label: string }[] = [
  { value: 'sines', label: 'two sines (smooth)' },
  { value: 'chirp', label: 'chirp (faster and faster)' },
  { value: 'steps', label: 'steps (jumps)' },
  { value: 'walk', label: 'random walk (rough)' },
  { value: 'spikes', label: 'a few spikes' },
];

/** L samples of a preset signal (scaled to about [-1, 1]) or of a drawing (straight lines between its points; the seed is not used). */
export function makeSignal(name: SignalName | string, L: number, seed: number): Float64Array {
  if (isDrawing(name)) {
    const points = decodeCurve(name, DRAWN_POINTS);
    if (!points) throw new RangeError(`makeSignal: not a drawing of ${DRAWN_POINTS} points`);
    return sampleCurve(points, L);
  }
  const rng = createRng(seed * 7 + 3);
  const phase = 2 * Math.PI * rng();
  const x = (i: number) => i / L; // position in [0, 1)
  switch (name) {
    case 'sines': {
      const f1 = 2 + 2 * rng(), f2 = 6 + 4 * rng();
      return Float64Array.from({ length: L }, (_, i) => 0.7 * Math.sin(2 * Math.PI * f1 * x(i) + phase) + 0.3 * Math.sin(2 * Math.PI * f2 * x(i)));
    }
    case 'chirp':
      return Float64Array.from({ length: L }, (_, i) => Math.sin(phase + 2 * Math.PI * (1 + 12 * x(i) * x(i)) * x(i)));
    case 'steps': {
      const cuts = Array.from({ length: 6 }, () => rng()).sort((a, b) => a - b);
      const levels = Array.from({ length: 7 }, () => 2 * rng() - 1);
      return Float64Array.from({ length: L }, (_, i) => levels[cuts.filter((c) => c <= x(i)).length]);
    }
    case 'walk': {
      const out = new Float64Array(L);
      let v = 0;
      for (let i = 0; i < L; i++) { v += normal(rng) / Math.sqrt(L / 4); out[i] = v; }
      const m = Math.max(1e-9, ...Array.from(out, Math.abs));
      return out.map((y) => y / m);
    }
    case 'spikes': {
      const out = new Float64Array(L);
      for (let s = 0; s < 4; s++) {
        const c = Math.floor(rng() * L), h = 2 * rng() - 1, w = Math.max(1, L / 100);
        for (let i = 0; i < L; i++) out[i] += h * Math.exp(-(((i - c) / w) ** 2));
      }
      return out;
    }
    default:
      throw new RangeError(`makeSignal: no preset "${name}"`);
  }
}
