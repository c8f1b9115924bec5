// The lesson kit's reader-facing pieces: tokens shown as characters, the prompt box's text turned
// into a prompt of a lesson's length, and the text input's life in the URL (cut with a notice).
import { describe, expect, it } from 'vitest';
import { glyph, glyphs, promptTokens, visibleText } from '../notebooks/_kit/tokens';
import type { TextInput } from '../notebooks/_kit/types';
import { readUrlState, writeUrlState } from '../src/lib/notebook/url-state';
import { notebookProblems } from '../src/lib/notebook/validate';

describe('tokens as characters', () => {
  it('gives every one of the 128 ids one visible, distinct glyph', () => {
    const all = Array.from({ length: 128 }, (_, i) => glyph(i));
    expect(all.every((g) => g.length >= 1 && g.trim() === g && g !== '')).toBe(true);
    expect(new Set(all).size).toBe(128);
  });
  it('shows space and newline as ␣ and ↵ and letters as themselves', () => {
    expect(visibleText([72, 105, 32, 10, 49])).toBe('Hi\u2423\u21b51');
    expect(glyphs([97, 32])).toEqual(['a', '\u2423']);
  });
});

describe('promptTokens', () => {
  it('cuts a long text to n with a notice and keeps an exact one silent', () => {
    expect(promptTokens('abcdef', 4)).toEqual({ ids: [97, 98, 99, 100], notice: 'The text has 6 characters; the first 4 are used.' });
    expect(promptTokens('abcd', 4).notice).toBe('');
  });
  it('repeats a short text so every length gives a different prompt', () => {
    const p = promptTokens('ab', 5);
    expect(p.ids).toEqual([97, 98, 97, 98, 97]);
    expect(p.notice).toContain('repeated');
    expect(promptTokens('', 2).ids).toEqual([32, 32]);
  });
});

describe('a text input', () => {
  const input: TextInput = { kind: 'text', name: 'text', label: 'Your text', value: 'Once', maxLength: 8, examples: [{ label: 'sum', value: '1+2=3' }] };
  it('round-trips through the URL and is cut to maxLength with a notice', () => {
    const params = writeUrlState([input], { values: { text: 'a b\nc' }, hidden: new Set(), present: null });
    expect(readUrlState([input], params).values.text).toBe('a b\nc');
    const long = readUrlState([input], new URLSearchParams('text=0123456789abc'));
    expect(long.values.text).toBe('01234567');
    expect(long.notices).toEqual(["The link's text has 13 characters; this lesson's model reads 8, so it was cut there."]);
  });
  it('is checked: a default longer than maxLength, or no other example, is a problem', () => {
    const nb = (i: TextInput) => notebookProblems({ inputs: [i], cells: [], sections: [] });
    expect(nb(input)).toEqual([]);
    expect(nb({ ...input, value: '0123456789' }).join()).toContain('longer than maxLength');
    expect(nb({ ...input, examples: [{ label: 'same', value: 'Once' }] }).join()).toContain('needs an example');
  });
});
