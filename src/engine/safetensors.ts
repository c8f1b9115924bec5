// The safetensors checkpoint format, read and written in plain TypeScript (no Node APIs: the same
// code runs in tests, the CLI and the browser; it takes and returns Uint8Array / ArrayBuffer).
//
// Layout of a file (https://github.com/huggingface/safetensors, "Format"):
//   bytes [0, 8)        N, the header length: an unsigned 64-bit little-endian integer
//   bytes [8, 8+N)      the header: UTF-8 JSON
//                       { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
//                         ...,
//                         "__metadata__": { "<key>": "<string value>" } }   (optional)
//   bytes [8+N, end)    the data buffer; each tensor's data_offsets are relative to its start,
//                       row-major, little-endian.
//
// The reader checks everything it relies on before it touches a byte of data, and reports what is
// wrong as a CheckpointError naming the file and, where it applies, the tensor. It never reads past
// the buffer, and it copies every tensor into its own (aligned) Float32Array, because data_offsets
// need not be multiples of 4 and a Float32Array view of an unaligned offset is not allowed.
import { decodeFp8Bytes, encodeTensorBytes, type StorageDtype } from './numerics/storage.js';
import { CheckpointError, describe, escapeControls, firstNonFinite, quote } from './errors.js';

/** One tensor as read: its dtype in the file, its shape, and its values converted to float32. */
export interface SafetensorsTensor {
  /** The dtype stored in the file ("F32", "F16", "BF16" or "F64"); `data` is always float32. */
  dtype: string;
  shape: number[];
  /** Row-major values, a fresh copy (never a view of the file bytes). */
  data: Float32Array;
}

/** What `readSafetensors` returns. */
export interface SafetensorsFile {
  /** Tensors by name, in the order the header lists them. */
  tensors: Map<string, SafetensorsTensor>;
  /** The header's `__metadata__` (string to string), `{}` when absent. */
  metadata: Record<string, string>;
}

/** A tensor to write: row-major float32 data and its shape (`[]` for a scalar). */
export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
  /** Dtype to store it as (default F32); values are rounded to nearest even by numerics/storage.ts.
   *  (Not `dtype`: a tensor as read carries the dtype it had, and re-writing it stays F32.) */
  storeAs?: StorageDtype;
}

/** Bytes per element of each dtype this reader converts to float32. */
export const SUPPORTED_DTYPES: Readonly<Record<string, number>> = Object.freeze({ F32: 4, F16: 2, BF16: 2, F64: 8, F8_E4M3: 1, F8_E5M2: 1 });

/** Larger headers are refused as absurd (the format's own reference reader uses the same limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const supportedList = (): string => Object.keys(SUPPORTED_DTYPES).join(', ');

// Is this machine little-endian? (Every current browser and Node platform is; the check keeps the
// fast byte-copy path honest on one that is not.)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Half-precision conversions (exact: every F16 and BF16 value is representable in float32).

/** IEEE 754 binary16 bits (as an integer 0..0xffff) to its exact value. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals: m * 2^-14 / 2^10
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 bits (0..0xffff) to its exact value: they are the top 16 bits of a float32. */
export function bf16ToF32(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16, false);
  return scratch.getFloat32(0, false);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Set an own enumerable property, even for the key "__proto__" (plain assignment would not). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Options of `readSafetensors`. */
export interface ReadOptions {
  /** Refuse NaN and +-Infinity in tensor data, naming the tensor and the element (what a model
   *  loader wants: it cannot compute with them). Off by default: the format itself allows them. */
  requireFinite?: boolean;
}

/**
 * The header length N from the first 8 bytes of a file of `fileSize` bytes, checked: at most
 * MAX_HEADER_BYTES and within the file. A caller reading from disk calls this on 8 bytes before
 * it reads anything else, so a huge file of garbage fails here without being read whole.
 */
export function readHeaderLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first8.byteLength < 8) {
    throw new CheckpointError(file, null, `is ${fileSize} bytes long, shorter than the 8-byte header length that starts every safetensors file (truncated or not a safetensors file)`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo; // exact while hi < 2^21; larger values are absurd anyway
  if (hi !== 0 || headerLength > MAX_HEADER_BYTES) {
    throw new CheckpointError(file, null, `declares a header of ${hi < 2 ** 21 ? headerLength : `about ${headerLength.toExponential(3)}`} bytes, more than the ${MAX_HEADER_BYTES} allowed (not a safetensors file, or a corrupt header length)`);
  }
  if (8 + headerLength > fileSize) {
    throw new CheckpointError(file, null, `declares a header of ${headerLength} bytes, which runs past the end of the file (${fileSize} bytes; truncated?)`);
  }
  return headerLength;
}

/**
 * The object keys of a JSON text that appear twice in the same object, first one found, or null.
 * JSON.parse keeps the last of duplicates silently; a checkpoint naming a tensor twice is refused
 * instead. One iterative pass (no recursion, so deep nesting cannot overflow the stack); the text
 * is already known to be valid JSON.
 */
export function duplicateJsonKey(text: string): string | null {
  const objects: (Set<string> | null)[] = []; // one per open bracket: the keys seen, null for an array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = objects[objects.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === 0x7b /* { */) { objects.push(new Set()); expectKey = true; }
    else if (c === 0x5b /* [ */) { objects.push(null); expectKey = false; }
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) { objects.pop(); expectKey = false; }
    else if (c === 0x2c /* , */) expectKey = objects[objects.length - 1] !== null;
  }
  return null;
}

