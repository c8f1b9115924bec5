/**
 * The formula cell's evaluator: the reader types a mathjs expression over a lesson's named matrices
 * (`max(abs(Wuq' * Wuk * c - qlat))`, `size(Wuk)`, `norm(ckv[1, :])`) and gets a value and a readable
 * rendering back. Pure TypeScript, no DOM; it never throws.
 *
 * How it is kept small, safe and bounded:
 * - A private mathjs instance built with `create()` from hand-picked factory functions (not the
 *   `*Dependencies` bundles, which drag in BigNumber, Complex, Fraction and Unit). BigNumber is a stub
 *   that refuses to be built; the elementwise functions (sqrt, log, ...) are written here.
 * - Expressions see only one namespace, `math.expression.mathWithTransform`, which is emptied and
 *   refilled with an allow-list of guarded functions. `import`, `createUnit`, `evaluate`, `parse`,
 *   `simplify`, `derivative`, `resolve` and `compile` are replaced by functions that throw (mathjs's
 *   documented hardening), and the parsed tree is checked before it is compiled: only known functions
 *   and operators, no property access (`a.b`), no objects, strings or function definitions, and no
 *   assignment over the lesson's values.
 * - Bounds: at most 500 characters; no value (intermediate or final) above 250,000 elements, checked
 *   before a product, broadcast, range or index is built; a budget of element operations per formula
 *   (a product m x k times k x n costs m*k*n) and a wall-clock limit checked between operations.
 */
import { create, factory, type FactoryFunction, type MathNode } from 'mathjs';
import {
  createAccessorNode,
  createAdd,
  createAddScalar,
  createArrayNode,
  createAssignmentNode,
  createBlockNode,
  createConcat,
  createConditionalNode,
  createConj,
  createConstantNode,
  createCtranspose,
  createDenseMatrixClass,
  createDivideScalar,
  createDot,
  createDotDivide,
  createDotMultiply,
  createEqual,
  createEqualScalar,
  createFunctionNode,
  createGetMatrixDataType,
  createImmutableDenseMatrixClass,
  createIndexClass,
  createIndexNode,
  createIndexTransform,
  createIsBounded,
  createIsInteger,
  createIsNaN,
  createLarger,
  createLargerEq,
  createMatrix,
  createMatrixClass,
  createMaxTransform,
  createMinTransform,
  createMultiply,
  createMultiplyScalar,
  createNode,
  createNumber,
  createNumeric,
  createOperatorNode,
  createParenthesisNode,
  createParse,
  createRangeNode,
  createRelationalNode,
  createResultSet,
  createSize,
  createSmaller,
  createSmallerEq,
  createSubset,
  createSubtract,
  createSubtractScalar,
  createSumTransform,
  createSymbolNode,
  createTranspose,
  createTyped,
  createUnaryMinus,
  createUnaryPlus,
  createUnequal,
  createZeros,
} from 'mathjs';

