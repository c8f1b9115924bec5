// Does timing choose the kernels reproducibly here? Runs the selector's measurement `runs` times
// (no gpu.js, no stored table) and prints, for every op and size bucket, each run's choice (with
// the loop/wasm CPU-time ratio, and '*' where the cell did not settle), and the cells whose choice
// differed between runs. `npx tsx bench/selector-stability.ts [runs] [--quick]`.
import { OP_NAMES } from '../kernels/backend.js';
import { BUCKET_NAMES, selectBackend } from '../kernels/select.js';

const runs = Number(process.argv[2] ?? 5);
const quick = process.argv.includes('--quick');
const choices = new Map<string, string[]>();
const cpu0 = process.cpuUsage();
for (let r = 0; r < runs; r++) {
  const be = await selectBackend({ quick, gpujs: false, warn: () => {} });
  for (const op of OP_NAMES) for (const b of BUCKET_NAMES) {
    const cell = be.report.ops[op].buckets[b];
    const t = cell.timingsMs;
    const key = `${op} ${b}`;
    const ratio = t.loop && t.wasm ? (t.loop / t.wasm).toFixed(2) : '-';
    (choices.get(key) ?? choices.set(key, []).get(key)!).push(`${be.routeOf(op, b)}(${ratio}${cell.measured && cell.stable === false ? '*' : ''})`);
  }
  console.log(`run ${r + 1}: measured in ${Math.round(be.report.measureMs)} ms (wall)`);
  be.destroy();
}
let flips = 0;
for (const [key, cs] of choices) {
  const names = new Set(cs.map((c) => c.split('(')[0]));
  if (names.size > 1) flips++;
  console.log(`${names.size > 1 ? 'DIFFERS' : 'same   '} ${key.padEnd(24)} ${cs.join(' ')}`);
}
const c = process.cpuUsage(cpu0);
console.log(`${flips} of ${choices.size} cells chose differently across ${runs} runs (loop/wasm time ratio in brackets); CPU ${((c.user + c.system) / 1e6).toFixed(1)} s`);
