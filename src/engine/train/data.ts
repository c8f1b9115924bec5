// Training rows: windows of `seqLen` token ids at random offsets in the training text, drawn by a
// seeded sfc32 whose four-word state is the data position a checkpoint saves. Restoring the state
// gives the same rows in the same order, so a resumed run sees exactly what an uninterrupted one would.

/** sfc32 with its state in the open (four uint32 words), so it can be saved and restored. */
export class SavedRng {
  readonly state: Uint32Array;

  constructor(state: ArrayLike<number>) {
    if (state.length !== 4) throw new Error('SavedRng: the state is four 32-bit words');
    this.state = Uint32Array.from(state);
  }

  /** A generator seeded through splitmix32, warmed up. */
  static fromSeed(seed: number): SavedRng {
    let s = ((Math.trunc(seed) >>> 0) ^ 0x5bd1e995) >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const rng = new SavedRng([split(), split(), split(), split()]);
    for (let i = 0; i < 12; i++) rng.nextUint32();
    return rng;
  }

  nextUint32(): number {
    const st = this.state;
    const a = st[0], b = st[1], c = st[2], d = st[3];
    const t = (((a + b) >>> 0) + d) >>> 0;
    st[3] = (d + 1) >>> 0;
    st[0] = b ^ (b >>> 9);
    st[1] = (c + (c << 3)) >>> 0;
    st[2] = ((((c << 21) | (c >>> 11)) >>> 0) + t) >>> 0;
    return t;
  }

  /** An integer in [0, n) (n <= 2^32; the bias of a plain modulo is below 2^-20 for n < 4096 x 1024 and irrelevant here). */
  below(n: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * n);
  }
}

/** Random windows of a token array, `rows` at a time. */
export class BatchSampler {
  constructor(readonly tokens: Uint8Array | readonly number[], readonly seqLen: number, readonly rng: SavedRng) {
    if (tokens.length < seqLen) throw new Error(`BatchSampler: ${tokens.length} tokens are fewer than one row of ${seqLen}`);
  }

  /** `rows` windows of seqLen consecutive tokens (each start uniform over the valid offsets). */
  next(rows: number): number[][] {
    const span = this.tokens.length - this.seqLen + 1;
    const out: number[][] = [];
    for (let r = 0; r < rows; r++) {
      const start = this.rng.below(span);
      out.push(Array.from(this.tokens.slice(start, start + this.seqLen)));
    }
    return out;
  }
}

/**
 * Windows of a text's ids that overlap by one token, so every character after the first is predicted
 * exactly once (by the window it is not the first of).
 */
export function windows(tokens: ArrayLike<number>, seqLen: number, maxWindows = Infinity): number[][] {
  if (seqLen < 2) throw new Error('windows: seqLen must be at least 2');
  const out: number[][] = [];
  for (let s = 0; s + 2 <= tokens.length && out.length < maxWindows; s += seqLen - 1) {
    out.push(Array.from({ length: Math.min(seqLen, tokens.length - s) }, (_, i) => tokens[s + i]!));
  }
  return out;
}
