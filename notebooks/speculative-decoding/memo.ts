// Keys for the lesson's memos (the least-recently-used memo itself is the kit's: _kit/memo.ts Lru).
/** A stable id per object (models, backends), for memo keys. */
const ids = new WeakMap<object, number>();
let next = 1;
export function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = next++));
  return id;
}

