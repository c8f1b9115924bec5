import { loadLessons } from '$lib/server/lessons';
import { lessonPreviews } from '$lib/server/previews';
import type { PageServerLoad } from './$types';

// Each lesson's thumbnail is its first figure, computed by the engine at prerender.
export const load: PageServerLoad = async () => ({ previews: await lessonPreviews(await loadLessons()) });
