// From files' contents to a Model, with every problem reported against the file it is in. Pure:
// the caller reads the bytes (fs in Node, fetch in the browser).
import type { Backend } from '../../kernels/backend.js';
import { type DeepSeekConfig, type ParseOptions, parseConfig } from './config.js';
import { ConfigError } from './errors.js';
import { Model } from './model.js';
import { readSafetensors } from './safetensors.js';

/** Parse config.json text; a JSON syntax error is reported as a ConfigError naming the file. */
export function parseConfigText(text: string, options: ParseOptions = {}): DeepSeekConfig {
  const file = options.file ?? 'config.json';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(root)', `is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, { ...options, file });
}

export interface LoadOptions {
  configFile?: string;
  weightsFile?: string;
  backend?: Backend;
}

/** Build a model from config.json text and model.safetensors bytes. */
export function loadModel(configText: string, weights: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Model {
  const config = parseConfigText(configText, { file: options.configFile ?? 'config.json' });
  const file = options.weightsFile ?? 'model.safetensors';
  const { tensors } = readSafetensors(weights, file);
  return Model.fromTensors(config, tensors, { file, backend: options.backend });
}
