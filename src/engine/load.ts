// From files' contents to a Model, with every problem reported against the file it is in. Pure:
// the caller reads the bytes (fs in Node, fetch in the browser).
import { type Backend, markConstantDeep } from '../../kernels/backend.js';
import { type DeepSeekConfig, type ParseOptions, checkModelFits, parseConfig } from './config.js';
import { ConfigError, escapeControls } from './errors.js';
import { Model } from './model.js';
import { readSafetensors } from './safetensors.js';
import { prepareCheckpoint } from './numerics/checkpoint.js';

/** Parse config.json text; a JSON syntax error is reported as a ConfigError naming the file. */
export function parseConfigText(text: string, options: ParseOptions = {}): DeepSeekConfig {
  const file = options.file ?? 'config.json';
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(root)', `is not valid JSON: ${escapeControls(String((e as Error).message)).slice(0, 200)}`);
  }
  return parseConfig(raw, { ...options, file });
}

export interface LoadOptions {
  configFile?: string;
  weightsFile?: string;
  backend?: Backend;
}

/** Parse config.json text for a model to be built: also refused if its weights would not fit in memory. */
export function parseModelConfig(configText: string, file = 'config.json'): DeepSeekConfig {
  const config = parseConfigText(configText, { file });
  checkModelFits(config, file);
  return config;
}

/**
 * Build a model from config.json text and model.safetensors bytes (or a function giving them,
 * called only once the config is known to fit: a reader need not touch a large file for a config
 * that is refused anyway).
 */
export function loadModel(configText: string, weights: Uint8Array | ArrayBuffer | (() => Uint8Array), options: LoadOptions = {}): Model {
  const config = parseModelConfig(configText, options.configFile ?? 'config.json');
  const file = options.weightsFile ?? 'model.safetensors';
  const { tensors } = readSafetensors(typeof weights === 'function' ? weights() : weights, file, { requireFinite: true });
  // DeepSeek's FP8 block scales and transformers 5's fused experts (numerics/checkpoint.ts)
  const ready = prepareCheckpoint(config, JSON.parse(configText), tensors, { configFile: options.configFile, weightsFile: file });
  const model = Model.fromTensors(ready.config, ready.tensors, { file, backend: options.backend });
  // Weights read from a file are never written: a backend may keep its own copy (kernels/wasm.ts).
  markConstantDeep(model.weights);
  return model;
}
