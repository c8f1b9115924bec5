// Errors from mathjs, in the reader's words.
import { FormulaError } from './errors';
import { type MathMatrix, shapeText } from './shapes';

export function humanize(err: unknown, fnName?: string, args?: unknown[]): Error {
  if (err instanceof FormulaError) return err;
  const e = err as { name?: string; message?: string; char?: number; data?: Record<string, unknown> } | null;
  const msg = String(e?.message ?? err);
  if (e?.name === 'DimensionError' && fnName && args) {
    const shapes = args.map((a) => {
      const s = a && typeof a === 'object' && (a as { isMatrix?: unknown }).isMatrix ? (a as MathMatrix).size() : [];
      return shapeText(s);
    });
    return new FormulaError(`Dimension mismatch: ${shapes.join(` ${fnName} `)}`);
  }
  if (e?.name === 'DimensionError') {
    // Outside the guarded functions, the one source is an index with the wrong number of positions.
    const { actual, expected } = e as { actual?: unknown; expected?: unknown };
    if (typeof actual === 'number' && typeof expected === 'number') {
      const hint = expected === 2 ? 'write A[row, column]' : expected === 1 ? 'write v[i]' : 'one position per dimension';
      return new FormulaError(
        `Index with ${actual} position${actual === 1 ? '' : 's'} into a value with ${expected} dimension${expected === 1 ? '' : 's'}: ${hint} (indices start at 1)`,
      );
    }
  }
  if (/^Cannot apply index/.test(msg)) return new FormulaError('Only vectors and matrices can be indexed');
  if (e?.name === 'IndexError') {
    const range = /\(([^)]*)\)/.exec(msg);
    return new FormulaError(`Index out of range${range ? `: ${range[1]}` : ''} (indices start at 1)`);
  }
  if (e?.data && typeof e.data.category === 'string' && typeof e.data.fn === 'string') {
    const d = e.data;
    const fn = fnName ?? d.fn;
    if (d.category === 'wrongType') {
      const index = typeof d.index === 'number' ? d.index + 1 : '?';
      return new FormulaError(`${fn}: argument ${index} has the wrong type (${String(d.actual)})`);
    }
    if (d.category === 'tooManyArgs') return new FormulaError(`${fn}: too many arguments`);
    if (d.category === 'tooFewArgs') return new FormulaError(`${fn}: too few arguments`);
    if (d.category === 'mismatch') return new FormulaError(`${fn}: these argument types do not fit together`);
  }
  if (/Maximum call stack/i.test(msg)) return new FormulaError('Formula too deeply nested');
  if (/^Undefined symbol end$/.test(msg)) return new FormulaError('end can only be used inside an index, like A[end, 1]');
  const undefinedSymbol = /^Undefined symbol (\S+)$/.exec(msg);
  if (undefinedSymbol) return new FormulaError(`Undefined symbol ${undefinedSymbol[1]} (assign it before using it)`);
  return new FormulaError(msg.length > 200 ? `${msg.slice(0, 200)}…` : msg);
}
