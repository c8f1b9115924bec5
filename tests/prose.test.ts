// Lesson prose: the Markdown subset, TeX through KaTeX (display math even mid-paragraph), and
// escaping of everything else.
import { describe, expect, it } from 'vitest';
import { renderProse } from '../src/lib/server/prose.js';

describe('renderProse', () => {
  it('paragraphs, lists, emphasis, code and links', () => {
    const html = renderProse('A **bold** and *em* word with `x < y`.\n\n- one\n- two\n\n1. first\n2. second\n\nSee [the paper](https://arxiv.org/abs/2412.19437).');
    expect(html).toContain('<p>A <strong>bold</strong> and <em>em</em> word with <code>x &lt; y</code>.</p>');
    expect(html).toContain('<ul><li>one</li><li>two</li></ul>');
    expect(html).toContain('<ol><li>first</li><li>second</li></ol>');
    expect(html).toContain('<a href="https://arxiv.org/abs/2412.19437" rel="noreferrer">the paper</a>');
  });

  it('inline and display math, display math inside a paragraph gets its own block', () => {
    const html = renderProse('Before $x^2$ then\n$$\\frac{a}{b}$$\nafter.');
    const blocks = html.split('\n');
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toMatch(/^<p>Before <span class="katex">/);
    expect(blocks[1]).toMatch(/^<div class="math-display"><span class="katex-display">/);
    expect(blocks[2]).toBe('<p>after.</p>');
  });

  it('escapes HTML that is not markup of the subset', () => {
    const html = renderProse('<script>alert(1)</script> & "quotes"');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('&amp;');
  });

  it('a TeX error fails loudly (at build time) instead of rendering a red blob', () => {
    expect(() => renderProse('$\\frac{a}$')).toThrow();
  });
});
