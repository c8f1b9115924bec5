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
 *   In the browser the cell runs this in a Web Worker (formula/runner.ts), so no formula blocks the page.
 *
 * Where the parts are (src/lib/formula/): language.ts (limits, functions, refused names), engine.ts
 * (the mathjs instance and its namespace), functions.ts and ops.ts (the guarded operations),
 * shapes.ts, budget.ts, scope.ts (a lesson's values in), check.ts (the tree check), humanize.ts
 * (mathjs's errors in the reader's words), format.ts (results out), worker.ts and runner.ts.
 */
import type { MathNode } from 'mathjs';
import { withBudget } from './formula/budget';
import { check } from './formula/check';
import { getEngine } from './formula/engine';
import { FormulaError } from './formula/errors';
import { formatValue, toFormulaValue } from './formula/format';
import { humanize } from './formula/humanize';
import { FORBIDDEN_CALL, FORMULA_LIMITS } from './formula/language';
import { convert } from './formula/scope';
import type { FormulaResult, FormulaScope } from './formula/types';

export { FORMULA_FUNCTIONS, FORMULA_HELP, FORMULA_LIMITS } from './formula/language';
export { describeScope } from './formula/scope';
export { formatNumber, formatValue } from './formula/format';
export type { FormulaMatrix, FormulaResult, FormulaScope, FormulaScopeValue, FormulaValue, ScopeEntry } from './formula/types';

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

    const raw = withBudget(() => node.compile().evaluate(values));
    const value = toFormulaValue(raw, eng.isMatrix);
    return { ok: true, value, text: formatValue(value) };
  } catch (err) {
    try {
      return { ok: false, error: humanize(err).message };
    } catch {
      return { ok: false, error: 'The formula could not be evaluated' };
    }
  }
}

