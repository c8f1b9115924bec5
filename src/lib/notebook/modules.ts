// Lazy loaders for lesson modules, keyed by the path lesson discovery reports (`Lesson.source`).
// Each lesson becomes its own chunk: a page downloads only its own lesson's code.
import type { Notebook } from '$notebooks/_kit/types';

const loaders = import.meta.glob<{ notebook?: Notebook }>([
  '/notebooks/*.{ts,js}',
  '/notebooks/*/index.{ts,js}',
  '!/notebooks/_*',
  '!/notebooks/**/*.{test,spec}.{ts,js}',
  '!/notebooks/**/*.d.ts',
]);

/** The lesson's notebook, or null for a lesson that has only `meta` so far. */
export async function loadNotebook(source: string): Promise<Notebook | null> {
  const load = loaders[source];
  if (!load) return null;
  return (await load()).notebook ?? null;
}
