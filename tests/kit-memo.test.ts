// The lessons' per-object memo (notebooks/_kit/memo.ts): a hit returns the kept value without
// computing; past `size` keys per object the least recently used is computed again; objects do not
// share keys.
import { describe, expect, it } from 'vitest';
import { memoPer } from '../notebooks/_kit/memo';

describe('memoPer', () => {
  it('keeps `size` keys per object, dropping the least recently used', () => {
    const memo = memoPer<object, string>(2);
    const owner = {}, other = {};
    let made = 0;
    const get = (o: object, k: string) => memo(o, k, () => `${k}${++made}`);
    expect(get(owner, 'a')).toBe('a1');
    expect(get(owner, 'b')).toBe('b2');
    expect(get(owner, 'a')).toBe('a1'); // a hit: a is now the most recent
    expect(get(owner, 'c')).toBe('c3'); // drops b, the least recently used
    expect(get(owner, 'a')).toBe('a1');
    expect(get(owner, 'b')).toBe('b4');
    expect(get(other, 'a')).toBe('a5'); // another object, its own keys
    expect(made).toBe(5);
  });
});
