// Every input of a lesson lives in the URL, so a shared link opens the same view (same seed, same
// numbers). Only values that differ from the lesson's defaults are written; `hide` lists controls
// a teacher hid for a classroom link; `present` opens presentation mode. A value that cannot be
// used (wrong type, out of range, not an option) falls back to its default with a notice. A link
// is untrusted text: a key given twice uses its first value, each notice is said once (the page
// lists them keyed by their text) and quotes at most a short piece of what the link held.
import { decodeCurve, isDrawing } from '$notebooks/_kit/curve';
import type { InputSpec, InputValue } from '$notebooks/_kit/types';

export interface UrlState {
  values: Record<string, InputValue>;
  /** Controls not to show (classroom links). */
  hidden: Set<string>;
  /** Open in presentation mode, at this slide (0-based), or null. */
  present: number | null;
  /** What was ignored, in words, for a notice on the page. */
  notices: string[];
}

export function defaults(inputs: readonly InputSpec[]): Record<string, InputValue> {
  return Object.fromEntries(inputs.map((i) => [i.name, i.value]));
}

/** Parse one input's URL text, or explain why it cannot be used. */
export function parseValue(input: InputSpec, text: string): { ok: true; value: InputValue } | { ok: false; why: string } {
  switch (input.kind) {
    case 'range': {
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v)) return { ok: false, why: 'not a number' };
      if (v < input.min || v > input.max) return { ok: false, why: `outside ${input.min}..${input.max}` };
      if (input.log2 && !Number.isInteger(Math.log2(v))) return { ok: false, why: 'not a power of two' };
      const steps = (v - input.min) / input.step;
      if (!input.log2 && Math.abs(steps - Math.round(steps)) > 1e-9) return { ok: false, why: `not a multiple of ${input.step} from ${input.min}` };
      return { ok: true, value: v };
    }
    case 'toggle':
      if (text === '1' || text === 'true' || text === 'on') return { ok: true, value: true };
      if (text === '0' || text === 'false' || text === 'off') return { ok: true, value: false };
      return { ok: false, why: 'not on/off' };
    case 'text':
      // The reader's text: kept as typed, cut to the lesson's context (readUrlState says so).
      return { ok: true, value: text.slice(0, input.maxLength) };
    case 'curve':
      if (isDrawing(text)) return decodeCurve(text, input.points) ? { ok: true, value: text } : { ok: false, why: `not a drawing of ${input.points} points` };
      return input.presets.some((o) => o.value === text) ? { ok: true, value: text } : { ok: false, why: `not a drawing or one of ${input.presets.map((o) => o.value).join(', ')}` };
    case 'select':
      return input.options.some((o) => o.value === text) ? { ok: true, value: text } : { ok: false, why: `not one of ${input.options.map((o) => o.value).join(', ')}` };
  }
}

/** The longest piece of a link's text a notice quotes. */
const MAX_QUOTED = 60;

/** Text from the link for a notice: JSON-quoted (control characters escaped), cut if long. */
function quoted(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text);
}

function formatValue(v: InputValue): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}

/** A range input's largest useful value given the other inputs (its maxFrom, kept within min..max, on its steps). */
export function effectiveMax(input: InputSpec, values: Readonly<Record<string, InputValue>>): number | null {
  if (input.kind !== 'range') return null;
  if (!input.maxFrom) return input.max;
  const m = input.maxFrom(values);
  if (!Number.isFinite(m)) return input.max;
  const capped = Math.max(input.min, Math.min(input.max, m));
  if (input.log2) return 2 ** Math.floor(Math.log2(capped) + 1e-9);
  return input.min + Math.floor((capped - input.min) / input.step + 1e-9) * input.step;
}

/** The value a range input shows and the lesson uses: at most its effective max. */
export function clampedValue(input: InputSpec, values: Readonly<Record<string, InputValue>>): InputValue {
  const v = values[input.name];
  const max = effectiveMax(input, values);
  return max !== null && typeof v === 'number' && v > max ? max : v;
}

/** Every range input clamped to its effective max (in input order, so a bound sees clamped inputs before it). */
export function clampValues(inputs: readonly InputSpec[], values: Record<string, InputValue>): Record<string, InputValue> {
  const out = { ...values };
  for (const input of inputs) out[input.name] = clampedValue(input, out);
  return out;
}

export function readUrlState(inputs: readonly InputSpec[], params: URLSearchParams): UrlState {
  const values = defaults(inputs);
  const notices = new Set<string>(); // each said once, in the order found
  for (const input of inputs) {
    const text = params.get(input.name); // the first, if the key is given twice
    if (text === null) continue;
    const parsed = parseValue(input, text);
    if (parsed.ok) {
      values[input.name] = parsed.value;
      if (input.kind === 'text' && text.length > input.maxLength) notices.add(`The link's ${input.name} has ${text.length} characters; this lesson's model reads ${input.maxLength}, so it was cut there.`);
    } else notices.add(`Ignored ${input.name}=${quoted(text)} from the link (${parsed.why}); using ${formatValue(input.value)}.`);
  }
  for (const input of inputs) {
    const before = values[input.name];
    const after = clampedValue(input, values);
    if (after !== before && params.get(input.name) !== null) {
      notices.add(`The link's ${input.name}=${formatValue(before)} is past what the other settings allow; using ${formatValue(after)}.`);
    }
    values[input.name] = after;
  }
  const known = new Set(inputs.map((i) => i.name));
  const hidden = new Set<string>();
  for (const name of (params.get('hide') ?? '').split(',').filter(Boolean)) {
    if (known.has(name)) hidden.add(name);
    else notices.add(`Ignored hide=${quoted(name)}: this lesson has no such control.`);
  }
  let present: number | null = null;
  const p = params.get('present');
  if (p !== null) {
    const n = p === '' ? 0 : Number(p);
    if (Number.isInteger(n) && n >= 0) present = n;
    else notices.add(`Ignored present=${quoted(p)} (not a slide number).`);
  }
  for (const key of new Set(params.keys())) {
    const count = params.getAll(key).length;
    if (!known.has(key) && key !== 'hide' && key !== 'present') notices.add(`Ignored unknown setting ${quoted(key)} in the link.`);
    else if (count > 1) notices.add(`The link gives ${quoted(key)} ${count} times; using the first.`);
  }
  return { values, hidden, present, notices: [...notices] };
}

/** The query string for a state: non-default values, then hide and present. */
export function writeUrlState(inputs: readonly InputSpec[], state: Pick<UrlState, 'values' | 'hidden' | 'present'>): URLSearchParams {
  const params = new URLSearchParams();
  for (const input of inputs) {
    const v = state.values[input.name];
    if (v !== undefined && v !== input.value) params.set(input.name, formatValue(v));
  }
  if (state.hidden.size > 0) params.set('hide', [...state.hidden].join(','));
  if (state.present !== null) params.set('present', String(state.present));
  return params;
}