// mathjs exports every factory function at run time, but its type declarations list only the
// `*Dependencies` collections. Declare the few used here.
declare module 'mathjs' {
  export const createAccessorNode: FactoryFunction<unknown>;
  export const createAdd: FactoryFunction<unknown>;
  export const createAddScalar: FactoryFunction<unknown>;
  export const createArrayNode: FactoryFunction<unknown>;
  export const createAssignmentNode: FactoryFunction<unknown>;
  export const createBlockNode: FactoryFunction<unknown>;
  export const createConcat: FactoryFunction<unknown>;
  export const createConditionalNode: FactoryFunction<unknown>;
  export const createConj: FactoryFunction<unknown>;
  export const createConstantNode: FactoryFunction<unknown>;
  export const createCtranspose: FactoryFunction<unknown>;
  export const createDenseMatrixClass: FactoryFunction<unknown>;
  export const createDivideScalar: FactoryFunction<unknown>;
  export const createDot: FactoryFunction<unknown>;
  export const createDotDivide: FactoryFunction<unknown>;
  export const createDotMultiply: FactoryFunction<unknown>;
  export const createEqual: FactoryFunction<unknown>;
  export const createEqualScalar: FactoryFunction<unknown>;
  export const createFunctionNode: FactoryFunction<unknown>;
  export const createGetMatrixDataType: FactoryFunction<unknown>;
  export const createImmutableDenseMatrixClass: FactoryFunction<unknown>;
  export const createIndexClass: FactoryFunction<unknown>;
  export const createIndexNode: FactoryFunction<unknown>;
  export const createIndexTransform: FactoryFunction<unknown>;
  export const createIsBounded: FactoryFunction<unknown>;
  export const createIsInteger: FactoryFunction<unknown>;
  export const createIsNaN: FactoryFunction<unknown>;
  export const createLarger: FactoryFunction<unknown>;
  export const createLargerEq: FactoryFunction<unknown>;
  export const createMatrix: FactoryFunction<unknown>;
  export const createMatrixClass: FactoryFunction<unknown>;
  export const createMaxTransform: FactoryFunction<unknown>;
  export const createMinTransform: FactoryFunction<unknown>;
  export const createMultiply: FactoryFunction<unknown>;
  export const createMultiplyScalar: FactoryFunction<unknown>;
  export const createNode: FactoryFunction<unknown>;
  export const createNumber: FactoryFunction<unknown>;
  export const createNumeric: FactoryFunction<unknown>;
  export const createOperatorNode: FactoryFunction<unknown>;
  export const createParenthesisNode: FactoryFunction<unknown>;
  export const createParse: FactoryFunction<unknown>;
  export const createRangeNode: FactoryFunction<unknown>;
  export const createRelationalNode: FactoryFunction<unknown>;
  export const createResultSet: FactoryFunction<unknown>;
  export const createSize: FactoryFunction<unknown>;
  export const createSmaller: FactoryFunction<unknown>;
  export const createSmallerEq: FactoryFunction<unknown>;
  export const createSubset: FactoryFunction<unknown>;
  export const createSubtract: FactoryFunction<unknown>;
  export const createSubtractScalar: FactoryFunction<unknown>;
  export const createSumTransform: FactoryFunction<unknown>;
  export const createSymbolNode: FactoryFunction<unknown>;
  export const createTranspose: FactoryFunction<unknown>;
  export const createTyped: FactoryFunction<unknown>;
  export const createUnaryMinus: FactoryFunction<unknown>;
  export const createUnaryPlus: FactoryFunction<unknown>;
  export const createUnequal: FactoryFunction<unknown>;
  export const createZeros: FactoryFunction<unknown>;
}

// ---------------------------------------------------------------------------------------------
// Public types and limits

/** A matrix as the formula cell returns it: row-major, plain numbers. A 1-D mathjs vector comes back
 *  as one row with `vector: true`; a boolean matrix (from `A > 0`) as 0/1 with `boolean: true`. */
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

export const FORMULA_LIMITS = Object.freeze({
  /** characters in one formula */
  maxLength: 500,
  /** elements in any value, intermediate or final */
  maxElements: 250_000,
  /** element operations per formula (a product m x k times k x n counts m*k*n) */
  maxWork: 20_000_000,
  /** wall-clock milliseconds, checked between operations */
  maxMs: 1_000,
});

/** The functions a formula may call, for help text. Indices are 1-based, as in mathjs. */
export const FORMULA_FUNCTIONS: ReadonlyArray<{ name: string; usage: string; help: string }> = [
  { name: 'size', usage: 'size(A)', help: 'rows and columns' },
  { name: 'transpose', usage: "transpose(A) or A'", help: 'swap rows and columns' },
  { name: 'sum', usage: 'sum(A), sum(A, 1)', help: 'sum of all elements, or along dimension 1 (down the rows) or 2' },
  { name: 'mean', usage: 'mean(A), mean(A, 2)', help: 'mean of all elements, or along a dimension' },
  { name: 'max', usage: 'max(A), max(A, 1)', help: 'largest element, or along a dimension' },
  { name: 'min', usage: 'min(A), min(A, 1)', help: 'smallest element, or along a dimension' },
  { name: 'norm', usage: 'norm(v), norm(v, 1)', help: 'Euclidean norm of a vector (p-norm with p); Frobenius norm of a matrix' },
  { name: 'dot', usage: 'dot(u, v)', help: 'dot product of two vectors of the same length' },
  { name: 'abs', usage: 'abs(A)', help: 'absolute value, element by element' },
  { name: 'sqrt', usage: 'sqrt(A)', help: 'square root, element by element (NaN below 0)' },
  { name: 'exp', usage: 'exp(A)', help: 'e^x, element by element' },
  { name: 'log', usage: 'log(A), log(A, 2)', help: 'natural logarithm (or to a base), element by element' },
  { name: 'round', usage: 'round(A), round(A, 3)', help: 'round to an integer or to n decimals' },
  { name: 'floor', usage: 'floor(A)', help: 'round down, element by element' },
  { name: 'ceil', usage: 'ceil(A)', help: 'round up, element by element' },
  { name: 'sigmoid', usage: 'sigmoid(A)', help: '1 / (1 + e^-x), element by element' },
  { name: 'softmax', usage: 'softmax(A)', help: 'softmax of a vector, or of each row of a matrix' },
  { name: 'range', usage: 'range(1, 5) or 1:5', help: 'the numbers from 1 to 5 (end included)' },
];

