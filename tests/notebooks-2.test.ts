// The second half of the lesson checks (tests/helpers/notebook-checks.ts; the first is tests/notebooks.test.ts).
import { lessonChecks } from './helpers/notebook-checks.js';

await lessonChecks(1, 2);
