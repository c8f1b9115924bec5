// What each chart component draws: plain, serialisable data prepared by a notebook cell. A chart
// never computes model math; it maps these numbers to marks, with a legend and accessible text.

/** Where a number comes from, shown beside every figure (nothing on screen is an unlabelled drawing). */
export type Provenance =
  | { kind: 'engine'; detail?: string }
  | { kind: 'derived'; detail?: string }
  | { kind: 'published'; citation: string; url?: string };

/** A rows x cols grid of values (row-major), e.g. tokens x experts or tokens x latent dims. */
export interface HeatmapData {
  kind: 'heatmap';
  rows: number;
  cols: number;
  values: ArrayLike<number>;
  rowLabels?: string[];
  colLabels?: string[];
  /** Axis titles. */
  rowTitle?: string;
  colTitle?: string;
  /** Colour scale: 'sequential' (viridis-like, e.g. probabilities), 'diverging' (signed values, centred
   * on 0) or 'categorical' (whole numbers naming a category, e.g. the expert that owns a cell: one
   * colour each from domain[0], a swatch legend, borders between categories, region indices printed). */
  scale: 'sequential' | 'diverging' | 'categorical';
  /** Categorical only: the legend's name for each category (default: its number). */
  categoryNames?: string[];
  /** Fixed domain; default from the data ([min, max], or symmetric [-m, m] for diverging). */
  domain?: [number, number];
  /** Cells to outline (e.g. chosen experts): [row, col] pairs, with what the outline means. */
  marks?: { cells: [number, number][]; label: string };
  /** Cells to hatch/dim (e.g. masked, or experts in dropped groups), with what it means. */
  dimmed?: { cells: [number, number][]; label: string };
  /** Legend title, e.g. "gate score s_i" or "|difference|". */
  valueLabel: string;
  /** Digits shown in tooltips / cell text (default 3). */
  digits?: number;
  /** Print the value inside each cell when cells are large enough (MatrixView style). */
  showValues?: boolean;
}

export interface Series {
  /** Legend name. */
  name: string;
  points: { x: number; y: number }[];
  /** Draw as a dashed line (e.g. theory) or points only (e.g. measurements). */
  style?: 'line' | 'dashed' | 'points';
  /** A staircase: each y holds until the next point's x (a count that jumps between samples is drawn
   * as a step, never as a diagonal through counts nobody measured). */
  steps?: boolean;
}

export interface LineChartData {
  kind: 'line';
  series: Series[];
  xLabel: string;
  yLabel: string;
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
  /** Vertical marker lines, e.g. the current slider position. */
  markers?: { x: number; label: string }[];
  /** Number formats for ticks: 'bytes' shows KiB/MiB/GiB, 'si' shows k/M/G, 'plain' default. */
  xFormat?: 'plain' | 'si' | 'bytes';
  yFormat?: 'plain' | 'si' | 'bytes';
  /** x is a count (draft length, step): ticks on whole numbers only. */
  xIntegers?: boolean;
  /** y is a count (tokens, experts): ticks on whole numbers only. */
  yIntegers?: boolean;
}

export interface BarChartData {
  kind: 'bar';
  /** Categories along x; each group has one bar per series. */
  categories: string[];
  series: { name: string; values: number[] }[];
  yLabel: string;
  yScale?: 'linear' | 'log';
  yFormat?: 'plain' | 'si' | 'bytes';
  /** y is a count (tokens, targets): ticks on whole numbers only. */
  yIntegers?: boolean;
  /** Optional highlighted category (outlined), with what the highlight means. */
  highlight?: { category: string; label: string };
}

export interface TableData {
  kind: 'table';
  columns: { key: string; label: string; align?: 'left' | 'right'; format?: 'plain' | 'si' | 'bytes' | 'percent' | 'ratio' }[];
  rows: Record<string, string | number>[];
  caption?: string;
}

/** A few headline numbers, e.g. "max |difference| 3.1e-7". */
export interface StatsData {
  kind: 'stats';
  items: { label: string; value: number | string; unit?: string; digits?: number; format?: 'plain' | 'si' | 'bytes' | 'sci' | 'percent' | 'ratio'; note?: string }[];
}

