// The checks of every lesson in notebooks/, without a browser: its wiring is consistent, every cell
// computes at the defaults and at each slider's extremes, every view gets well-formed chart data,
// and moving an input changes what the views that depend on it show.
//
// They are split over several test files (tests/notebooks*.test.ts, `lessonChecks(part, parts)`),
// so vitest's two workers share them: a check is one lesson's defaults or one input of one lesson,
// and check k goes to part k mod parts. Each part evaluates a lesson's defaults once and compares
// every input's alternatives with them.
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loopBackend } from '../../kernels/loop.js';
import type { ChartData } from '../../components/charts/types.js';
import { encodeCurve } from '../../notebooks/_kit/curve.js';
import type { InputSpec, InputValue, Notebook } from '../../notebooks/_kit/types.js';
import { evaluateNotebook } from '../../src/lib/notebook/evaluate.js';
import { notebookProblems } from '../../src/lib/notebook/validate.js';
import { repoRoot } from './paths.js';

/** Every cell's value (the platform's one-shot evaluation, on the tuned loop backend). */
const evaluate = (nb: Notebook, values: Record<string, InputValue>) => evaluateNotebook(nb, values, loopBackend);

function checkChart(data: unknown, where: string): void {
  const d = data as ChartData;
  expect(d, where).toBeTypeOf('object');
  switch (d.kind) {
    case 'heatmap':
      expect(d.values.length, `${where}: heatmap values`).toBe(d.rows * d.cols);
      for (let i = 0; i < d.values.length; i++) expect(Number.isFinite(d.values[i]), `${where}: value ${i}`).toBe(true);
      if (d.rowLabels) expect(d.rowLabels.length, `${where}: row labels`).toBe(d.rows);
      if (d.colLabels) expect(d.colLabels.length, `${where}: col labels`).toBe(d.cols);
      break;
    case 'line':
      expect(d.series.length, `${where}: series`).toBeGreaterThan(0);
      for (const s of d.series) for (const p of s.points) {
        expect(Number.isFinite(p.x) && Number.isFinite(p.y), `${where}: ${s.name} point`).toBe(true);
        if (d.yScale === 'log') expect(p.y, `${where}: log scale needs y > 0`).toBeGreaterThan(0);
        if (d.xScale === 'log') expect(p.x, `${where}: log scale needs x > 0`).toBeGreaterThan(0);
      }
      break;
    case 'bar':
      for (const s of d.series) expect(s.values.length, `${where}: ${s.name}`).toBe(d.categories.length);
      break;
    case 'table':
      for (const r of d.rows) for (const c of d.columns) expect(r[c.key], `${where}: column ${c.key}`).not.toBeUndefined();
      break;
    case 'stats':
      expect(d.items.length, where).toBeGreaterThan(0);
      break;
    default:
      // A view with its own component may draw other data; it must at least exist.
      expect(data, where).toBeDefined();
  }
}

const dir = path.join(repoRoot, 'notebooks');
const lessons = readdirSync(dir, { withFileTypes: true })
  .filter((e) => !e.name.startsWith('_'))
  .map((e) => (e.isDirectory() ? path.join(dir, e.name, 'index.ts') : path.join(dir, e.name)))
  .filter((f) => f.endsWith('.ts') && existsSync(f));

function alternativesOf(input: InputSpec): InputValue[] {
  return input.kind === 'range' ? [input.min, input.max] : input.kind === 'toggle' ? [!input.value] : input.kind === 'text' ? input.examples.map((e) => e.value) : input.kind === 'curve' ? [...input.presets.map((o) => o.value), encodeCurve(Array.from({ length: input.points }, (_, i) => Math.sin(i)))] : input.options.map((o) => o.value);
}

type Check = { file: string; nb: Notebook | null; importError: unknown; input: InputSpec | null };

/** Every check in a fixed order: per lesson, its defaults, then each of its inputs. */
async function allChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  for (const file of lessons) {
    let nb: Notebook | null = null;
    let importError: unknown = null;
    try {
      nb = ((await import(file)) as { notebook: Notebook }).notebook;
    } catch (e) {
      importError = e;
    }
    checks.push({ file, nb, importError, input: null });
    for (const input of nb?.inputs ?? []) checks.push({ file, nb, importError: null, input });
  }
  return checks;
}

/**
 * One check's limit: most take seconds, but a lesson that trains (load-balancing's "steps" to its
 * end, LoRA, precision) takes tens of seconds on an idle machine and more on a busy one.
 */
const CHECK_TIMEOUT_MS = 180_000;

/** Register part `part` (0-based) of `parts` of the lesson checks. */
export async function lessonChecks(part: number, parts: number): Promise<void> {
  const checks = (await allChecks()).filter((_, k) => k % parts === part);
  /** Each lesson's defaults, evaluated once in this file (and each view's value as JSON). */
  const bases = new Map<Notebook, Promise<{ env: Record<string, unknown>; json: Map<string, string> }>>();
  const baseOf = (nb: Notebook) => {
    let b = bases.get(nb);
    if (!b) {
      b = evaluate(nb, {}).then((env) => {
        const json = new Map<string, string>();
        for (const s of nb.sections) for (const view of s.views ?? []) json.set(view.cell, JSON.stringify(env[view.cell]));
        return { env, json };
      });
      bases.set(nb, b);
    }
    return b;
  };

  describe(`lessons (part ${part + 1} of ${parts})`, () => {
    it('there are lessons to check', () => {
      expect(lessons.length).toBeGreaterThan(0);
    });

    for (const { file, nb, importError, input } of checks) {
      const where = path.relative(repoRoot, file);
      if (!input) {
        it(`${where} is wired consistently and computes every view at its defaults`, async () => {
          if (importError) throw importError;
          expect(notebookProblems(nb!)).toEqual([]);
          const { env } = await baseOf(nb!);
          for (const s of nb!.sections) for (const v of s.views ?? []) {
            if (!v.component) checkChart(env[v.cell], `${s.id}/${v.cell}`);
          }
        }, CHECK_TIMEOUT_MS);
        continue;
      }
      it(`${where} computes at the extremes / each option of "${input.name}", and the views respond`, async () => {
        const { json: base } = await baseOf(nb!);
        let changedSomething = false;
        for (const v of alternativesOf(input)) {
          if (v === input.value) continue;
          const env = await evaluate(nb!, { [input.name]: v });
          for (const s of nb!.sections) for (const view of s.views ?? []) {
            if (!view.component) checkChart(env[view.cell], `${input.name}=${v}: ${view.cell}`);
            if (JSON.stringify(env[view.cell]) !== base.get(view.cell)) changedSomething = true;
          }
        }
        expect(changedSomething, `moving "${input.name}" changes at least one view`).toBe(true);
      }, CHECK_TIMEOUT_MS);
    }
  });
}
