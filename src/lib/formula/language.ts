// The small language a formula is written in: its limits, the functions it may call (for help
// text), the names it may never reach, and its constants.

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

/** mathjs functions that could reach the parser or change the instance: refused everywhere. */
export const FORBIDDEN = ['import', 'createUnit', 'evaluate', 'parse', 'simplify', 'derivative', 'resolve', 'compile'] as const;
export const FORBIDDEN_SET = new Set<string>(FORBIDDEN);
/** Caught before parsing too, so `import({}, {})` says so rather than "objects are not supported". */
export const FORBIDDEN_CALL = new RegExp(`(?<![\\w$.])(${FORBIDDEN.join('|')})\\s*\\(`);
export const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E, Infinity: Infinity, NaN: NaN };
