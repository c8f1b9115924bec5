import { error } from '@sveltejs/kit';
import { loadLessons } from '$lib/server/lessons';
import type { EntryGenerator, PageServerLoad } from './$types';

// /lessons lists every lesson; /lessons/<slug> is one lesson. The optional parameter keeps the
// route prerenderable (through /lessons) while notebooks/ is still empty.
export const entries: EntryGenerator = async () => [{}, ...(await loadLessons()).map((l) => ({ slug: l.slug }))];

export const load: PageServerLoad = async ({ params }) => {
  if (params.slug === undefined) return { lesson: null };
  const lesson = (await loadLessons()).find((l) => l.slug === params.slug);
  if (!lesson) error(404, `No lesson called "${params.slug}"`);
  return { lesson };
};
