// The guarded operations behind every function a formula calls: each checks shapes, refuses a
// result over the element limit and charges its work to the budget before it runs, and turns
// mathjs's errors into the reader's words.
import { charge, guardElements } from './budget';
import { FormulaError } from './errors';
import { humanize } from './humanize';
import {
  type Fn, type MathMatrix, broadcastShape, flatNumbers, frobenius, getter, isMatrix, numel, productPlan, shapeOf, shapeText, toNumber,
} from './shapes';

let makeMatrix: ((data: unknown) => MathMatrix) | null = null;

/** The mathjs instance's matrix constructor, set once by engine.ts when it builds the instance. */
export function useMatrixConstructor(f: (data: unknown) => MathMatrix): void {
  makeMatrix = f;
}

function toMatrix(data: unknown): MathMatrix {
  if (!makeMatrix) throw new Error('formula: the mathjs instance is not built yet');
  return makeMatrix(data);
}

export function call(name: string, fn: Fn, args: unknown[]): unknown {
  let input = 0;
  for (const a of args) input += isMatrix(a) ? numel(a.size()) : 1;
  charge(input);
  let result: unknown;
  try {
    result = fn(...args);
  } catch (err) {
    throw humanize(err, name, args);
  }
  if (isMatrix(result)) {
    const n = numel(result.size());
    guardElements(n);
    charge(n);
  }
  return result;
}

export function unary(symbol: string, fn: Fn): Fn {
  return (...args) => {
    if (args.length !== 1) throw new FormulaError(`${symbol} takes 1 argument (got ${args.length})`);
    return call(symbol, fn, args);
  };
}

export function binary(symbol: string, fn: Fn): Fn {
  return (...args) => reduceArgs(symbol, args, (a, b) => binaryCall(symbol, fn, a, b));
}

export function binaryCall(symbol: string, fn: Fn, a: unknown, b: unknown): unknown {
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  if (sa && sb) {
    const out = broadcastShape(sa, sb);
    if (!out) throw new FormulaError(`Dimension mismatch: ${shapeText(sa)} ${symbol} ${shapeText(sb)}`);
    guardElements(numel(out));
  }
  return call(symbol, fn, [a, b]);
}

export function reduceArgs(name: string, args: unknown[], f: (a: unknown, b: unknown) => unknown): unknown {
  if (args.length < 2) throw new FormulaError(`${name} takes 2 arguments (got ${args.length})`);
  let acc = f(args[0], args[1]);
  for (let i = 2; i < args.length; i++) acc = f(acc, args[i]);
  return acc;
}

export function multiplyChecked(fn: Fn, a: unknown, b: unknown): unknown {
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  if (sa && sb) {
    const plan = productPlan(sa, sb);
    guardElements(numel(plan.out));
    charge(plan.cost);
  }
  return call('*', fn, [a, b]);
}

/** Numbers, booleans and matrices (up to 2-D) map element by element; booleans count as 0/1. */
export function mapElements(x: unknown, name: string, f: (v: number) => number, booleanOut = false): unknown {
  if (typeof x === 'number' || typeof x === 'boolean') {
    const r = f(+x);
    return booleanOut ? r === 1 : r;
  }
  if (isMatrix(x)) {
    const size = x.size();
    if (size.length > 2) throw new FormulaError('Only numbers, vectors and matrices (up to 2 dimensions) are supported');
    charge(numel(size));
    const data = x.valueOf();
    const g = (v: unknown): unknown => {
      const n = typeof v === 'number' ? v : typeof v === 'boolean' ? +v : NaN;
      const r = f(n);
      return booleanOut ? r === 1 : r;
    };
    const out = size.length === 1 ? data.map(g) : data.map((row) => (row as unknown[]).map(g));
    return toMatrix(out);
  }
  throw new FormulaError(`${name} expects a number or a matrix`);
}

