// The shipped model in each storage/compute scheme against FP32, on held-out stories: bits per
// character and top-1 agreement over WINDOWS windows of LENGTH characters (the closing note's and the
// precision lesson's table, on more text than the lesson's one passage). Prints a Markdown table.
//   npx tsx scripts/precision-figures.ts [MODEL_DIR] [--windows 16] [--length 128]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fastestBackend } from '../kernels/fastest.js';
import { loadModel } from '../src/engine/load.js';
import { SCHEMES, SCHEME_LABELS, compareLogits, modelInScheme, modelTensors, schemeBytes, schemeWeights } from '../src/engine/numerics/index.js';
import { Model } from '../src/engine/model.js';
import { charTokenizer } from '../src/engine/tokenizer.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : path.join(root, 'static', 'models', 'nanoseek-stories');
const windows = arg('--windows', 16), length = arg('--length', 128);
const backend = await fastestBackend();
const model = loadModel(readFileSync(path.join(dir, 'config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(dir, 'model.safetensors'))), { backend });
const tensors = modelTensors(model);
const text = readFileSync(path.join(root, 'static', 'data', 'stories', 'val.txt'), 'utf8');
// Windows spread evenly over the whole held-out file.
const stride = Math.floor((text.length - length) / windows);
const passages = Array.from({ length: windows }, (_, w) => charTokenizer.encode(text.slice(w * stride, w * stride + length)));
const ref = Model.fromTensors(model.config, tensors, { backend });
const refLogits = passages.map((ids) => ref.forward(ids).logits);
const rows: string[] = ['| scheme | weights | bits/char | top-1 agreement with FP32 |', '|---|---|---|---|'];
for (const scheme of SCHEMES) {
  const stored = schemeWeights(tensors, scheme);
  const m = scheme === 'fp32' ? ref : modelInScheme(model.config, tensors, scheme, backend, true, stored);
  let bits = 0, agree = 0;
  passages.forEach((ids, i) => {
    const c = compareLogits(refLogits[i]!, scheme === 'fp32' ? refLogits[i]! : m.forward(ids).logits, ids, model.config.vocab_size);
    bits += c.bitsPerChar; agree += c.agreement;
  });
  rows.push(`| ${SCHEME_LABELS[scheme]} | ${(schemeBytes(tensors, scheme) / 1024).toFixed(0)} KiB | ${(bits / windows).toFixed(4)} | ${(100 * agree / windows).toFixed(1)}% |`);
}
process.stdout.write(`${path.relative(root, dir)}, ${windows} windows of ${length} held-out characters (val.txt), backend ${backend.name}\n${rows.join('\n')}\n`);
