// Heatmap cells painted as pixels: one canvas pixel per cell, scaled up by CSS with
// `image-rendering: pixelated`. Replacing one ImageData costs far less than updating one SVG path
// per colour level (a 32 x 32 grid of distinct values is ~256 paths, created and removed as the
// levels change): the absorption lesson's eight heatmaps took ~13 ms per slider move as paths,
// ~1 ms as pixels. Exported files still get vector cells (heatmapPaths).
import type { ColourScale } from './chart-utils';
import { rgb } from './d3';

const PALETTE_BYTES = new WeakMap<readonly string[], Uint8ClampedArray>();

/** The palette as r, g, b bytes, three per level (parsed once per palette). */
function paletteBytes(palette: readonly string[]): Uint8ClampedArray {
  let bytes = PALETTE_BYTES.get(palette);
  if (!bytes) {
    bytes = new Uint8ClampedArray(palette.length * 3);
    palette.forEach((c, i) => {
      const { r, g, b } = rgb(c);
      bytes![3 * i] = r;
      bytes![3 * i + 1] = g;
      bytes![3 * i + 2] = b;
    });
    PALETTE_BYTES.set(palette, bytes);
  }
  return bytes;
}

/**
 * Paint a rows x cols grid into `canvas` (resized to cols x rows pixels); a non-finite value is a
 * transparent pixel, so whatever lies beneath (the "no value" fill) shows. Returns false when the
 * browser gives no 2D context, so the caller can draw the cells another way.
 */
export function paintCells(canvas: HTMLCanvasElement, values: ArrayLike<number>, rows: number, cols: number, scale: ColourScale): boolean {
  // (Some environments, such as DOM emulators, have canvas elements without a 2D context.)
  const ctx = typeof canvas.getContext === 'function' ? canvas.getContext('2d') : null;
  if (!ctx) return false;
  if (rows < 1 || cols < 1) return true;
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  const image = ctx.createImageData(cols, rows);
  const px = image.data;
  const bytes = paletteBytes(scale.palette);
  const n = rows * cols;
  for (let i = 0; i < n; i++) {
    const level = scale.level(values[i]);
    if (level < 0) continue; // left transparent
    const o = 4 * i;
    const p = 3 * level;
    px[o] = bytes[p];
    px[o + 1] = bytes[p + 1];
    px[o + 2] = bytes[p + 2];
    px[o + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return true;
}
