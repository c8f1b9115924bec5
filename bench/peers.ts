// WebAssembly peers for the kernel benchmark (Node only, dev dependencies used by nothing else):
// TensorFlow.js's WebAssembly backend (XNNPACK, SIMD), on A·B and A·Bᵀ. Its .wasm binaries ship
// inside the npm package, so this runs offline. Each call uploads A (an activation), multiplies by
// a B kept in the peer's memory (a weight, as the wasm backend keeps weights resident) and reads C
// back: the same work per call as kernels/wasm.ts.
import { createRequire } from 'node:module';
import path from 'node:path';

export interface Peer {
  name: string;
  /** A call computing C[m,n] for A[m,k] and B ([k,n], or [n,k] when transposed), B kept between calls. */
  product(transposeB: boolean, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<() => Promise<Float32Array>>;
}

/** The peers that load here, and why the others did not. */
export async function loadPeers(): Promise<{ peers: Peer[]; unavailable: Array<{ name: string; reason: string }> }> {
  const peers: Peer[] = [];
  const unavailable: Array<{ name: string; reason: string }> = [];
  try {
    peers.push(await loadOrtPeer());
  } catch (e) {
    unavailable.push({ name: 'onnxruntime-web', reason: e instanceof Error ? e.message : String(e) });
  }
  try {
    const tf = await import('@tensorflow/tfjs-core');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
    wasm.setWasmPaths(dir + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") refused');
    await tf.ready();
    const cache = new Map<Float32Array, ReturnType<typeof tf.tensor2d>>();
    peers.push({
      name: 'tfjs-wasm',
      async product(transposeB, a, b, m, k, n) {
        let tb = cache.get(b);
        if (!tb) {
          tb = tf.tensor2d(b, transposeB ? [n, k] : [k, n]);
          cache.set(b, tb);
        }
        const weight = tb;
        return async () => {
          const ta = tf.tensor2d(a, [m, k]);
          const tc = tf.matMul(ta, weight, false, transposeB);
          const c = tc.dataSync() as Float32Array;
          ta.dispose();
          tc.dispose();
          return c;
        };
      },
    });
  } catch (e) {
    unavailable.push({ name: 'tfjs-wasm', reason: e instanceof Error ? e.message : String(e) });
  }
  return { peers, unavailable };
}

// ---- onnxruntime-web: a one-node ONNX graph (MatMul, or Gemm with transB for A·Bᵀ) with B as an
// initializer, written here in protobuf wire format (the few fields ONNX needs) ----

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const enc = new TextEncoder();
const field = (num: number, bytes: ArrayLike<number>): number[] => [...varint((num << 3) | 2), ...varint(bytes.length), ...Array.from(bytes)];
const int = (num: number, v: number): number[] => [...varint(num << 3), ...varint(v)];
const str = (num: number, s: string): number[] => field(num, enc.encode(s));

function valueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => field(1, int(1, d)));
  const tensorType = [...int(1, 1), ...field(2, shape)]; // elem_type FLOAT, shape
  return [...str(1, name), ...field(2, field(1, tensorType))];
}

/** ONNX bytes of C = A·B (or A·Bᵀ), B [k,n] (or [n,k]) an initializer. */
export function productModel(transposeB: boolean, b: Float32Array, m: number, k: number, n: number): Uint8Array {
  const bDims = transposeB ? [n, k] : [k, n];
  const raw = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const init = [...bDims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, 'B'), ...field(9, raw)];
  const attrs = transposeB ? field(5, [...str(1, 'transB'), ...int(3, 1), ...int(20, 2)]) : [];
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'C'), ...str(4, transposeB ? 'Gemm' : 'MatMul'), ...attrs];
  const graph = [...field(1, node), ...str(2, 'product'), ...field(5, init), ...field(11, valueInfo('A', [m, k])), ...field(12, valueInfo('C', [m, n]))];
  return new Uint8Array([...int(1, 8), ...field(8, int(2, 13)), ...field(7, graph)]);
}

/** onnxruntime-web's WebAssembly execution provider, one thread (as the kernels here). */
export async function loadOrtPeer(): Promise<Peer> {
  const ort = await import('onnxruntime-web');
  // one thread, as the kernels here (ORT_THREADS=2 to see both cores: it measured no faster here)
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('onnxruntime-web'));
  ort.env.wasm.numThreads = Number(process.env.ORT_THREADS ?? 1);
  ort.env.wasm.wasmPaths = dir + path.sep;
  const sessions = new Map<string, Awaited<ReturnType<typeof ort.InferenceSession.create>>>();
  return {
    name: 'onnxruntime-web',
    async product(transposeB, a, b, m, k, n) {
      const key = `${transposeB}:${m}x${k}x${n}`;
      let s = sessions.get(key);
      if (!s) {
        s = await ort.InferenceSession.create(productModel(transposeB, b, m, k, n), { executionProviders: ['wasm'] });
        sessions.set(key, s);
      }
      const session = s;
      return async () => {
        const out = await session.run({ A: new ort.Tensor('float32', a, [m, k]) });
        return out.C.data as Float32Array;
      };
    },
  };
}
