// The trainer of one run, in a Web Worker (the page's main thread only draws). It owns the run's
// whole state (src/engine/train/checkpoint.ts TrainerState), draws batches, and takes steps with the
// engine's loop (src/engine/train/loop.ts trainStep). With two threads, a helper worker (helper.ts,
// connected by a MessagePort the page hands over) computes the gradient of half of every batch's
// rows while this one computes the other half; the halves are added in order (workers.ts). Between
// steps it evaluates on held-out text, writes samples, and posts what it measured to the page.
import type { Backend } from '$kernels/backend';
import { fastestBackend } from '$kernels/fastest';
import { readBundle, writeBundle } from '$engine/bundle';
import { configToJson } from '$engine/config';
import { initTensors } from '$engine/init';
import { parseConfigText } from '$engine/load';
import { type Model } from '$engine/model';
import { readSafetensors, writeSafetensors } from '$engine/safetensors';
import { generate } from '$engine/generate';
import { charTokenizer, parseTokenizerJson } from '$engine/tokenizer';
import { type TrainerState, decodeTrainerState, encodeTrainerState, textHash, trainerStateConfig } from '$engine/train/checkpoint';
import { SavedRng, windows } from '$engine/train/data';
import { evaluateWindows, expertLift, maxVio } from '$engine/train/eval';
import { createOptimizer, modelFromParams, paramsFromTensors, paramsToTensors } from '$engine/train/index';
import { samplerOf, trainStep } from '$engine/train/loop';
import { type GradientRunner, type WorkerFailure, type WorkerInit, type WorkerReply, localRunner, splitRunner } from '$engine/train/workers';
import { storiesOnly } from './corpus-mix';
import { saveRun } from './store';
import {
  type EvalPoint, type FromWorker, PROBE_LOGITS, type RunSettings, SAMPLE_CHARS, SAMPLE_PROMPT, SAMPLE_TEMPERATURE, type StepPoint,
  type ToWorker, type UntrainedStats, ARITH_WINDOWS, EARLY_EVALS, EVAL_CHARS, EVAL_SEQ, VAL_WINDOWS, biasGammaAt, configOf, runOptions,
} from './settings';

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

/** Samples every this many steps (and at step 0). */
const SAMPLE_EVERY = 200;
/**
 * Steps posted together at most this often (ms): the page redraws a figure at most every 500 ms
 * (live.ts VIEW_MS), so more messages would only cost its main thread their copying.
 */
const POST_MS = 250;

interface Corpus {
  train: Uint8Array; val: number[][]; arith: number[][]; hash: string; chars: number;
  /** The share of the training characters that are arithmetic lines (0 for stories only). */
  arithShare: number;
}

/** `n` of a text's windows, evenly spaced from its start to its end. */
function spread(all: number[][], n: number): number[][] {
  if (all.length <= n) return all;
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!);
}

let backend: Backend;
let settings: RunSettings;
let state: TrainerState;
let corpus: Corpus;
let runner: GradientRunner;
let layers: string[] = [];
let untrained: UntrainedStats;
let running = false;
let loop: Promise<void> | null = null;
let pending: StepPoint[] = [];
let lastPost = 0;
let loadedFrom: string | null = null;
const rate: { t: number; chars: number }[] = [];


async function loadCorpus(dataUrl: string, mix: RunSettings['corpus']): Promise<Corpus> {
  const get = async (name: string) => {
    const r = await fetch(new URL(name, dataUrl));
    if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
    return r.text();
  };
  const [trainText, valText, arithText] = await Promise.all([get('train.txt'), get('val.txt'), get('arith.txt')]);
  const stories = storiesOnly(trainText);
  const text = mix === 'mix' ? trainText : stories;
  return {
    train: Uint8Array.from(charTokenizer.encode(text)),
    val: spread(windows(charTokenizer.encode(valText), EVAL_SEQ), VAL_WINDOWS),
    arith: spread(windows(charTokenizer.encode(arithText), EVAL_SEQ), ARITH_WINDOWS),
    hash: textHash(text),
    chars: text.length,
    arithShare: mix === 'mix' ? 1 - stories.length / trainText.length : 0,
  };
}

