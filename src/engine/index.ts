// The engine's public surface: what the CLI, the benchmarks and the lessons import.
export * from './config.js';
export * from './errors.js';
export * from './weights.js';
export * from './router.js';
export * from './cache.js';
export * from './mla.js';
export * from './ffn.js';
export * from './model.js';
export * from './sampling.js';
export * from './generate.js';
export * from './speculate.js';
export * from './init.js';
export * from './cost.js';
export * from './memory.js';
export * from './safetensors.js';
export * from './load.js';
export * from './absorption.js';
