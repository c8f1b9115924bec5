// Print the number of imports between layers (rows import columns) and every import that points up.
// Usage: node scripts/layer-counts.mjs [repository root, default: this checkout]
// Exit 1 when an import points up a layer.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { countMatrix, LAYERS, layerImports, violations } from './layers.mjs';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const edges = layerImports(root);
const counts = countMatrix(edges);
const w = Math.max(...LAYERS.map((l) => l.length)) + 2;
console.log(`imports between layers in ${root} (row imports column; ${edges.length} in all)`);
console.log(''.padEnd(w) + LAYERS.map((l) => l.padStart(w)).join(''));
for (const a of LAYERS) console.log(a.padEnd(w) + LAYERS.map((b) => String(counts[a][b]).padStart(w)).join(''));
const bad = violations(edges);
console.log(`\n${bad.length} import(s) point up a layer or between charts and engine`);
for (const e of bad) console.log(`  ${e.from} (${e.fromLayer}) -> ${e.spec} (${e.toLayer})`);
process.exitCode = bad.length ? 1 : 0;
