// The formula cell's public types: what a lesson puts in the scope, what a formula returns.

export interface FormulaMatrix {
  rows: number;
  cols: number;
  data: number[];
  vector?: boolean;
  boolean?: boolean;
}

export type FormulaValue = number | boolean | string | FormulaMatrix;

/** A value a lesson can name in its formula scope. Typed arrays and plain arrays are vectors;
 *  `number[][]` (rows), `{ rows, cols, data }` and `{ shape: [rows, cols], data }` (row-major) are
 *  matrices. */
export type FormulaScopeValue =
  | number
  | boolean
  | ArrayLike<number>
  | ReadonlyArray<ArrayLike<number>>
  | { rows: number; cols: number; data: ArrayLike<number> }
  | { shape: readonly number[]; data: ArrayLike<number> };

export type FormulaScope = Readonly<Record<string, FormulaScopeValue>>;

export type FormulaResult =
  | { ok: true; value: FormulaValue; text: string }
  | { ok: false; error: string; /** 1-based character of a syntax error */ position?: number };

export interface ScopeEntry {
  name: string;
  /** '16x32' for a matrix, '32' for a vector, 'scalar' for a number; the problem for an invalid value */
  shape: string;
  kind: 'number' | 'boolean' | 'vector' | 'matrix' | 'invalid';
  description?: string;
}
