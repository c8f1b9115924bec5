// The linear-attention lesson's closing figures, measured: the shipped model's bits per character
// on held-out stories text with one layer's attention swapped for each variant (no retraining), and
// the crossover contexts from the published DeepSeek-V3 config and the shipped model's widths.
// Writes notebooks/linear-attention/measured.json (with the weights' SHA-256, so the lesson and its
// test can tell when the shipped model was replaced and this needs running again) and prints a table.
//   nice -n 15 npx tsx scripts/linear-swap.ts [--windows 16] [--length 128]
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../src/engine/config.js';
import { loadModel } from '../src/engine/load.js';
import { charTokenizer } from '../src/engine/tokenizer.js';
import { type VariantSpec, swappedLayerBits } from '../src/engine/linear/index.js';
import { MEASURED_VARIANTS, type MeasuredRecord, crossovers } from '../notebooks/linear-attention/measured.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const windows = arg('--windows', 16), length = arg('--length', 128);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const folder = readdirSync(path.join(root, 'static', 'models')).filter((f) => f.startsWith('nanoseek-')).sort()[0];
if (!folder) throw new Error('no static/models/nanoseek-* folder');
const dir = path.join(root, 'static', 'models', folder);
const configText = readFileSync(path.join(dir, 'config.json'), 'utf8');
const weights = new Uint8Array(readFileSync(path.join(dir, 'model.safetensors')));
const sha256 = createHash('sha256').update(weights).digest('hex');
const model = loadModel(configText, weights, { configFile: `static/models/${folder}/config.json`, weightsFile: `static/models/${folder}/model.safetensors` });
const ids = charTokenizer.encode(readFileSync(path.join(root, 'static', 'data', 'stories', 'val.txt'), 'utf8').slice(0, windows * length));
if (ids.length < windows * length) throw new Error(`val.txt has fewer than ${windows * length} characters`);

let card: number | null = null;
try {
  card = (JSON.parse(readFileSync(path.join(dir, 'figures.json'), 'utf8')) as { trained: { stories: { bits_per_char: number } } }).trained.stories.bits_per_char;
} catch { /* no card */ }
const started = Date.now();
/** Mean bits per character over the windows (one token per character). */
function bits(layer: number, v: VariantSpec): number {
  let sum = 0;
  for (let w = 0; w < windows; w++) sum += swappedLayerBits(model, ids.slice(w * length, (w + 1) * length), layer, v).bitsPerToken;
  return sum / windows;
}
const base = bits(0, { kind: 'softmax' });
const layers = Array.from({ length: model.config.num_hidden_layers }, (_, layer) => ({
  layer,
  bits: Object.fromEntries(MEASURED_VARIANTS.map(({ label, spec }) => [label, bits(layer, spec)])),
}));
const v3 = parseConfig(JSON.parse(readFileSync(path.join(root, 'static', 'configs', 'deepseek-v3.json'), 'utf8')), { file: 'static/configs/deepseek-v3.json', allowRopeScaling: true });
const out: MeasuredRecord = {
  command: 'nice -n 15 npx tsx scripts/linear-swap.ts',
  model: `static/models/${folder}`,
  weightsSha256: sha256,
  cardBitsPerChar: card,
  text: `the first ${windows * length} characters of static/data/stories/val.txt, ${windows} windows of ${length}`,
  unswapped: base,
  layers,
  seconds: (Date.now() - started) / 1000,
};
const crossoverRows = { 'DeepSeek-V3': crossovers(v3), [folder]: crossovers(model.config) };
writeFileSync(path.join(root, 'notebooks', 'linear-attention', 'measured.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`${out.model} (sha256 ${sha256.slice(0, 12)}), ${out.text}: unswapped ${base.toFixed(3)} bits/char`);
console.log(['variant'.padEnd(18), ...layers.map((l) => `layer ${l.layer}`.padStart(9))].join(''));
for (const { label } of MEASURED_VARIANTS) console.log([label.padEnd(18), ...layers.map((l) => l.bits[label]!.toFixed(3).padStart(9))].join(''));
for (const [name, rows] of Object.entries(crossoverRows)) {
  console.log(`crossover contexts, ${name} (tokens; bytes / FLOPs):`);
  for (const r of rows) console.log(`  ${r.growing.padEnd(5)} vs ${r.fixed.padEnd(7)} ${String(r.bytes ?? '-').padStart(9)} ${String(r.flops ?? '-').padStart(9)}`);
}
console.log(`${out.seconds.toFixed(1)} s`);
