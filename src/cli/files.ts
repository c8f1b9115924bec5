// Reading input files for the CLI, bounded: only regular files (a link to /dev/zero, a FIFO or a
// folder is refused by what it is), of at most a stated size, and a checkpoint read header first
// and then only as far as its header declares, so a 1.5 GB file of garbage fails on its first
// 8 bytes instead of being read whole.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EngineInputError, escapeControls, readHeaderLength } from '../engine/index.js';

/** The largest config.json or input.json the CLI reads (a DeepSeek-V3 config is 1.5 kB). */
export const MAX_TEXT_FILE_BYTES = 16 * 2 ** 20;
/** The largest part of a checkpoint the CLI reads (1 GiB: what the engine can hold, see MAX_MODEL_BYTES). */
export const MAX_CHECKPOINT_BYTES = 2 ** 30;

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Open `path` for reading if it is a regular file; its descriptor and size. */
function openRegular(path: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EngineInputError(`${what} not found: ${escapeControls(path)}`);
    if (code === 'EISDIR') throw new EngineInputError(`${what} is a directory, expected a file: ${escapeControls(path)}`);
    throw new EngineInputError(`${what} cannot be opened (${code ?? 'error'}): ${escapeControls(path)}`);
  }
  const st = fstatSync(fd); // of what was opened, not of the name: nothing can swap it in between
  if (!st.isFile()) {
    closeSync(fd);
    const kind = st.isDirectory() ? 'a directory' : st.isCharacterDevice() ? 'a character device' : st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : 'not a regular file';
    throw new EngineInputError(`${what} is ${kind}, expected a regular file: ${escapeControls(path)}`);
  }
  return { fd, size: st.size };
}

/** Read bytes [position, position + length) of an open file, exactly. */
function readExactly(fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) break; // the file shrank while read: what is missing is reported by the parser
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}

/** A UTF-8 text file of at most MAX_TEXT_FILE_BYTES. */
export function readTextFile(path: string, what: string, maxBytes = MAX_TEXT_FILE_BYTES): string {
  const { fd, size } = openRegular(path, what);
  try {
    if (size > maxBytes) throw new EngineInputError(`${what} is ${MiB(size)} (${size} bytes), more than the ${MiB(maxBytes)} allowed: ${escapeControls(path)}`);
    return new TextDecoder().decode(readExactly(fd, 0, size));
  } finally {
    closeSync(fd);
  }
}

/** The largest data_offsets end a parsed header declares (0 if it declares none it could read). */
function declaredDataEnd(headerText: string): number {
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    return 0; // readSafetensors reports the bad header
  }
  let end = 0;
  if (typeof header === 'object' && header !== null) {
    for (const entry of Object.values(header)) {
      const offsets = (entry as { data_offsets?: unknown } | null)?.data_offsets;
      if (Array.isArray(offsets) && typeof offsets[1] === 'number' && Number.isFinite(offsets[1])) end = Math.max(end, offsets[1]);
    }
  }
  return end;
}

/**
 * The bytes of a safetensors file that its header covers: the 8-byte length first (checked
 * before anything else is read), then the header, then the data up to the last byte a tensor
 * declares. Refuses with the number a file whose declared part is over `maxBytes`.
 */
export function readCheckpointBytes(path: string, what: string, maxBytes = MAX_CHECKPOINT_BYTES): Uint8Array {
  const { fd, size } = openRegular(path, what);
  try {
    const file = escapeControls(path);
    const headerLength = readHeaderLength(readExactly(fd, 0, Math.min(8, size)), size, file);
    const headerBytes = readExactly(fd, 8, headerLength);
    const end = declaredDataEnd(new TextDecoder().decode(headerBytes));
    // Up to the declared end (or the file's end, if it is shorter: the parser says what is missing).
    const needed = Math.min(size, 8 + headerLength + end);
    if (needed > maxBytes) {
      throw new EngineInputError(`${file}: the tensors it declares take ${MiB(needed)} (${needed} bytes), more than the ${MiB(maxBytes)} this engine reads`);
    }
    const out = new Uint8Array(needed);
    out.set(readExactly(fd, 0, 8), 0);
    out.set(headerBytes, 8);
    out.set(readExactly(fd, 8 + headerLength, needed - 8 - headerLength), 8 + headerLength);
    return out;
  } finally {
    closeSync(fd);
  }
}
