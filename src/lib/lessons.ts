// Lesson discovery. A lesson is one file in notebooks/ (`notebooks/kv-cache.ts`) or one folder
// (`notebooks/kv-cache/index.ts`) that exports its metadata:
//
//   export const meta = { slug: 'kv-cache', title: 'KV cache', summary: 'Why decoding caches K and V.', order: 1 };
//
// Nothing else needs editing for a lesson to appear on the index and get its own page at
// /lessons/<slug>. A module without a `meta` export (a helper shared by lessons) is ignored; a
// malformed `meta` fails the build with the file's name. Discovery runs on the server side only
// (src/lib/server/lessons.ts, at prerender), so the index ships the metadata as data and none of
// the lessons' code.
//
// This file holds the type and the pure checks, safe to import anywhere.

/** What the index and the lesson page need to know about a lesson. */
export interface LessonMeta {
  /** URL segment: lowercase letters, digits and single hyphens ("latent-kv"). */
  slug: string;
  /** Shown as the lesson's heading and link text. */
  title: string;
  /** One or two sentences for the index. */
  summary: string;
  /** Position on the index: lower comes first; ties sort by title. */
  order: number;
}

/** A discovered lesson: its metadata and the file it came from. */
export interface Lesson extends LessonMeta {
  /** Path of the lesson's module, from the project root ("/notebooks/kv-cache.ts"). */
  source: string;
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The slug a file or folder name suggests: "/notebooks/kv-cache/index.ts" -> "kv-cache". */
export function slugFromPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  let name = parts[parts.length - 1] ?? '';
  if (/^index\.[a-z]+$/.test(name) && parts.length > 1) name = parts[parts.length - 2];
  return name.replace(/\.[a-z]+$/, '');
}

/**
 * Turn `{ path: meta export }` (what `import.meta.glob(..., { import: 'meta' })` resolves to) into
 * a sorted, validated list. Pure, so tests can feed it their own modules.
 */
export function collectLessons(modules: Record<string, unknown>): Lesson[] {
  const lessons: Lesson[] = [];
  const bySlug = new Map<string, string>();
  for (const [source, raw] of Object.entries(modules)) {
    if (raw === undefined) continue; // a helper module with no `meta` export
    if (raw === null || typeof raw !== 'object') {
      throw new Error(`${source}: \`meta\` must be an object like { slug, title, summary, order }`);
    }
    const m = raw as Partial<Record<keyof LessonMeta, unknown>>;
    const slug = m.slug === undefined ? slugFromPath(source) : m.slug;
    if (typeof slug !== 'string' || !SLUG.test(slug)) {
      throw new Error(`${source}: meta.slug ${JSON.stringify(slug)} must be lowercase letters, digits and single hyphens`);
    }
    if (typeof m.title !== 'string' || m.title.trim() === '') {
      throw new Error(`${source}: meta.title must be a non-empty string`);
    }
    if (m.summary !== undefined && typeof m.summary !== 'string') {
      throw new Error(`${source}: meta.summary must be a string`);
    }
    if (m.order !== undefined && (typeof m.order !== 'number' || !Number.isFinite(m.order))) {
      throw new Error(`${source}: meta.order must be a finite number`);
    }
    const previous = bySlug.get(slug);
    if (previous) throw new Error(`${source}: slug "${slug}" is already used by ${previous}`);
    bySlug.set(slug, source);
    lessons.push({
      slug,
      title: m.title.trim(),
      summary: (m.summary ?? '').trim(),
      order: m.order ?? Number.MAX_SAFE_INTEGER,
      source,
    });
  }
  return lessons.sort((a, b) => a.order - b.order || a.title.localeCompare(b.title) || a.slug.localeCompare(b.slug));
}
