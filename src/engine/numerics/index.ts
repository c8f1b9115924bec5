// Number formats, block-scaled quantisation, FP8 checkpoints and the model in lower precisions:
// what the precision lesson and `convert` import.
export * from './formats.js';
export * from './quantize.js';
export * from './storage.js';
export * from './checkpoint.js';
export * from './transformers5.js';
export * from './convert.js';
export * from './precision.js';
export * from './outlier.js';
export * from './loss-scaling.js';
export * from './model-tensors.js';
