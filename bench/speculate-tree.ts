// Drafters side by side on the shipped model (Node), on its own (`npm run bench` prints the same
// table among the others; `npm run bench:browser` prints it for Chromium): tokens per verification
// step, acceptance per draft depth, mean accepted length and the wall-clock and CPU speed-up against
// plain decoding, greedy, temperature 1 exact and typical, prose and arithmetic. The shipped small
// draft model (static/models/drafters/nanoseek-drafter) runs when it is there.
// Run: npx tsx bench/speculate-tree.ts [MODEL_DIR] [--tokens N] [--repeats R] [--draft-dir SMALL_MODEL_DIR | --no-draft] [--json]
import { benchDrafters, formatDrafters } from './drafters.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : fallback; };
const dir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--') && args[i - 1] !== '--json' && args[i - 1] !== '--no-draft'));
const draftAt = args.indexOf('--draft-dir');
const json = args.includes('--json');
const result = await benchDrafters({
  dir, tokens: flag('tokens', 200), repeats: flag('repeats', 3), draftDir: args.includes('--no-draft') ? null : draftAt >= 0 ? args[draftAt + 1] : undefined,
  onProgress: json ? undefined : (line) => console.error(line),
});
console.log(json ? JSON.stringify(result) : formatDrafters(result));
