// Mount Svelte components in a happy-dom test and unmount them after each test.
//
// The project's vitest config resolves 'svelte' to its server build (no 'browser' condition), where
// mount() is unavailable. The client entry, loaded by path, is the same runtime the client-compiled
// components import, so mounting works without changing the shared config. A test file using this
// needs `// @vitest-environment happy-dom` on its first line.
import { afterEach } from 'vitest';

const clientEntry = '../../node_modules/svelte/src/index-client.js';
const svelte = (await import(/* @vite-ignore */ clientEntry)) as typeof import('svelte');
export const { mount, unmount, flushSync } = svelte;

const mounted: ReturnType<typeof mount>[] = [];

/** Mount `component` with `props` in a fresh <div> in the body, flush its effects, return the <div>. */
export function render<P extends Record<string, unknown>>(component: unknown, props: P): HTMLElement {
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
