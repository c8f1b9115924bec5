// Preloaded into a CLI child by tests/helpers/cli.ts (measureRss): on exit, the process writes its
// peak resident memory (kilobytes, from the OS) to the file NANOSEEK_RSS_FILE names.
import { writeFileSync } from 'node:fs';

const out = process.env.NANOSEEK_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