/** Half the rows here, half on the helper (when there is one), added in that order. */
function portRunner(port: MessagePort | null): GradientRunner {
  if (!port) return localRunner(backend);
  const runner = splitRunner(backend, (task, transfer) => port.postMessage(task, transfer), async () => port.close(), 'gradient helper');
  port.onmessage = (e: MessageEvent<WorkerReply | WorkerFailure>) => runner.deliver(e.data);
  return runner;
}

/** The loads of the last gradient, per MoE layer (trainStep keeps only their MaxVio). */
let lastLoads: Record<string, number[]> = {};
function recording(r: GradientRunner): GradientRunner {
  return { threads: r.threads, close: () => r.close(), gradient: async (p, rows, hp) => { const g = await r.gradient(p, rows, hp); lastLoads = g.loads; return g; } };
}

function freshState(s: RunSettings, threads: number): TrainerState {
  const config = configOf(s);
  const params = paramsFromTensors(config, initTensors(config, { seed: s.seed, biasScale: 0 }));
  const options = { ...runOptions(s, threads), corpus_chars: corpus.chars, corpus_hash: corpus.hash };
  return { params, opt: createOptimizer(params), step: 0, rng: Array.from(SavedRng.fromSeed(s.seed).state), options };
}

function moeLayers(st: TrainerState): string[] {
  return Object.keys(st.params.buffers).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
}

function charsSeen(st: TrainerState): number {
  return st.step * st.options.batch * (st.options.seq_len - 1);
}

function measure(model: Model): Omit<EvalPoint, 'step' | 'chars'> {
  const prose = evaluateWindows(model, corpus.val);
  const arith = evaluateWindows(model, corpus.arith);
  // P(expert | arithmetic) / P(expert), P(expert) over the held-out prose and arithmetic together.
  const both: Record<string, number[]> = {};
  for (const [k, l] of Object.entries(prose.loads)) both[k] = l.map((v, e) => v + (arith.loads[k]?.[e] ?? 0));
  const lift = expertLift(arith.loads, both);
  // MaxVio on held-out text mixed as the training text is (the load the bias update evens out):
  // each expert's share of the top-k slots on the prose and on the arithmetic, weighted by the
  // corpus's arithmetic share. On the prose alone, experts that arithmetic uses idle and the rest
  // look overloaded.
  const f = corpus.arithShare;
  const share = (l: number[] | undefined, e: number) => { const t = l ? l.reduce((a, b) => a + b, 0) : 0; return t > 0 ? l![e]! / t : 0; };
  const mixVio = (k: string) => maxVio((prose.loads[k] ?? []).map((_, e) => (1 - f) * share(prose.loads[k], e) + f * share(arith.loads[k], e)));
  return {
    valBpc: prose.bits_per_char,
    greedy: prose.mtp_greedy_agreement,
    sampled: prose.mtp_sampled_acceptance,
    maxVio: layers.map((k) => (prose.loads[k] ? mixVio(k) : 0)),
    lift: layers.map((k) => lift[k]?.lift ?? []),
    probe: probeLogits(model),
  };
}

/** The first logits of the next character after the sample prompt: what a reloaded checkpoint must reproduce. */
function probeLogits(model: Model): number[] {
  const out = model.forward(charTokenizer.encode(SAMPLE_PROMPT), { lastLogitsOnly: true });
  return Array.from(out.logits.subarray(0, PROBE_LOGITS));
}

function evaluateNow(): void {
  const m = measure(modelFromParams(state.params, backend));
  post({ type: 'eval', point: { step: state.step, chars: charsSeen(state), ...m } });
}

function sampleNow(): void {
  const model = modelFromParams(state.params, backend);
  const prompt = charTokenizer.encode(SAMPLE_PROMPT);
  const { tokens } = generate(model, prompt, { maxNewTokens: SAMPLE_CHARS, sampling: { temperature: SAMPLE_TEMPERATURE }, seed: state.options.seed });
  post({ type: 'sample', sample: { step: state.step, chars: charsSeen(state), text: SAMPLE_PROMPT + charTokenizer.decode(tokens) } });
}

/** Evaluate often early (the curves move fast), then about every EVAL_CHARS characters. */
function evalDue(step: number): boolean {
  if (step <= 0) return false;
  const every = Math.max(10, Math.round(EVAL_CHARS / (state.options.batch * (state.options.seq_len - 1))));
  return EARLY_EVALS.includes(step) || step % every === 0;
}

