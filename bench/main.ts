// `npm run bench`: the kernel table (every op and size on every backend that works here, A·B and
// A·Bᵀ also at the engine's shapes and against WebAssembly peers), the engine table (prefill/decode
// tokens per second per attention path, cache bytes per token, speculative vs plain decoding) on
// the reference, the tuned loop, the wasm kernels and the measured choice "auto", and decode
// measured from outside the process with the CLI's default backend; then training characters per
// second (golden-b and shipped shape, one and two threads) beside the PyTorch twin measured in this
// run, and the native matmul peak beside the wasm kernels (bench/train-report.ts); then the drafters
// on the shipped model (bench/drafters.ts: tokens per verification step, acceptance per draft depth
// and speed-up of the MTP chain, the shipped small draft model, Medusa heads as a chain and as trees,
// greedy and temperature 1, prose and arithmetic; `npm run bench:browser` prints it for Chromium).
// `--json` prints one JSON object; `--quick` runs fewer sizes and repetitions; `--drafters` runs only
// the drafters table.
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { selectBackend } from '../kernels/select.js';
import { createWasmBackend } from '../kernels/wasm.js';
import { benchDecodeExternal, formatDecodeExternal } from './decode-external.js';
import { benchDrafters, formatDrafters } from './drafters.js';
import { benchEngine, formatEngineBench } from './engine.js';
import { benchKernels, formatBench } from './kernels.js';
import { loadPeers } from './peers.js';
import { benchTrainReport, formatTrainReport } from './train-report.js';

async function main(argv: readonly string[]): Promise<void> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const log = json ? () => {} : (line: string) => console.error(line);
  if (argv.includes('--drafters')) {
    const drafters = await benchDrafters({ tokens: quick ? 64 : 200, repeats: quick ? 1 : 3, onProgress: log });
    console.log(json ? JSON.stringify({ drafters }) : formatDrafters(drafters));
    return;
  }
  const { peers, unavailable } = await loadPeers();
  const kernels = await benchKernels({ quick, onProgress: log, peers, peersUnavailable: unavailable });
  if (!json) console.log(formatBench(kernels) + '\n');
  const auto = await selectBackend({ quick: true });
  const wasm = await createWasmBackend();
  const engine = [];
  for (const backend of [referenceBackend, loopBackend, wasm, auto]) {
    const result = benchEngine({ backend, repeats: quick ? 1 : 3, decodeSteps: quick ? 64 : 256 });
    engine.push(result);
    if (!json) console.log(formatEngineBench(result) + '\n');
  }
  auto.destroy();
  const decode = benchDecodeExternal({ repeats: quick ? 1 : 3, backends: quick ? [null] : [null, 'loop'] });
  if (!json) console.log(formatDecodeExternal(decode) + '\n');
  const train = await benchTrainReport({ quick, kernels, log });
  if (!json) console.log(formatTrainReport(train) + '\n');
  const drafters = await benchDrafters({ tokens: quick ? 64 : 200, repeats: quick ? 1 : 3, onProgress: log });
  if (!json) console.log(formatDrafters(drafters));
  if (json) console.log(JSON.stringify({ kernels, engine, decode, train, drafters, autoReport: auto.report }));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
