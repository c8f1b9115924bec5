import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

// The Content-Security-Policy every page carries (a <meta http-equiv> tag on these prerendered
// pages): everything from this site only, so no dependency, present or future, can load or send
// anything elsewhere. SvelteKit hashes its own inline bootstrap script ('hash' mode); the theme
// script in src/app.html is hashed here from the file itself, so an edit to it cannot go stale.
// 'unsafe-eval': gpu.js compiles its kernels with Function(); 'wasm-unsafe-eval': the WebAssembly
// kernels. Styles allow 'unsafe-inline': KaTeX and the charts set style attributes.
const appHtml = readFileSync(new URL('./src/app.html', import.meta.url), 'utf8');
const inlineScripts = [...appHtml.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
  (m) => `sha256-${createHash('sha256').update(m[1]).digest('base64')}`,
);
const csp = {
  mode: 'hash',
  directives: {
    'default-src': ['self'],
    'script-src': ['self', 'unsafe-eval', 'wasm-unsafe-eval', ...inlineScripts],
    'style-src': ['self', 'unsafe-inline'],
    'img-src': ['self', 'data:', 'blob:'],
    'font-src': ['self', 'data:'], // KaTeX's fonts are inlined as data: URLs
    'connect-src': ['self'],
    'worker-src': ['self'],
    'object-src': ['none'],
    'base-uri': ['self'],
    'form-action': ['self'],
  },
};

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: undefined, strict: true }),
    csp,
    alias: {
      $components: 'components',
      $kernels: 'kernels',
      $engine: 'src/engine',
      $notebooks: 'notebooks',
    },
  },
};

export default config;
