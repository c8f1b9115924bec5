// Checking the parsed expression: only the small language the cell offers gets compiled.
import type { MathNode } from 'mathjs';
import { FormulaError } from './errors';
import { CONSTANTS, FORBIDDEN_SET, FORMULA_FUNCTIONS } from './language';
import type { FormulaScope } from './types';

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
export function check(root: MathNode, scope: FormulaScope, functionNames: string[]): Set<string> {
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
