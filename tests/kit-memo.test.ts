// The lessons' per-object memo (notebooks/_kit/memo.ts): a hit returns the kept value without
// computing; past `size` keys per object the least recently used is computed again; objects do not
// share keys.
import { describe, expect, it } from 'vitest';
import { Lru, keptJob, memoPer } from '../notebooks/_kit/memo';

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

describe('keptJob', () => {
  it('keeps a job\'s promise by key; a failed one is dropped, unless another has taken its key meanwhile', async () => {
    const lru = new Lru<Promise<number>>(4);
    let made = 0;
    const ok = () => keptJob(lru, 'a', () => Promise.resolve(++made));
    expect(await ok()).toBe(1);
    expect(await ok()).toBe(1); // kept: not made again
    let fail = (_: Error) => {};
    const failing = keptJob(lru, 'b', () => new Promise<number>((_, reject) => (fail = reject)));
    lru.delete('b');
    const newer = keptJob(lru, 'b', () => Promise.resolve(7));
    fail(new Error('worker failed'));
    await expect(failing).rejects.toThrow('worker failed');
    expect(lru.peek('b')).toBe(newer); // the newer promise stays
    await expect(keptJob(lru, 'c', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await Promise.resolve();
    expect(lru.has('c')).toBe(false); // asked again next time
  });
});