const OPERATOR_HELP =
  "+ - (element by element), * (matrix product), / (by a number), ^ (of numbers), .* ./ .^ (element by element), ' (transpose), == != < > <= >=";

export const FORMULA_HELP = Object.freeze({
  operators: OPERATOR_HELP,
  indexing: 'Indices start at 1 (mathjs): A[1, :] is the first row, A[:, 2] the second column, A[2:4, 1] rows 2 to 4 of column 1, A[end, 1] the last row.',
  statements: 'Separate statements with ";" to name intermediate results: x = Wuk * c; max(abs(x))',
});

// ---------------------------------------------------------------------------------------------
// The mathjs instance

/** The slice of mathjs's DenseMatrix this file uses. */
interface MathMatrix {
  isMatrix: true;
  size(): number[];
  valueOf(): unknown[];
}

type Fn = (...args: unknown[]) => unknown;

/** BigNumber is never built here; the stub keeps decimal.js (~12 kB gzip) out of the bundle. */
const createBigNumberStub = factory(
  'BigNumber',
  [],
  () => {
    class BigNumberUnavailable {
      constructor() {
        throw new FormulaError('BigNumbers are not available in formulas');
      }
    }
    return BigNumberUnavailable;
  },
  { isClass: true },
);
const createBignumberStub = factory('bignumber', [], () => () => {
  throw new FormulaError('BigNumbers are not available in formulas');
});
/** Sparse matrices never arise here (nothing asks for the 'sparse' format); a stub class keeps the
 *  type known to typed-function without the ~12 kB class. */
const createSparseMatrixStub = factory(
  'SparseMatrix',
  [],
  () => {
    class SparseMatrixUnavailable {
      constructor() {
        throw new FormulaError('Sparse matrices are not available in formulas');
      }
    }
    return SparseMatrixUnavailable;
  },
  { isClass: true },
);
/** The parser builds these for `f(x) = ...` and `{a: 1}`; formulas refuse both, at parse time. */
const refusedNode = (name: string, message: string) =>
  factory(
    name,
    [],
    () =>
      class {
        constructor() {
          throw new FormulaError(message);
        }
      },
    { isClass: true, isNode: true },
  );
const createFunctionAssignmentNodeStub = refusedNode('FunctionAssignmentNode', 'Defining functions is not supported in formulas');
const createObjectNodeStub = refusedNode('ObjectNode', 'Objects { … } are not supported in formulas');

/** An error whose message is already written for the reader. */
class FormulaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormulaError';
  }
}

interface Engine {
  parse: (expr: string) => MathNode;
  matrix: (data: unknown) => MathMatrix;
  isMatrix: (x: unknown) => x is MathMatrix;
  /** what a formula may call by name */
  functionNames: string[];
}

const FORBIDDEN = ['import', 'createUnit', 'evaluate', 'parse', 'simplify', 'derivative', 'resolve', 'compile'] as const;
const FORBIDDEN_SET = new Set<string>(FORBIDDEN);
/** Caught before parsing too, so `import({}, {})` says so rather than "objects are not supported". */
const FORBIDDEN_CALL = new RegExp(`(?<![\\w$.])(${FORBIDDEN.join('|')})\\s*\\(`);
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E, Infinity: Infinity, NaN: NaN };

let engine: Engine | null = null;

