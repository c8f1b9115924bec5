// The formula evaluator off the page's thread: a formula that computes for a second blocks this
// worker, not the reader's typing, scrolling or a lesson's training (runner.ts stops it if it
// runs too long). One message in, one out: { id, expr, scope } -> { id, result }.
import { evaluateFormula, type FormulaScope } from '../formula';

interface Request { id: number; expr: string; scope: FormulaScope }

self.onmessage = (event: MessageEvent<Request>) => {
  const { id, expr, scope } = event.data;
  self.postMessage({ id, result: evaluateFormula(expr, scope) });
};

// Loaded and listening: the runner starts a formula's time budget from here, so a slow start-up
// (downloading this script and mathjs on a busy machine) is not counted as the formula's time.
self.postMessage({ ready: true });
