// The index page's lesson previews: each lesson's first chart, computed by the engine at prerender
// (the lesson's cells at their defaults) and reduced to a thumbnail's worth of numbers.
import { loopBackend } from '$kernels/loop';
import type { ChartData } from '$components/charts/types';
import { evaluateNotebook } from '$lib/notebook/evaluate';
import { loadNotebook } from '$lib/notebook/modules';
import type { Lesson } from '$lib/lessons';

import type { Preview } from '$lib/previews';

const MAX = 24; // thumbnail grid size

/** Scale numbers to 0..1 (log when asked and all positive). */
function unit(xs: number[], log = false): number[] {
  const v = log && xs.every((x) => x > 0) ? xs.map(Math.log) : xs;
  const lo = Math.min(...v), hi = Math.max(...v);
  return v.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0.5));
}

function reduce(data: ChartData, title: string): Preview | null {
  switch (data.kind) {
    case 'heatmap': {
      // Block-average down to at most MAX x MAX.
      const rows = Math.min(MAX, data.rows), cols = Math.min(MAX, data.cols);
      const out: number[] = [];
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
        let s = 0, n = 0;
        for (let i = Math.floor((r * data.rows) / rows); i < Math.floor(((r + 1) * data.rows) / rows); i++) {
          for (let j = Math.floor((c * data.cols) / cols); j < Math.floor(((c + 1) * data.cols) / cols); j++) { s += data.values[i * data.cols + j]; n++; }
        }
        out.push(n ? s / n : 0);
      }
      const diverging = data.scale === 'diverging';
      const m = Math.max(...out.map(Math.abs)) || 1;
      return { kind: 'heatmap', title, rows, cols, values: diverging ? out.map((v) => 0.5 + v / (2 * m)) : unit(out), diverging };
    }
    case 'line': {
      const xs = data.series.flatMap((s) => s.points.map((p) => p.x));
      const ys = data.series.flatMap((s) => s.points.map((p) => p.y));
      const ux = unit(xs, data.xScale === 'log'), uy = unit(ys, data.yScale === 'log');
      let k = 0;
      return { kind: 'line', title, series: data.series.slice(0, 4).map((s) => s.points.map(() => { const p: [number, number] = [ux[k], uy[k]]; k++; return p; })) };
    }
    case 'bar': {
      const u = unit(data.series.flatMap((s) => s.values), data.yScale === 'log');
      const n = data.categories.length;
      return { kind: 'bar', title, bars: data.categories.map((_, ci) => data.series.map((_, si) => u[si * n + ci])) };
    }
    default:
      return null;
  }
}

/** A preview per lesson slug (lessons whose cells fail or draw no chart get none). */
export async function lessonPreviews(lessons: readonly Lesson[]): Promise<Record<string, Preview>> {
  const out: Record<string, Preview> = {};
  for (const lesson of lessons) {
    try {
      const nb = await loadNotebook(lesson.source);
      if (!nb) continue;
      const env = await evaluateNotebook(nb, {}, loopBackend);
      for (const s of nb.sections) {
        const view = (s.views ?? []).find((v) => !v.component && reduce(env[v.cell] as ChartData, v.title));
        if (view) { out[lesson.slug] = reduce(env[view.cell] as ChartData, view.title)!; break; }
      }
    } catch (e) {
      console.warn(`[nanoseek] no preview for ${lesson.slug}: ${(e as Error).message}`);
    }
  }
  return out;
}
