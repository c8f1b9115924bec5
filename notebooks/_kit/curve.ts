// A curve the reader draws, kept in the URL: `points` values in [-1, 1], each rounded to one of 64
// levels and written as one base64url character (A = -1, _ = +1), after a '.' that no preset name
// starts with. So a drawing of 64 points is a 65-character, URL-safe value (`?signal=.gw...`), a
// link reproduces it exactly, and a 'curve' input's value is either a preset's name or a drawing.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Levels per point (one base64url character). */
export const CURVE_LEVELS = ALPHABET.length;
/** What starts an encoded drawing (a character outside the alphabet, left alone by URL encoding). */
export const CURVE_MARK = '.';

/** The level (0..63) nearest a value, clamped to [-1, 1]. */
export function curveLevel(y: number): number {
  const c = Math.max(-1, Math.min(1, Number.isFinite(y) ? y : 0));
  return Math.round(((c + 1) / 2) * (CURVE_LEVELS - 1));
}

/** The value of a level. */
export function levelValue(level: number): number {
  return -1 + (2 * level) / (CURVE_LEVELS - 1);
}

/** A drawing's value: '.' then one character per point (values rounded to the nearest level). */
export function encodeCurve(values: ArrayLike<number>): string {
  let s = CURVE_MARK;
  for (let i = 0; i < values.length; i++) s += ALPHABET[curveLevel(values[i])];
  return s;
}

/** The points of an encoded drawing (each exactly on a level), or null if the text is not one of `points` points. */
export function decodeCurve(text: string, points: number): number[] | null {
  if (!text.startsWith(CURVE_MARK) || text.length !== points + 1) return null;
  const out: number[] = [];
  for (let i = 1; i < text.length; i++) {
    const level = ALPHABET.indexOf(text[i]);
    if (level < 0) return null;
    out.push(levelValue(level));
  }
  return out;
}

/** True when the text is an encoded drawing (of any length); a preset's name otherwise. */
export function isDrawing(text: string): boolean {
  return text.startsWith(CURVE_MARK);
}

/** The drawing sampled at L evenly spaced positions, straight lines between its points. */
export function sampleCurve(points: readonly number[], L: number): Float64Array {
  const n = points.length, out = new Float64Array(L);
  if (n === 0) return out;
  for (let i = 0; i < L; i++) {
    const x = L === 1 ? 0 : (i * (n - 1)) / (L - 1), j = Math.min(n - 2, Math.floor(x)), f = x - j;
    out[i] = n === 1 ? points[0] : points[j] * (1 - f) + points[j + 1] * f;
  }
  return out;
}
