// Where the repository and the shared reference data are, for tests.
// shared/ sits beside the repository (`<repo>/../shared`); set NANOSEEK_SHARED to use another one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared data folder: $NANOSEEK_SHARED when set, else `<repo>/../shared`. */
export const sharedDir = (() => {
  const override = process.env.NANOSEEK_SHARED;
  if (override && existsSync(override)) return path.resolve(override);
  return path.resolve(repoRoot, '../shared');
})();

/** A golden case folder, e.g. goldenDir('a_dense_tiny'). */
export function goldenDir(name: string): string {
  return path.join(sharedDir, 'golden', name);
}
