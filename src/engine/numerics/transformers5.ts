// config.json as Hugging Face transformers 5.x writes it for DeepSeek-V3, read as the engine's keys.
// transformers 5 folds `rope_theta` and `rope_scaling` into one `rope_parameters` object
// ({"rope_type": "default", "rope_theta": 10000.0} or {"rope_type": "yarn", "factor": 40, ...}) and
// writes `dtype` where 4.x wrote `torch_dtype` (the engine reads neither). Its checkpoints may
// store routed experts fused (see fusedExperts in checkpoint.ts) and leave out the MTP layer, which
// transformers does not implement.
import { ConfigError } from '../errors.js';

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Was this config written by transformers 5 (or later)? */
export function isTransformers5Config(raw: Raw): boolean {
  const v = raw['transformers_version'];
  if (typeof v === 'string' && /^\d+/.test(v) && Number.parseInt(v, 10) >= 5) return true;
  return raw['rope_parameters'] !== undefined;
}

/**
 * The config object with `rope_parameters` read back into `rope_theta` and `rope_scaling` (null for
 * rope_type "default"), so parseConfig sees one set of keys. A config giving both spellings must
 * agree. Returns the object itself when there is nothing to map.
 */
export function normalizeConfigKeys(raw: Raw, file: string): Raw {
  const rp = raw['rope_parameters'];
  if (rp === undefined || rp === null) return raw;
  if (!isObject(rp)) throw new ConfigError(file, 'rope_parameters', `must be an object like {"rope_type": "default", "rope_theta": 10000} (got ${JSON.stringify(rp)})`);
  // transformers 5 also allows one rope_parameters per attention type ({"full_attention": {...}});
  // DeepSeek-V3 has one attention type, so only the flat form is meaningful here.
  if (rp['rope_theta'] === undefined && Object.values(rp).some(isObject)) {
    throw new ConfigError(file, 'rope_parameters', 'is per attention type; DeepSeek-V3 has one attention type: give {"rope_type": ..., "rope_theta": ...}');
  }
  const out: Raw = { ...raw };
  delete out['rope_parameters'];
  const theta = rp['rope_theta'];
  if (theta !== undefined) {
    if (raw['rope_theta'] !== undefined && raw['rope_theta'] !== theta) {
      throw new ConfigError(file, 'rope_parameters.rope_theta', `is ${JSON.stringify(theta)} but "rope_theta" says ${JSON.stringify(raw['rope_theta'])}: give one`);
    }
    out['rope_theta'] = theta;
  }
  const type = rp['rope_type'] ?? rp['type'] ?? 'default';
  if (type !== 'default') {
    const { rope_theta: _t, ...scaling } = rp;
    if (raw['rope_scaling'] !== undefined && raw['rope_scaling'] !== null && JSON.stringify(raw['rope_scaling']) !== JSON.stringify(scaling)) {
      throw new ConfigError(file, 'rope_parameters', 'and "rope_scaling" both describe rope scaling, differently: give one');
    }
    out['rope_scaling'] = scaling;
  } else if (out['rope_scaling'] === undefined) {
    out['rope_scaling'] = null;
  }
  return out;
}
