import { loadNotebook } from '$lib/notebook/modules';
import type { PageLoad } from './$types';

// The notebook itself (functions, components) cannot travel as server data: load its chunk here.
export const load: PageLoad = async ({ data }) => ({
  ...data,
  notebook: data.lesson ? await loadNotebook(data.lesson.source) : null,
});
