// What a training run is made of (the lesson's inputs, resolved) and the messages between the page
// and the trainer worker. Shared by the page and worker.ts; no DOM, no engine state.
import { type DeepSeekConfig, configToJson, parseConfig } from '$engine/config';
import { TINY_CONFIG_JSON } from '$engine/tiny';
import { type RunSettings } from './schedule';

export * from './schedule';

// The shipped model's config, when one is in static/models/ (the trainer issue ships it).
const shipped = import.meta.glob('../../static/models/nanoseek-*/config.json', { eager: true, import: 'default' }) as Record<string, Record<string, unknown>>;
const shippedEntry = Object.entries(shipped)[0];

/** The model sizes offered: golden case b's shape, the shipped model's (when it exists), else the twin's M shape. */
export const SIZES: { value: string; label: string; raw: Record<string, unknown> }[] = [
  { value: 'golden-b', label: 'golden-b: d 64, 2 layers', raw: { ...TINY_CONFIG_JSON } },
  shippedEntry
    ? { value: 'shipped', label: `shipped: d ${shippedEntry[1].hidden_size}, ${shippedEntry[1].num_hidden_layers} layers`, raw: { ...shippedEntry[1] } }
    : { value: 'm', label: 'M: d 96, 3 layers', raw: { ...TINY_CONFIG_JSON, hidden_size: 96, num_hidden_layers: 3 } },
];

/** The config of a size (MTP off: no MTP module). */
export function configOf(s: Pick<RunSettings, 'size' | 'mtp'>): DeepSeekConfig {
  const size = SIZES.find((z) => z.value === s.size) ?? SIZES[0];
  const raw = { ...size.raw, max_position_embeddings: Math.max(Number(size.raw.max_position_embeddings ?? 0), 512), num_nextn_predict_layers: s.mtp ? 1 : 0 };
  return parseConfig(raw, { file: `the ${size.value} shape` });
}

/** The twin curve family a size compares with. */
export function shapeFamily(size: string): 'golden-b' | 'm' {
  return size === 'golden-b' ? 'golden-b' : 'm';
}

/** The run's identity: settings it does not use (γ without the bias update, α without the loss, λ without MTP) are left out. */
export function settingsKey(s: RunSettings): string {
  return JSON.stringify([s.seed, s.size, s.lr, s.batch, s.seqLen, s.balancing, s.balancing === 'bias' ? s.gamma : null, s.balancing === 'bias' ? Math.min(s.gamma, s.gammaEnd) : null, s.balancing === 'aux' ? s.alpha : null, s.mtp, s.mtp ? s.mtpLambda : null, s.corpus]);
}

export { configToJson };

// ---- messages: page -> worker ----
export type ToWorker =
  | { type: 'init'; settings: RunSettings; threads: number; dataUrl: string; saved: Uint8Array | null; untrained: UntrainedStats | null }
  | { type: 'run' }
  | { type: 'pause' }
  | { type: 'step' }
  | { type: 'snapshot'; id: number }
  /** Save the run to the browser's storage (store.ts) from the worker: its state with this history, under this key. */
  | { type: 'save'; id: number; key: string; history: unknown }
  | { type: 'export'; id: number }
  | { type: 'load'; id: number; bytes: Uint8Array; file: string }
  /** The reader pressed something: leave the cores to the page until `until` (ms since the epoch). */
  | { type: 'yield'; until: number };

// ---- messages: worker -> page ----
export interface StepPoint {
  step: number;
  chars: number;
  lr: number;
  bpc: number;
  loss: number;
  gradNorm: number;
  mtpAgree: number | null;
  /** Per MoE layer (prefix order of `layers`): tokens per routed expert on this batch. */
  load: number[][];
  /** Per MoE layer: e_score_correction_bias after the step. */
  bias: number[][];
}

export interface EvalPoint {
  step: number;
  chars: number;
  valBpc: number;
  greedy: number | null;
  sampled: number | null;
  /** Per MoE layer: MaxVio on the held-out windows, prose and arithmetic weighted as in the training text (worker.ts measure). */
  maxVio: number[];
  /** Per MoE layer: P(expert | arithmetic) / P(expert), by top-k slots; P(expert) over held-out prose and arithmetic together. */
  lift: number[][];
  /** Logits of the next character after the probe prompt (first PROBE_LOGITS of them): what a reloaded checkpoint must reproduce. */
  probe: number[];
}

export interface UntrainedStats { lift: number[][]; maxVio: number[]; greedy: number | null; sampled: number | null; valBpc: number }

export interface Sample { step: number; chars: number; text: string }

export type FromWorker =
  | { type: 'ready'; layers: string[]; params: number; step: number; chars: number; untrained: UntrainedStats; loadedFrom: string | null; threads: number; kernels: string }
  | { type: 'steps'; points: StepPoint[]; charsPerSec: number | null }
  | { type: 'eval'; point: EvalPoint }
  | { type: 'sample'; sample: Sample }
  | { type: 'state'; running: boolean }
  | { type: 'snapshot'; id: number; bytes: Uint8Array }
  | { type: 'saved'; id: number; ok: boolean }
  | { type: 'export'; id: number; bytes: Uint8Array; probe: number[] }
  | { type: 'loaded'; id: number; file: string; layers: string[]; params: number; config: Record<string, unknown> }
  | { type: 'load-error'; id: number; message: string }
  | { type: 'error'; message: string };

/** The prompt every sample starts from, and the probe whose logits are compared after a reload. */
export const SAMPLE_PROMPT = 'Once upon a time';
export const SAMPLE_CHARS = 160;
export const SAMPLE_TEMPERATURE = 0.8;
export const PROBE_LOGITS = 16;
