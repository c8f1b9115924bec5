// The golden cases in tests/fixtures/golden (answers of an independent float64 PyTorch implementation),
// matched through the CLI as a user would run it. Tolerances from golden/README.md: logits and MTP
// logits 1e-3, gate weights 1e-4, expert sets, groups and greedy tokens exact.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { goldenDir } from './helpers/paths.js';

interface RoutingJson { experts: number[][]; weights: number[][]; groups: number[][] }

function maxAbsDiff(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i][j])); });
  });
  return worst;
}

function expectRouting(actual: RoutingJson, expected: RoutingJson, what: string) {
  expected.experts.forEach((experts, t) => {
    expect([...actual.experts[t]].sort((x, y) => x - y), `${what} token ${t} experts`).toEqual([...experts].sort((x, y) => x - y));
    experts.forEach((e, k) => {
      const w = actual.weights[t][actual.experts[t].indexOf(e)];
      expect(Math.abs(w - expected.weights[t][k]), `${what} token ${t} expert ${e} weight`).toBeLessThan(1e-4);
    });
    expect(actual.groups[t], `${what} token ${t} groups`).toEqual(expected.groups[t]);
  });
}

for (const name of ['a_dense_tiny', 'b_moe_mtp_tiny']) {
  const dir = goldenDir(name);
  const input = path.join(dir, 'input.json');
  const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'));

  describe(`golden ${name}`, () => {
    it('forward: logits, routing and MTP logits', async () => {
      const r = await runCli(['forward', '--model', dir, '--input', input, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(maxAbsDiff(out.logits, expected.logits)).toBeLessThan(1e-3);
      const layers = Object.keys(expected.routing);
      expect(Object.keys(out.routing).sort()).toEqual(layers.sort());
      for (const layer of layers) expectRouting(out.routing[layer], expected.routing[layer], layer);
      if (expected.mtp) {
        expect(out.mtp.input_next_tokens).toEqual(expected.mtp.input_next_tokens);
        expect(maxAbsDiff(out.mtp.logits, expected.mtp.logits)).toBeLessThan(1e-3);
        for (const layer of Object.keys(expected.mtp.routing)) expectRouting(out.mtp.routing, expected.mtp.routing[layer], `mtp ${layer}`);
      } else {
        expect(out.mtp).toBeUndefined();
      }
    });

    for (const attention of ['absorbed', 'decompressed', 'full-cache', 'recompute']) {
      it(`generate: 8 cached greedy tokens, ${attention}`, async () => {
        const r = await runCli(['generate', '--model', dir, '--input', input, '--max-new-tokens', '8', '--greedy', '--attention', attention, '--json']);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout).tokens).toEqual(expected.greedy_decode.tokens);
      });
    }

    if (expected.mtp) {
      for (const gamma of ['1', '3']) {
        it(`speculate: greedy with the MTP drafter (gamma ${gamma}) equals greedy`, async () => {
          const r = await runCli(['speculate', '--model', dir, '--input', input, '--max-new-tokens', '8', '--draft', 'mtp', '--gamma', gamma, '--greedy', '--json']);
          expect(r.code, r.stderr).toBe(0);
          const out = JSON.parse(r.stdout);
          expect(out.tokens).toEqual(expected.greedy_decode.tokens);
          const proposed = out.steps.reduce((a: number, s: { proposed: number }) => a + s.proposed, 0);
          const accepted = out.steps.reduce((a: number, s: { accepted: number }) => a + s.accepted, 0);
          expect(out.acceptance_rate).toBeCloseTo(accepted / proposed, 12);
        });
      }
    }
  });
}
