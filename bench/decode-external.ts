// Decode speed measured from outside the process, as a user sees it: the wall time of the CLI's
// `generate --max-new-tokens 1010` minus that of `--max-new-tokens 10` (start-up, loading and
// prefill cancel), on golden case b's model with max_position_embeddings raised so the context
// can grow from 10 to 1010 tokens. tokens/s = 1000 / (difference). Best of `repeats` runs each.
// Where /usr/bin/time exists the child's CPU time (user + system) is reported beside the wall
// time: on a shared, loaded machine the wall-time difference is mostly other processes' noise.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const golden = path.join(root, 'tests/fixtures/golden/b_moe_mtp_tiny');

export interface ExternalDecodeRow {
  attention: string;
  backend: string;
  shortMs: number;
  longMs: number;
  tokensPerSec: number;
  /** The same from the child's CPU time (user + system), when /usr/bin/time is there. */
  cpuTokensPerSec: number | null;
}

const TIME = '/usr/bin/time';

function runMs(dir: string, tokens: number, attention: string, backend: string | null): { wall: number; cpu: number | null } {
  const args = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'generate', '--model', dir, '--input', path.join(dir, 'input.json'),
    '--max-new-tokens', String(tokens), '--greedy', '--attention', attention, ...(backend ? ['--backend', backend] : [])];
  const timed = existsSync(TIME);
  const t = performance.now();
  const r = timed
    ? spawnSync(TIME, ['-f', 'cpu %U %S', process.execPath, ...args], { cwd: root, encoding: 'utf8' })
    : spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`generate ${tokens} (${attention}, ${backend ?? 'default'}) failed: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  const m = timed ? /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr) : null;
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : null };
}

export function benchDecodeExternal(options: { attentions?: string[]; backends?: Array<string | null>; repeats?: number; long?: number } = {}): ExternalDecodeRow[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'nanoseek-decode-'));
  const long = options.long ?? 1010, short = 10;
  try {
    const config = JSON.parse(readFileSync(path.join(golden, 'config.json'), 'utf8'));
    config.max_position_embeddings = 4096;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    copyFileSync(path.join(golden, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    copyFileSync(path.join(golden, 'input.json'), path.join(dir, 'input.json'));
    const rows: ExternalDecodeRow[] = [];
    for (const backend of options.backends ?? [null]) {
      for (const attention of options.attentions ?? ['absorbed', 'decompressed']) {
        let shortMs = Infinity, longMs = Infinity, shortCpu = Infinity, longCpu = Infinity;
        for (let r = 0; r < (options.repeats ?? 3); r++) {
          const a = runMs(dir, short, attention, backend), b = runMs(dir, long, attention, backend);
          shortMs = Math.min(shortMs, a.wall);
          longMs = Math.min(longMs, b.wall);
          shortCpu = Math.min(shortCpu, a.cpu ?? Infinity);
          longCpu = Math.min(longCpu, b.cpu ?? Infinity);
        }
        const perSec = (ms: number) => Math.round(((long - short) * 1000) / ms);
        rows.push({
          attention, backend: backend ?? 'default', shortMs: Math.round(shortMs), longMs: Math.round(longMs), tokensPerSec: perSec(longMs - shortMs),
          cpuTokensPerSec: Number.isFinite(longCpu - shortCpu) ? perSec(longCpu - shortCpu) : null,
        });
      }
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDecodeExternal(rows: ExternalDecodeRow[]): string {
  const lines = ['decode from outside the process (golden-b shape, context 10 -> 1010): (t[generate 1010] - t[generate 10]) per 1000 tokens'];
  lines.push('backend'.padEnd(12) + 'attention'.padEnd(15) + 'generate 10'.padStart(13) + 'generate 1010'.padStart(15) + 'tokens/s'.padStart(10) + 'by CPU time'.padStart(13));
  for (const r of rows) lines.push(r.backend.padEnd(12) + r.attention.padEnd(15) + `${r.shortMs} ms`.padStart(13) + `${r.longMs} ms`.padStart(15) + String(r.tokensPerSec).padStart(10) + String(r.cpuTokensPerSec ?? '-').padStart(13));
  return lines.join('\n');
}
