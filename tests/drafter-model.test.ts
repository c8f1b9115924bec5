// The shipped small draft model (static/models/drafters/nanoseek-drafter) against the shipped target:
// it loads with the target's vocabulary, drafts for it without changing greedy output, agrees with
// the target's next-character choice more often than the same shape untrained, and its card's
// held-out bits per character is the trainer's own final evaluation. Loads the shipped files; trains nothing.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loopBackend } from '../kernels/loop.js';
import { generate } from '../src/engine/generate.js';
import { initModel } from '../src/engine/init.js';
import { loadModel } from '../src/engine/load.js';
import { type Model, argmaxRow } from '../src/engine/model.js';
import { ModelDrafter } from '../src/engine/speculate.js';
import { charTokenizer } from '../src/engine/tokenizer.js';
import { windows } from '../src/engine/train/data.js';
import { ChainTreeDrafter, speculateTree } from '../src/engine/tree-speculate.js';
import { repoRoot } from './helpers/paths.js';

const models = path.join(repoRoot, 'static', 'models');
const draftDir = path.join(models, 'drafters', 'nanoseek-drafter');
const targetDir = path.join(models, readdirSync(models).filter((f) => f.startsWith('nanoseek-')).sort()[0]!);
const load = (d: string) => loadModel(readFileSync(path.join(d, 'config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(d, 'model.safetensors'))), { backend: loopBackend });

describe('the shipped small draft model', () => {
  it('is shipped with its card, figures and training log', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'train-log.jsonl', 'figures.json', 'README.md']) expect(existsSync(path.join(draftDir, f)), f).toBe(true);
  });

  const draft = load(draftDir), target = load(targetDir);

  it('is a smaller DeepSeek-V3 with the target\'s vocabulary and no MTP module', () => {
    expect(draft.config.vocab_size).toBe(target.config.vocab_size);
    expect(draft.config.hidden_size).toBeLessThan(target.config.hidden_size);
    expect(draft.config.num_nextn_predict_layers).toBe(0);
  });

  it('drafting for the target at greedy writes the target\'s greedy text, more than one token per verification', () => {
    const ids = charTokenizer.encode('Once upon a time there was a little ');
    const plain = generate(target, ids, { maxNewTokens: 40 }).tokens;
    const out = speculateTree(target, ids, { maxNewTokens: 40, drafter: new ChainTreeDrafter(new ModelDrafter(draft, target), 3), rule: 'greedy', sampling: { temperature: 0 } });
    expect(out.tokens).toEqual(plain);
    expect(out.tokensPerStep).toBeGreaterThan(1);
  });

  it('agrees with the target\'s next character more often than the same shape untrained', () => {
    const val = readFileSync(path.join(repoRoot, 'static', 'data', 'stories', 'val.txt'), 'utf8');
    const ws = windows(charTokenizer.encode(val), 129, 8);
    const V = target.config.vocab_size;
    const agree = (m: Model) => {
      let same = 0, n = 0;
      for (const w of ws) {
        const a = target.forward(w).logits, b = m.forward(w).logits;
        for (let t = 0; t < w.length; t++, n++) if (argmaxRow(a, t, V) === argmaxRow(b, t, V)) same++;
      }
      return same / n;
    };
    const trained = agree(draft), untrained = agree(initModel(draft.config, { seed: 1 }));
    expect(trained, `trained ${trained.toFixed(3)} vs untrained ${untrained.toFixed(3)}`).toBeGreaterThan(untrained + 0.2);
  });

  it('the card\'s bits per character on the held-out stories is the trainer\'s final evaluation of all of val.txt', () => {
    const figures = JSON.parse(readFileSync(path.join(draftDir, 'figures.json'), 'utf8')) as { stories: { bits_per_char: number; characters: number } };
    const final = readFileSync(path.join(draftDir, 'train-log.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"final":true')).map((l) => JSON.parse(l) as { bits_per_char: number; characters: number })[0]!;
    expect(figures.stories.characters).toBe(final.characters);
    expect(figures.stories.bits_per_char).toBeCloseTo(final.bits_per_char, 6);
  });
});
