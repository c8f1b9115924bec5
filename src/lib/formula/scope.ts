// A lesson's named values (numbers, vectors, matrices in several layouts) as mathjs input, checked.
import { guardElements } from './budget';
import { FormulaError } from './errors';
import type { FormulaScope, ScopeEntry } from './types';

export interface Converted {
  kind: 'number' | 'boolean' | 'vector' | 'matrix';
  size: number[];
  /** a number, a boolean, or nested arrays for mathjs */
  value: number | boolean | number[] | number[][];
}

function isArrayLikeNumbers(x: unknown): x is ArrayLike<number> {
  return ArrayBuffer.isView(x) || (Array.isArray(x) && x.every((v) => typeof v === 'number'));
}

function rowsFrom(data: ArrayLike<number>, rows: number, cols: number, name: string): number[][] {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new FormulaError(`${name}: rows and cols must be whole numbers`);
  }
  if (data.length !== rows * cols) {
    throw new FormulaError(`${name}: ${data.length} numbers do not fill ${rows}x${cols}`);
  }
  guardElements(rows * cols, `${name} is too large for formulas`);
  const out: number[][] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const row = new Array<number>(cols);
    for (let j = 0; j < cols; j++) row[j] = Number(data[i * cols + j]);
    out[i] = row;
  }
  return out;
}

export function convert(name: string, v: unknown): Converted {
  if (typeof v === 'number') return { kind: 'number', size: [], value: v };
  if (typeof v === 'boolean') return { kind: 'boolean', size: [], value: v };
  if (isArrayLikeNumbers(v)) {
    guardElements(v.length, `${name} is too large for formulas`);
    return { kind: 'vector', size: [v.length], value: Array.from(v, Number) };
  }
  if (Array.isArray(v)) {
    const rows = v as unknown[];
    const cols = rows.length > 0 && isArrayLikeNumbers(rows[0]) ? rows[0].length : -1;
    if (cols < 0 || !rows.every((r) => isArrayLikeNumbers(r) && r.length === cols)) {
      throw new FormulaError(`${name}: expected numbers or rows of equal length`);
    }
    guardElements(rows.length * cols, `${name} is too large for formulas`);
    return { kind: 'matrix', size: [rows.length, cols], value: rows.map((r) => Array.from(r as ArrayLike<number>, Number)) };
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as { rows?: unknown; cols?: unknown; shape?: unknown; data?: unknown };
    const data = o.data;
    const dataOk = data !== null && typeof data === 'object' && typeof (data as ArrayLike<number>).length === 'number';
    if (dataOk && typeof o.rows === 'number' && typeof o.cols === 'number') {
      return { kind: 'matrix', size: [o.rows, o.cols], value: rowsFrom(data as ArrayLike<number>, o.rows, o.cols, name) };
    }
    if (dataOk && Array.isArray(o.shape)) {
      const shape = o.shape as number[];
      const d = data as ArrayLike<number>;
      if (shape.length === 0) return { kind: 'number', size: [], value: Number(d[0]) };
      if (shape.length === 1) {
        if (d.length !== shape[0]) throw new FormulaError(`${name}: ${d.length} numbers do not fill a vector of ${shape[0]}`);
        guardElements(d.length, `${name} is too large for formulas`);
        return { kind: 'vector', size: [d.length], value: Array.from(d, Number) };
      }
      if (shape.length === 2) return { kind: 'matrix', size: [shape[0], shape[1]], value: rowsFrom(d, shape[0], shape[1], name) };
      throw new FormulaError(`${name} has ${shape.length} dimensions; formulas handle up to 2`);
    }
  }
  throw new FormulaError(`${name}: not a number, vector or matrix`);
}

/** Names and shapes of a scope, for help text. Never throws. */
export function describeScope(scope: FormulaScope, descriptions: Readonly<Record<string, string>> = {}): ScopeEntry[] {
  return Object.keys(scope).map((name) => {
    const description = descriptions[name];
    const base = description === undefined ? {} : { description };
    try {
      const c = convert(name, scope[name]);
      const shape = c.kind === 'number' || c.kind === 'boolean' ? 'scalar' : c.size.join('x');
      return { name, shape, kind: c.kind, ...base };
    } catch (err) {
      return { name, shape: err instanceof Error ? err.message : 'invalid', kind: 'invalid' as const, ...base };
    }
  });
}
