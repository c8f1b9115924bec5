// Fuzzing the checkpoint loader (issue 17): seeded random byte flips, truncations and header
// mutations of the two small golden checkpoints. Every outcome must be either a correct load (a
// forward pass giving finite logits of the right shape) or an EngineInputError whose message is
// one bounded line: never another exception, a hang or a stack trace. Most cases run in-process
// (fast); a handful go through the real CLI. Seeded: a failure names its case number to replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineInputError, createRng, loadModel, type Rng } from '../src/engine/index.js';
import { runCli } from './helpers/cli.js';
import { copyCase, joinSafetensorsText, splitSafetensors } from './helpers/model-case.js';
import { goldenDir } from './helpers/paths.js';

const SEED = 0x17;
const CASES = 2000;

interface Golden { name: string; config: string; weights: Uint8Array; ids: number[] }
const golden: Golden[] = ['a_dense_tiny', 'b_moe_mtp_tiny'].map((name) => ({
  name,
  config: readFileSync(path.join(goldenDir(name), 'config.json'), 'utf8'),
  weights: new Uint8Array(readFileSync(path.join(goldenDir(name), 'model.safetensors'))),
  ids: JSON.parse(readFileSync(path.join(goldenDir(name), 'input.json'), 'utf8')).input_ids,
}));

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

/** Values a header field might be corrupted to. */
const HOSTILE_VALUES: readonly unknown[] = [
  null, true, -1, 0, 1, 1.5, 2 ** 53, 2 ** 64, 1e300, -1e300, 'F32', 'Q9', '', [], {}, [[[[1]]]], [1, 2, 3],
  '\u001b[2J\n', 'x'.repeat(5000), { dtype: 'F32' }, [0], [-1, 4], [4, 0],
];

type Mutation = { kind: string; bytes: Uint8Array };

function mutate(rng: Rng, original: Uint8Array): Mutation {
  const { header, data } = splitSafetensors(original);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const rebuild = (h: unknown, d: Uint8Array = data) => joinSafetensorsText(typeof h === 'string' ? h : JSON.stringify(h), d);
  const headerEnd = original.length - data.length;
  switch (int(rng, 7)) {
    case 0: { // byte flips, mostly in the header
      const bytes = original.slice();
      const n = 1 + int(rng, 8);
      for (let i = 0; i < n; i++) {
        const at = rng() < 0.7 ? int(rng, headerEnd) : int(rng, bytes.length);
        bytes[at] = bytes[at]! ^ (1 << int(rng, 8));
      }
      return { kind: 'byte flips', bytes };
    }
    case 1: // truncation anywhere
      return { kind: 'truncation', bytes: original.slice(0, int(rng, original.length)) };
    case 2: { // the 8-byte header length
      const bytes = original.slice();
      const view = new DataView(bytes.buffer);
      const choices = [0, 1, 7, headerEnd - 8 - 1, headerEnd - 8 + 1, bytes.length, 0xffffffff];
      view.setUint32(0, pick(rng, choices), true);
      if (rng() < 0.3) view.setUint32(4, 1 + int(rng, 1000), true);
      return { kind: 'header length', bytes };
    }
    case 3: { // a field of one entry replaced
      const name = pick(rng, names);
      const field = pick(rng, ['dtype', 'shape', 'data_offsets']);
      const entry = { ...(header[name] as unknown as Record<string, unknown>) };
      entry[field] = rng() < 0.5 ? pick(rng, HOSTILE_VALUES) : field === 'shape'
        ? (header[name]!.shape).map((d) => d + int(rng, 3) - 1)
        : field === 'data_offsets' ? header[name]!.data_offsets.map((o) => o + int(rng, 9) - 4) : pick(rng, ['F16', 'BF16', 'F64', 'F8_E4M3', 'I8']);
      return { kind: `entry ${field}`, bytes: rebuild({ ...header, [name]: entry }) };
    }
    case 4: { // entries removed, duplicated, renamed or added
      const h: Record<string, unknown> = { ...header };
      const name = pick(rng, names);
      const op = int(rng, 4);
      if (op === 0) delete h[name];
      if (op === 1) return { kind: 'duplicate key', bytes: rebuild(`{${JSON.stringify(name)}:${JSON.stringify(header[name])},${JSON.stringify(h).slice(1)}`) };
      if (op === 2) { h[`${name}\u001b[31m`] = h[name]; delete h[name]; }
      if (op === 3) h[pick(rng, ['__proto__', 'constructor', 'x\ny', ''])] = pick(rng, HOSTILE_VALUES);
      return { kind: ['removed', '', 'renamed', 'added'][op]!, bytes: rebuild(h) };
    }
    case 5: { // __metadata__ and deep nesting
      const h: Record<string, unknown> = { ...header };
      if (rng() < 0.5) h['__metadata__'] = pick(rng, HOSTILE_VALUES);
      else h[pick(rng, names)] = JSON.parse('['.repeat(2000) + ']'.repeat(2000));
      return { kind: 'metadata or nesting', bytes: rebuild(h) };
    }
    default: { // data bytes: NaN or huge values written over a random tensor element
      const bytes = original.slice();
      const name = pick(rng, names);
      const [b, e] = header[name]!.data_offsets;
      if (e > b) {
        const at = headerEnd + b + 4 * int(rng, (e - b) / 4);
        new DataView(bytes.buffer).setFloat32(at, pick(rng, [NaN, Infinity, -Infinity, 3e38, 1e-45, -0]), true);
      }
      return { kind: 'data value', bytes };
    }
  }
}

