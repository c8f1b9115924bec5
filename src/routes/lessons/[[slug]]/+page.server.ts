import { error } from '@sveltejs/kit';
import { loadNotebook } from '$lib/notebook/modules';
import { notebookProblems } from '$lib/notebook/validate';
import { loadLessons } from '$lib/server/lessons';
import { renderProse } from '$lib/server/prose';
import type { EntryGenerator, PageServerLoad } from './$types';

// /lessons lists every lesson; /lessons/<slug> is one lesson (one optional-parameter route
// prerenders both).
export const entries: EntryGenerator = async () => [{}, ...(await loadLessons()).map((l) => ({ slug: l.slug }))];

// At prerender: prose and math become HTML here (KaTeX stays on the server), each cell's source
// is captured for "View code", and a miswired notebook fails the build with what is wrong.
export const load: PageServerLoad = async ({ params }) => {
  if (params.slug === undefined) return { lesson: null, html: {}, sources: {} };
  const lesson = (await loadLessons()).find((l) => l.slug === params.slug);
  if (!lesson) error(404, `No lesson called "${params.slug}"`);
  const notebook = await loadNotebook(lesson.source);
  if (!notebook) return { lesson, html: {}, sources: {} };
  const problems = notebookProblems(notebook);
  if (problems.length > 0) throw new Error(`${lesson.source}: ${problems.join('; ')}`);
  const html = Object.fromEntries(notebook.sections.map((s) => [s.id, { prose: renderProse(s.prose), after: s.after ? renderProse(s.after) : '' }]));
  const sources = Object.fromEntries(notebook.cells.map((c) => [c.name, c.run.toString()]));
  return { lesson, html, sources };
};
