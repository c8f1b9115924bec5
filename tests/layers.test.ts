// Imports only point down the layers: app -> lessons -> {charts, engine} -> kernels, and charts and
// engine never import each other (scripts/layers.mjs says which folder is which layer).
import { describe, expect, it } from 'vitest';
import { importsOf, layerImports, layerOf, violations } from '../scripts/layers.mjs';
import { repoRoot } from './helpers/paths.js';

describe('layers', () => {
  it('no import in src/, components/, notebooks/ or kernels/ points up a layer', () => {
    const edges = layerImports(repoRoot);
    expect(edges.length).toBeGreaterThan(300); // the scan found the repository's imports
    expect(violations(edges).map((e) => `${e.from} -> ${e.spec}`)).toEqual([]);
  });

  it('reads imports from TypeScript and from a Svelte component\'s scripts', () => {
    const svelte = `<script lang="ts" module>import a from '$lib/shell/A.svelte';</script>
<script lang="ts">
  import { b } from '../b';
  const c = await import('$engine/model');
</script>
<p>import d from 'not-code'</p>`;
    expect(importsOf(svelte, 'x.svelte')).toEqual(['$lib/shell/A.svelte', '../b', '$engine/model']);
    expect(importsOf("export { x } from './x.js';\nconst m = import.meta.glob('/notebooks/*/index.ts');", 'y.ts'))
      .toEqual(['./x.js', '/notebooks/*/index.ts']);
  });

  it('flags an import up a layer and one between charts and engine', () => {
    const edge = (from: string, to: string) => ({ from, to, fromLayer: layerOf(from)!, toLayer: layerOf(to)!, spec: to });
    const bad = [
      edge('notebooks/kv-cache/index.ts', 'src/lib/shell/FormulaCell.svelte'),
      edge('components/charts/Heatmap.svelte', 'src/engine/model.ts'),
      edge('src/engine/mla.ts', 'components/charts/types.ts'),
      edge('kernels/loop.ts', 'src/engine/config.ts'),
      edge('src/cli/main.ts', 'notebooks/_kit/models.ts'),
    ];
    const good = [
      edge('src/routes/+page.svelte', 'notebooks/_kit/types.ts'),
      edge('notebooks/kv-cache/index.ts', 'components/charts/types.ts'),
      edge('notebooks/kv-cache/index.ts', 'kernels/backend.ts'),
      edge('src/engine/mla.ts', 'kernels/backend.ts'),
    ];
    expect(violations([...bad, ...good])).toEqual(bad);
  });
});
