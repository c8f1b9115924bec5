// The private mathjs instance: built with create() from hand-picked factory functions, its one
// expression namespace emptied and refilled with the guarded functions (functions.ts), the
// functions that could reach the parser or change the instance replaced by refusals.
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
import { FormulaError } from './errors';
import { guardedFunctions, type RawFunctions } from './functions';
import { CONSTANTS, FORBIDDEN } from './language';
import { useMatrixConstructor } from './ops';
import { type Fn, type MathMatrix, isMatrix } from './shapes';

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

export interface Engine {
  parse: (expr: string) => MathNode;
  matrix: (data: unknown) => MathMatrix;
  isMatrix: (x: unknown) => x is MathMatrix;
  /** what a formula may call by name */
  functionNames: string[];
}

let engine: Engine | null = null;

export function getEngine(): Engine {
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
  const raw: RawFunctions = {
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

  for (const key of Object.keys(ns)) delete ns[key];

  useMatrixConstructor(matrix);
  const api = guardedFunctions(raw, matrix);

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
}
