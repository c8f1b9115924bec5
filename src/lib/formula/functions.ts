// The functions and operators a formula may call, each a guarded operation (ops.ts) over the
// mathjs instance's own (raw) functions.
import { charge, guardElements } from './budget';
import { FormulaError } from './errors';
import {
  binary, binaryCall, call, elementwise2, mapElements, meanOf, multiplyChecked, normOf, rangeChecked, reduceArgs, softmaxOf, unary,
} from './ops';
import { type Fn, type MathMatrix, countNested, isMatrix, numel, powScalar, roundHalfAway, shapeOf, shapeText, toNumber } from './shapes';

/** The mathjs functions the guarded ones call (transform versions where indices are 1-based). */
export type RawFunctions = Record<
  'add' | 'subtract' | 'multiply' | 'dotMultiply' | 'dotDivide' | 'unaryMinus' | 'unaryPlus' | 'transpose' | 'ctranspose' | 'equal'
  | 'unequal' | 'smaller' | 'smallerEq' | 'larger' | 'largerEq' | 'dot' | 'size' | 'matrix' | 'sum' | 'max' | 'min' | 'index',
  Fn
>;

/** Every function and operator by its mathjs name. */
export function guardedFunctions(raw: RawFunctions, matrix: (data: unknown) => MathMatrix): Record<string, Fn> {
  return {
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
}
