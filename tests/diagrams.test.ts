// @vitest-environment happy-dom
// The diagrams draw the loaded model's sizes (its config), not numbers written into the drawing:
// the same component under two configs prints each config's own numbers. The architecture diagram
// links each lesson it places, by its title, and keeps its text inside its drawing.
import { afterEach, describe, expect, it } from 'vitest';
import ArchitectureDiagram from '../components/charts/ArchitectureDiagram.svelte';
import { textWidth } from '../components/charts/chart-utils';
import type { ArchitectureData } from '../components/charts/types';
import { parseConfig } from '../src/engine/config';
import { TINY_CONFIG_JSON } from '../src/engine/tiny';
import { architectureConfig } from '../src/lib/server/architecture';
import { readFileSync } from 'node:fs';

const clientEntry = '../node_modules/svelte/src/index-client.js';
const { mount, unmount, flushSync } = (await import(/* @vite-ignore */ clientEntry)) as typeof import('svelte');
const mounted: ReturnType<typeof mount>[] = [];
function render<P extends Record<string, unknown>>(component: unknown, props: P): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  mounted.push(mount(component as Parameters<typeof mount>[0], { target, props }));
  flushSync();
  return target;
}
afterEach(() => {
  while (mounted.length) unmount(mounted.pop()!);
  document.body.innerHTML = '';
});

const shipped = parseConfig(JSON.parse(readFileSync('static/models/nanoseek-stories/config.json', 'utf8')), { file: 'config.json' });
const tiny = parseConfig(TINY_CONFIG_JSON, { file: 'tiny' });
const ideas: ArchitectureData['ideas'] = [
  { id: 'kv-cache', n: 1, title: 'The KV cache', href: '/lessons/kv-cache' },
  { id: 'latent-kv', n: 2, title: 'Latent KV', href: '/lessons/latent-kv' },
  { id: 'absorption', n: 3, title: 'Absorption', href: '/lessons/absorption' },
  { id: 'expert-routing', n: 4, title: 'Expert routing', href: '/lessons/expert-routing' },
  { id: 'load-balancing', n: 5, title: 'Load balancing', href: '/lessons/load-balancing' },
  { id: 'multi-token-prediction', n: 6, title: 'MTP', href: '/lessons/multi-token-prediction' },
  { id: 'speculative-decoding', n: 7, title: 'Speculative decoding', href: '/lessons/speculative-decoding' },
];

function draw(cfg: typeof shipped): SVGSVGElement {
  const data: ArchitectureData = { name: 'm', source: 'config.json', config: architectureConfig(cfg), ideas };
  return render(ArchitectureDiagram, { data }).querySelector('svg')!;
}

describe('architecture diagram', () => {
  it('prints the sizes of the config it is given', () => {
    for (const cfg of [shipped, tiny, { ...shipped, kv_lora_rank: 40, qk_rope_head_dim: 12, n_routed_experts: 32, num_attention_heads: 8, hidden_size: 128 }]) {
      const text = draw(cfg).textContent!;
      expect(text).toContain(`c_KV · ${cfg.kv_lora_rank}`);
      expect(text).toContain(`k^R · ${cfg.qk_rope_head_dim}`);
      expect(text).toContain(`${cfg.n_shared_experts} shared + ${cfg.n_routed_experts} routed, ${cfg.num_experts_per_tok} per token`);
      expect(text).toContain(`× ${cfg.num_hidden_layers} blocks, d = ${cfg.hidden_size}`);
      expect(text).toContain(`${cfg.kv_lora_rank} + ${cfg.qk_rope_head_dim} = ${cfg.kv_lora_rank + cfg.qk_rope_head_dim} (MHA ${cfg.num_attention_heads * (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim + cfg.v_head_dim)})`);
      expect(text).toContain(`${2 * cfg.hidden_size} → ${cfg.hidden_size}`);
      const svg = draw(cfg);
      expect(svg.querySelectorAll('rect.expert')).toHaveLength(cfg.n_routed_experts!);
      expect(svg.querySelectorAll('rect.expert.active')).toHaveLength(cfg.num_experts_per_tok);
      expect(svg.querySelectorAll('rect.group.kept')).toHaveLength(cfg.topk_group);
      document.body.innerHTML = '';
    }
  });

  it('links the seven lessons, each named', () => {
    const svg = draw(shipped);
    const links = [...svg.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(expect.arrayContaining(ideas.map((i) => i.href)));
    for (const a of links) expect(a.getAttribute('aria-label')).toMatch(/^Lesson \d: /);
    expect(svg.getAttribute('aria-labelledby')!.split(' ')).toHaveLength(2);
    expect(svg.querySelector('desc')!.textContent).toContain(`d_c = ${shipped.kv_lora_rank}`);
  });

  it('keeps its text inside the drawing and inside each box', () => {
    const svg = draw(shipped);
    const [, , W, H] = svg.getAttribute('viewBox')!.split(' ').map(Number);
    for (const t of svg.querySelectorAll('text')) {
      const size = Number((t.getAttribute('style') ?? '').match(/font-size:\s*([\d.]+)px/)?.[1] ?? (t.classList.contains('h') ? 20 : t.classList.contains('t') ? 18 : 16));
      const w = textWidth(t.textContent!, size);
      const x = Number(t.getAttribute('x')), y = Number(t.getAttribute('y'));
      const a = t.getAttribute('text-anchor') ?? 'start';
      const x0 = a === 'middle' ? x - w / 2 : x;
      expect(x0, t.textContent!).toBeGreaterThanOrEqual(0);
      expect(x0 + w, t.textContent!).toBeLessThanOrEqual(W);
      expect(y, t.textContent!).toBeLessThanOrEqual(H);
      // Text centred in a box fits that box.
      const rect = t.previousElementSibling?.tagName === 'rect' ? t.previousElementSibling : null;
      if (a === 'middle' && rect?.classList.contains('box')) expect(w, t.textContent!).toBeLessThanOrEqual(Number(rect.getAttribute('width')));
    }
  });
});
