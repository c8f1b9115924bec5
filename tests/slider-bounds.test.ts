// @vitest-environment happy-dom
// Sliders end where the other inputs let them change something (issue 12: "expert 40 shown, 15
// used; token 30 shown, 12 used; 8 kept groups of 4"). A range input's maxFrom bounds it by the
// other inputs: the control's slider ends there and shows the value the lesson uses, and a link
// past it is clamped with a notice.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import Control from '../src/lib/shell/notebook/Control.svelte';
import { clampValues, effectiveMax, readUrlState } from '../src/lib/notebook/url-state';
import type { InputSpec } from '../notebooks/_kit/types';
import { notebook as routing } from '../notebooks/expert-routing/index';

const clientEntry = '../node_modules/svelte/src/index-client.js';
const { mount, unmount, flushSync } = (await import(/* @vite-ignore */ clientEntry)) as typeof import('svelte');
const mounted: ReturnType<typeof mount>[] = [];
afterEach(() => {
  while (mounted.length) unmount(mounted.pop()!);
  document.body.innerHTML = '';
});

const inputs: InputSpec[] = [
  { kind: 'range', name: 'promptLength', label: 'Prompt length', min: 4, max: 32, step: 1, value: 12 },
  { kind: 'range', name: 'token', label: 'Token', min: 1, max: 32, step: 1, value: 1, maxFrom: (v) => Number(v.promptLength) },
];

describe('slider bounds from other inputs', () => {
  it('a link past the bound is clamped, with a notice', () => {
    const s = readUrlState(inputs, new URLSearchParams('promptLength=12&token=30'));
    expect(s.values.token).toBe(12);
    expect(s.notices.join(' ')).toContain('token=30');
  });

  it('the control ends at the bound and shows the value used', () => {
    const target = document.createElement('div');
    document.body.append(target);
    const values = { promptLength: 12, token: 30 };
    mounted.push(mount(Control as never, { target, props: { input: inputs[1], value: 30, values, onchange: () => {}, place: 't' } }));
    flushSync();
    const range = target.querySelector('input[type="range"]')!;
    expect(range.getAttribute('max')).toBe('12');
    expect(target.querySelector('output')!.textContent).toBe('12');
  });

  it('property: clamped values lie within min..bound and on a step', () => {
    fc.assert(fc.property(fc.integer({ min: 4, max: 32 }), fc.integer({ min: 1, max: 32 }), (n, t) => {
      const v = clampValues(inputs, { promptLength: n, token: t });
      expect(v.token).toBe(Math.min(t, n));
      expect(effectiveMax(inputs[1], v)).toBe(n);
    }));
  });

  it('expert routing: token, expert, kept groups and top-k end where the lesson stops using them', () => {
    const byName = Object.fromEntries(routing.inputs.map((i) => [i.name, i]));
    const v = { ...Object.fromEntries(routing.inputs.map((i) => [i.name, i.value])), promptLength: 12, experts: 16, n_group: 4, topk_group: 2, groupLimit: true };
    expect(effectiveMax(byName.token, v)).toBe(12);
    expect(effectiveMax(byName.expert, v)).toBe(15);
    expect(effectiveMax(byName.topk_group, v)).toBe(4);
    expect(effectiveMax(byName.topk, v)).toBe(8); // 2 kept groups of 16 / 4 experts
    expect(effectiveMax(byName.topk, { ...v, groupLimit: false })).toBe(16);
  });
});
