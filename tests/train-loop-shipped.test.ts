// The shipped trained model (static/models/nanoseek-stories): the shape the project promises, within
// 8 MB, loadable with its tokenizer, and trained: re-measured here on a slice of the held-out stories
// (forward passes only; nothing trains), it predicts far better than chance and its MTP module agrees
// with the main model, and its routing biases moved away from zero.
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loopBackend } from '../kernels/loop.js';
import { charTokenizer, loadModel, parseTokenizerJson } from '../src/engine/index.js';
import { windows } from '../src/engine/train/data.js';
import { evaluateWindows } from '../src/engine/train/eval.js';
import { repoRoot } from './helpers/paths.js';

const dir = path.join(repoRoot, 'static', 'models', 'nanoseek-stories');
const file = (f: string) => path.join(dir, f);

describe('the shipped model nanoseek-stories', () => {
  const configText = readFileSync(file('config.json'), 'utf8');
  const model = loadModel(configText, new Uint8Array(readFileSync(file('model.safetensors'))), { configFile: file('config.json'), weightsFile: file('model.safetensors'), backend: loopBackend });
  const cfg = model.config;

  it('has the promised shape: DeepSeek-V3 in small, at most 8 MB', () => {
    expect(statSync(file('model.safetensors')).size).toBeLessThanOrEqual(8 * 2 ** 20);
    expect(cfg.hidden_size).toBeGreaterThanOrEqual(96);
    expect(cfg.num_hidden_layers).toBeGreaterThanOrEqual(3);
    expect(cfg.first_k_dense_replace).toBe(1);
    expect(cfg.num_hidden_layers - cfg.first_k_dense_replace).toBeGreaterThanOrEqual(2);
    expect(cfg.q_lora_rank).toBeGreaterThan(0);
    expect(cfg.qk_rope_head_dim).toBeGreaterThan(0);
    expect([cfg.n_routed_experts, cfg.n_group, cfg.topk_group, cfg.num_experts_per_tok, cfg.n_shared_experts]).toEqual([16, 4, 2, 4, 1]);
    expect([cfg.scoring_func, cfg.topk_method, cfg.num_nextn_predict_layers, cfg.vocab_size]).toEqual(['sigmoid', 'noaux_tc', 1, 128]);
  });

  it('reads its tokenizer.json, and its card and training log are there', () => {
    const tok = parseTokenizerJson(readFileSync(file('tokenizer.json'), 'utf8'), file('tokenizer.json'), cfg.vocab_size);
    expect(tok.encode('Alice')).toEqual([65, 108, 105, 99, 101]);
    const card = readFileSync(file('README.md'), 'utf8');
    expect(card).toContain('npm run -s engine -- train');
    expect(card).toContain('Lewis Carroll');
    const log = readFileSync(file('train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(log[0]!.type).toBe('start');
    expect(log.filter((l) => l.type === 'step').length).toBeGreaterThan(100);
  });

  it('is trained: on held-out stories it predicts far better than chance and its MTP drafts agree with the main model', () => {
    const val = charTokenizer.encode(readFileSync(path.join(repoRoot, 'static', 'data', 'stories', 'val.txt'), 'utf8'));
    const e = evaluateWindows(model, windows(val, 129, 12));
    expect(e.characters).toBe(12 * 128);
    expect(e.bits_per_char).toBeLessThan(2.6); // 7 bits is uniform over 128 ids; the untrained model gives ~7.5
    expect(e.mtp_greedy_agreement!).toBeGreaterThan(0.7); // the untrained module agrees < 1% of the time
    for (const w of model.weights.layers.filter((l) => l.moe)) {
      expect(Math.max(...Array.from(w.moe!.bias!).map(Math.abs))).toBeGreaterThan(0.005); // the bias update ran (init is 0)
    }
  });
});