function getEngine(): Engine {
  if (engine) return engine;
  const math = create(
    {
      createTyped,
      createBigNumberStub,
      createBignumberStub,
      createMatrixClass,
      createDenseMatrixClass,
      createSparseMatrixStub,
      createImmutableDenseMatrixClass,
      createIndexClass,
      createResultSet,
      createMatrix,
      createNumber,
      createNumeric,
      createEqualScalar,
      createAddScalar,
      createMultiplyScalar,
      createSubtractScalar,
      createDivideScalar,
      createIsInteger,
      createIsBounded,
      createIsNaN,
      createGetMatrixDataType,
      createConcat,
      createZeros,
      createSize,
      createSubset,
      createIndexTransform,
      createAdd,
      createSubtract,
      createMultiply,
      createDot,
      createConj,
      createDotMultiply,
      createDotDivide,
      createTranspose,
      createCtranspose,
      createUnaryMinus,
      createUnaryPlus,
      createEqual,
      createUnequal,
      createSmaller,
      createSmallerEq,
      createLarger,
      createLargerEq,
      createSumTransform,
      createMaxTransform,
      createMinTransform,
      createNode,
      createAccessorNode,
      createArrayNode,
      createAssignmentNode,
      createBlockNode,
      createConditionalNode,
      createConstantNode,
      createFunctionAssignmentNodeStub,
      createFunctionNode,
      createIndexNode,
      createObjectNodeStub,
      createOperatorNode,
      createParenthesisNode,
      createRangeNode,
      createRelationalNode,
      createSymbolNode,
      createParse,
    },
    { matrix: 'Matrix', number: 'number', predictable: true },
  ) as unknown as Record<string, unknown> & { expression: { mathWithTransform: Record<string, unknown> } };

  const ns = math.expression.mathWithTransform;
  // Resolve what we need (the namespace's entries are lazy) before emptying it.
  const m = (name: string) => math[name] as Fn;
  const t = (name: string) => ns[name] as Fn; // transform versions: 1-based dimensions and indices
  const raw = {
    add: m('add'),
    subtract: m('subtract'),
    multiply: m('multiply'),
    dotMultiply: m('dotMultiply'),
    dotDivide: m('dotDivide'),
    unaryMinus: m('unaryMinus'),
    unaryPlus: m('unaryPlus'),
    transpose: m('transpose'),
    ctranspose: m('ctranspose'),
    equal: m('equal'),
    unequal: m('unequal'),
    smaller: m('smaller'),
    smallerEq: m('smallerEq'),
    larger: m('larger'),
    largerEq: m('largerEq'),
    dot: m('dot'),
    size: m('size'),
    matrix: m('matrix'),
    sum: t('sum'),
    max: t('max'),
    min: t('min'),
    index: t('index'),
  };
  const parse = m('parse') as unknown as (expr: string) => MathNode;
  const matrix = raw.matrix as unknown as (data: unknown) => MathMatrix;
  const isMatrix = (x: unknown): x is MathMatrix =>
    typeof x === 'object' && x !== null && (x as { isMatrix?: unknown }).isMatrix === true;

  for (const key of Object.keys(ns)) delete ns[key];

  const api: Record<string, Fn> = {
    // operators
    add: binary('+', raw.add),
    subtract: binary('-', raw.subtract),
    multiply: (...args) => reduceArgs('multiply', args, (a, b) => multiplyChecked(raw.multiply, a, b)),
    divide: (a, b) => {
      if (isMatrix(b)) throw new FormulaError('Division by a matrix is not available; use ./ to divide element by element');
      return binaryCall('/', raw.dotDivide, a, b);
    },
    pow: (a, b) => {
      if (isMatrix(a) || isMatrix(b)) throw new FormulaError('^ is for numbers here; use .^ for an element-by-element power');
      return powScalar(toNumber(a, '^'), toNumber(b, '^'));
    },
    dotMultiply: binary('.*', raw.dotMultiply),
    dotDivide: binary('./', raw.dotDivide),
    dotPow: (a, b) => elementwise2('.^', a, b, powScalar),
    unaryMinus: unary('-', raw.unaryMinus),
    unaryPlus: unary('+', raw.unaryPlus),
    ctranspose: unary("'", raw.ctranspose),
    transpose: unary('transpose', raw.transpose),
    equal: binary('==', raw.equal),
    unequal: binary('!=', raw.unequal),
    smaller: binary('<', raw.smaller),
    smallerEq: binary('<=', raw.smallerEq),
    larger: binary('>', raw.larger),
    largerEq: binary('>=', raw.largerEq),
    not: (x) => mapElements(x, 'not', (v) => (v === 0 ? 1 : 0), true),
    // structure
    matrix: (data) => {
      const n = countNested(data);
      guardElements(n);
      charge(n);
      return call('matrix', raw.matrix, [data]);
    },
    index: (...dims) => {
      let n = 1;
      for (const d of dims) {
        if (typeof d === 'string') throw new FormulaError('Index with numbers, like A[1, 2]');
        n *= isMatrix(d) ? numel(d.size()) : 1;
      }
      guardElements(n, 'Index selects too many elements');
      charge(n);
      return call('index', raw.index, dims);
    },
    range: (...args) => rangeChecked(args),
    size: (...args) => {
      const s = call('size', raw.size, args);
      return Array.isArray(s) ? matrix(s) : s;
    },
    // reductions and products
    sum: (...args) => call('sum', raw.sum, args),
    max: (...args) => call('max', raw.max, args),
    min: (...args) => call('min', raw.min, args),
    mean: (...args) => meanOf(args, raw.sum),
    norm: (...args) => normOf(args),
    dot: (...args) => {
      if (args.length !== 2) throw new FormulaError(`dot takes 2 vectors (got ${args.length} arguments)`);
      const [a, b] = args;
      const sa = shapeOf(a);
      const sb = shapeOf(b);
      if (sa && sb && numel(sa) !== numel(sb)) {
        throw new FormulaError(`Dimension mismatch in dot: ${shapeText(sa)} and ${shapeText(sb)} (same length needed)`);
      }
      return call('dot', raw.dot, args);
    },
    // elementwise functions
    abs: (x) => mapElements(x, 'abs', Math.abs),
    sqrt: (x) => mapElements(x, 'sqrt', Math.sqrt),
    exp: (x) => mapElements(x, 'exp', Math.exp),
    log: (...args) => {
      if (args.length === 1) return mapElements(args[0], 'log', Math.log);
      if (args.length === 2) {
        const base = toNumber(args[1], 'log');
        const lb = Math.log(base);
        return mapElements(args[0], 'log', (v) => Math.log(v) / lb);
      }
      throw new FormulaError('log takes 1 or 2 arguments: log(x) or log(x, base)');
    },
    round: (...args) => {
      if (args.length === 1) return mapElements(args[0], 'round', roundHalfAway);
      if (args.length === 2) {
        const n = toNumber(args[1], 'round');
        if (!Number.isInteger(n) || n < 0 || n > 15) throw new FormulaError('round(x, n): n must be an integer from 0 to 15');
        const f = 10 ** n;
        return mapElements(args[0], 'round', (v) => roundHalfAway(v * f) / f);
      }
      throw new FormulaError('round takes 1 or 2 arguments: round(x) or round(x, n)');
    },
    floor: (x) => mapElements(x, 'floor', Math.floor),
    ceil: (x) => mapElements(x, 'ceil', Math.ceil),
    sigmoid: (x) => mapElements(x, 'sigmoid', (v) => 1 / (1 + Math.exp(-v))),
    softmax: (...args) => softmaxOf(args),
  };

  // Every function takes a fixed number of arguments where that is simple to say.
  const arity: Record<string, number> = { not: 1, abs: 1, sqrt: 1, exp: 1, floor: 1, ceil: 1, sigmoid: 1, dotPow: 2, pow: 2, divide: 2 };
  for (const [name, fn] of Object.entries(api)) {
    const n = arity[name];
    ns[name] = n === undefined
      ? fn
      : (...args: unknown[]) => {
          if (args.length !== n) {
            throw new FormulaError(`${name} takes ${n} argument${n === 1 ? '' : 's'} (got ${args.length})`);
          }
          return fn(...args);
        };
  }
  for (const [name, value] of Object.entries(CONSTANTS)) ns[name] = value;
  // ArrayNode reads `config.matrix` from the namespace to decide between Array and Matrix. The check
  // below keeps `config` itself out of reach of expressions.
  ns.config = Object.freeze({ matrix: 'Matrix' });
  // mathjs's documented hardening: the functions that could reach the parser or change the instance
  // throw, in the expression namespace and on the instance itself.
  for (const name of FORBIDDEN) {
    const refuse = () => {
      throw new FormulaError(`Function ${name} is not available in formulas`);
    };
    ns[name] = refuse;
    if (name !== 'parse') math[name] = refuse;
  }

  engine = {
    parse,
    matrix,
    isMatrix,
    // `matrix` and `index` serve [1, 2] and A[1, 2]; they are not offered by name
    functionNames: Object.keys(api).filter((k) => k !== 'matrix' && k !== 'index').sort(),
  };
  return engine;

  // --- helpers that need the instance ------------------------------------------------------

  function call(name: string, fn: Fn, args: unknown[]): unknown {
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

  function unary(symbol: string, fn: Fn): Fn {
    return (...args) => {
      if (args.length !== 1) throw new FormulaError(`${symbol} takes 1 argument (got ${args.length})`);
      return call(symbol, fn, args);
    };
  }

  function binary(symbol: string, fn: Fn): Fn {
    return (...args) => reduceArgs(symbol, args, (a, b) => binaryCall(symbol, fn, a, b));
  }

  function binaryCall(symbol: string, fn: Fn, a: unknown, b: unknown): unknown {
    const sa = shapeOf(a);
    const sb = shapeOf(b);
    if (sa && sb) {
      const out = broadcastShape(sa, sb);
      if (!out) throw new FormulaError(`Dimension mismatch: ${shapeText(sa)} ${symbol} ${shapeText(sb)}`);
      guardElements(numel(out));
    }
    return call(symbol, fn, [a, b]);
  }

  function reduceArgs(name: string, args: unknown[], f: (a: unknown, b: unknown) => unknown): unknown {
    if (args.length < 2) throw new FormulaError(`${name} takes 2 arguments (got ${args.length})`);
    let acc = f(args[0], args[1]);
    for (let i = 2; i < args.length; i++) acc = f(acc, args[i]);
    return acc;
  }

  function multiplyChecked(fn: Fn, a: unknown, b: unknown): unknown {
    const sa = shapeOf(a);
    const sb = shapeOf(b);
    if (sa && sb) {
      const plan = productPlan(sa, sb);
      guardElements(numel(plan.out));
      charge(plan.cost);
    }
    return call('*', fn, [a, b]);
  }

  function shapeOf(x: unknown): number[] | null {
    if (typeof x === 'number' || typeof x === 'boolean') return [];
    if (isMatrix(x)) return x.size();
    return null;
  }

  /** Numbers, booleans and matrices (up to 2-D) map element by element; booleans count as 0/1. */
  function mapElements(x: unknown, name: string, f: (v: number) => number, booleanOut = false): unknown {
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
      return matrix(out);
    }
    throw new FormulaError(`${name} expects a number or a matrix`);
  }

  function elementwise2(symbol: string, a: unknown, b: unknown, f: (x: number, y: number) => number): unknown {
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
    if (out.length === 1) return matrix(Array.from({ length: out[0] }, (_, j) => f(ga(0, j), gb(0, j))));
    const rows: number[][] = [];
    for (let i = 0; i < out[0]; i++) {
      const row = new Array<number>(out[1]);
      for (let j = 0; j < out[1]; j++) row[j] = f(ga(i, j), gb(i, j));
      rows.push(row);
    }
    return matrix(rows);
  }

  /** Read element (i, j) of a scalar, vector or matrix broadcast to `dims` dimensions. */
  function getter(x: unknown, s: number[]): (i: number, j: number) => number {
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

  function rangeChecked(args: unknown[]): unknown {
    if (args.length < 2 || args.length > 3) throw new FormulaError('range takes 2 or 3 numbers: range(start, end) or range(start, end, step)');
    const [start, end, step = 1] = args.map((a) => toNumber(a, 'range'));
    if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step)) throw new FormulaError('A range needs finite numbers');
    if (step === 0) throw new FormulaError('A range cannot have step 0');
    const count = (end - start) / step < 0 ? 0 : Math.floor((end - start) / step + 1e-10) + 1;
    guardElements(count, 'Range too long');
    charge(count);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = start + i * step;
    return matrix(out);
  }

  function meanOf(args: unknown[], sum: Fn): unknown {
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

  function normOf(args: unknown[]): number {
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

  function softmaxOf(args: unknown[]): unknown {
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
    return matrix(size.length === 1 ? soft(data) : data.map((row) => soft(row as unknown[])));
  }

  function flatNumbers(x: MathMatrix): number[] {
    const out: number[] = [];
    const walk = (a: unknown) => {
      if (Array.isArray(a)) for (const e of a) walk(e);
      else out.push(+(a as number));
    };
    walk(x.valueOf());
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Budget

interface Budget {
  work: number;
  deadline: number;
}
let budget: Budget | null = null;

function charge(n: number): void {
  if (!budget) return;
  budget.work += n;
  if (budget.work > FORMULA_LIMITS.maxWork) {
    throw new FormulaError(`Too much computation (over ${FORMULA_LIMITS.maxWork.toLocaleString('en-US')} element operations); try a smaller piece`);
  }
  if (Date.now() > budget.deadline) {
    throw new FormulaError(`Took too long (over ${FORMULA_LIMITS.maxMs} ms); try a smaller piece`);
  }
}

function guardElements(n: number, what = 'Result too large'): void {
  if (n > FORMULA_LIMITS.maxElements) {
    throw new FormulaError(`${what} (${n.toLocaleString('en-US')} elements > ${FORMULA_LIMITS.maxElements.toLocaleString('en-US')})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Shapes

function numel(size: readonly number[]): number {
  let n = 1;
  for (const d of size) n *= d;
  return n;
}

/** '16x32' for a matrix, 'vector of 32', 'number'. */
function shapeText(size: readonly number[]): string {
  if (size.length === 0) return 'number';
  if (size.length === 1) return `vector of ${size[0]}`;
  return size.join('x');
}

/** numpy's rule, which mathjs follows: align trailing dimensions; a 1 stretches. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
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
function productPlan(a: readonly number[], b: readonly number[]): { out: number[]; cost: number } {
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
function countNested(x: unknown): number {
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

function toNumber(x: unknown, name: string): number {
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

function powScalar(a: number, b: number): number {
  return a ** b;
}

function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

function frobenius(values: number[]): number {
  let s = 0;
  for (const v of values) s += v * v;
  return Math.sqrt(s);
}

// ---------------------------------------------------------------------------------------------
// Scope conversion

interface Converted {
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

function convert(name: string, v: unknown): Converted {
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

// ---------------------------------------------------------------------------------------------
// Checking the parsed expression

type AnyNode = MathNode & Record<string, unknown>;

const ALLOWED_OPERATORS = new Set([
  'add', 'subtract', 'multiply', 'divide', 'pow', 'dotMultiply', 'dotDivide', 'dotPow', 'unaryMinus', 'unaryPlus',
  'ctranspose', 'transpose', 'equal', 'unequal', 'smaller', 'smallerEq', 'larger', 'largerEq', 'not',
]);

function listNames(names: string[], max = 12): string {
  if (names.length === 0) return '(none)';
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, …`;
}

/** Reject everything outside the small language the cell offers; return the scope names used. */
function check(root: MathNode, scope: FormulaScope, functionNames: string[]): Set<string> {
  const scopeNames = Object.keys(scope);
  const inScope = (n: string) => Object.prototype.hasOwnProperty.call(scope, n);
  const functions = new Set(functionNames);
  const assigned = new Set<string>();
  const used = new Set<string>();
  const symbols: string[] = [];

  root.traverse((node, path, parent) => {
    const n = node as AnyNode;
    switch (n.type) {
      case 'ConstantNode': {
        const v = n.value;
        if (typeof v === 'string') throw new FormulaError('Text in quotes is not supported in formulas');
        if (typeof v !== 'number' && typeof v !== 'boolean') throw new FormulaError(`${String(v)} is not supported in formulas`);
        break;
      }
      case 'SymbolNode': {
        const name = n.name as string;
        const p = parent as AnyNode | null;
        if (p && p.type === 'FunctionNode' && path === 'fn') break; // checked with its FunctionNode
        if (p && p.type === 'AssignmentNode' && path === 'object') break; // checked with its AssignmentNode
        symbols.push(name);
        break;
      }
      case 'FunctionNode': {
        const fn = n.fn as AnyNode;
        if (fn.type !== 'SymbolNode') throw new FormulaError('Only named functions can be called, like sum(x)');
        const name = fn.name as string;
        if (FORBIDDEN_SET.has(name)) throw new FormulaError(`Function ${name} is not available in formulas`);
        if (inScope(name)) throw new FormulaError(`${name} is a value, not a function; index it with ${name}[1, 2] (indices start at 1)`);
        if (!functions.has(name)) {
          throw new FormulaError(`Unknown function ${name} — functions: ${listNames(FORMULA_FUNCTIONS.map((f) => f.name), 30)}`);
        }
        break;
      }
      case 'OperatorNode': {
        if (!ALLOWED_OPERATORS.has(n.fn as string)) throw new FormulaError(`Operator ${String(n.op)} is not available in formulas`);
        break;
      }
      case 'IndexNode': {
        if ((n as AnyNode & { isObjectProperty(): boolean }).isObjectProperty()) throw new FormulaError('Property access with "." is not supported; index with A[1, 2]');
        break;
      }
      case 'AssignmentNode': {
        const target = n.object as AnyNode;
        if (target.type !== 'SymbolNode' || n.index) {
          throw new FormulaError('Only a plain name can be assigned, like x = Wuk * c; parts of a matrix cannot');
        }
        const name = target.name as string;
        if (inScope(name)) throw new FormulaError(`Cannot assign to ${name}: it is one of the lesson's values (choose another name)`);
        if (functions.has(name) || FORBIDDEN_SET.has(name)) throw new FormulaError(`Cannot assign to ${name}: it is a function name`);
        if (name in CONSTANTS || name === 'end') throw new FormulaError(`Cannot assign to ${name}: it is a reserved name`);
        assigned.add(name);
        break;
      }
      case 'FunctionAssignmentNode':
        throw new FormulaError('Defining functions is not supported in formulas');
      case 'ObjectNode':
        throw new FormulaError('Objects { … } are not supported in formulas');
      case 'AccessorNode':
      case 'ArrayNode':
      case 'BlockNode':
      case 'ConditionalNode':
      case 'ParenthesisNode':
      case 'RangeNode':
      case 'RelationalNode':
        break;
      default:
        throw new FormulaError(`${n.type} is not supported in formulas`);
    }
  });

  for (const name of symbols) {
    if (inScope(name)) {
      used.add(name);
      continue;
    }
    if (assigned.has(name) || name in CONSTANTS || name === 'end') continue;
    if (functions.has(name)) throw new FormulaError(`${name} is a function: call it, like ${name}(x)`);
    if (FORBIDDEN_SET.has(name)) throw new FormulaError(`Function ${name} is not available in formulas`);
    throw new FormulaError(`Undefined symbol ${name} — available: ${listNames(scopeNames, 30)}`);
  }
  return used;
}

// ---------------------------------------------------------------------------------------------
// Errors from mathjs, in the reader's words

function humanize(err: unknown, fnName?: string, args?: unknown[]): Error {
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

// ---------------------------------------------------------------------------------------------
// Results

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

function toFormulaValue(r: unknown, isMatrix: (x: unknown) => x is MathMatrix): FormulaValue {
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

// ---------------------------------------------------------------------------------------------
// The entry point

/** Evaluate `expr` over `scope`. Never throws: a failing formula returns `{ ok: false, error }`. */
export function evaluateFormula(expr: string, scope: FormulaScope = {}): FormulaResult {
  try {
    if (typeof expr !== 'string') return { ok: false, error: 'The formula must be text' };
    if (expr.length > FORMULA_LIMITS.maxLength) {
      return { ok: false, error: `Expression too long (${expr.length} > ${FORMULA_LIMITS.maxLength} characters)` };
    }
    if (expr.trim() === '') return { ok: false, error: 'Type a formula' };
    const forbidden = FORBIDDEN_CALL.exec(expr);
    if (forbidden) return { ok: false, error: `Function ${forbidden[1]} is not available in formulas` };
    const eng = getEngine();

    let node: MathNode;
    try {
      node = eng.parse(expr);
    } catch (err) {
      if (err instanceof FormulaError) return { ok: false, error: err.message };
      const e = err as { message?: string; char?: number };
      if (err instanceof SyntaxError && typeof e.char === 'number') {
        const what = String(e.message).replace(/\s*\(char \d+\)\s*$/, '');
        return { ok: false, error: `Syntax error at character ${e.char}: ${what}`, position: e.char };
      }
      return { ok: false, error: `Syntax error: ${humanize(err).message}` };
    }

    const used = check(node, scope, eng.functionNames);
    const values = new Map<string, unknown>();
    for (const name of used) {
      const c = convert(name, scope[name]);
      values.set(name, typeof c.value === 'number' || typeof c.value === 'boolean' ? c.value : eng.matrix(c.value));
    }

    budget = { work: 0, deadline: Date.now() + FORMULA_LIMITS.maxMs };
    let raw: unknown;
    try {
      raw = node.compile().evaluate(values);
    } finally {
      budget = null;
    }
    const value = toFormulaValue(raw, eng.isMatrix);
    return { ok: true, value, text: formatValue(value) };
  } catch (err) {
    budget = null;
    try {
      return { ok: false, error: humanize(err).message };
    } catch {
      return { ok: false, error: 'The formula could not be evaluated' };
    }
  }
}
