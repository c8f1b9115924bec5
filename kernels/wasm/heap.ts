// Allocation inside one WebAssembly memory, done from JS: the kernels (assembly/simd.ts) only read
// and write where they are told. First fit over a sorted free list, neighbours merged on free, and
// memory.grow (by at least half its size) when nothing fits. Blocks are 16-byte aligned (f32x4 loads).

const ALIGN = 16;
const PAGE = 65536;

export class WasmHeap {
  /** Free blocks [start, size], sorted by start, never adjacent (merged). */
  readonly #free: Array<[number, number]> = [];
  readonly #sizes = new Map<number, number>();
  #top: number;
  #buffer: ArrayBuffer;
  #f32: Float32Array;
  #f64: Float64Array;

  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.#top = Math.ceil(base / ALIGN) * ALIGN;
    this.#buffer = memory.buffer;
    this.#f32 = new Float32Array(this.#buffer);
    this.#f64 = new Float64Array(this.#buffer);
  }

  /**
   * The memory's current buffer. WebAssembly.Memory's buffer getter is a call into the engine
   * (~1.5% of a decode step when read per operand), so the buffer is kept and fetched again only
   * once it is detached (byteLength 0: the memory grew, here or elsewhere).
   */
  get buffer(): ArrayBuffer {
    if (this.#buffer.byteLength === 0) this.#buffer = this.memory.buffer;
    return this.#buffer;
  }

  /** Bytes handed out and not freed. */
  get used(): number {
    let s = 0;
    for (const v of this.#sizes.values()) s += v;
    return s;
  }

  /** A float32 view of the whole memory (renewed after a grow, which detaches the old buffer). */
  get f32(): Float32Array {
    if (this.#f32.buffer !== this.buffer) this.#views();
    return this.#f32;
  }

  get f64(): Float64Array {
    if (this.#f64.buffer !== this.buffer) this.#views();
    return this.#f64;
  }

  #views(): void {
    this.#f32 = new Float32Array(this.buffer);
    this.#f64 = new Float64Array(this.buffer);
  }

  /** A block of at least `bytes` bytes; its byte offset. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.#free.length; i++) {
      const [start, free] = this.#free[i];
      if (free < size) continue;
      if (free === size) this.#free.splice(i, 1);
      else this.#free[i] = [start + size, free - size];
      this.#sizes.set(start, size);
      return start;
    }
    const start = this.#top;
    const end = start + size;
    const have = this.buffer.byteLength;
    // grow by at least half the memory: every grow detaches each view of it (remade on next use)
    if (end > have) this.memory.grow(Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 2)));
    this.#top = end;
    this.#sizes.set(start, size);
    return start;
  }

  free(ptr: number): void {
    const size = this.#sizes.get(ptr);
    if (size === undefined) throw new Error(`WasmHeap.free: ${ptr} is not an allocated block`);
    this.#sizes.delete(ptr);
    let i = 0;
    while (i < this.#free.length && this.#free[i][0] < ptr) i++;
    this.#free.splice(i, 0, [ptr, size]);
    // merge with the next, then the previous block
    if (i + 1 < this.#free.length && this.#free[i][0] + this.#free[i][1] === this.#free[i + 1][0]) {
      this.#free[i][1] += this.#free[i + 1][1];
      this.#free.splice(i + 1, 1);
    }
    if (i > 0 && this.#free[i - 1][0] + this.#free[i - 1][1] === this.#free[i][0]) {
      this.#free[i - 1][1] += this.#free[i][1];
      this.#free.splice(i, 1);
      i--;
    }
    // a free block at the top goes back to the top
    const last = this.#free[this.#free.length - 1];
    if (last && last[0] + last[1] === this.#top) {
      this.#top = last[0];
      this.#free.pop();
    }
  }
}
