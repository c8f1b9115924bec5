// The load-balancing playground: one small MoE trained live on a seeded 2-D task, one step at a
// time, with the stats a lesson plots (load per expert, MaxVio, loss, accuracy, biases, tokens
// dropped) and the map of which expert owns which region of the input square.
//
//   const pg = createPlayground({ seed: 1, balance: { strategy: 'bias' } });
//   for (let i = 0; i < 30; i++) pg.step();      // one animation frame's worth is ~1 step
//   pg.history.at(-1)!.maxVio;
//   pg.ownershipGrid(32).owner;                    // top-1 expert per grid cell
//
// Everything random derives from `seed` (seeds.ts): the cluster layout, the initial weights, the
// feature map, batch n of the run, the evaluation set. Two playgrounds that differ only in their
// balancing strategy therefore start from the same weights and see the same batches.
import type { RouterSettings } from '../router.js';
import { type BalanceOptions, DEFAULT_BALANCE, maxVio, updateBias } from './balance.js';
import { type Dtype, type PlaygroundModel, type Tape, createModel, features, routeLogits, routerLogits } from './model.js';
import { objective } from './objective.js';
import { DEFAULT_OPTIMIZER, type OptimizerOptions, type OptimizerState, createOptimizerState, optimizerStep } from './optimizer.js';
import { streamRng } from './seeds.js';
import { type Batch, type Task, type TaskOptions, makeTask, sampleBatch } from './task.js';

/** The router knobs the playground exposes (Hugging Face config keys). */
export type PlaygroundRouter = Pick<RouterSettings,
  'n_routed_experts' | 'num_experts_per_tok' | 'n_group' | 'topk_group' | 'norm_topk_prob' | 'routed_scaling_factor' | 'scoring_func'>;

/** Every setting of a run, resolved (plain data: the whole state of the controls, URL-able). */
export interface PlaygroundConfig {
  seed: number;
  task: Omit<Required<TaskOptions>, 'seed'>;
  router: PlaygroundRouter;
  /** Random Fourier features added to the 2-D input (d = 2 + features). */
  features: number;
  featureFrequency: number;
  moe_intermediate_size: number;
  /** 0 or 1. */
  n_shared_experts: number;
  /** Standard deviation of the initial gate weights (null: 1/sqrt(d)). */
  gateInitStd: number | null;
  batchSize: number;
  optimizer: OptimizerOptions;
  balance: BalanceOptions;
  /** null: no capacity, no token dropped (DeepSeek-V3); else capacity = ceil(cf · T · K / E). */
  capacityFactor: number | null;
  /** Parameter precision (float64 is for checks). */
  dtype: Dtype;
  /** Size of the fixed evaluation set used by evaluate(). */
  evalSize: number;
  /** Oldest stats are dropped beyond this many steps of history. */
  historyLimit: number;
}

export type PlaygroundOptions = Partial<Omit<PlaygroundConfig, 'task' | 'router' | 'optimizer' | 'balance'>> & {
  task?: Partial<PlaygroundConfig['task']>;
  router?: Partial<PlaygroundRouter>;
  optimizer?: Partial<OptimizerOptions>;
  balance?: Partial<BalanceOptions>;
};

/** What may change between steps without restarting the run. */
export interface LiveOptions {
  balance?: Partial<BalanceOptions>;
  optimizer?: Partial<OptimizerOptions>;
  capacityFactor?: number | null;
  batchSize?: number;
}

export const DEFAULT_CONFIG: PlaygroundConfig = {
  seed: 1,
  task: { clusters: 6, skew: 1.5, kind: 'classify', classes: 6, spread: 0.15, noise: 0 },
  router: {
    n_routed_experts: 8, num_experts_per_tok: 2, n_group: 1, topk_group: 1,
    norm_topk_prob: true, routed_scaling_factor: 1, scoring_func: 'sigmoid',
  },
  features: 8,
  featureFrequency: 2,
  moe_intermediate_size: 8,
  n_shared_experts: 0,
  gateInitStd: null,
  batchSize: 128,
  optimizer: DEFAULT_OPTIMIZER,
  balance: DEFAULT_BALANCE,
  capacityFactor: null,
  dtype: 'float32',
  evalSize: 1024,
  historyLimit: 5000,
};

/** Stats of one training step (on that step's batch, before the update; `bias` after it). */
export interface StepStats {
  /** Steps done, counting this one (1 for the first). */
  step: number;
  /** Task loss (cross-entropy or 0.5 · squared error). */
  loss: number;
  /** Balance-loss value (aux and/or sequence-wise; 0 when off). */
  balanceLoss: number;
  /** Batch accuracy (classification; null for regression). */
  accuracy: number | null;
  /** Tokens routed to each expert [E] (the router's choice, before any drop). Sums to T · K. */
  load: number[];
  /** (max load − mean load) / mean load. */
  maxVio: number;
  /** (token, expert) pairs dropped by the capacity this step. */
  dropped: number;
  /** e_score_correction_bias after this step's update [E]. */
  bias: number[];
}