/**
 * Read a safetensors file. `file` is the name used in error messages. F32 is read as is; F16 and
 * BF16 are converted to float32 exactly; F64 is rounded to the nearest float32 (a value beyond
 * float32's range becomes Infinity: refused with requireFinite). Throws CheckpointError for anything malformed
 * (see the checks below), naming the tensor where one is at fault; never reads past `bytes`.
 */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer, file: string, options: ReadOptions = {}): SafetensorsFile {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const fail = (tensor: string | null, detail: string): never => {
    throw new CheckpointError(file, tensor, detail);
  };

  // 1. The 8-byte header length.
  const headerLength = readHeaderLength(u8, u8.byteLength, file);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);

  // 2. The header: UTF-8 JSON object.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(u8.subarray(8, 8 + headerLength));
  } catch {
    return fail(null, `has a header (${headerLength} bytes) that is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(null, `has a header that is not valid JSON (${escapeControls(String((e as Error).message)).slice(0, 200)}); starts with ${describe(text.slice(0, 40))}`);
  }
  if (!isPlainObject(header)) fail(null, `has a header that is not a JSON object (got ${describe(header)})`);
  const h = header as Record<string, unknown>;
  const twice = duplicateJsonKey(text);
  if (twice !== null) fail(null, `has a header naming ${quote(twice)} twice (JSON would silently keep the last one)`);

  // 3. __metadata__: string -> string.
  const metadata: Record<string, string> = {};
  const rawMeta = h['__metadata__'];
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) fail(null, `has a "__metadata__" that is not an object of strings (got ${describe(rawMeta)})`);
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(null, `has "__metadata__".${quote(k)} = ${describe(v)}, but metadata values must be strings`);
      setOwn(metadata, k, v);
    }
  }

  // 4. Each entry: dtype, shape, data_offsets, byte length.
  const dataStart = 8 + headerLength;
  const dataLength = u8.byteLength - dataStart;
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (!isPlainObject(raw)) fail(name, `has a header entry that is not an object (got ${describe(raw)})`);
    const r = raw as Record<string, unknown>;

    const dtype = r['dtype'];
    if (typeof dtype !== 'string') fail(name, `has no dtype string (got ${describe(dtype)}); supported: ${supportedList()}`);
    const size = SUPPORTED_DTYPES[dtype as string];
    if (size === undefined) {
      fail(name, `has dtype ${quote(dtype as string)}, which this reader does not support (supported: ${supportedList()})`);
    }

    const shape = r['shape'];
    if (!Array.isArray(shape)) fail(name, `has a shape that is not an array (got ${describe(shape)})`);
    let elements = 1;
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        fail(name, `has shape ${describe(shape)}: every dimension must be a non-negative integer (got ${describe(d)})`);
      }
      elements *= d as number;
      if (!Number.isSafeInteger(elements)) fail(name, `has shape ${describe(shape)} with more elements than can be counted exactly`);
    }

    const offsets = r['data_offsets'];
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      fail(name, `has data_offsets ${describe(offsets)}: expected two integers [begin, end]`);
    }
    const [begin, end] = offsets as unknown[];
    if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < 0) {
      fail(name, `has data_offsets ${describe(offsets)}: expected two non-negative integers [begin, end]`);
    }
    const b = begin as number;
    const e = end as number;
    if (b > e) fail(name, `has data_offsets [${b}, ${e}] with begin after end`);
    if (e > dataLength) {
      fail(name, `has data_offsets [${b}, ${e}] past the end of the data buffer (${dataLength} bytes after the ${headerLength}-byte header; the file is ${u8.byteLength} bytes: truncated?)`);
    }
    const expected = elements * size!;
    if (e - b !== expected) {
      fail(name, `has ${e - b} bytes of data (data_offsets [${b}, ${e}]) but shape ${describe(shape)} of ${dtype} needs ${elements} x ${size} = ${expected} bytes`);
    }
    entries.push({ name, dtype: dtype as string, shape: (shape as number[]).slice(), begin: b, end: e });
  }

  // 5. No two tensors may share bytes (gaps between tensors are allowed; empty tensors overlap nothing).
  const byOffset = entries.filter((en) => en.end > en.begin).sort((x, y) => x.begin - y.begin || x.end - y.end);
  let reach: Entry | null = null; // the tensor reaching furthest so far
  for (const en of byOffset) {
    if (reach !== null && en.begin < reach.end) {
      fail(en.name, `overlaps tensor ${quote(reach.name)}: data_offsets [${en.begin}, ${en.end}] and [${reach.begin}, ${reach.end}] share bytes`);
    }
    if (reach === null || en.end > reach.end) reach = en;
  }

  // 6. Copy and convert.
  const tensors = new Map<string, SafetensorsTensor>();
  for (const en of entries) {
    const data = decode(view, u8, dataStart + en.begin, dataStart + en.end, en.dtype);
    const bad = options.requireFinite ? firstNonFinite(data) : -1;
    if (bad >= 0) {
      const raw = en.dtype === 'F64' ? view.getFloat64(dataStart + en.begin + 8 * bad, true) : data[bad]!;
      fail(en.name, `holds ${raw} at element ${bad} (index ${JSON.stringify(unflatten(bad, en.shape))})${Number.isFinite(raw) ? `, beyond float32's range (${en.dtype} read as float32)` : ''}: a checkpoint must hold finite numbers`);
    }
    tensors.set(en.name, { dtype: en.dtype, shape: en.shape, data });
  }
  return { tensors, metadata };
}

/** The multi-index of flat element `i` in a row-major tensor of `shape`. */
function unflatten(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) { idx[k] = i % shape[k]!; i = Math.floor(i / shape[k]!); }
  return idx;
}

/** Bytes [start, end) of the file (bounds already checked) as a fresh float32 array. */
function decode(view: DataView, u8: Uint8Array, start: number, end: number, dtype: string): Float32Array {
  const n = (end - start) / SUPPORTED_DTYPES[dtype]!;
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(u8.subarray(start, end));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(start + 4 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(start + 2 * i, true));
      break;
    case 'BF16': {
      // bf16 bits are the high half of the float32 bits: widen through a Uint32 view of `out`.
      const bitsOut = new Uint32Array(out.buffer);
      if (LITTLE_ENDIAN) for (let i = 0; i < n; i++) bitsOut[i] = view.getUint16(start + 2 * i, true) << 16;
      else for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(start + 2 * i, true));
      break;
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
      decodeFp8Bytes(dtype, u8.subarray(start, end), out);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(start + 8 * i, true);
      break;
    default:
      throw new Error(`unreachable dtype ${dtype}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Order names by Unicode code point (as Python's `sorted` and Rust's `BTreeMap` do). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/**
 * Write float32 tensors as a safetensors file: dtype F32, tensors laid out back to back in name
 * order, header JSON padded with spaces to a multiple of 8 bytes (so the data buffer starts
 * 8-aligned), `__metadata__` defaulting to `{"format": "pt"}` (what PyTorch loaders expect).
 * Throws CheckpointError (file "writeSafetensors") if a shape does not match its data.
 */
export function writeSafetensors(
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const file = 'writeSafetensors';
  const items: [string, TensorToWrite][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  items.sort((x, y) => compareCodePoints(x[0], y[0]));

  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new CheckpointError(file, null, `metadata ${quote(k)} must be a string (got ${describe(v)})`);
    setOwn(meta, k, v);
  }
  setOwn(header, '__metadata__', meta);

  let offset = 0;
  const encoded: (Uint8Array | null)[] = []; // bytes of the tensors not stored as F32
  for (const [name, t] of items) {
    if (name === '__metadata__') throw new CheckpointError(file, name, 'is a reserved name');
    let elements = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new CheckpointError(file, name, `has shape ${describe(t.shape)}: dimensions must be non-negative integers`);
      elements *= d;
    }
    if (!(t.data instanceof Float32Array)) throw new CheckpointError(file, name, 'data must be a Float32Array');
    if (t.data.length !== elements) {
      throw new CheckpointError(file, name, `has ${t.data.length} values but shape ${JSON.stringify(t.shape)} needs ${elements}`);
    }
    const bytes = t.storeAs && t.storeAs !== 'F32' ? encodeTensorBytes(t.storeAs, t.data) : null;
    encoded.push(bytes);
    const size = bytes ? bytes.byteLength : 4 * elements;
    setOwn(header, name, { dtype: t.storeAs ?? 'F32', shape: [...t.shape], data_offsets: [offset, offset + size] });
    offset += size;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true); // header length (u64 LE; high word stays 0)
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded); // spaces: still valid JSON

  let pos = 8 + padded;
  for (const [i, [, t]] of items.entries()) {
    const bytes = encoded[i];
    if (bytes) { out.set(bytes, pos); pos += bytes.byteLength; continue; }
    if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i]!, true);
    pos += t.data.byteLength;
  }
  return out;
}
