// The shipped model's curve (static/models/nanoseek-*/train-log.jsonl, written by the engine's
// trainer as it trained that model), drawn beside the live run as a reference: its held-out bits per
// character and MTP agreement at each evaluation, against characters seen (step x batch x predicted
// characters per row, from the log's own start line). Fetched once in a page, read from disk in Node.

const logs = import.meta.glob('../../static/models/nanoseek-*/train-log.jsonl', { eager: true, query: '?url', import: 'default' }) as Record<string, string>;
const entry = Object.keys(logs).sort()[0];
const folder = entry?.split('/').at(-2) ?? null;

export interface ShippedCurve {
  name: string;
  /** Characters per step of that run (batch x (seq_len - 1)). */
  charsPerStep: number;
  points: { chars: number; bpc: number; greedy: number | null; sampled: number | null }[];
}

/** The evaluation lines of a training log (JSON lines); null when it has no start line with batch and seq_len. */
export function parseTrainLog(text: string, name: string): ShippedCurve | null {
  let charsPerStep = 0;
  const points: ShippedCurve['points'] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (r.type === 'start') {
      const o = r.options as { batch?: number; seq_len?: number } | undefined;
      if (o?.batch && o.seq_len) charsPerStep = o.batch * (o.seq_len - 1);
    } else if (r.type === 'eval' && charsPerStep > 0 && typeof r.step === 'number' && typeof r.bits_per_char === 'number' && r.final !== true) {
      points.push({ chars: r.step * charsPerStep, bpc: r.bits_per_char, greedy: (r.mtp_greedy_agreement as number | null) ?? null, sampled: (r.mtp_sampled_acceptance as number | null) ?? null });
    }
  }
  return charsPerStep > 0 && points.length > 0 ? { name, charsPerStep, points } : null;
}

let curve: Promise<ShippedCurve | null> | null = null;

/** The shipped model's curve, or null when no model (or no log) is shipped or it cannot be read. */
export function shippedCurve(): Promise<ShippedCurve | null> {
  if (!entry || !folder) return Promise.resolve(null);
  curve ??= (async () => {
    let text: string;
    if (typeof window === 'undefined') {
      const fs = 'node:fs/promises';
      const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
      text = await readFile(`static/models/${folder}/train-log.jsonl`, 'utf8');
    } else {
      const r = await fetch(logs[entry]!);
      if (!r.ok) return null;
      text = await r.text();
    }
    return parseTrainLog(text, folder);
  })().catch(() => null);
  return curve;
}
