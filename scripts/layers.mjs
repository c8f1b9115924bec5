// The layers of the repository and every import between them. A file's layer is set by its folder;
// an import may point down (or stay in its layer), never up, and the two middle layers (charts,
// engine) never import each other. Used by `node scripts/layer-counts.mjs` and tests/layers.test.ts.
//
//   app (src/routes, src/lib, incl. the page shell src/lib/shell)   cli (src/cli)
//    -> lessons (notebooks/, their kit notebooks/_kit)
//    -> charts (components/charts) | engine (src/engine)
//    -> kernels (kernels/)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Which layers each layer may import (itself included). @type {Record<string, string[]>} */
export const ALLOWED = {
  app: ['app', 'lessons', 'charts', 'engine', 'kernels'],
  cli: ['cli', 'engine', 'kernels'],
  lessons: ['lessons', 'charts', 'engine', 'kernels'],
  charts: ['charts'],
  engine: ['engine', 'kernels'],
  kernels: ['kernels'],
};
export const LAYERS = Object.keys(ALLOWED);

const ROOTS = ['src', 'components', 'notebooks', 'kernels'];
const SKIP = new Set(['node_modules', '.svelte-kit', 'build']);
const SOURCE = /\.(ts|mts|js|mjs|svelte)$/;
const EXTENSIONS = ['', '.ts', '.js', '.svelte', '.svelte.ts', '/index.ts', '/index.js'];

/** SvelteKit's aliases (svelte.config.js); `$app/*` and packages are outside the layers. @type {Record<string, string>} */
const ALIASES = { $lib: 'src/lib', $components: 'components', $kernels: 'kernels', $engine: 'src/engine', $notebooks: 'notebooks' };

/**
 * The layer of a path relative to the repository root, or null (tests, scripts, static data).
 * @param {string} rel
 * @returns {string | null}
 */
export function layerOf(rel) {
  const p = rel.split(path.sep).join('/');
  if (p.startsWith('src/engine/')) return 'engine';
  if (p.startsWith('src/cli/')) return 'cli';
  if (p.startsWith('src/')) return 'app';
  if (p.startsWith('components/charts/')) return 'charts';
  if (p.startsWith('components/')) return 'app'; // the page shell, when it lived beside the charts
  if (p.startsWith('notebooks/')) return 'lessons';
  if (p.startsWith('kernels/')) return 'kernels';
  return null;
}

/**
 * @param {string} root
 * @param {string} dir
 * @returns {Generator<string>}
 */
function* sourceFiles(root, dir) {
  let names;
  try { names = readdirSync(path.join(root, dir)); } catch { return; }
  for (const name of names) {
    if (SKIP.has(name)) continue;
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) yield* sourceFiles(root, rel);
    else if (SOURCE.test(name)) yield rel;
  }
}

/**
 * The module specifiers a file imports (static, re-exports, dynamic, import.meta.glob, new URL workers).
 * @param {string} text
 * @param {string} file
 * @returns {string[]}
 */
export function importsOf(text, file) {
  const code = file.endsWith('.svelte')
    ? [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n')
    : text;
  const specs = ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
  for (const m of code.matchAll(/import\.meta\.glob\(\s*\[?\s*(['"`])([^'"`]+)\1/g)) specs.push(m[2].replace(/^!/, ''));
  for (const m of code.matchAll(/new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url/g)) specs.push(m[2]);
  return specs;
}

/**
 * The repository path a specifier names, or null for packages and SvelteKit's own modules.
 * @param {string} root
 * @param {string} fromRel
 * @param {string} spec
 * @returns {string | null}
 */
function resolve(root, fromRel, spec) {
  let target;
  const alias = Object.keys(ALIASES).find((a) => spec === a || spec.startsWith(a + '/'));
  if (alias) target = ALIASES[alias] + spec.slice(alias.length);
  else if (spec.startsWith('.')) target = path.join(path.dirname(fromRel), spec);
  else if (spec.startsWith('/')) target = spec.slice(1); // import.meta.glob paths are root-relative
  else return null;
  target = path.normalize(target);
  const stripped = target.replace(/\.js$/, '');
  for (const base of [target, stripped]) {
    for (const ext of EXTENSIONS) {
      const p = base + ext;
      try { if (statSync(path.join(root, p)).isFile()) return p; } catch { /* next */ }
    }
  }
  return target; // a glob or a file not on disk: its folder still names the layer
}

/** @typedef {{ from: string, to: string, fromLayer: string, toLayer: string, spec: string }} Edge */

/**
 * Every import between layered files.
 * @param {string} root
 * @returns {Edge[]}
 */
export function layerImports(root) {
  /** @type {Edge[]} */
  const edges = [];
  for (const dir of ROOTS) {
    for (const rel of sourceFiles(root, dir)) {
      const fromLayer = layerOf(rel);
      if (!fromLayer) continue;
      for (const spec of importsOf(readFileSync(path.join(root, rel), 'utf8'), rel)) {
        const to = resolve(root, rel, spec);
        const toLayer = to === null ? null : layerOf(to);
        if (to !== null && toLayer) edges.push({ from: rel, to, fromLayer, toLayer, spec });
      }
    }
  }
  return edges;
}

/**
 * Imports that point up a layer or across between charts and engine.
 * @param {Edge[]} edges
 */
export function violations(edges) {
  return edges.filter((e) => !ALLOWED[e.fromLayer].includes(e.toLayer));
}

/**
 * counts[from][to] = number of import statements.
 * @param {Edge[]} edges
 * @returns {Record<string, Record<string, number>>}
 */
export function countMatrix(edges) {
  const counts = Object.fromEntries(LAYERS.map((a) => [a, Object.fromEntries(LAYERS.map((b) => [b, 0]))]));
  for (const e of edges) counts[e.fromLayer][e.toLayer]++;
  return counts;
}
