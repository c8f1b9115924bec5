// Lesson prose to HTML at prerender: a small Markdown subset (paragraphs, lists, ### headings,
// **bold**, *em*, `code`, [links](url)) and TeX math ($inline$, $$display$$) typeset by KaTeX on
// the server, so no math library reaches the browser. Lesson prose is ours, but it is escaped all
// the same: only the markup listed here becomes HTML.
import katex from 'katex';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function math(tex: string, displayMode: boolean): string {
  // throwOnError: a TeX mistake in a lesson fails the build with the formula, not a red blob.
  return katex.renderToString(tex, { displayMode, throwOnError: true, output: 'htmlAndMathml', strict: 'ignore' });
}

function inline(text: string): string {
  const held: string[] = [];
  const hold = (html: string) => `\u0000${held.push(html) - 1}\u0000`;
  let s = text
    .replace(/`([^`]+)`/g, (_, code: string) => hold(`<code>${escapeHtml(code)}</code>`))
    .replace(/\$([^$\n]+?)\$/g, (_, tex: string) => hold(math(tex, false)));
  s = escapeHtml(s)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\*([^*\s][^*]*)\*/g, '<em>$1</em>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label: string, href: string) => {
      const external = /^https?:/.test(href);
      return `<a href="${href}"${external ? ' rel="noreferrer"' : ''}>${label}</a>`;
    });
  return s.replace(/\u0000(\d+)\u0000/g, (_, i: string) => held[Number(i)]);
}

/** Render lesson prose to HTML. */
export function renderProse(source: string): string {
  const out: string[] = [];
  // Display math may sit inside a paragraph: give it a block of its own.
  const blocks = source.replace(/\r\n/g, '\n').replace(/\$\$([\s\S]+?)\$\$/g, '\n\n$$$$$1$$$$\n\n').trim().split(/\n\s*\n/);
  for (const raw of blocks) {
    const block = raw.trim();
    if (!block) continue;
    if (block.startsWith('$$') && block.endsWith('$$') && block.length > 4) {
      out.push(`<div class="math-display">${math(block.slice(2, -2).trim(), true)}</div>`);
      continue;
    }
    const lines = block.split('\n').map((l) => l.trim());
    const heading = /^(#{2,4})\s+(.*)$/.exec(lines[0]);
    if (heading && lines.length === 1) {
      const level = Math.min(heading[1].length + 1, 5);
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      continue;
    }
    if (lines.every((l) => /^[-*]\s+/.test(l))) {
      out.push(`<ul>${lines.map((l) => `<li>${inline(l.replace(/^[-*]\s+/, ''))}</li>`).join('')}</ul>`);
      continue;
    }
    if (lines.every((l) => /^\d+\.\s+/.test(l))) {
      out.push(`<ol>${lines.map((l) => `<li>${inline(l.replace(/^\d+\.\s+/, ''))}</li>`).join('')}</ol>`);
      continue;
    }
    out.push(`<p>${inline(lines.join(' '))}</p>`);
  }
  return out.join('\n');
}
