// A lesson's thumbnail on the index: its first chart's numbers, scaled to 0..1 at prerender
// (src/lib/server/previews.ts) and drawn by src/lib/shell/LessonPreview.svelte.
export type Preview =
  | { kind: 'heatmap'; title: string; rows: number; cols: number; values: number[]; diverging: boolean }
  | { kind: 'line'; title: string; series: [number, number][][] }
  | { kind: 'bar'; title: string; bars: number[][] };
