// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs") on a head's q, k, v:
// softmax's exp(q . k) replaced by phi(q) . phi(k) with phi = elu+1 or ReLU.
import { type FeatureMapName, applyFeatureMap } from './feature-maps.js';
import { type KernelInputs, kernelAttentionParallel, kernelAttentionRecurrent } from './kernel-attention.js';
import { type AttentionResult, type HeadQKV, checkHead } from './qkv.js';

export function linearInputs(h: HeadQKV, phi: FeatureMapName): KernelInputs {
  checkHead(h, 'linear attention');
  return { T: h.T, m: h.dk, dv: h.dv, fq: applyFeatureMap(phi, h.q, h.scale), fk: applyFeatureMap(phi, h.k, h.scale), v: h.v };
}

export function linearAttentionParallel(h: HeadQKV, phi: FeatureMapName = 'elu1'): AttentionResult {
  return kernelAttentionParallel(linearInputs(h, phi));
}

export function linearAttentionRecurrent(h: HeadQKV, phi: FeatureMapName = 'elu1'): Float64Array {
  return kernelAttentionRecurrent(linearInputs(h, phi));
}
