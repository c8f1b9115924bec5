// Errors the engine reports about its inputs. Each says which file and which key or tensor is at
// fault, so a reader can fix the input; the CLI prints the message and exits with code 2.
// Names and values that come from a file are untrusted: they are quoted with their control
// characters escaped (a tensor name holding "\n" or an ANSI escape must not forge terminal text)
// and cut to a bounded length (a 50 MB string is not echoed whole).

/** The longest quoted text or described value a message carries. */
export const MAX_QUOTED_CHARS = 120;

// C0 and C1 controls, DEL, line/paragraph separators, bidi overrides and isolates, BOM, lone surrogates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

function escapeChar(c: string): string {
  return SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `s` with every control character escaped (\n, \u001b, ...): safe on one terminal line. */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** Cut `s` to at most `max` characters, saying how long it was. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let head = s.slice(0, max);
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1); // do not split a surrogate pair
  return `${head}... (${s.length} characters)`;
}

/** A name or string from an untrusted file, in double quotes, escaped and bounded. */
export function quote(s: string, max = MAX_QUOTED_CHARS): string {
  const body = cut(String(s), max).replace(/["\\]/g, (c) => SHORT[c]!);
  return `"${escapeControls(body)}"`;
}

/**
 * Any JSON-like value for a message, bounded in length and in depth: deep nesting (a hostile
 * header of 100,000 brackets) is walked iteratively and cut, never recursed into (JSON.stringify
 * would overflow the stack), and strings are quoted as above.
 */
export function describe(v: unknown, max = MAX_QUOTED_CHARS): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return quote(v, max);
  let out = '';
  // A work stack of values to print and literal tokens (closing brackets, separators).
  const stack: ({ value: unknown; depth: number } | { text: string })[] = [{ value: v, depth: 0 }];
  while (stack.length > 0 && out.length <= max) {
    const item = stack.pop()!;
    if ('text' in item) { out += item.text; continue; }
    const x = item.value;
    if (typeof x === 'string') out += quote(x, max);
    else if (typeof x === 'number' || typeof x === 'boolean' || x === null) out += String(x); // NaN, Infinity as words
    else if (Array.isArray(x) || typeof x === 'object') {
      const isArray = Array.isArray(x);
      const entries: [string | null, unknown][] = isArray ? (x as unknown[]).slice(0, max).map((e) => [null, e]) : Object.entries(x as object).slice(0, max);
      if (item.depth >= 8 && entries.length > 0) { out += isArray ? '[...]' : '{...}'; continue; }
      out += isArray ? '[' : '{';
      stack.push({ text: isArray ? ']' : '}' });
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, e] = entries[i]!;
        stack.push({ value: e, depth: item.depth + 1 });
        if (k !== null) stack.push({ text: `${quote(k, max)}:` });
        if (i > 0) stack.push({ text: ',' });
      }
    } else out += typeof x;
  }
  return out.length > max || stack.length > 0 ? `${out.slice(0, max)}...` : out;
}

/** An input the engine cannot use: a config, a checkpoint, a token list, an option. */
export class EngineInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config.json key that is missing, mistyped, out of range, inconsistent or unsupported. */
export class ConfigError extends EngineInputError {
  constructor(readonly file: string, readonly key: string, detail: string) {
    super(`${escapeControls(file)}: ${quote(key)} ${detail}`);
  }
}

/** A safetensors file that is malformed, or a tensor that is missing or of the wrong shape. */
export class CheckpointError extends EngineInputError {
  constructor(readonly file: string, readonly tensor: string | null, detail: string) {
    super(tensor === null ? `${escapeControls(file)}: ${detail}` : `${escapeControls(file)}: tensor ${quote(tensor)} ${detail}`);
  }
}

/** A computation that produced NaN or Infinity: says where (layer and op) instead of printing NaN. */
export class NonFiniteError extends EngineInputError {
  constructor(readonly where: string, readonly index: number, readonly value: number) {
    super(`${where} is not finite (${value} at element ${index}): the weights or the config overflow float32 here`);
  }
}

/** The index of the first NaN or +-Infinity in `x`, or -1. One pass, no allocation. */
export function firstNonFinite(x: ArrayLike<number>): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    // v - v is NaN exactly for NaN and +-Infinity; cheaper than Number.isFinite in a hot loop.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Throw a NonFiniteError naming `where` if `x` holds a NaN or an Infinity. */
export function checkFinite(x: ArrayLike<number>, where: string): void {
  const i = firstNonFinite(x);
  if (i >= 0) throw new NonFiniteError(where, i, x[i]!);
}
