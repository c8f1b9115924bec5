// `convert`: store a model as BF16, FP16, FP8 with block scales (DeepSeek-V3's released layout) or
// F32, and read any of them back. The input folder may be one model.safetensors or shards with
// model.safetensors.index.json, in any dtype the engine reads; the output is checked by loading it
// again, and the command reports the bytes and the largest change of any weight.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type DeepSeekConfig, EngineInputError, Model, type SafetensorsTensor, configToJson, escapeControls, parseModelConfig, readSafetensors,
  writeSafetensors,
} from '../engine/index.js';
import { mergeShards, prepareCheckpoint, readShardIndex } from '../engine/numerics/checkpoint.js';
import { TARGET_DTYPES, type TargetDtype, convertTensors, fp8QuantizationConfig } from '../engine/numerics/convert.js';
import { readCheckpointBytes, readTextFile } from './files.js';

export const CONVERT_USAGE = `  convert   --model DIR --out DIR --dtype f32|bf16|fp16|fp8 [--block 128,128] [--json]
            (fp8: linear weights F8_E4M3 with a weight_scale_inv per block, the rest BF16, as DeepSeek-V3 ships;
             DIR may hold shards with model.safetensors.index.json)`;

const OPTIONS = {
  model: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' }, block: { type: 'string' }, json: { type: 'boolean' },
} as const;

const fail = (message: string): never => { throw new EngineInputError(message); };

export interface ModelDir {
  config: DeepSeekConfig;
  tensors: Map<string, SafetensorsTensor>;
  /** Stored dtype -> number of tensors, as found in the files. */
  dtypes: Record<string, number>;
  notes: string[];
  model: Model;
}

/** Read a model folder in any layout the engine understands (checked by binding it to the config). */
export function readModelDir(dir: string): ModelDir {
  if (!existsSync(dir)) fail(`--model folder not found: ${escapeControls(dir)}`);
  if (!statSync(dir).isDirectory()) fail(`--model must be a folder holding config.json and model.safetensors (got a file: ${escapeControls(dir)})`);
  const configFile = join(dir, 'config.json');
  const configText = readTextFile(configFile, 'config.json');
  const config = parseModelConfig(configText, escapeControls(configFile));
  const indexFile = join(dir, 'model.safetensors.index.json');
  let shards: { file: string; tensors: Map<string, SafetensorsTensor> }[];
  let weightMap: Map<string, string> | undefined;
  if (existsSync(indexFile)) {
    const index = readShardIndex(readTextFile(indexFile, 'model.safetensors.index.json'), escapeControls(indexFile));
    weightMap = index.weightMap;
    shards = index.shards.map((name) => {
      const file = join(dir, name);
      return { file: escapeControls(file), tensors: readSafetensors(readCheckpointBytes(file, name), escapeControls(file)).tensors };
    });
  } else {
    const file = join(dir, 'model.safetensors');
    shards = [{ file: escapeControls(file), tensors: readSafetensors(readCheckpointBytes(file, 'model.safetensors'), escapeControls(file)).tensors }];
  }
  const { tensors, fileOf } = mergeShards(shards, weightMap, escapeControls(indexFile));
  const dtypes: Record<string, number> = {};
  for (const [name, t] of tensors) if (!name.endsWith('_scale_inv')) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  const ready = prepareCheckpoint(config, JSON.parse(configText), tensors, { configFile: escapeControls(configFile), fileOf });
  const model = Model.fromTensors(ready.config, ready.tensors, { file: shards.length === 1 ? shards[0]!.file : escapeControls(indexFile) });
  return { config: ready.config, tensors: ready.tensors, dtypes, notes: ready.notes, model };
}

function parseBlock(text: string | undefined): [number, number] {
  if (text === undefined) return [128, 128];
  const parts = text.split(/[,x]/).map((p) => Number(p.trim()));
  if (parts.length !== 2 || !parts.every((n) => Number.isSafeInteger(n) && n >= 1 && n <= 65536)) {
    fail(`--block must be two positive integers ROWS,COLS like 128,128 (got ${JSON.stringify(text)})`);
  }
  return [parts[0]!, parts[1]!];
}

export async function runConvert(argv: string[]): Promise<void> {
  let flags: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (parsed.positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    flags = parsed.values;
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${CONVERT_USAGE}`);
  }
  const modelDir = flags.model ?? fail('--model is required');
  const outDir = flags.out ?? fail('--out is required');
  const dtype = (flags.dtype ?? fail(`--dtype is required (${TARGET_DTYPES.join(', ')})`)) as TargetDtype;
  if (!TARGET_DTYPES.includes(dtype)) fail(`--dtype must be one of ${TARGET_DTYPES.join(', ')} (got ${JSON.stringify(flags.dtype)})`);
  const block = parseBlock(flags.block);
  if (flags.block !== undefined && dtype !== 'fp8') fail('--block applies to --dtype fp8 only');

  const input = readModelDir(modelDir);
  const stored = convertTensors(input.tensors, dtype, block);
  const bytes = writeSafetensors(stored, { format: 'pt' });
  const configJson: Record<string, unknown> = {
    ...configToJson(input.config),
    torch_dtype: dtype === 'f32' ? 'float32' : dtype === 'fp16' ? 'float16' : 'bfloat16',
    ...(dtype === 'fp8' ? { quantization_config: fp8QuantizationConfig(block) } : {}),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  writeFileSync(join(outDir, 'model.safetensors'), bytes);

  // Read what was written back, as any user of the folder would, and compare.
  const back = readModelDir(outDir);
  let maxAbs = 0, se = 0, sx = 0;
  for (const [name, t] of input.tensors) {
    const u = back.tensors.get(name);
    if (!u) fail(`internal: ${name} did not survive the round trip`);
    for (let i = 0; i < t.data.length; i++) {
      const d = u!.data[i]! - t.data[i]!;
      maxAbs = Math.max(maxAbs, Math.abs(d));
      se += d * d;
      sx += t.data[i]! * t.data[i]!;
    }
  }
  const summary = {
    out: outDir, dtype, block: dtype === 'fp8' ? block : null, bytes: bytes.byteLength,
    input_dtypes: input.dtypes, output_dtypes: back.dtypes, notes: input.notes,
    max_abs_change: maxAbs, rel_rms_change: sx > 0 ? Math.sqrt(se / sx) : 0,
  };
  process.stdout.write(flags.json ? JSON.stringify(summary) + '\n'
    : `wrote ${outDir}/config.json and ${outDir}/model.safetensors (${dtype}, ${bytes.byteLength} bytes: ${Object.entries(back.dtypes).map(([k, v]) => `${v} ${k}`).join(', ')})\n`
      + `read back: largest weight change ${maxAbs.toExponential(3)}, relative RMS change ${summary.rel_rms_change.toExponential(3)}\n`);
}
