// What one decode step costs per layer as the context grows, for attention that caches every
// token (MHA, GQA, MQA, MLA) against layers whose state has a fixed size (linear attention, an
// SSM). Counted from the dims like src/engine/cost.ts (whose absorbed-MLA numbers are used as
// they are): multiply-adds of the projections plus, for caching attention, of the scores and
// the weighted sum over every cached token; bytes of what a layer keeps between steps.
import { type DeepSeekConfig, qkHeadDim } from '../config.js';
import { decodeCost } from '../cost.js';

export type Architecture = 'MHA' | 'GQA' | 'MQA' | 'MLA' | 'linear' | 'SSM';

export interface LayerDecodeCost {
  arch: Architecture;
  /** Multiply-adds per step that do not depend on the context. */
  fixedMacs: number;
  /** Multiply-adds per step for each token in the context (0 for a fixed-size state). */
  macsPerToken: number;
  /** Numbers kept per token in the context (the cache). */
  elementsPerToken: number;
  /** Numbers kept whatever the context (the recurrent state). */
  fixedElements: number;
}

export interface CostOptions {
  /** KV heads of GQA (MHA has n_h, MQA 1). */
  gqaGroups: number;
  /** SSM: channels per hidden unit (Mamba's expand) and state numbers per channel. */
  ssmExpand: number;
  ssmState: number;
}

export const DEFAULT_COST_OPTIONS: CostOptions = { gqaGroups: 8, ssmExpand: 2, ssmState: 16 };

/** The per-layer decode cost of each architecture, with this config's widths. */
export function layerDecodeCost(cfg: DeepSeekConfig, arch: Architecture, o: CostOptions = DEFAULT_COST_OPTIONS): LayerDecodeCost {
  const d = cfg.hidden_size, nh = cfg.num_attention_heads, dk = qkHeadDim(cfg), dv = cfg.v_head_dim;
  const headed = (kvHeads: number): LayerDecodeCost => ({
    arch,
    // W_Q, W_K and W_V for the KV heads, W_O.
    fixedMacs: d * nh * dk + d * kvHeads * (dk + dv) + nh * dv * d,
    // Every query head scores and sums every cached token of its group.
    macsPerToken: nh * (dk + dv),
    elementsPerToken: kvHeads * (dk + dv),
    fixedElements: 0,
  });
  switch (arch) {
    case 'MHA': return headed(nh);
    case 'GQA': {
      const g = Math.max(1, Math.min(nh, o.gqaGroups));
      return { ...headed(g), arch };
    }
    case 'MQA': return headed(1);
    case 'MLA': {
      const c = decodeCost(cfg, 'absorbed', 1);
      return { arch, fixedMacs: c.fixedMacsPerLayer, macsPerToken: c.macsPerCachedTokenPerLayer, elementsPerToken: c.cacheElementsPerTokenPerLayer, fixedElements: 0 };
    }
    case 'linear':
      // MHA's projections; per head, S += phi(k) v^T and z += phi(k) (dk dv + dk), then
      // S^T phi(q) and z . phi(q) (dk dv + dk). State: S [dk, dv] and z [dk] per head.
      return { arch, fixedMacs: headed(nh).fixedMacs + nh * 2 * (dk * dv + dk), macsPerToken: 0, elementsPerToken: 0, fixedElements: nh * (dk * dv + dk) };
    case 'SSM': {
      // A Mamba-style selective SSM block with d_inner = expand d channels of N numbers each:
      // in_proj (x and gate), the input-dependent dt, B, C (dt rank ~ d/16), out_proj, and the
      // scan (h = exp(dt A) h + dt B x, y = C h: about 3 N per channel). State: d_inner N, plus the
      // 4-tap convolution's last 3 inputs per channel.
      const di = o.ssmExpand * d, N = o.ssmState, r = Math.max(1, Math.ceil(d / 16));
      return { arch, fixedMacs: d * 2 * di + di * (r + 2 * N) + r * di + di * d + 3 * di * N + 4 * di, macsPerToken: 0, elementsPerToken: 0, fixedElements: di * N + 3 * di };
    }
  }
}

export const ARCHITECTURES: Architecture[] = ['MHA', 'GQA', 'MQA', 'MLA', 'linear', 'SSM'];

/** FLOPs (2 per multiply-add) of one decode step at `context` tokens, one layer. */
export function stepFlops(c: LayerDecodeCost, context: number): number {
  return 2 * (c.fixedMacs + c.macsPerToken * context);
}

/** Bytes a layer keeps at `context` tokens. */
export function stateBytes(c: LayerDecodeCost, context: number, bytesPerElement: number): number {
  return (c.fixedElements + c.elementsPerToken * context) * bytesPerElement;
}

/**
 * The smallest context at which the growing architecture costs at least as much as the fixed one
 * (per-step FLOPs, or bytes kept); null if it never does, 1 if it already does at one token.
 */
export function crossover(growing: LayerDecodeCost, fixed: LayerDecodeCost, what: 'flops' | 'bytes'): number | null {
  const slope = what === 'flops' ? growing.macsPerToken : growing.elementsPerToken;
  if ((what === 'flops' ? fixed.macsPerToken : fixed.elementsPerToken) !== 0) throw new RangeError(`crossover: ${fixed.arch} grows with the context`);
  const gap = what === 'flops' ? fixed.fixedMacs - growing.fixedMacs : fixed.fixedElements - growing.fixedElements;
  if (slope <= 0) return gap <= 0 ? 1 : null;
  return Math.max(1, Math.ceil(gap / slope));
}
