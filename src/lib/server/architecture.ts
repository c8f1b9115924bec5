// The index page's architecture diagram: the shipped model's sizes (its config.json, read at
// prerender) and the seven lessons placed on the drawing, in a suggested order, each with a reading
// time estimated from its prose and figures. When no model is shipped, the tiny golden shape stands in.
import type { ArchitectureData } from '$components/charts/types';
import { parseConfig, type DeepSeekConfig } from '$engine/config';
import { TINY_CONFIG_JSON } from '$engine/tiny';
import { loadNotebook } from '$lib/notebook/modules';
import type { Lesson } from '$lib/lessons';
import { SHIPPED_CONFIG, SHIPPED_NAME } from '$notebooks/_kit/shipped';

/** The ideas on the diagram, in the suggested reading order (each a lesson's slug). */
export const IDEA_ORDER = ['kv-cache', 'latent-kv', 'absorption', 'expert-routing', 'load-balancing', 'multi-token-prediction', 'speculative-decoding'] as const;

/** Words per minute for reading, and minutes per figure to look at and try. */
const WORDS_PER_MINUTE = 200;
const MINUTES_PER_FIGURE = 0.75;

function words(text: string | undefined): number {
  return text ? text.split(/\s+/).filter(Boolean).length : 0;
}

/** About how long a lesson takes: its prose read at 200 words a minute, plus 45 s for each figure. */
export async function readingMinutes(lesson: Lesson): Promise<number | undefined> {
  const nb = await loadNotebook(lesson.source);
  if (!nb) return undefined;
  let w = words(nb.lead?.takeaway) + words(nb.lead?.note), figures = nb.lead ? 1 : 0;
  for (const s of nb.sections) {
    w += words(s.prose) + words(s.after);
    figures += s.views?.length ?? 0;
  }
  return Math.max(1, Math.round(w / WORDS_PER_MINUTE + figures * MINUTES_PER_FIGURE));
}

export function architectureConfig(cfg: DeepSeekConfig): ArchitectureData['config'] {
  return {
    vocab: cfg.vocab_size,
    hidden: cfg.hidden_size,
    layers: cfg.num_hidden_layers,
    denseLayers: Math.min(cfg.first_k_dense_replace, cfg.num_hidden_layers),
    denseWidth: cfg.intermediate_size,
    heads: cfg.num_attention_heads,
    qRank: cfg.q_lora_rank,
    kvRank: cfg.kv_lora_rank,
    dNope: cfg.qk_nope_head_dim,
    dRope: cfg.qk_rope_head_dim,
    dV: cfg.v_head_dim,
    routed: cfg.n_routed_experts ?? 0,
    shared: cfg.n_shared_experts,
    topK: cfg.num_experts_per_tok,
    groups: cfg.n_group,
    topkGroup: cfg.topk_group,
    expertWidth: cfg.moe_intermediate_size,
    scale: cfg.routed_scaling_factor,
    mtp: cfg.num_nextn_predict_layers,
  };
}

export async function architecture(lessons: readonly Lesson[], href: (slug: string) => string = (s) => `/lessons/${s}`): Promise<ArchitectureData> {
  const cfg = SHIPPED_CONFIG ?? parseConfig(TINY_CONFIG_JSON, { file: 'tiny config' });
  const ideas: ArchitectureData['ideas'] = [];
  for (const [i, slug] of IDEA_ORDER.entries()) {
    const lesson = lessons.find((l) => l.slug === slug);
    if (lesson) ideas.push({ id: slug, n: i + 1, title: lesson.title, href: href(slug), minutes: await readingMinutes(lesson) });
  }
  return {
    name: SHIPPED_NAME ?? 'the tiny golden model',
    source: SHIPPED_NAME ? `static/models/${SHIPPED_NAME}/config.json` : 'the engine\'s tiny golden config',
    config: architectureConfig(cfg),
    ideas,
  };
}
