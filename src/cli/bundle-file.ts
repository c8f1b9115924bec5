// `--model FILE.tar`: a checkpoint bundle (src/engine/bundle.ts: config.json, model.safetensors and
// tokenizer.json in one ustar file, what the training lesson downloads) read as a model folder.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import type { Backend } from '../../kernels/backend.js';
import { type CharTokenizer, type Model, escapeControls, loadModel, parseTokenizerJson } from '../engine/index.js';
import { MAX_BUNDLE_BYTES, readBundle } from '../engine/bundle.js';
import { EngineInputError } from '../engine/errors.js';

/** True when --model names a file (not a folder) ending in .tar. */
export function isBundleFile(path: string): boolean {
  return path.toLowerCase().endsWith('.tar') && existsSync(path) && statSync(path).isFile();
}

/** The whole file, if it is a regular file of at most MAX_BUNDLE_BYTES (checked on the open descriptor). */
function readBounded(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new EngineInputError(`${escapeControls(path)}: a checkpoint bundle must be a regular file`);
    if (st.size > MAX_BUNDLE_BYTES) throw new EngineInputError(`${escapeControls(path)}: ${st.size} bytes is more than the ${MAX_BUNDLE_BYTES} a checkpoint bundle may be`);
    return new Uint8Array(readFileSync(fd));
  } finally {
    closeSync(fd);
  }
}

const bundles = new Map<string, Map<string, Uint8Array>>();
function filesOf(path: string): Map<string, Uint8Array> {
  let files = bundles.get(path);
  if (!files) {
    files = readBundle(readBounded(path), escapeControls(path));
    bundles.set(path, files);
  }
  return files;
}

export function loadModelBundle(path: string, backend: Backend): Model {
  const files = filesOf(path);
  const name = escapeControls(path);
  return loadModel(new TextDecoder().decode(files.get('config.json')!), files.get('model.safetensors')!, { configFile: `${name}: config.json`, weightsFile: `${name}: model.safetensors`, backend });
}

/** The bundle's tokenizer.json (checked against the config), or null when it has none. */
export function bundleTokenizer(path: string, model: Model): CharTokenizer | null {
  const tok = filesOf(path).get('tokenizer.json');
  if (!tok) return null;
  const name = escapeControls(path);
  return parseTokenizerJson(new TextDecoder().decode(tok), `${name}: tokenizer.json`, model.config.vocab_size, `${name}: config.json`);
}