export type ChartData = HeatmapData | LineChartData | BarChartData | TableData | StatsData;

/** The props every chart component takes. */
export interface ChartProps<T> {
  data: T;
  /** Names the svg (and the exported file's heading); drawn at the top unless showTitle is false. */
  title: string;
  /** Width in px; default: the container's width. */
  width?: number;
  /** Height in px; default: chosen by each chart from its width or its cells (a table: its max height before scrolling). */
  height?: number;
  /** File name (no extension) for the export buttons; default from the title. */
  exportName?: string;
  /** Where the numbers come from, printed under the figure. */
  provenance?: Provenance;
  /** Draw the title (default true); pass false where the page already shows it (e.g. a cell frame). */
  showTitle?: boolean;
}

/** Where a chart's tooltip goes: its anchor in SVG units, above or below it, and its alignment. */
export interface TipPlace {
  x: number;
  y: number;
  below: boolean;
  align: string;
}

/** What the architecture diagram draws: a model's sizes (from its config.json) and the lessons it links. */
export interface ArchitectureData {
  /** The model's name, e.g. "nanoseek-stories". */
  name: string;
  /** Where the sizes come from, e.g. "static/models/nanoseek-stories/config.json". */
  source: string;
  config: {
    vocab: number;
    hidden: number;
    layers: number;
    /** Layers with a dense FFN before the MoE layers (first_k_dense_replace). */
    denseLayers: number;
    denseWidth: number;
    heads: number;
    /** q_lora_rank (null: a plain query projection). */
    qRank: number | null;
    kvRank: number;
    dNope: number;
    dRope: number;
    dV: number;
    routed: number;
    shared: number;
    topK: number;
    groups: number;
    topkGroup: number;
    expertWidth: number;
    /** routed_scaling_factor. */
    scale: number;
    /** MTP modules (num_nextn_predict_layers). */
    mtp: number;
  };
  /** The lessons placed on the diagram: id (the lesson's slug), suggested position n, link. */
  ideas: { id: string; n: number; title: string; href: string; minutes?: number }[];
}

/** A matrix in a shape diagram: its name, its size in rows x cols (drawn to scale) and what the sizes are. */
export interface ShapeTerm {
  name: string;
  rows: number;
  cols: number;
  /** e.g. "T", "d_c = 32". */
  rowDim: string;
  colDim: string;
  /** weight: a learned matrix; act: an activation; cache: what is kept in the KV cache; absorbed: a product computed once. */
  tone: 'weight' | 'act' | 'cache' | 'absorbed';
}

/** Shape diagrams: equations of matrices drawn to scale, one per row, e.g. "c_KV = h · W_DKV". */
export interface ShapeDiagramData {
  kind: 'shapes';
  rows: { label: string; terms: (ShapeTerm | { op: string })[]; note?: string }[];
}

/** The rotary pairs of k^R as dials: each pair's angle at every position so far (radians, as the engine rotated it). */
export interface RopeDialsData {
  kind: 'rope-dials';
  /** One entry per rotary pair (dims 2i, 2i+1): its angle at positions 0..n-1. */
  pairs: { index: number; angles: number[] }[];
  /** The positions the angles are for (0-based), and the one to stress (the latest). */
  positions: number;
  /** What a position is, for the labels, e.g. the characters of the prompt. */
  labels?: string[];
}

/** The causal chain of MTP: which token each depth reads and predicts at one position. */
export interface MtpChainData {
  kind: 'mtp-chain';
  /** The position i (1-based) the chain is drawn at. */
  position: number;
  /** Characters (as shown) of the sequence: tokens[k] is t_{k+1}. */
  tokens: string[];
  /** Depths drawn: 0 is the main model, 1..D the MTP modules. */
  depth: number;
  /** The model's hidden size (the projection is 2d -> d). */
  hidden: number;
  /** Whether the embedding and the output head are shared with the main model (checked on the weights). */
  sharedEmbedding: boolean;
  sharedHead: boolean;
}
