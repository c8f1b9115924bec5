// Finds the lessons in notebooks/ (server side only: at prerender). Each module is imported just to
// read its `meta`; the pages receive the list as data, so no lesson code reaches the index bundle.
import { collectLessons, type Lesson } from '$lib/lessons';

// Vite resolves these patterns at build time: a new file in notebooks/ is picked up on the next
// build (or at once under `npm run dev`). Names starting with "_" are never lessons.
const metaLoaders = import.meta.glob(
  [
    '/notebooks/*.{ts,js,svelte}',
    '/notebooks/*/index.{ts,js,svelte}',
    '!/notebooks/_*',
    '!/notebooks/_*/**',
    '!/notebooks/**/*.{test,spec}.{ts,js}',
    '!/notebooks/**/*.d.ts',
  ],
  { import: 'meta' },
);

let cached: Promise<readonly Lesson[]> | undefined;

/** Every lesson in notebooks/, in index order (loaded once per process). */
export function loadLessons(): Promise<readonly Lesson[]> {
  cached ??= (async () => {
    const metas: Record<string, unknown> = {};
    await Promise.all(
      Object.entries(metaLoaders).map(async ([path, load]) => {
        metas[path] = await load();
      }),
    );
    return collectLessons(metas);
  })();
  return cached;
}
