// The formula cell rendered on the server (as at prerender). Interaction (typing, the debounce, Enter)
// needs runes' effects in a DOM, which in vitest needs `resolve.conditions: ['browser']` in
// vite.config.ts (STACK.md); the browser tests cover it. The evaluator itself is tests/formula.test.ts.
import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import FormulaCell from '../src/lib/shell/FormulaCell.svelte';

const scope = {
  Wuk: { rows: 2, cols: 3, data: new Float32Array([1, 2, 3, 4, 5, 6]) },
  c: [1, 0],
};

function html(props: Record<string, unknown>): string {
  return render(FormulaCell, { props: props as never }).body;
}

describe('FormulaCell (server render)', () => {
  it('labels the input "Formula" and shows the result of the initial formula', () => {
    const body = html({ scope, initial: "Wuk' * c", label: 'Try it' });
    expect(body).toMatch(/<label for="(formula-input-[^"]+)"[^>]*>Formula<\/label>/);
    const id = /<label for="([^"]+)"/.exec(body)?.[1];
    expect(body).toContain(`id="${id}"`);
    expect(body).toMatch(/<output[^>]*aria-live="polite"/);
    expect(body).toContain('vector of 3');
    expect(body).toContain('[ 1  2  3 ]');
    expect(body).toContain('Try it');
    expect(body).not.toContain('Error:');
  });

  it('shows an error inline with the word Error and marks the input invalid', () => {
    const body = html({ scope, initial: 'Wq * c' });
    expect(body).toMatch(/role="alert"/);
    expect(body).toContain('<strong>Error:</strong>');
    expect(body).toContain('Undefined symbol Wq — available: Wuk, c');
    expect(body).toMatch(/aria-invalid="true"/);
  });

  it('lists names with shapes and descriptions, and example buttons', () => {
    const body = html({ scope, descriptions: { Wuk: 'keys up-projection' }, examples: ['size(Wuk)', 'sum(c)'] });
    expect(body).toContain('2x3');
    expect(body).toContain('vector of 2');
    expect(body).toContain('keys up-projection');
    expect(body).toMatch(/<button type="button" class="example[^"]*"><code[^>]*>size\(Wuk\)<\/code><\/button>/);
    expect(body).toContain('Indices start at 1');
  });

  it('a syntax error shows a caret under the position', () => {
    const body = html({ scope, initial: 'sum(c' });
    expect(body).toContain('Syntax error at character 6');
    expect(body).toContain('sum(c\n     ^');
  });

  it('renders with an empty scope and no formula', () => {
    const body = html({ scope: {} });
    expect(body).toContain('Type a formula to see its value.');
  });
});
