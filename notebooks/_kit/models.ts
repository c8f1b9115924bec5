// Models the lessons build in the page: the tiny DeepSeek-V3 (golden case b's shapes) with seeded
// random weights, and the published DeepSeek-V2 / V3 configs for the at-scale tables.
import { type DeepSeekConfig, parseConfig } from '$engine/config';
import { TINY_CONFIG_JSON } from '$engine/tiny';
import v2 from '../../static/configs/deepseek-v2.json';
import v3 from '../../static/configs/deepseek-v3.json';

/** The tiny model's config.json keys (golden case b's shapes, context raised for the sliders). */
export const TINY_RAW = TINY_CONFIG_JSON;

/** The tiny config with some keys changed (validated: a bad combination throws a ConfigError). */
export function tinyConfig(overrides: Record<string, unknown> = {}): DeepSeekConfig {
  return parseConfig({ ...TINY_RAW, ...overrides }, { file: 'the tiny model' });
}

/** The published configs (rope_scaling is allowed here: only the cache tables use them). */
export const REAL_CONFIGS: { name: string; config: DeepSeekConfig; source: string }[] = [
  { name: 'DeepSeek-V2', config: parseConfig(v2, { file: 'deepseek-v2.json', allowRopeScaling: true }), source: 'deepseek-ai/DeepSeek-V2 config.json' },
  { name: 'DeepSeek-V3', config: parseConfig(v3, { file: 'deepseek-v3.json', allowRopeScaling: true }), source: 'deepseek-ai/DeepSeek-V3 config.json' },
];

/** 131072 -> "128K", 1000 -> "1,000". */
export function formatTokens(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return n.toLocaleString('en-US');
}

/** A deterministic prompt of n token ids for a vocabulary (the tiny model has no tokenizer). */
export function promptIds(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 31 + i * 17 + 5) % vocab);
}
