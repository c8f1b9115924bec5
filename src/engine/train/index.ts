// The trainer core: parameters, the objective and its gradient, AdamW with the bias update, the
// learning-rate schedule. Pure TypeScript, no DOM: the same in Node and in a browser worker.
export * from './params.js';
export * from './tape.js';
export * from './forward.js';
export * from './objective.js';
export * from './adamw.js';
export * from './schedule.js';