function flush(force: boolean): void {
  const now = performance.now();
  if (pending.length === 0 || (!force && now - lastPost < POST_MS)) return;
  while (rate.length > 2 && now - rate[0]!.t > 5000) rate.shift();
  const span = rate.length > 1 ? rate[rate.length - 1]!.t - rate[0]!.t : 0;
  const charsPerSec = span > 500 ? ((rate[rate.length - 1]!.chars - rate[0]!.chars) * 1000) / span : null;
  post({ type: 'steps', points: pending, charsPerSec });
  pending = [];
  lastPost = now;
}

async function oneStep(): Promise<void> {
  // γ of this step (settings.ts biasGammaAt): the optimizer reads it from the run's options.
  if (state.options.balancing === 'bias') state.options.bias_gamma = biasGammaAt(settings, charsSeen(state));
  const sampler = samplerOf(state, corpus.train);
  const r = await trainStep(state, sampler, runner);
  pending.push({
    step: r.step, chars: charsSeen(state), lr: r.lr, bpc: r.bits_per_char, loss: r.loss, gradNorm: r.grad_norm, mtpAgree: r.mtp_agreement,
    load: layers.map((k) => lastLoads[k] ?? []),
    bias: layers.map((k) => Array.from(state.params.buffers[k] ?? [])),
  });
  rate.push({ t: performance.now(), chars: charsSeen(state) });
  if (evalDue(state.step)) { flush(true); evaluateNow(); }
  if (state.step % SAMPLE_EVERY === 0) { flush(true); sampleNow(); }
  flush(false);
}

