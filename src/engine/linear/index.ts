// Attention whose memory does not grow with the context, and the state-space memory HiPPO starts
// from: linear attention, Performer, TransNormer, GAU/FLASH, HiPPO-LegS; and what each costs per
// decode step beside MHA, GQA, MQA and MLA.
export * from './qkv.js';
export * from './feature-maps.js';
export * from './kernel-attention.js';
export * from './linear-attention.js';
export * from './performer.js';
export * from './transnormer.js';
export * from './flash.js';
export * from './hippo.js';
export * from './metrics.js';
export * from './decode-cost.js';
export * from './variants.js';
export * from './swap.js';
export * from './associativity.js';
