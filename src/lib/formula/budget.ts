// The work budget of one formula: element operations counted before each operation runs, and a
// wall-clock deadline checked between operations.
import { FormulaError } from './errors';
import { FORMULA_LIMITS } from './language';

interface Budget {
  work: number;
  deadline: number;
}
let budget: Budget | null = null;

export function charge(n: number): void {
  if (!budget) return;
  budget.work += n;
  if (budget.work > FORMULA_LIMITS.maxWork) {
    throw new FormulaError(`Too much computation (over ${FORMULA_LIMITS.maxWork.toLocaleString('en-US')} element operations); try a smaller piece`);
  }
  if (Date.now() > budget.deadline) {
    throw new FormulaError(`Took too long (over ${FORMULA_LIMITS.maxMs} ms); try a smaller piece`);
  }
}

export function guardElements(n: number, what = 'Result too large'): void {
  if (n > FORMULA_LIMITS.maxElements) {
    throw new FormulaError(`${what} (${n.toLocaleString('en-US')} elements > ${FORMULA_LIMITS.maxElements.toLocaleString('en-US')})`);
  }
}

/** Run `f` with a fresh budget of work and wall-clock time; every charge() inside counts against it. */
export function withBudget<T>(f: () => T): T {
  budget = { work: 0, deadline: Date.now() + FORMULA_LIMITS.maxMs };
  try {
    return f();
  } finally {
    budget = null;
  }
}
