// A lesson's training run at its default settings, run once by a script with the lesson's own
// Runner (the code its worker runs, on the same WebAssembly kernels) and shipped beside the lesson
// as JSON: a first visit draws its figures from it at once instead of waiting seconds for the
// worker to train the same steps. Only the shipped model's runs are recorded: the record names the
// weights (SHA-256 of model.safetensors) and the page uses it only when the model it runs has
// exactly those bytes; any other setting, model or step goes to the worker as before.
//
// A record may also hold answers of the lesson's engine-worker jobs at its defaults (the precision
// lesson's gradient figures and outlier sweep), each with the request it answers; the page takes
// one only for exactly that request, and tests/shipped-runs.test.ts computes each again.
//
// A record holds the reports of every step up to the slider's maximum (a default run asked for
// more or fewer steps shows its curves at once while the worker computes the final payload) and
// the final payload at the steps it was kept for (the lesson's default). Typed arrays travel as
// base64 ({ $f32 } / { $f64 }): exact, and a fifth of the size of their digits.

/** One recorded run: its settings, a report per step, and the final payload at some steps. */
export interface ShippedRun<R, F> {
  settings: Record<string, string | number>;
  reports: R[];
  finals: { step: number; final: F }[];
}

/** One answer of a lesson's engine-worker job (_kit/engine-worker.ts) at the lesson's defaults: the job, its request less the model, its value. */
export interface ShippedAnswer {
  job: string;
  request: Record<string, string | number>;
  value: unknown;
}

export interface ShippedRunsRecord<R, F> {
  /** The command that wrote the record (run it again when the runner or the shipped model change). */
  command: string;
  /** The model folder, and the SHA-256 of its model.safetensors. */
  model: string;
  weightsSha256: string;
  runs: ShippedRun<R, F>[];
  /** Answers of the lesson's worker jobs on the shipped model at its defaults (a first visit shows them without waiting for the worker). */
  answers?: ShippedAnswer[];
}

/** What JobClient.follow() can take from a record: the reports, and the final payload at a step (undefined: not kept). */
export interface KnownRun<R, F> {
  reports: readonly R[];
  finalAt(steps: number): F | undefined;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!, b = bytes[i + 1] ?? 0, c = bytes[i + 2] ?? 0;
    s += B64[a >> 2]! + B64[((a & 3) << 4) | (b >> 4)]! + (i + 1 < bytes.length ? B64[((b & 15) << 2) | (c >> 6)]! : '=') + (i + 2 < bytes.length ? B64[c & 63]! : '=');
  }
  return s;
}

function fromBase64(s: string): Uint8Array {
  const n = (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
  const out = new Uint8Array(n);
  const v = (ch: string) => {
    const k = B64.indexOf(ch);
    if (k < 0 && ch !== '=') throw new Error(`not base64: ${JSON.stringify(ch)}`);
    return Math.max(0, k);
  };
  for (let i = 0, o = 0; i < s.length; i += 4) {
    const x = (v(s[i]!) << 18) | (v(s[i + 1]!) << 12) | (v(s[i + 2]!) << 6) | v(s[i + 3]!);
    if (o < n) out[o++] = x >> 16;
    if (o < n) out[o++] = (x >> 8) & 255;
    if (o < n) out[o++] = x & 255;
  }
  return out;
}

// Little-endian on every platform the page runs on; the bytes are the arrays' own.
const bytesOf = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** JSON with Float32Array / Float64Array values kept exactly. */
export function recordToJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Float32Array) return { $f32: toBase64(bytesOf(v)) };
    if (v instanceof Float64Array) return { $f64: toBase64(bytesOf(v)) };
    return v;
  });
}

/** The inverse of recordToJson. */
export function recordFromJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$f32 === 'string') { const b = fromBase64(o.$f32); return new Float32Array(b.buffer, 0, b.length / 4); }
      if (typeof o.$f64 === 'string') { const b = fromBase64(o.$f64); return new Float64Array(b.buffer, 0, b.length / 8); }
    }
    return v;
  }) as T;
}

/** The recorded run with exactly these settings (every key of the record's settings equal), or null. */
export function knownRun<R, F>(record: ShippedRunsRecord<R, F> | null, settings: Record<string, string | number>): KnownRun<R, F> | null {
  const run = record?.runs.find((r) => Object.keys(r.settings).length === Object.keys(settings).length && Object.entries(r.settings).every(([k, v]) => settings[k] === v));
  if (!run) return null;
  return { reports: run.reports, finalAt: (steps) => run.finals.find((f) => f.step === steps)?.final };
}

/** The recorded answer of `job` for exactly this request (every key equal), or undefined. */
export function knownAnswer<T>(record: ShippedRunsRecord<unknown, unknown> | null, job: string, request: Record<string, string | number>): T | undefined {
  const a = record?.answers?.find((x) => x.job === job && Object.keys(x.request).length === Object.keys(request).length && Object.entries(x.request).every(([k, v]) => request[k] === v));
  return a?.value as T | undefined;
}

/**
 * A lesson's record, read once: `url` is the JSON's asset URL in the page (an `?url` import),
 * `repoPath` the same file from the repository root in Node (tests, prerendering). Null when it
 * cannot be read, or when it was not made from the weights whose SHA-256 `weightsSha256` resolves to.
 */
export function shippedRuns<R, F>(url: string, repoPath: string): (weightsSha256: Promise<string | null>) => Promise<ShippedRunsRecord<R, F> | null> {
  let text: Promise<string | null> | null = null;
  let parsed: Promise<ShippedRunsRecord<R, F> | null> | null = null;
  const read = async (): Promise<string | null> => {
    if (typeof window === 'undefined') {
      const fs = 'node:fs/promises';
      const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
      return readFile(repoPath, 'utf8');
    }
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status} for ${url}`);
    return r.text();
  };
  // The record is read at once, beside the weights' hash (both are needed before the first figure).
  return async (weightsSha256) => {
    text ??= read().catch(() => null);
    parsed ??= text.then((t) => (t === null ? null : recordFromJson<ShippedRunsRecord<R, F>>(t))).catch(() => null);
    const [rec, sha] = await Promise.all([parsed, weightsSha256]);
    return rec && sha !== null && rec.weightsSha256 === sha ? rec : null;
  };
}
