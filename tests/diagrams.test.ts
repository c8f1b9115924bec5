// @vitest-environment happy-dom
// The diagrams draw the loaded model's sizes (its config), not numbers written into the drawing:
// the same component under two configs prints each config's own numbers. The architecture diagram
// links each lesson it places, by its title, and keeps its text inside its drawing.
import { describe, expect, it } from 'vitest';
import ArchitectureDiagram from '../components/charts/ArchitectureDiagram.svelte';
import MtpChain from '../components/charts/MtpChain.svelte';
import RopeDials from '../components/charts/RopeDials.svelte';
import ShapeDiagram from '../components/charts/ShapeDiagram.svelte';
import { rope } from '../kernels/reference';
import { textWidth } from '../components/charts/chart-utils';
import type { ArchitectureData, MtpChainData, RopeDialsData, ShapeDiagramData } from '../components/charts/types';
import { parseConfig } from '../src/engine/config';
import { TINY_CONFIG_JSON } from '../src/engine/tiny';
import { architectureConfig } from '../src/lib/server/architecture';
import { readFileSync } from 'node:fs';
import { render } from './helpers/mount';

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

describe('shape diagram', () => {
  it('draws each matrix to scale with its sizes', () => {
    const data: ShapeDiagramData = { kind: 'shapes', rows: [{ label: 'compress', terms: [
      { name: 'c_KV', rows: 8, cols: 32, rowDim: 'T', colDim: 'd_c', tone: 'cache' }, { op: '=' },
      { name: 'h', rows: 8, cols: 96, rowDim: 'T', colDim: 'd = 96', tone: 'act' }, { op: '·' },
      { name: 'W_DKV', rows: 96, cols: 32, rowDim: 'd', colDim: 'd_c', tone: 'weight' },
    ] }] };
    const svg = render(ShapeDiagram, { data, title: 'Shapes' }).querySelector('svg')!;
    const rects = [...svg.querySelectorAll('rect.m')].filter((r) => !r.closest('g[transform]'));
    expect(rects).toHaveLength(3);
    const [ckv, h, w] = rects.map((r) => [Number(r.getAttribute('width')), Number(r.getAttribute('height'))]);
    expect(h[0] / ckv[0]).toBeCloseTo(96 / 32, 5);
    expect(w[1] / w[0]).toBeCloseTo(96 / 32, 5);
    expect(svg.textContent).toContain('8 × 32');
    expect(svg.textContent).toContain('T × d_c');
    expect(svg.textContent).toContain('kept in the cache');
  });
});

describe('RoPE dials', () => {
  it('one dial per pair, each turning as the angles say', () => {
    const dr = 8, P = 6;
    const unit = new Float32Array(P * dr);
    for (let i = 0; i < unit.length; i += 2) unit[i] = 1;
    const y = rope(unit, P, dr, [0, 1, 2, 3, 4, 5], 10000);
    const data: RopeDialsData = { kind: 'rope-dials', positions: P, pairs: Array.from({ length: dr / 2 }, (_, i) => ({ index: i, angles: Array.from({ length: P }, (_, p) => Math.atan2(y[p * dr + 2 * i + 1], y[p * dr + 2 * i])) })) };
    const svg = render(RopeDials, { data, title: 'k^R' }).querySelector('svg')!;
    expect(svg.querySelectorAll('circle.rim')).toHaveLength(4);
    expect(svg.querySelectorAll('line.now')).toHaveLength(4);
    const text = svg.textContent!;
    // Pair 0 turns 1 rad per token (2π ≈ 6.3 tokens a turn); pair 3 turns 10000^(-3/4) = 0.001 rad.
    expect(text).toContain('turn: 6.3 tokens');
    expect(text).toContain('turn: 6,283 tokens');
    expect(text).toContain('0.0010 rad / token');
  });
});

describe('MTP causal chain', () => {
  it('says what each depth reads and predicts at position i', () => {
    const data: MtpChainData = { kind: 'mtp-chain', position: 3, tokens: ['a', 'b', 'c', 'd', 'e', 'f'], depth: 2, hidden: 96, sharedEmbedding: true, sharedHead: true };
    const svg = render(MtpChain, { data, title: 'chain' }).querySelector('svg')!;
    const text = svg.textContent!;
    expect(text).toContain('t₄ = d'); // main model's target
    expect(text).toContain('Emb(t₄ = d)'); // what module 1 reads
    expect(text).toContain('t₅ = e');
    expect(text).toContain('Emb(t₅ = e)');
    expect(text).toContain('t₆ = f');
    expect(text).toContain('192 → 96');
    expect(svg.querySelectorAll('rect.box')).toHaveLength(3);
    const past = render(MtpChain, { data: { ...data, position: 5 }, title: 'chain' }).querySelector('svg')!.textContent!;
    expect(past).toContain('t₈ (past the text)');
  });
});
