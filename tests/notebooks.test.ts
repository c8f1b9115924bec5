// Every lesson in notebooks/, without a browser: its wiring is consistent, every cell computes at
// the defaults and at each slider's extremes, every view gets well-formed chart data, and moving an
// input changes what the views that depend on it show. The checks are in tests/helpers/notebook-checks.ts;
// this file runs the first half, tests/notebooks-2.test.ts the second (vitest runs files in parallel).
import { lessonChecks } from './helpers/notebook-checks.js';

await lessonChecks(0, 2);
