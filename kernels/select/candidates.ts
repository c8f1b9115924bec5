// The candidates of the selection, simplest first: the float64 reference, the tuned loop, the
// WebAssembly SIMD kernels, each gpu.js mode that constructs here, then custom candidates. Each is
// probed op by op on tiny odd shapes against the reference; a wrong answer or a throw disables the
// op for that candidate, with the reason in the report. The order is also the tie-break of the
// decision (decide.ts): of two candidates equally fast, the simpler one is chosen.
import { type Backend, OP_NAMES, type OpName } from '../backend.js';
import { createGpuJsBackend, GPUJS_MODES, loadGpuJs, softwareRenderer, type GpuJsBackend } from '../gpujs.js';
import { loopBackend } from '../loop.js';
import { referenceBackend } from '../reference.js';
import { createWasmBackend } from '../wasm.js';
import type { CandidateReport } from './report.js';
import { message, now, round, yieldNow } from './util.js';
import { makeWorkload, PROBE_SHAPES } from './workloads.js';

export interface Candidate {
  backend: Backend;
  report: CandidateReport;
  /** Ops whose probe passed. */
  ok: Set<OpName>;
  destroy?: () => void;
}

/** The options of selectBackend that decide which candidates are built. */
export interface CandidateOptions {
  loop?: boolean;
  wasm?: boolean;
  gpujs?: readonly string[] | false;
  /** Report every gpu.js mode as not tried, for this reason (decided elsewhere, e.g. by the page that sent this selection to a worker). */
  gpujsSkipped?: string;
  candidates?: readonly Backend[];
  force?: string;
}

const KIND_ORDER: Readonly<Record<CandidateReport['kind'], number>> = { reference: 0, loop: 1, wasm: 2, 'gpu.js': 3, custom: 4 };

/** Simplicity rank (lower is simpler): the tie-break of the decision. Candidates keep their build order within a kind. */
export function simplicity(c: CandidateReport, index: number): number {
  return KIND_ORDER[c.kind] * 1000 + index;
}

/** Compare a probe result with the reference: |got - want| <= 1e-3 + 1e-3 |want| (catches wrong answers, not float noise). */
function probeMismatch(got: Float32Array, want: Float32Array): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (!(Math.abs(g - w) <= 1e-3 + 1e-3 * Math.abs(w))) return `wrong answer at ${i}: ${g} vs reference ${w}`;
  }
  return null;
}

/** Why the GPU modes of gpu.js are not tried on a software renderer (SwiftShader, llvmpipe): it runs on the CPU, ~10x slower than a loop. */
export function softwareRendererReason(renderer: string): string {
  return `the graphics device here is a software renderer (${renderer}) on the CPU; force it to try it`;
}

