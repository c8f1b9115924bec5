// One name table (src/engine/weights.ts) maps Hugging Face tensor names to the typed view's fields
// and back: binding a checkpoint and naming its tensors again gives every tensor back, the very
// same array under its own name, and head i's W^UK_i / W^UV_i are the rows of kv_b_proj they should be.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/engine/config.js';
import { initTensors } from '../src/engine/init.js';
import { TINY_CONFIG_JSON } from '../src/engine/tiny.js';
import { bindWeights, kvBHead, namedTensors } from '../src/engine/weights.js';

const variants = {
  'tiny (q_lora, MoE, MTP)': {},
  'q_proj, tied embeddings, softmax router': { q_lora_rank: null, tie_word_embeddings: true, scoring_func: 'softmax', topk_method: 'group_limited_greedy' },
  'dense only, no MTP': { n_routed_experts: null, num_nextn_predict_layers: 0 },
};

describe('tensor names', () => {
  for (const [what, over] of Object.entries(variants)) {
    it(`${what}: namedTensors(bindWeights(t)) returns each tensor's own array`, () => {
      const cfg = parseConfig({ ...TINY_CONFIG_JSON, ...over });
      const tensors = initTensors(cfg, { seed: 7 });
      const named = namedTensors(cfg, bindWeights(cfg, tensors));
      expect([...named.keys()].sort()).toEqual([...tensors.keys()].sort());
      for (const [name, t] of tensors) {
        expect(named.get(name)!.data, name).toBe(t.data);
        expect(named.get(name)!.shape).toEqual(t.shape);
      }
    });
  }

  it('kvBHead: W^UK_i then W^UV_i are head i\'s d_h + d_v rows of kv_b_proj', () => {
    const cfg = parseConfig({ ...TINY_CONFIG_JSON });
    const dh = cfg.qk_nope_head_dim, dv = cfg.v_head_dim, dc = cfg.kv_lora_rank, nh = cfg.num_attention_heads;
    const kvB = Float32Array.from({ length: nh * (dh + dv) * dc }, (_, i) => i);
    for (let h = 0; h < nh; h++) {
      const { wUK, wUV } = kvBHead(kvB, cfg, h);
      expect(wUK.length).toBe(dh * dc);
      expect(wUV.length).toBe(dv * dc);
      // Row r of W^UK_i is row h (d_h + d_v) + r of kv_b_proj; row r of W^UV_i is row h (d_h + d_v) + d_h + r.
      expect(wUK[0]).toBe(h * (dh + dv) * dc);
      expect(wUK[(dh - 1) * dc + dc - 1]).toBe((h * (dh + dv) + dh) * dc - 1);
      expect(wUV[0]).toBe((h * (dh + dv) + dh) * dc);
      expect(wUV[dv * dc - 1]).toBe((h + 1) * (dh + dv) * dc - 1);
    }
  });
});
