// Where the repository and its test fixtures are. The golden cases (answers of an independent
// float64 PyTorch implementation) are copied into tests/fixtures/golden/ so a fresh clone tests
// itself: no test reads anything outside the repository.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The golden cases copied into the repository. */
export const fixturesDir = path.join(repoRoot, 'tests', 'fixtures', 'golden');

/** A golden case folder, e.g. goldenDir('a_dense_tiny') or goldenDir('train/t_moe_mtp'). */
export function goldenDir(name: string): string {
  return path.join(fixturesDir, name);
}