export function elementwise2(symbol: string, a: unknown, b: unknown, f: (x: number, y: number) => number): unknown {
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  if (!sa || !sb) throw new FormulaError(`${symbol} expects numbers or matrices`);
  if (sa.length > 2 || sb.length > 2) throw new FormulaError('Only numbers, vectors and matrices (up to 2 dimensions) are supported');
  const out = broadcastShape(sa, sb);
  if (!out) throw new FormulaError(`Dimension mismatch: ${shapeText(sa)} ${symbol} ${shapeText(sb)}`);
  if (out.length === 0) return f(+(a as number), +(b as number));
  guardElements(numel(out));
  charge(numel(out));
  const ga = getter(a, sa);
  const gb = getter(b, sb);
  if (out.length === 1) return toMatrix(Array.from({ length: out[0] }, (_, j) => f(ga(0, j), gb(0, j))));
  const rows: number[][] = [];
  for (let i = 0; i < out[0]; i++) {
    const row = new Array<number>(out[1]);
    for (let j = 0; j < out[1]; j++) row[j] = f(ga(i, j), gb(i, j));
    rows.push(row);
  }
  return toMatrix(rows);
}

export function rangeChecked(args: unknown[]): unknown {
  if (args.length < 2 || args.length > 3) throw new FormulaError('range takes 2 or 3 numbers: range(start, end) or range(start, end, step)');
  const [start, end, step = 1] = args.map((a) => toNumber(a, 'range'));
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step)) throw new FormulaError('A range needs finite numbers');
  if (step === 0) throw new FormulaError('A range cannot have step 0');
  const count = (end - start) / step < 0 ? 0 : Math.floor((end - start) / step + 1e-10) + 1;
  guardElements(count, 'Range too long');
  charge(count);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = start + i * step;
  return toMatrix(out);
}

export function meanOf(args: unknown[], sum: Fn): unknown {
  if (args.length < 1 || args.length > 2) throw new FormulaError('mean takes 1 or 2 arguments: mean(A) or mean(A, dim)');
  const x = args[0];
  if (typeof x === 'number' || typeof x === 'boolean') return +x;
  if (!isMatrix(x)) throw new FormulaError('mean expects a number or a matrix');
  const size = x.size();
  if (args.length === 1) {
    const n = numel(size);
    if (n === 0) return NaN;
    return (call('sum', sum, [x]) as number) / n;
  }
  const dim = toNumber(args[1], 'mean');
  if (!Number.isInteger(dim) || dim < 1 || dim > size.length) {
    throw new FormulaError(`mean(A, dim): dim must be ${size.length === 1 ? '1' : '1 or 2'} for a ${shapeText(size)}`);
  }
  const total = call('sum', sum, [x, dim]);
  const count = size[dim - 1];
  return mapElements(total, 'mean', (v) => v / count);
}

export function normOf(args: unknown[]): number {
  if (args.length < 1 || args.length > 2) throw new FormulaError('norm takes 1 or 2 arguments: norm(v) or norm(v, p)');
  const x = args[0];
  if (typeof x === 'number' || typeof x === 'boolean') return Math.abs(+x);
  if (!isMatrix(x)) throw new FormulaError('norm expects a vector or a matrix');
  const size = x.size();
  const values = flatNumbers(x);
  charge(values.length);
  const isVector = size.length === 1 || size[0] === 1 || size[1] === 1;
  if (args.length === 1) return frobenius(values);
  if (!isVector) throw new FormulaError("norm(A, p) works on vectors; norm(A) of a matrix is its Frobenius norm");
  const p = toNumber(args[1], 'norm');
  if (p === Infinity) return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (p === -Infinity) return values.reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  if (!(p >= 1)) throw new FormulaError('norm(v, p): p must be at least 1 (or Infinity)');
  let s = 0;
  for (const v of values) s += Math.abs(v) ** p;
  return s ** (1 / p);
}

export function softmaxOf(args: unknown[]): unknown {
  if (args.length !== 1) throw new FormulaError(`softmax takes 1 argument (got ${args.length})`);
  const x = args[0];
  if (typeof x === 'number' || typeof x === 'boolean') return 1;
  if (!isMatrix(x)) throw new FormulaError('softmax expects a vector or a matrix');
  const size = x.size();
  if (size.length > 2) throw new FormulaError('Only numbers, vectors and matrices (up to 2 dimensions) are supported');
  charge(3 * numel(size));
  const soft = (row: unknown[]): number[] => {
    const v = row.map((e) => +(e as number));
    const mx = v.reduce((a, b) => (b > a ? b : a), -Infinity);
    const ex = v.map((e) => Math.exp(e - mx));
    const s = ex.reduce((a, b) => a + b, 0);
    return ex.map((e) => e / s);
  };
  const data = x.valueOf();
  return toMatrix(size.length === 1 ? soft(data) : data.map((row) => soft(row as unknown[])));
}
