// Shapes and small number helpers: sizes, broadcasting, the cost of a product, reading elements.
import { FormulaError } from './errors';

/** The slice of mathjs's DenseMatrix this file uses. */
export interface MathMatrix {
  isMatrix: true;
  size(): number[];
  valueOf(): unknown[];
}

export type Fn = (...args: unknown[]) => unknown;

/** Is `x` a mathjs matrix? (A property check: the same for every mathjs instance.) */
export function isMatrix(x: unknown): x is MathMatrix {
  return typeof x === 'object' && x !== null && (x as { isMatrix?: unknown }).isMatrix === true;
}

export function numel(size: readonly number[]): number {
  let n = 1;
  for (const d of size) n *= d;
  return n;
}

/** '16x32' for a matrix, 'vector of 32', 'number'. */
export function shapeText(size: readonly number[]): string {
  if (size.length === 0) return 'number';
  if (size.length === 1) return `vector of ${size[0]}`;
  return size.join('x');
}

/** numpy's rule, which mathjs follows: align trailing dimensions; a 1 stretches. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out[i] = x;
    else if (x === 1) out[i] = y;
    else return null;
  }
  return out;
}

/** The shape and cost of a * b, or a readable error. */
export function productPlan(a: readonly number[], b: readonly number[]): { out: number[]; cost: number } {
  if (a.length === 0) return { out: [...b], cost: numel(b) };
  if (b.length === 0) return { out: [...a], cost: numel(a) };
  if (a.length > 2 || b.length > 2) throw new FormulaError('Only numbers, vectors and matrices (up to 2 dimensions) are supported');
  const inner = a[a.length - 1];
  const innerB = b[0];
  if (inner !== innerB) {
    const transposeHelps =
      a.length === 2 && b.length === 2 && (a[0] === b[0] || a[1] === b[1] || a[0] === b[1]);
    const hint = transposeHelps ? "(use ' to transpose)" : `(inner sizes ${inner} and ${innerB} must match)`;
    throw new FormulaError(`Dimension mismatch: ${shapeText(a)} * ${shapeText(b)} ${hint}`);
  }
  const rows = a.length === 2 ? [a[0]] : [];
  const cols = b.length === 2 ? [b[1]] : [];
  const out = [...rows, ...cols];
  return { out, cost: numel(out) * inner };
}

/** Count the numbers an array literal will hold (matrices inside it included). */
export function countNested(x: unknown): number {
  if (Array.isArray(x)) {
    let n = 0;
    for (const e of x) n += countNested(e);
    return n;
  }
  if (typeof x === 'object' && x !== null && (x as { isMatrix?: unknown }).isMatrix === true) {
    return numel((x as MathMatrix).size());
  }
  return 1;
}

export function toNumber(x: unknown, name: string): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'boolean') return +x;
  if (typeof x === 'object' && x !== null && (x as { isMatrix?: unknown }).isMatrix === true) {
    const m = x as MathMatrix;
    if (numel(m.size()) === 1) {
      let v: unknown = m.valueOf();
      while (Array.isArray(v)) v = v[0];
      return +(v as number);
    }
  }
  throw new FormulaError(`${name} expects a number here`);
}

export function powScalar(a: number, b: number): number {
  return a ** b;
}

export function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

export function frobenius(values: number[]): number {
  let s = 0;
  for (const v of values) s += v * v;
  return Math.sqrt(s);
}

export function shapeOf(x: unknown): number[] | null {
  if (typeof x === 'number' || typeof x === 'boolean') return [];
  if (isMatrix(x)) return x.size();
  return null;
}

/** Read element (i, j) of a scalar, vector or matrix broadcast to `dims` dimensions. */
export function getter(x: unknown, s: number[]): (i: number, j: number) => number {
  if (s.length === 0) {
    const v = +(x as number);
    return () => v;
  }
  const data = (x as MathMatrix).valueOf();
  if (s.length === 1) {
    // a vector is a row when broadcast against a matrix (numpy's rule: align trailing dimensions)
    const n = s[0];
    return (_i, j) => +(data[n === 1 ? 0 : j] as number);
  }
  const [r, c] = s;
  return (i, j) => +((data[r === 1 ? 0 : i] as unknown[])[c === 1 ? 0 : j] as number);
}

export function flatNumbers(x: MathMatrix): number[] {
  const out: number[] = [];
  const walk = (a: unknown) => {
    if (Array.isArray(a)) for (const e of a) walk(e);
    else out.push(+(a as number));
  };
  walk(x.valueOf());
  return out;
}
