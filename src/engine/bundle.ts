// A checkpoint as ONE file: config.json, model.safetensors and tokenizer.json (and any other small
// files of a model folder) in a POSIX ustar archive, so a model trained in the browser downloads as
// one file that `tar xf` unpacks and that the CLI reads directly (`--model run.tar`). Only what a
// checkpoint needs: regular files with plain names, no folders, links or long-name extensions.
// Pure bytes in and out.
import { EngineInputError } from './errors.js';

const BLOCK = 512;
/** The files a model bundle must hold. */
export const BUNDLE_REQUIRED = ['config.json', 'model.safetensors'] as const;
/** A bundle larger than this is refused before it is read (the engine's 1 GiB weight budget). */
export const MAX_BUNDLE_BYTES = 1 << 30;
const NAME = /^[A-Za-z0-9._-]{1,99}$/;

function octal(bytes: Uint8Array, at: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  for (let i = 0; i < width - 1; i++) bytes[at + i] = s.charCodeAt(i);
  bytes[at + width - 1] = 0;
}

function ascii(bytes: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i);
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

/** Files (name -> bytes) as a ustar archive, in the given order; mtime is fixed so equal files give equal bytes. */
export function writeBundle(files: ReadonlyMap<string, Uint8Array> | [string, Uint8Array][], mtime = 0): Uint8Array {
  const list = files instanceof Map ? [...files] : [...files];
  let total = 2 * BLOCK;
  for (const [name, data] of list) {
    if (!NAME.test(name)) throw new EngineInputError(`bundle: file name ${JSON.stringify(name)} must be 1-99 letters, digits, dots, dashes or underscores`);
    total += BLOCK + Math.ceil(data.length / BLOCK) * BLOCK;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const [name, data] of list) {
    const h = out.subarray(at, at + BLOCK);
    ascii(h, 0, name);
    octal(h, 100, 8, 0o644);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, data.length);
    octal(h, 136, 12, mtime);
    h[156] = 0x30; // '0': a regular file
    ascii(h, 257, 'ustar');
    ascii(h, 263, '00');
    const sum = checksum(h).toString(8).padStart(6, '0');
    ascii(h, 148, sum);
    h[154] = 0;
    h[155] = 0x20;
    out.set(data, at + BLOCK);
    at += BLOCK + Math.ceil(data.length / BLOCK) * BLOCK;
  }
  return out;
}

function readOctal(h: Uint8Array, at: number, width: number, file: string, field: string): number {
  let s = '';
  for (let i = 0; i < width; i++) {
    const c = h[at + i]!;
    if (c === 0 || c === 0x20) { if (s.length > 0) break; continue; }
    if (c < 0x30 || c > 0x37) throw new EngineInputError(`${file}: not a checkpoint bundle (tar header field "${field}" is not an octal number)`);
    s += String.fromCharCode(c);
  }
  return s.length === 0 ? 0 : parseInt(s, 8);
}

function readName(h: Uint8Array, at: number, width: number): string {
  let s = '';
  for (let i = 0; i < width && h[at + i] !== 0; i++) s += String.fromCharCode(h[at + i]!);
  return s;
}

/** True when the bytes start like a tar archive (a ustar magic at offset 257). */
export function looksLikeBundle(bytes: Uint8Array): boolean {
  return bytes.length >= BLOCK && readName(bytes, 257, 5) === 'ustar';
}

/**
 * The files of a ustar archive (name -> bytes, views into `bytes`). Refused with one line naming the
 * file: a truncated archive, a bad header checksum, anything but regular files, paths, duplicates.
 */
export function readBundle(bytes: Uint8Array, file = 'bundle'): Map<string, Uint8Array> {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new EngineInputError(`${file}: ${bytes.length} bytes is larger than the ${MAX_BUNDLE_BYTES} a checkpoint bundle may be`);
  if (!looksLikeBundle(bytes)) throw new EngineInputError(`${file}: not a checkpoint bundle (expected a tar archive holding config.json and model.safetensors)`);
  const out = new Map<string, Uint8Array>();
  let at = 0;
  for (;;) {
    if (at + BLOCK > bytes.length) throw new EngineInputError(`${file}: the archive is truncated (it ends inside a header at byte ${at})`);
    const h = bytes.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const stored = readOctal(h, 148, 8, file, 'chksum');
    if (stored !== checksum(h)) throw new EngineInputError(`${file}: header at byte ${at} has a bad checksum (the file is corrupt)`);
    const name = readName(h, 0, 100);
    const type = h[156];
    if (type !== 0x30 && type !== 0) throw new EngineInputError(`${file}: entry ${JSON.stringify(name)} is not a regular file (a checkpoint bundle holds only files)`);
    if (!NAME.test(name) || readName(h, 345, 155) !== '') throw new EngineInputError(`${file}: entry ${JSON.stringify(name.slice(0, 120))} is not a plain file name (no folders in a checkpoint bundle)`);
    if (out.has(name)) throw new EngineInputError(`${file}: entry ${JSON.stringify(name)} appears twice`);
    const size = readOctal(h, 124, 12, file, 'size');
    const start = at + BLOCK;
    if (start + size > bytes.length) throw new EngineInputError(`${file}: the archive is truncated (${name} needs ${size} bytes, ${bytes.length - start} are left)`);
    out.set(name, bytes.subarray(start, start + size));
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  for (const need of BUNDLE_REQUIRED) if (!out.has(need)) throw new EngineInputError(`${file}: the bundle has no ${need} (it holds ${[...out.keys()].join(', ') || 'nothing'})`);
  return out;
}
