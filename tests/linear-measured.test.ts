// The linear-attention lesson's closing figures (notebooks/linear-attention/measured.json, written by
// scripts/linear-swap.ts) belong to the shipped weights, and are what swappedLayerBits gives on
// them: two of its cells are measured again here (the unswapped model and one swap, 16 windows of
// 128 held-out characters each). When the shipped model is replaced this fails until the script runs.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/engine/load';
import { charTokenizer } from '../src/engine/tokenizer';
import { swappedLayerBits } from '../src/engine/linear';
import { MEASURED_VARIANTS, type MeasuredRecord, staleness } from '../notebooks/linear-attention/measured';
import { repoRoot } from './helpers/paths';

const rec = JSON.parse(readFileSync(path.join(repoRoot, 'notebooks', 'linear-attention', 'measured.json'), 'utf8')) as MeasuredRecord;
const folder = readdirSync(path.join(repoRoot, 'static', 'models')).filter((f) => f.startsWith('nanoseek-')).sort()[0]!;
const dir = path.join(repoRoot, 'static', 'models', folder);
const rerun = `the shipped model changed: run ${rec.command}`;

describe('the measured swapped-layer figures', () => {
  it('were measured on the shipped weights', () => {
    const sha = createHash('sha256').update(readFileSync(path.join(dir, 'model.safetensors'))).digest('hex');
    expect(rec.model, rerun).toBe(`static/models/${folder}`);
    expect(rec.weightsSha256, rerun).toBe(sha);
    const card = JSON.parse(readFileSync(path.join(dir, 'figures.json'), 'utf8')) as { trained: { stories: { bits_per_char: number } } };
    expect(staleness(rec, folder, card.trained.stories.bits_per_char)).toBeNull();
    expect(staleness(rec, folder, card.trained.stories.bits_per_char + 0.01)).toMatch(/replaced/);
  });

  it('are what swappedLayerBits gives on them (unswapped, and block softmax b=8 in the last layer)', () => {
    const model = loadModel(readFileSync(path.join(dir, 'config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(dir, 'model.safetensors'))));
    const m = /first (\d+) characters .* (\d+) windows of (\d+)/.exec(rec.text)!;
    const [windows, length] = [Number(m[2]), Number(m[3])];
    const ids = charTokenizer.encode(readFileSync(path.join(repoRoot, 'static', 'data', 'stories', 'val.txt'), 'utf8').slice(0, windows * length));
    const mean = (layer: number, v: Parameters<typeof swappedLayerBits>[3]) => {
      let s = 0;
      for (let w = 0; w < windows; w++) s += swappedLayerBits(model, ids.slice(w * length, (w + 1) * length), layer, v).bitsPerToken;
      return s / windows;
    };
    const last = model.config.num_hidden_layers - 1;
    expect(rec.layers.map((l) => l.layer)).toEqual(Array.from({ length: model.config.num_hidden_layers }, (_, i) => i));
    expect(mean(0, { kind: 'softmax' })).toBeCloseTo(rec.unswapped, 6);
    const b8 = MEASURED_VARIANTS.find((v) => v.label === 'block b=8')!;
    expect(mean(last, b8.spec)).toBeCloseTo(rec.layers[last]!.bits['block b=8']!, 6);
  }, 60_000);
});
