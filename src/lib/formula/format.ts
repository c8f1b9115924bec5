// Results: a formula's value as plain data, and its readable rendering.
import { FormulaError } from './errors';
import type { MathMatrix } from './shapes';
import type { FormulaMatrix, FormulaValue } from './types';

const SHOW = 8;

/** A number with up to 6 significant digits: 0.000123457, 1234.57, 1.2346e+7, 42. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (Number.isInteger(x) && a < 1e15) return String(x);
  if (a >= 1e-4 && a < 1e6) return String(Number(x.toPrecision(6)));
  return x.toExponential(4).replace(/\.?0+e/, 'e');
}

/** A readable rendering: numbers with up to 6 significant digits, matrices as rows, cut after 8x8. */
export function formatValue(value: FormulaValue): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean' || typeof value === 'string') return String(value);
  const { rows, cols, data } = value;
  const cell = (v: number) => (value.boolean ? (v ? 'true' : 'false') : formatNumber(v));
  const showRows = Math.min(rows, SHOW);
  const showCols = Math.min(cols, SHOW);
  const header = value.vector ? `vector of ${cols}` : `${rows}x${cols} matrix`;
  if (rows === 0 || cols === 0) return `${header}: empty`;
  const cells: string[][] = [];
  for (let i = 0; i < showRows; i++) {
    const row: string[] = [];
    for (let j = 0; j < showCols; j++) row.push(cell(data[i * cols + j]));
    cells.push(row);
  }
  const widths = Array.from({ length: showCols }, (_, j) => Math.max(...cells.map((r) => r[j].length)));
  const lines = cells.map((r) => {
    const body = r.map((c, j) => c.padStart(widths[j])).join('  ');
    return `[ ${body}${cols > showCols ? '  …' : ''} ]`;
  });
  if (rows > showRows) lines.push('  ⋮');
  const shown = rows > showRows || cols > showCols ? ` (first ${showRows}x${showCols} shown)` : '';
  return `${header}${shown}\n${lines.join('\n')}`;
}

export function toFormulaValue(r: unknown, isMatrix: (x: unknown) => x is MathMatrix): FormulaValue {
  if (typeof r === 'number' || typeof r === 'boolean') return r;
  if (typeof r === 'string') return r;
  if (r && typeof r === 'object' && (r as { isResultSet?: unknown }).isResultSet === true) {
    const entries = (r as { entries: unknown[] }).entries;
    if (entries.length === 0) throw new FormulaError('Nothing to show: the last statement ends with ";"');
    return toFormulaValue(entries[entries.length - 1], isMatrix);
  }
  if (isMatrix(r)) {
    const size = r.size();
    if (size.length > 2) throw new FormulaError('Only numbers, vectors and matrices (up to 2 dimensions) are supported');
    const flat: unknown[] = size.length === 2 ? (r.valueOf() as unknown[][]).flat() : r.valueOf();
    let booleans = flat.length > 0;
    const data = flat.map((v) => {
      if (typeof v === 'number') {
        booleans = false;
        return v;
      }
      if (typeof v === 'boolean') return +v;
      throw new FormulaError('The result holds something other than numbers');
    });
    const out: FormulaMatrix =
      size.length === 2 ? { rows: size[0], cols: size[1], data } : { rows: 1, cols: size[0], data, vector: true };
    if (booleans) out.boolean = true;
    return out;
  }
  if (typeof r === 'function') throw new FormulaError('That is a function: call it, like sum(x)');
  if (r === undefined) throw new FormulaError('Nothing to show');
  throw new FormulaError('The result is not a number or a matrix');
}