export interface EvalStats {
  loss: number;
  accuracy: number | null;
  load: number[];
  maxVio: number;
  dropped: number;
}

/** Which expert owns which region: for an n × n grid over [-extent, extent]^2, the top-1 chosen expert. */
export interface OwnershipGrid {
  n: number;
  extent: number;
  /** Cell (ix, iy) at index iy · n + ix; x = -extent + (ix + 0.5) · 2 extent / n, y likewise (iy = 0 at the bottom). */
  owner: Uint8Array;
  /** That expert's gate weight g at the cell. */
  weight: Float32Array;
}

/** The last training batch as the lesson may draw it. */
export interface BatchTrace {
  batch: Batch;
  /** Unbiased scores s [T, E]. */
  scores: Float64Array;
  /** Per token, chosen experts (by descending biased score) and their gate weights. */
  experts: number[][];
  weights: number[][];
  /** Per (token, slot) [T·K]: 1 if the expert ran, 0 if the capacity dropped it. */
  ran: Uint8Array;
}

/** Everything needed to resume a run: plain data (JSON.stringify-able). */
export interface PlaygroundState {
  config: PlaygroundConfig;
  steps: number;
  params: number[];
  bias: number[];
  optimizer: { t: number; m: number[]; v: number[] };
  history: StepStats[];
}

export interface Playground {
  readonly config: PlaygroundConfig;
  readonly task: Task;
  readonly model: PlaygroundModel;
  /** Steps done since creation or the last reset(). */
  readonly steps: number;
  /** Stats of past steps, oldest first (at most config.historyLimit). */
  readonly history: readonly StepStats[];
  /** One training step: sample batch #steps, forward, backward, optimizer update, bias update. */
  step(): StepStats;
  /** n steps; returns the last stats (null when n = 0). */
  run(n: number): StepStats | null;
  /** Back to step 0: initial weights, zero bias, fresh optimizer, empty history. */
  reset(): void;
  /** Change balance / optimizer / capacity / batch size from the next step on (weights and bias kept). */
  setLive(live: LiveOptions): void;
  /** Loss, accuracy and load on the fixed evaluation set (no update). */
  evaluate(): EvalStats;
  ownershipGrid(n?: number): OwnershipGrid;
  /** The last step's batch, scores and routing (null before the first step). */
  lastBatch(): BatchTrace | null;
  state(): PlaygroundState;
}

/** The entries of `o` whose value is not undefined (so `{ x: undefined }` keeps the default). */
function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Fill defaults and validate. */
export function resolveConfig(options: PlaygroundOptions = {}): PlaygroundConfig {
  const d = DEFAULT_CONFIG;
  const task = { ...d.task, ...defined(options.task) };
  if (options.task?.clusters !== undefined && options.task.classes === undefined) task.classes = task.clusters;
  const cfg: PlaygroundConfig = {
    ...d,
    ...defined(options),
    task,
    router: { ...d.router, ...defined(options.router) },
    optimizer: { ...d.optimizer, ...defined(options.optimizer) },
    balance: { ...d.balance, ...defined(options.balance) },
  };
  const r = cfg.router;
  const int = (v: number, min: number, what: string) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`createPlayground: ${what} must be an integer >= ${min}, got ${v}`);
  };
  int(r.n_routed_experts, 1, 'router.n_routed_experts');
  if (r.n_routed_experts > 255) throw new RangeError('createPlayground: at most 255 experts');
  int(r.n_group, 1, 'router.n_group');
  if (r.n_routed_experts % r.n_group !== 0) throw new RangeError('createPlayground: n_routed_experts must be a multiple of n_group');
  int(r.topk_group, 1, 'router.topk_group');
  if (r.topk_group > r.n_group) throw new RangeError('createPlayground: topk_group must be <= n_group');
  int(r.num_experts_per_tok, 1, 'router.num_experts_per_tok');
  const reachable = r.n_group > 1 ? (r.topk_group * r.n_routed_experts) / r.n_group : r.n_routed_experts;
  if (r.num_experts_per_tok > reachable) throw new RangeError(`createPlayground: num_experts_per_tok (${r.num_experts_per_tok}) exceeds the ${reachable} experts of the kept groups`);
  int(cfg.features, 0, 'features');
  int(cfg.moe_intermediate_size, 1, 'moe_intermediate_size');
  int(cfg.batchSize, 1, 'batchSize');
  int(cfg.evalSize, 1, 'evalSize');
  int(cfg.balance.seqLen, 1, 'balance.seqLen');
  if (cfg.capacityFactor !== null && !(cfg.capacityFactor > 0)) throw new RangeError(`createPlayground: capacityFactor must be > 0 or null, got ${cfg.capacityFactor}`);
  return cfg;
}

function routerSettingsOf(r: PlaygroundRouter): RouterSettings {
  // noaux_tc: route() adds e_score_correction_bias to choose (zero unless the 'bias' strategy moves
  // it) and scores a group by the sum of its top-2.
  return { ...r, topk_method: 'noaux_tc' };
}

