import { architecture } from '$lib/server/architecture';
import { loadLessons } from '$lib/server/lessons';
import { lessonPreviews } from '$lib/server/previews';
import type { PageServerLoad } from './$types';

// Each lesson's thumbnail is its first figure, computed by the engine at prerender; the architecture
// diagram takes its sizes from the shipped model's config.
export const load: PageServerLoad = async () => {
  const lessons = await loadLessons();
  return { previews: await lessonPreviews(lessons), architecture: await architecture(lessons) };
};
