// The load-balancing lesson's engine: a small MoE trained live (see playground.ts).
export * from './seeds.js';
export * from './task.js';
export * from './model.js';
export * from './optimizer.js';
export * from './balance.js';
export * from './objective.js';
export * from './playground.js';
