// Writable copies of a golden model folder for tests that corrupt one thing in it, and the
// safetensors surgery they use (split a file into header and data, join it back).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { goldenDir } from './paths.js';

export interface ModelCase {
  dir: string;
  config: string;
  weights: string;
  input: string;
}

let counter = 0;

/** A fresh copy of golden case `name` (config.json, model.safetensors, input.json) under `root`. */
export function copyCase(root: string, name: string, label: string): ModelCase {
  const dir = path.join(root, `${++counter}-${label}`);
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'input.json']) {
    writeFileSync(path.join(dir, f), readFileSync(path.join(goldenDir(name), f)));
  }
  return { dir, config: path.join(dir, 'config.json'), weights: path.join(dir, 'model.safetensors'), input: path.join(dir, 'input.json') };
}

export function editConfig(c: ModelCase, edit: (raw: Record<string, unknown>) => void): void {
  const raw = JSON.parse(readFileSync(c.config, 'utf8')) as Record<string, unknown>;
  edit(raw);
  writeFileSync(c.config, JSON.stringify(raw, null, 2));
}

export interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number]; }

/** A safetensors file's header (parsed, key order kept) and data buffer. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, HeaderEntry>; headerLength: number; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  return { header, headerLength, data: bytes.subarray(8 + headerLength) };
}

/** A safetensors file from header JSON text and a data buffer (header padded to 8 bytes). */
export function joinSafetensorsText(headerText: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

/** Rewrite a case's checkpoint: `edit` returns the new header text (or changes the object) and may append data. */
export function editHeader(
  c: ModelCase,
  edit: (header: Record<string, HeaderEntry>, data: Uint8Array) => string | { text?: string; data?: Uint8Array } | void,
): void {
  const { header, data } = splitSafetensors(new Uint8Array(readFileSync(c.weights)));
  const r = edit(header, data);
  const text = typeof r === 'string' ? r : r?.text ?? JSON.stringify(header);
  writeFileSync(c.weights, joinSafetensorsText(text, (typeof r === 'object' && r?.data) || data));
}
