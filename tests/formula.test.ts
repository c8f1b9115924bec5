import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  describeScope,
  evaluateFormula,
  formatNumber,
  formatValue,
  FORMULA_LIMITS,
  type FormulaMatrix,
  type FormulaResult,
  type FormulaScope,
} from '../src/lib/formula';

function value(expr: string, scope: FormulaScope = {}) {
  const r = evaluateFormula(expr, scope);
  if (!r.ok) throw new Error(`${expr}: ${r.error}`);
  return r.value;
}

function matrixOf(expr: string, scope: FormulaScope = {}): FormulaMatrix {
  const v = value(expr, scope);
  if (typeof v !== 'object') throw new Error(`${expr}: expected a matrix, got ${String(v)}`);
  return v;
}

function errorOf(expr: string, scope: FormulaScope = {}): string {
  const r = evaluateFormula(expr, scope);
  if (r.ok) throw new Error(`${expr}: expected an error, got ${r.text}`);
  return r.error;
}

/** Row-major product of an m x k and a k x n matrix, the obvious loop. */
function matmul(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const c = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

const A = [
  [1, 2, 3],
  [4, 5, 6],
]; // 2x3
const B = [
  [7, 8],
  [9, 10],
  [11, 12],
]; // 3x2

describe('arithmetic', () => {
  it('evaluates numbers and operators with precedence', () => {
    expect(value('1 + 2 * 3')).toBe(7);
    expect(value('2^10')).toBe(1024);
    expect(value('-3 + 4')).toBe(1);
    expect(value('7 / 2')).toBe(3.5);
    expect(value('(1 + 2) * 3')).toBe(9);
    expect(value('2 pi')).toBeCloseTo(2 * Math.PI, 12);
    expect(value('sqrt(16) + exp(0) + log(e)')).toBe(6);
    expect(value('sigmoid(0)')).toBe(0.5);
    expect(value('1 < 2')).toBe(true);
    expect(value('round(2.5) + round(-2.5) + round(3.14159, 2)')).toBeCloseTo(3.14, 12);
  });

  it('sqrt and log of negatives are NaN, not complex numbers', () => {
    expect(value('sqrt(-1)')).toBeNaN();
    expect(value('log(-1)')).toBeNaN();
  });

  it('scalar arithmetic on matrices works element by element', () => {
    expect(matrixOf('A * 2 + 1', { A })).toEqual({ rows: 2, cols: 3, data: [3, 5, 7, 9, 11, 13] });
    expect(matrixOf('A / 2', { A }).data).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    expect(matrixOf('A .* A', { A }).data).toEqual([1, 4, 9, 16, 25, 36]);
    expect(matrixOf('A ./ A', { A }).data).toEqual([1, 1, 1, 1, 1, 1]);
    expect(matrixOf('A .^ 2', { A }).data).toEqual([1, 4, 9, 16, 25, 36]);
    expect(matrixOf('-A', { A }).data).toEqual([-1, -2, -3, -4, -5, -6]);
  });
});

describe('transpose and matrix products', () => {
  it("' and transpose() swap rows and columns", () => {
    expect(matrixOf("A'", { A })).toEqual({ rows: 3, cols: 2, data: [1, 4, 2, 5, 3, 6] });
    expect(matrixOf('transpose(A)', { A })).toEqual({ rows: 3, cols: 2, data: [1, 4, 2, 5, 3, 6] });
  });

  it('* is the matrix product (hand-computed)', () => {
    // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
    expect(matrixOf('A * B', { A, B })).toEqual({ rows: 2, cols: 2, data: [58, 64, 139, 154] });
    // [7 8; 9 10; 11 12] * [1 2 3; 4 5 6] = [39 54 69; 49 68 87; 59 82 105]
    expect(matrixOf('B * A', { A, B })).toEqual({ rows: 3, cols: 3, data: [39, 54, 69, 49, 68, 87, 59, 82, 105] });
    // A' * A = [17 22 27; 22 29 36; 27 36 45]
    expect(matrixOf("A' * A", { A }).data).toEqual([17, 22, 27, 22, 29, 36, 27, 36, 45]);
  });

  it('matrix times vector, vector times vector', () => {
    const v = [1, 0, -1];
    expect(matrixOf('A * v', { A, v })).toEqual({ rows: 1, cols: 2, data: [-2, -2], vector: true });
    expect(value('v * v', { v })).toBe(2);
    expect(value('dot(v, [1, 2, 3])', { v })).toBe(-2);
  });

  it('checks an absorbed product against a hand-computed one, as a lesson would', () => {
    const Wuq = { rows: 2, cols: 3, data: Float32Array.from([1, 0, 2, -1, 3, 1]) };
    const Wuk = { rows: 2, cols: 2, data: Float32Array.from([0.5, 1, -2, 0]) };
    const c = [1, 2];
    // Wuq' * Wuk * c: Wuk*c = [2.5, -2]; Wuq' * [2.5, -2] = [2.5+2, 0-6, 5-2] = [4.5, -6, 3]
    const qlat = [4.5, -6, 3];
    const scope = { Wuq, Wuk, c, qlat };
    expect(value("max(abs(Wuq' * Wuk * c - qlat))", scope)).toBe(0);
    expect(matrixOf("Wuq' * Wuk * c", scope).data).toEqual(qlat);
  });
});

describe('indexing is 1-based', () => {
  const ckv = [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ];
  it('picks rows, columns, ranges and end', () => {
    expect(matrixOf('ckv[1, :]', { ckv })).toEqual({ rows: 1, cols: 4, data: [1, 2, 3, 4], vector: true });
    expect(matrixOf('ckv[:, 2]', { ckv }).data).toEqual([2, 6, 10]);
    expect(matrixOf('ckv[2:3, 1]', { ckv }).data).toEqual([5, 9]);
    expect(matrixOf('ckv[1:2, 3:4]', { ckv })).toEqual({ rows: 2, cols: 2, data: [3, 4, 7, 8] });
    expect(value('ckv[end, end]', { ckv })).toBe(12);
    expect(value('ckv[2, 3]', { ckv })).toBe(7);
    expect(value('norm(ckv[1, :])', { ckv })).toBeCloseTo(Math.sqrt(30), 12);
    expect(matrixOf('1:4')).toEqual({ rows: 1, cols: 4, data: [1, 2, 3, 4], vector: true });
  });

  it('index 0 and past the end are errors that say indices start at 1', () => {
    expect(errorOf('ckv[0, 1]', { ckv })).toMatch(/Index out of range.*indices start at 1/);
    expect(errorOf('ckv[4, 1]', { ckv })).toMatch(/Index out of range: 4 > 3 \(indices start at 1\)/);
    expect(errorOf('ckv[1]', { ckv })).toMatch(/write A\[row, column\]/);
  });
});

describe('scope values', () => {
  it('Float32Array is a vector; { rows, cols, data } is row-major', () => {
    const w = Float32Array.from([0.5, 0.25, -1]);
    const M = { rows: 2, cols: 3, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(matrixOf('w', { w })).toEqual({ rows: 1, cols: 3, data: [0.5, 0.25, -1], vector: true });
    expect(value('M[1, 2]', { M })).toBe(2);
    expect(value('M[2, 1]', { M })).toBe(4);
    expect(matrixOf('M', { M })).toEqual({ rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6] });
    expect(value('size(M)', { M })).toEqual({ rows: 1, cols: 2, data: [2, 3], vector: true });
  });

  it('Float32 values come through as their float32 value', () => {
    const w = Float32Array.from([0.1]);
    expect(value('w[1]', { w })).toBe(Math.fround(0.1));
  });

  it('number[][], { shape, data } and numbers', () => {
    const T = { shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    expect(value('T[3, 1]', { T })).toBe(5);
    expect(value('T[1, 2]', { T })).toBe(2);
    const u = { shape: [2], data: [7, 8] };
    expect(matrixOf('u', { u }).data).toEqual([7, 8]);
    expect(value('s * 2', { s: 21 })).toBe(42);
    expect(value('sum(rows)', { rows: [new Float32Array([1, 2]), new Float32Array([3, 4])] })).toBe(10);
  });

  it('a malformed value is a clear error, only when used', () => {
    const bad = { rows: 2, cols: 2, data: [1, 2, 3] };
    expect(errorOf('bad', { bad })).toMatch(/3 numbers do not fill 2x2/);
    expect(value('1 + 1', { bad })).toBe(2);
  });

  it('describeScope lists names, shapes and descriptions', () => {
    const scope = {
      Wuk: { rows: 16, cols: 32, data: new Float32Array(512) },
      c: new Float32Array(16),
      t: 3,
      bad: { rows: 2, cols: 2, data: [1] },
    };
    expect(describeScope(scope, { Wuk: 'up-projection for keys' })).toEqual([
      { name: 'Wuk', shape: '16x32', kind: 'matrix', description: 'up-projection for keys' },
      { name: 'c', shape: '16', kind: 'vector' },
      { name: 't', shape: 'scalar', kind: 'number' },
      { name: 'bad', shape: expect.stringMatching(/do not fill/), kind: 'invalid' },
    ]);
  });
});

describe('reductions and helpers', () => {
  it('sum, mean, max, min, with 1-based dimensions', () => {
    expect(value('sum(A)', { A })).toBe(21);
    expect(matrixOf('sum(A, 1)', { A }).data).toEqual([5, 7, 9]);
    expect(matrixOf('sum(A, 2)', { A }).data).toEqual([6, 15]);
    expect(value('mean(A)', { A })).toBe(3.5);
    expect(matrixOf('mean(A, 2)', { A }).data).toEqual([2, 5]);
    expect(value('max(A)', { A })).toBe(6);
    expect(value('min(A)', { A })).toBe(1);
    expect(matrixOf('max(A, 1)', { A }).data).toEqual([4, 5, 6]);
    expect(value('sum(weights)', { weights: [0.25, 0.5, 0.25] })).toBe(1);
  });

  it('norm: Euclidean for vectors, Frobenius for matrices, p-norms', () => {
    expect(value('norm([3, 4])')).toBe(5);
    expect(value('norm([3, 4], 1)')).toBe(7);
    expect(value('norm([3, -4], Infinity)')).toBe(4);
    expect(value('norm(A)', { A })).toBeCloseTo(Math.sqrt(91), 12);
  });

  it('softmax rows sum to 1; booleans from comparisons', () => {
    const s = matrixOf('softmax(A)', { A });
    expect(s.data[0] + s.data[1] + s.data[2]).toBeCloseTo(1, 12);
    expect(matrixOf('A > 3', { A })).toEqual({ rows: 2, cols: 3, data: [0, 0, 0, 1, 1, 1], boolean: true });
    expect(value('sum(A > 3)', { A })).toBe(3);
  });

  it('statements separated by ; name intermediate results', () => {
    expect(value('x = A * B; max(abs(x))', { A, B })).toBe(154);
    expect(errorOf('x = 1;')).toMatch(/Nothing to show/);
    // nothing leaks into the next evaluation
    expect(errorOf('x')).toBe('Undefined symbol x — available: (none)');
  });
});

describe('errors are short, human, and never thrown', () => {
  const scope = {
    Wuq: { rows: 4, cols: 32, data: new Float32Array(128) },
    Wuk: { rows: 16, cols: 32, data: new Float32Array(512) },
    c: new Float32Array(16),
    qlat: new Float32Array(32),
  };

  it('undefined symbol lists what is available', () => {
    expect(errorOf('Wq * c', scope)).toBe('Undefined symbol Wq — available: Wuq, Wuk, c, qlat');
  });

  it('dimension mismatch names both shapes and suggests a transpose', () => {
    expect(errorOf('Wuq * Wuk', scope)).toBe("Dimension mismatch: 4x32 * 16x32 (use ' to transpose)");
    expect(errorOf('Wuq + Wuk', scope)).toBe('Dimension mismatch: 4x32 + 16x32');
    expect(errorOf('Wuq * c', scope)).toBe('Dimension mismatch: 4x32 * vector of 16 (inner sizes 32 and 16 must match)');
    expect(errorOf('dot(c, qlat)', scope)).toMatch(/^Dimension mismatch in dot: vector of 16 and vector of 32/);
    // the suggested fix works
    expect(matrixOf("Wuq * Wuk'", scope)).toMatchObject({ rows: 4, cols: 16 });
  });

  it('too long', () => {
    const expr = '1+'.repeat(305) + '12'; // 612 characters
    expect(expr.length).toBe(612);
    expect(errorOf(expr)).toBe('Expression too long (612 > 500 characters)');
  });

  it('too large, before the value is built', () => {
    expect(errorOf("[1:501]' * [1:501]")).toBe('Result too large (251,001 elements > 250,000)');
    expect(errorOf("[1:600]' + (1:600)")).toMatch(/^Result too large \(360,000 elements/);
    expect(errorOf('1:1e9')).toMatch(/^Range too long \(1,000,000,000 elements > 250,000\)/);
    const big = { rows: 600, cols: 600, data: new Float32Array(360_000) };
    expect(errorOf('sum(big)', { big })).toMatch(/big is too large for formulas/);
  });

  it('too much work is refused', () => {
    const n = 400;
    const M = { rows: n, cols: n, data: new Float32Array(n * n).fill(1) };
    const r = evaluateFormula('M * M', { M });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^Too much computation/) });
    expect(FORMULA_LIMITS.maxWork).toBeLessThan(n ** 3);
  });

  it('syntax errors give the position', () => {
    const r = evaluateFormula('1 +');
    expect(r).toEqual({ ok: false, error: 'Syntax error at character 4: Unexpected end of expression', position: 4 });
    expect(evaluateFormula('(1 + 2')).toMatchObject({ ok: false, position: 7 });
    expect(errorOf('sum(A,, 1)', { A })).toMatch(/^Syntax error at character \d+/);
  });

  it('the parser, import and friends are out of reach', () => {
    for (const expr of ['import({}, {})', 'evaluate("1")', 'parse("1")', 'createUnit("x")', 'simplify("x")', 'derivative("x^2", "x")', 'resolve(1)', 'compile("1")']) {
      const name = expr.slice(0, expr.indexOf('('));
      expect(errorOf(expr)).toBe(`Function ${name} is not available in formulas`);
    }
  });

  it('no property access, objects, strings, function definitions or shadowing', () => {
    expect(errorOf('A.constructor', { A })).toMatch(/Property access/);
    expect(errorOf('sum.constructor')).toMatch(/Property access/);
    expect(errorOf('A["constructor"]', { A })).toMatch(/Property access/);
    expect(errorOf('A[1, "x"]', { A })).toMatch(/Text in quotes/);
    expect(errorOf('{a: 1}')).toMatch(/Objects/);
    expect(errorOf('f(x) = x^2')).toMatch(/Defining functions/);
    expect(errorOf('A = 3', { A })).toMatch(/^Cannot assign to A: it is one of the lesson's values/);
    expect(errorOf('sum = 3')).toMatch(/function name/);
    expect(errorOf('A[1, 1] = 3', { A })).toMatch(/Only a plain name/);
    expect(errorOf('x = sum')).toMatch(/sum is a function/);
    expect(errorOf('config')).toMatch(/Undefined symbol config/);
    expect(errorOf('ones(3)')).toMatch(/^Unknown function ones/);
    expect(errorOf('A(1, 2)', { A })).toMatch(/A is a value, not a function/);
    expect(errorOf('4!')).toMatch(/Operator ! is not available/);
    expect(errorOf('A^2', { A })).toMatch(/use \.\^/);
    expect(errorOf('A / A', { A })).toMatch(/use \.\//);
    expect(errorOf('end')).toMatch(/inside an index/);
    // the scope object is never written to
    const scope = { A };
    evaluateFormula('x = A * 2; x', scope);
    expect(Object.keys(scope)).toEqual(['A']);
  });

  it('empty and non-string input', () => {
    expect(evaluateFormula('   ')).toEqual({ ok: false, error: 'Type a formula' });
    expect(evaluateFormula(42 as unknown as string)).toEqual({ ok: false, error: 'The formula must be text' });
  });
});

describe('rendering', () => {
  it('numbers with up to 6 significant digits', () => {
    expect(formatNumber(1 / 3)).toBe('0.333333');
    expect(formatNumber(1234.56789)).toBe('1234.57');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(0.0000123456)).toBe('1.2346e-5');
    expect(formatNumber(123456789.123)).toBe('1.2346e+8');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
  });

  it('matrices as rows, cut after 8x8 with …', () => {
    const r = evaluateFormula('[1, 2; 3, 4]');
    expect(r.ok && r.text).toBe('2x2 matrix\n[ 1  2 ]\n[ 3  4 ]');
    const big = { rows: 10, cols: 12, data: Array.from({ length: 120 }, (_, i) => i) };
    const text = formatValue(big);
    const lines = text.split('\n');
    expect(lines[0]).toBe('10x12 matrix (first 8x8 shown)');
    expect(lines).toHaveLength(1 + 8 + 1);
    expect(lines[1]).toMatch(/^\[ +0 +1 .* 7 {2}… \]$/);
    expect(lines[9]).toContain('⋮');
    expect(formatValue({ rows: 1, cols: 3, data: [1, 0.5, 2], vector: true })).toBe('vector of 3\n[ 1  0.5  2 ]');
    expect(formatValue({ rows: 1, cols: 2, data: [1, 0], boolean: true })).toBe('1x2 matrix\n[ true  false ]');
  });
});

describe('properties', () => {
  const dim = fc.integer({ min: 1, max: 6 });
  const entry = fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true });

  it('max(abs(A*B - C)) < 1e-9 for C from a hand-written loop', () => {
    fc.assert(
      fc.property(
        dim,
        dim,
        dim,
        fc.infiniteStream(entry),
        (m, k, n, stream) => {
          const it = stream[Symbol.iterator]();
          const a = Array.from({ length: m * k }, () => it.next().value as number);
          const b = Array.from({ length: k * n }, () => it.next().value as number);
          const c = matmul(a, b, m, k, n);
          const scope = {
            A: { rows: m, cols: k, data: a },
            B: { rows: k, cols: n, data: b },
            C: { rows: m, cols: n, data: c },
          };
          const r = evaluateFormula('max(abs(A*B - C))', scope);
          expect(r.ok).toBe(true);
          if (r.ok) expect(r.value as number).toBeLessThan(1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  function wellFormed(r: FormulaResult): boolean {
    return r.ok ? typeof r.text === 'string' && r.value !== undefined : typeof r.error === 'string' && r.error.length > 0;
  }

  it('never throws for random strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        expect(wellFormed(evaluateFormula(s, { A, B }))).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        expect(wellFormed(evaluateFormula(s, { A, B }))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws for random formula-like token soup', () => {
    const token = fc.constantFrom(
      'A', 'B', 'v', 'x', '1', '2', '0', '-1', '1e9', 'end', 'pi', '+', '-', '*', '/', '^', '.*', './', '.^', "'", '(', ')',
      '[', ']', ',', ';', ':', '=', '==', '<', '>', '?', ' ', 'sum(', 'max(', 'abs(', 'norm(', 'size(', 'mean(', 'softmax(',
      'range(', 'dot(', 'import(', 'evaluate(', '"', '{', '}', '.', 'not ', 'and ', 'true', 'NaN', 'Infinity',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
        const r = evaluateFormula(tokens.join(''), { A, B, v: [1, 2, 3] });
        expect(wellFormed(r)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
