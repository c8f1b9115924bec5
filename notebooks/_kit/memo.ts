// Values kept per object (a signal, an attention head, a model) and key: a slider swept back and
// forth finds what it computed moments ago. At most `size` keys per object, the least recently
// used dropped first; the values live as long as their object (a WeakMap).
export function memoPer<O extends object, V>(size: number): (owner: O, key: string, make: () => V) => V {
  const all = new WeakMap<O, Map<string, V>>();
  return (owner, key, make) => {
    let m = all.get(owner);
    if (!m) all.set(owner, (m = new Map()));
    if (m.has(key)) {
      const v = m.get(key)!;
      m.delete(key);
      m.set(key, v);
      return v;
    }
    const v = make();
    if (m.size >= size) m.delete(m.keys().next().value!);
    m.set(key, v);
    return v;
  };
}
