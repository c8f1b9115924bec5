// `npm run bench`: the kernel table (every op and size on every backend that works here) and the
// engine table (prefill/decode tokens per second per attention path, cache bytes per token,
// speculative vs plain decoding), on the reference, the tuned loop and the measured choice "auto".
// `--json` prints one JSON object; `--quick` runs fewer sizes and repetitions.
import { loopBackend } from '../kernels/loop.js';
import { referenceBackend } from '../kernels/reference.js';
import { selectBackend } from '../kernels/select.js';
import { benchEngine, formatEngineBench } from './engine.js';
import { benchKernels, formatBench } from './kernels.js';

async function main(argv: readonly string[]): Promise<void> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const log = json ? () => {} : (line: string) => console.error(line);
  const kernels = await benchKernels({ quick, onProgress: log });
  if (!json) console.log(formatBench(kernels) + '\n');
  const auto = await selectBackend({ quick: true });
  const engine = [];
  for (const backend of [referenceBackend, loopBackend, auto]) {
    const result = benchEngine({ backend, repeats: quick ? 1 : 3, decodeSteps: quick ? 64 : 256 });
    engine.push(result);
    if (!json) console.log(formatEngineBench(result) + '\n');
  }
  auto.destroy();
  if (json) console.log(JSON.stringify({ kernels, engine, autoReport: auto.report }));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