type Outcome = 'loaded' | 'refused';

/** Load, run, and classify; anything but a clean load or a clean EngineInputError fails the test. */
function attempt(g: Golden, m: Mutation, index: number): Outcome {
  try {
    const model = loadModel(g.config, m.bytes, { weightsFile: 'model.safetensors' });
    const out = model.forward(g.ids);
    expect(out.logits.length, `case ${index} (${m.kind})`).toBe(g.ids.length * model.config.vocab_size);
    for (const x of out.logits) if (!Number.isFinite(x)) throw new Error(`case ${index} (${m.kind}): a non-finite logit passed silently`);
    return 'loaded';
  } catch (e) {
    if (!(e instanceof EngineInputError)) throw new Error(`case ${index} (${m.kind}): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    const msg = e.message;
    expect(msg, `case ${index} (${m.kind})`).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/); // one line, no raw control character
    expect(msg.length, `case ${index} (${m.kind})`).toBeLessThan(2000);
    return 'refused';
  }
}

describe('fuzzing the checkpoint loader', () => {
  it(`${CASES} seeded mutations end as a correct load or a one-line input error`, { timeout: 120_000 }, () => {
    const rng = createRng(SEED);
    const tally = new Map<string, Record<Outcome, number>>();
    const t0 = performance.now();
    for (let i = 0; i < CASES; i++) {
      const g = golden[i % golden.length]!;
      const m = mutate(rng, g.weights);
      const outcome = attempt(g, m, i);
      const row = tally.get(m.kind) ?? { loaded: 0, refused: 0 };
      row[outcome]++;
      tally.set(m.kind, row);
    }
    const ms = performance.now() - t0;
    console.log(`fuzz: ${CASES} cases in ${(ms / 1000).toFixed(1)} s: ${[...tally].map(([k, r]) => `${k} ${r.loaded} loaded/${r.refused} refused`).join('; ')}`);
    // Both outcomes occur: the mutations are neither all harmless nor all caught by one check.
    const totals = [...tally.values()].reduce((a, r) => ({ loaded: a.loaded + r.loaded, refused: a.refused + r.refused }), { loaded: 0, refused: 0 });
    expect(totals.loaded).toBeGreaterThan(0);
    expect(totals.refused).toBeGreaterThan(CASES / 2);
  });

  describe('through the CLI', { timeout: 60_000 }, () => {
    let tmp = '';
    beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'nanoseek-fuzz-')); });
    afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

    it('8 seeded mutations: exit 0 with JSON, or exit 2 with one line and nothing on stdout', async () => {
      const rng = createRng(SEED + 1);
      const runs = Array.from({ length: 8 }, (_, i) => {
        const g = golden[i % golden.length]!;
        const c = copyCase(tmp, g.name, `fuzz-${i}`);
        const m = mutate(rng, g.weights);
        writeFileSync(c.weights, m.bytes);
        return runCli(['forward', '--model', c.dir, '--input', c.input, '--json'], { timeoutMs: 20_000 }).then((r) => ({ r, m, i }));
      });
      for (const { r, m, i } of await Promise.all(runs)) {
        const shown = `case ${i} (${m.kind}): exit ${r.code} signal ${r.signal}\n${r.stderr.slice(0, 2000)}`;
        expect(r.signal, shown).toBeNull();
        if (r.code === 0) {
          expect(JSON.parse(r.stdout).logits.length, shown).toBeGreaterThan(0);
        } else {
          expect(r.code, shown).toBe(2);
          expect(r.stdout, shown).toBe('');
          expect(r.stderr, shown).toMatch(/^error: [^\n]*\n$/);
        }
      }
    });
  });
});