/** Between steps, let queued messages (pause, snapshot, yield) in. */
const breathe = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The page answers the reader's input first: on a two-core machine this thread holds one core, and
 * the page's main, compositor and raster threads share the other. A step is one synchronous task
 * (splitting it would change the order of the gradient's float additions), so the page's 'yield'
 * is read after the step in flight, and the loop then waits out what is left of the page's window
 * (nothing when the step ended after it). At most YIELD_SHARE of any second is given up this way.
 */
const YIELD_SHARE = 0.1;
let yieldUntil = 0;
let yielded: { at: number; ms: number }[] = [];
const clock = () => performance.timeOrigin + performance.now();

async function yieldToPage(): Promise<void> {
  const now = clock();
  if (yieldUntil <= now) return;
  yielded = yielded.filter((y) => now - y.at < 1000);
  const budget = 1000 * YIELD_SHARE - yielded.reduce((s, y) => s + y.ms, 0);
  const ms = Math.min(yieldUntil - now, budget);
  yieldUntil = 0;
  if (ms <= 1) return;
  yielded.push({ at: now, ms });
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
}

function startLoop(): void {
  if (loop) return;
  loop = (async () => {
    try {
      while (running) {
        await oneStep();
        await breathe();
        await yieldToPage();
      }
    } catch (e) {
      running = false;
      post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    } finally {
      flush(true);
      rate.length = 0;
      loop = null;
      post({ type: 'state', running: false });
    }
  })();
}

function untrainedStats(): UntrainedStats {
  const fresh = freshState(settings, 1);
  const m = measure(modelFromParams(fresh.params, backend));
  return { lift: m.lift, maxVio: m.maxVio, greedy: m.greedy, sampled: m.sampled, valBpc: m.valBpc };
}

/** Tell the helper the model's layout (at start and after a checkpoint with another config is loaded). */
function configureHelper(): void {
  port?.postMessage({ type: 'init', config: state.params.config } satisfies WorkerInit);
}

function ready(): void {
  post({ type: 'ready', layers, params: state.params.data.length, step: state.step, chars: charsSeen(state), untrained, loadedFrom, threads: runner.threads, kernels: backend.name });
}

/** A checkpoint bundle (tar) from a file: its model's weights become this run's (a fresh optimizer, step 0). */
function loadBundle(bytes: Uint8Array, file: string): TrainerState {
  const files = readBundle(bytes, file);
  const config = parseConfigText(new TextDecoder().decode(files.get('config.json')!), { file: `${file}: config.json` });
  const tok = files.get('tokenizer.json');
  if (tok) parseTokenizerJson(new TextDecoder().decode(tok), `${file}: tokenizer.json`, config.vocab_size, `${file}: config.json`);
  else if (config.vocab_size !== charTokenizer.vocab_size) throw new Error(`${file}: config.json has vocab_size ${config.vocab_size}; the character tokenizer has ${charTokenizer.vocab_size} ids`);
  const { tensors } = readSafetensors(files.get('model.safetensors')!, `${file}: model.safetensors`, { requireFinite: true });
  const params = paramsFromTensors(config, tensors, `${file}: model.safetensors`);
  const options = { ...runOptions(settings, runner.threads), corpus_chars: corpus.chars, corpus_hash: corpus.hash, mtp_lambda: config.num_nextn_predict_layers > 0 ? (settings.mtp ? settings.mtpLambda : 0.3) : 0 };
  return { params, opt: createOptimizer(params), step: 0, rng: Array.from(SavedRng.fromSeed(settings.seed).state), options };
}

function exportBundleFiles(): [string, Uint8Array][] {
  const enc = new TextEncoder();
  return [
    ['config.json', enc.encode(JSON.stringify(configToJson(state.params.config), null, 2) + '\n')],
    ['model.safetensors', writeSafetensors(paramsToTensors(state.params))],
    ['tokenizer.json', enc.encode(JSON.stringify(charTokenizer.toJson(), null, 2) + '\n')],
  ];
}

let port: MessagePort | null = null;
let queue: Promise<void> = Promise.resolve();

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init': {
      settings = m.settings;
      backend = await fastestBackend(() => {});
      corpus = await loadCorpus(m.dataUrl, settings.corpus);
      runner = recording(portRunner(m.threads > 1 ? port : null));
      if (m.saved) {
        const file = 'the saved run';
        const cfg = parseConfigText(JSON.stringify(trainerStateConfig(m.saved, file)), { file });
        state = decodeTrainerState(m.saved, file, cfg);
        loadedFrom = (state.options as { loaded_from?: string }).loaded_from ?? null;
      } else {
        state = freshState(settings, runner.threads);
      }
      layers = moeLayers(state);
      if (runner.threads > 1) configureHelper();
      untrained = m.untrained ?? untrainedStats();
      ready();
      if (state.step === 0 && !m.saved) { evaluateNow(); sampleNow(); }
      break;
    }
    case 'run':
      running = true;
      post({ type: 'state', running: true });
      startLoop();
      break;
    case 'pause':
      running = false;
      if (!loop) post({ type: 'state', running: false });
      break;
    case 'step':
      if (loop) break;
      await oneStep();
      flush(true);
      break;
    case 'snapshot': {
      // Between steps (a step's update is synchronous), so the state is always a whole step's.
      const bytes = encodeTrainerState(state);
      post({ type: 'snapshot', id: m.id, bytes }, [bytes.buffer as ArrayBuffer]);
      break;
    }
    case 'save': {
      // Written here, not on the page: serialising megabytes of weights and Adam moments into
      // IndexedDB was the page's longest task while training.
      const bytes = encodeTrainerState(state);
      const ok = await saveRun({ key: m.key, savedAt: Date.now(), state: bytes, history: m.history }).then(() => true, () => false);
      post({ type: 'saved', id: m.id, ok });
      break;
    }
    case 'export': {
      const bytes = writeBundle(exportBundleFiles());
      post({ type: 'export', id: m.id, bytes, probe: probeLogits(modelFromParams(state.params, backend)) }, [bytes.buffer as ArrayBuffer]);
      break;
    }
    case 'load': {
      try {
        const next = loadBundle(m.bytes, m.file);
        running = false;
        while (loop) await breathe();
        state = next;
        (state.options as { loaded_from?: string }).loaded_from = m.file;
        loadedFrom = m.file;
        layers = moeLayers(state);
        if (runner.threads > 1) configureHelper();
        pending = [];
        post({ type: 'loaded', id: m.id, file: m.file, layers, params: state.params.data.length, config: configToJson(state.params.config) });
        ready();
        evaluateNow();
        sampleNow();
      } catch (e) {
        post({ type: 'load-error', id: m.id, message: e instanceof Error ? e.message : String(e) });
      }
      break;
    }
  }
}

self.onmessage = (e: MessageEvent<ToWorker | { type: 'port' }>) => {
  if (e.data.type === 'port') { port = e.ports[0] ?? null; return; }
  const m = e.data;
  // Pause must act at once (the loop checks the flag between steps); the rest run in order.
  if (m.type === 'pause') { void handle(m); return; }
  if (m.type === 'yield') { yieldUntil = Math.max(yieldUntil, m.until); return; }
  queue = queue.then(() => handle(m)).catch((err) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};