/** Create a playground; with `state`, resume that run (its config wins over `options`). */
export function createPlayground(options: PlaygroundOptions = {}, state?: PlaygroundState): Playground {
  const config = state ? resolveConfig(state.config) : resolveConfig(options);
  const task = makeTask({ seed: config.seed, ...config.task });
  const modelConfig = {
    features: config.features,
    featureFrequency: config.featureFrequency,
    moe_intermediate_size: config.moe_intermediate_size,
    outputs: task.outputs,
    router: routerSettingsOf(config.router),
    n_shared_experts: config.n_shared_experts,
    gateInitStd: config.gateInitStd ?? undefined,
  };
  const model = createModel(modelConfig, config.seed, config.dtype);
  const initial = model.params.slice();
  let opt: OptimizerState = createOptimizerState(model.params.length);
  let steps = 0;
  let history: StepStats[] = [];
  let last: { batch: Batch; tape: Tape } | null = null;
  let evalSet: Batch | null = null;

  if (state) {
    if (state.params.length !== model.params.length) throw new RangeError('createPlayground: the state does not match its config');
    model.params.set(state.params);
    model.bias.set(state.bias);
    opt = { t: state.optimizer.t, m: Float64Array.from(state.optimizer.m), v: Float64Array.from(state.optimizer.v) };
    steps = state.steps;
    history = state.history.map((s) => ({ ...s, load: [...s.load], bias: [...s.bias] }));
  }

  const objectiveOptions = () => ({ kind: task.kind, balance: config.balance, capacityFactor: config.capacityFactor });

  const pg: Playground = {
    config,
    task,
    model,
    get steps() { return steps; },
    get history() { return history; },

    step() {
      const batch = sampleBatch(task, config.batchSize, streamRng(config.seed, 'batch', steps));
      const r = objective(model, batch, objectiveOptions(), true);
      optimizerStep(config.optimizer, opt, model.params, model.grads);
      if (config.balance.strategy === 'bias') updateBias(model.bias, r.tape.load, config.balance.biasGamma);
      steps++;
      const stats: StepStats = {
        step: steps,
        loss: r.taskLoss,
        balanceLoss: r.balanceLoss,
        accuracy: r.accuracy,
        load: Array.from(r.tape.load),
        maxVio: maxVio(r.tape.load),
        dropped: r.tape.dropped,
        bias: Array.from(model.bias),
      };
      history.push(stats);
      if (history.length > config.historyLimit) history.splice(0, history.length - config.historyLimit);
      last = { batch, tape: r.tape };
      return stats;
    },

    run(n) {
      let s: StepStats | null = null;
      for (let i = 0; i < n; i++) s = pg.step();
      return s;
    },

    reset() {
      model.params.set(initial);
      model.bias.fill(0);
      opt = createOptimizerState(model.params.length);
      steps = 0;
      history = [];
      last = null;
    },

    setLive(live) {
      const next = resolveConfig({
        ...config,
        balance: { ...config.balance, ...defined(live.balance) },
        optimizer: { ...config.optimizer, ...defined(live.optimizer) },
        capacityFactor: live.capacityFactor !== undefined ? live.capacityFactor : config.capacityFactor,
        batchSize: live.batchSize ?? config.batchSize,
      }); // throws before changing anything
      config.balance = next.balance;
      config.optimizer = next.optimizer;
      config.capacityFactor = next.capacityFactor;
      config.batchSize = next.batchSize;
    },

    evaluate() {
      evalSet ??= sampleBatch(task, config.evalSize, streamRng(config.seed, 'eval'));
      const r = objective(model, evalSet, objectiveOptions(), false);
      return { loss: r.taskLoss, accuracy: r.accuracy, load: Array.from(r.tape.load), maxVio: maxVio(r.tape.load), dropped: r.tape.dropped };
    },

    ownershipGrid(n = 32) {
      const ext = task.extent, T = n * n, x = new Float64Array(2 * T);
      for (let iy = 0; iy < n; iy++) {
        for (let ix = 0; ix < n; ix++) {
          const t = iy * n + ix;
          x[2 * t] = -ext + ((ix + 0.5) * 2 * ext) / n;
          x[2 * t + 1] = -ext + ((iy + 0.5) * 2 * ext) / n;
        }
      }
      const routing = routeLogits(model, routerLogits(model, features(model, x, T), T), T);
      const owner = new Uint8Array(T), weight = new Float32Array(T);
      for (let t = 0; t < T; t++) { owner[t] = routing.experts[t][0]; weight[t] = routing.weights[t][0]; }
      return { n, extent: ext, owner, weight };
    },

    lastBatch() {
      if (!last) return null;
      const { batch, tape } = last;
      return { batch, scores: tape.scores, experts: tape.routing.experts, weights: tape.routing.weights, ran: tape.slotRan };
    },

    state() {
      return {
        config: structuredClone(config),
        steps,
        params: Array.from(model.params),
        bias: Array.from(model.bias),
        optimizer: { t: opt.t, m: Array.from(opt.m), v: Array.from(opt.v) },
        history: history.map((s) => ({ ...s, load: [...s.load], bias: [...s.bias] })),
      };
    },
  };
  return pg;
}
