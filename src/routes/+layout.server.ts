import { loadLessons } from '$lib/server/lessons';
import type { LayoutServerLoad } from './$types';

// The lesson list is read at prerender and shipped as data (build/**/__data.json), never as code.
export const load: LayoutServerLoad = async () => ({ lessons: await loadLessons() });