export async function gatherCandidates(options: CandidateOptions, loadMs: { value: number | null }): Promise<Candidate[]> {
  const candidates: Candidate[] = [{
    backend: referenceBackend,
    report: { name: referenceBackend.name, kind: 'reference', available: true, probe: {} },
    ok: new Set(OP_NAMES),
  }];
  const names = new Set([referenceBackend.name]);
  // The tuned plain TypedArray loop (loop.ts): no set-up cost, often the fastest at lesson sizes.
  if (options.loop !== false && (options.force === undefined || options.force === loopBackend.name)) {
    names.add(loopBackend.name);
    const c: Candidate = { backend: loopBackend, report: { name: loopBackend.name, kind: 'loop', available: true, probe: {} }, ok: new Set() };
    candidates.push(c);
    await probe(c);
  }
  // The WebAssembly SIMD kernels (wasm.ts): one instance, compiled once; unavailable where the
  // engine lacks WebAssembly SIMD (the reason is reported).
  if (options.wasm !== false && (options.force === undefined || options.force === 'wasm')) {
    names.add('wasm');
    const t = now();
    try {
      const be = await createWasmBackend();
      const c: Candidate = { backend: be, report: { name: be.name, kind: 'wasm', available: true, constructMs: round(now() - t), probe: {} }, ok: new Set() };
      candidates.push(c);
      const tp = now();
      await probe(c);
      c.report.probeMs = round(now() - tp);
    } catch (e) {
      candidates.push({ backend: referenceBackend, report: { name: 'wasm', kind: 'wasm', available: false, reason: message(e), constructMs: round(now() - t), probe: {} }, ok: new Set() });
    }
  }
  const modes = options.gpujs === false ? [] : (options.gpujs ?? GPUJS_MODES);
  const wanted = options.force;
  const wasmWorks = candidates.some((c) => c.report.kind === 'wasm' && c.report.available);
  // Modes not worth trying by default, with the reason the report shows (decided before gpu.js,
  // ~150 kB gzip, is loaded: when every mode is skipped the page never downloads it).
  const skipped = new Map<string, string>();
  if (wanted === undefined && options.gpujsSkipped !== undefined) {
    for (const mode of modes) skipped.set(mode, `not tried: ${options.gpujsSkipped}`);
  } else if (wanted === undefined && options.gpujs === undefined) {
    const software = softwareRenderer();
    const inNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
    for (const mode of modes) {
      // gpu.js's webasm and cpu modes run on the CPU, at 0.3-0.7x the tuned loop; where the wasm
      // kernels work they cannot win, and each of their kernels costs a compilation per shape.
      if ((mode === 'webasm' || mode === 'cpu') && wasmWorks) skipped.set(mode, 'not tried: a CPU mode of gpu.js, and the WebAssembly SIMD kernels work here; force it or list it in options.gpujs to try it');
      // A software WebGL (SwiftShader, llvmpipe) runs on the CPU too, ~10x slower than a loop (STACK.md).
      // headless-gl is a Node addon: in a page it can only fail, after gpu.js has been downloaded.
      if (mode === 'headlessgl' && !inNode) skipped.set(mode, 'not tried: headless-gl runs only in Node');
      if ((mode === 'webgpu' || mode === 'webgl2' || mode === 'webgl') && software !== null) skipped.set(mode, `not tried: ${softwareRendererReason(software)}`);
    }
  }
  const built = modes.filter((m) => !skipped.has(m) && (wanted === undefined || wanted === `gpu.js ${m}`));
  if (built.length > 0) {
    const t = now();
    try {
      await loadGpuJs();
    } catch {
      // each mode below reports the import error as its reason
    }
    loadMs.value = round(now() - t);
  }
  for (const mode of modes) {
    const name = `gpu.js ${mode}`;
    if (wanted !== undefined && wanted !== name) continue; // forcing: build only what is asked for
    names.add(name);
    // WebGL1 runs on the same device as WebGL2 through an older API; measuring both doubles the
    // shader compilations of the start-up for nothing, so by default webgl is tried only without webgl2.
    const webgl2 = candidates.find((c) => c.report.mode === 'webgl2');
    if (mode === 'webgl' && wanted === undefined && options.gpujs === undefined && webgl2?.report.available) {
      candidates.push({ backend: referenceBackend, report: { name, kind: 'gpu.js', mode, available: false, reason: 'not tried: gpu.js webgl2 works here (same device, newer API); force it or list it in options.gpujs to try it', probe: {} }, ok: new Set() });
      continue;
    }
    const skip = skipped.get(mode);
    if (skip !== undefined) {
      candidates.push({ backend: referenceBackend, report: { name, kind: 'gpu.js', mode, available: false, reason: skip, probe: {} }, ok: new Set() });
      continue;
    }
    const t = now();
    try {
      const be: GpuJsBackend = await createGpuJsBackend(mode);
      const c: Candidate = { backend: be, report: { name, kind: 'gpu.js', mode, available: true, constructMs: round(now() - t), probe: {} }, ok: new Set(), destroy: () => be.destroy() };
      candidates.push(c);
      const tp = now();
      await probe(c);
      c.report.probeMs = round(now() - tp);
      if (!c.report.available) c.destroy?.();
    } catch (e) {
      candidates.push({ backend: referenceBackend, report: { name, kind: 'gpu.js', mode, available: false, reason: message(e), constructMs: round(now() - t), probe: {} }, ok: new Set() });
    }
  }
  for (const be of options.candidates ?? []) {
    if (names.has(be.name)) throw new Error(`selectBackend: two candidates are named "${be.name}"`);
    names.add(be.name);
    const c: Candidate = { backend: be, report: { name: be.name, kind: 'custom', available: true, probe: {} }, ok: new Set() };
    candidates.push(c);
    const tp = now();
    await probe(c);
    c.report.probeMs = round(now() - tp);
  }
  return candidates;
}

export async function probe(c: Candidate): Promise<void> {
  if (!c.report.available || c.backend === referenceBackend) return;
  for (const op of OP_NAMES) {
    await yieldNow();
    const dims = PROBE_SHAPES[op];
    try {
      const want = makeWorkload(op, dims, 7);
      const got = makeWorkload(op, dims, 7);
      const w = Float32Array.from(want.run(referenceBackend));
      const g = Float32Array.from(got.run(c.backend));
      let bad = probeMismatch(g, w);
      if (!bad && op === 'causalAttention') {
        const ww = want.weights, gw = got.weights;
        if (ww && gw) {
          const wb = probeMismatch(gw, ww);
          if (wb) bad = `weights: ${wb}`;
        }
      }
      if (bad) c.report.probe[op] = bad;
      else {
        c.report.probe[op] = 'ok';
        c.ok.add(op);
      }
    } catch (e) {
      c.report.probe[op] = `threw: ${message(e)}`;
    }
  }
  if (c.ok.size === 0) {
    c.report.available = false;
    c.report.reason = `failed the correctness probe on every op (${c.report.probe.matmul ?? 'no probe'})`;
  }
}

