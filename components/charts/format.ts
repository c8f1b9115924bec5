// Number formatting for every chart, table and stat: one function so an axis tick, a tooltip and a
// table cell say the same number the same way. Negative numbers use the typographic minus (U+2212),
// as d3's axes do. Pure: no DOM, runs in Node.

export type NumberFormat = 'plain' | 'si' | 'bytes' | 'sci' | 'percent' | 'ratio';

/** The typographic minus sign used for negative numbers. */
export const MINUS = '\u2212';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
const SI_BIG = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** Drop trailing zeros after a decimal point: "1.500" -> "1.5", "2.000" -> "2". */
function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

function clampDigits(digits: number | undefined, fallback: number): number {
  if (digits === undefined || !Number.isFinite(digits)) return fallback;
  return Math.min(15, Math.max(1, Math.round(digits)));
}

/** Group an integer string's thousands with commas ("1234567" -> "1,234,567"). */
function group(intDigits: string): string {
  return intDigits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A non-negative finite number at `digits` significant digits, without trailing zeros, never in
 * exponent form for 1e-4 <= v < 1e21. Integer parts are never rounded away (1234.5 at 3 digits
 * -> "1235"), and parts of 10,000 and more are grouped with commas.
 */
function significant(v: number, digits: number): string {
  if (v === 0) return '0';
  const magnitude = Math.floor(Math.log10(v));
  let s: string;
  if (magnitude + 1 >= digits) {
    s = Math.round(v).toString();
  } else {
    const decimals = Math.min(20, Math.max(0, digits - 1 - magnitude));
    s = stripZeros(v.toFixed(decimals));
    // Rounding may carry into a new digit (9.996 -> "10.00"); re-strip is enough.
  }
  const [intPart, frac] = s.split('.');
  const grouped = intPart.length > 4 ? group(intPart) : intPart;
  return frac ? `${grouped}.${frac}` : grouped;
}

function sci(v: number, digits: number): string {
  if (v === 0) return '0';
  const [mant, exp] = v.toExponential(digits - 1).split('e');
  const e = Number(exp);
  return `${stripZeros(mant)}e${e < 0 ? '-' : ''}${Math.abs(e)}`;
}

/** Whether `x` shown at `digits` significant digits reads as `limit` or more (999.7 -> "1000"). */
function roundsTo(x: number, digits: number, limit: number): boolean {
  return Number(significant(x, digits).replace(/,/g, '')) >= limit;
}

/**
 * Format a number for people.
 * - `plain`: up to `digits` significant digits, no trailing zeros (0.1 + 0.2 -> "0.3"); integers
 *   are kept whole and grouped from 10,000 ("65,536"); tiny or huge values switch to `sci`.
 * - `si`: decimal prefixes from a thousand up: 1,250,000 -> "1.25 M"; below 1000 as `plain`.
 * - `bytes`: binary units: 9.21e9 -> "8.58 GiB", 512 -> "512 B".
 * - `sci`: "3.1e-7" (mantissa at `digits` significant, no trailing zeros, no "+" or leading 0 in exponent).
 * - `percent`: a fraction shown in percent: 0.7112 -> "71.1%".
 * - `ratio`: 71.13 -> "71.1x".
 * `digits` is the number of significant digits (default 3). NaN -> "—", infinities -> "∞", "−∞".
 * `unitRef` (bytes and si only): choose the unit for this magnitude instead of |v|, so numbers shown
 * together share one unit (axis ticks 0, 0.5 MiB, 1 MiB rather than 0 B, 512 KiB, 1 MiB).
 */
export function formatNumber(v: number, format: NumberFormat = 'plain', digits?: number, unitRef?: number): string {
  const d = clampDigits(digits, 3);
  if (Number.isNaN(v)) return '—';
  const sign = v < 0 ? MINUS : '';
  const a = Math.abs(v);
  if (!Number.isFinite(a)) return `${sign}∞`;

  switch (format) {
    case 'bytes': {
      const ref = unitRef === undefined ? a : Math.abs(unitRef);
      if (ref < 1024) return `${sign}${significant(a, Math.max(d, 4))} B`;
      let unit = 0;
      let x = ref;
      while (x >= 1024 && unit < BYTE_UNITS.length - 1) {
        x /= 1024;
        unit++;
      }
      // 1023.9 KiB would read "1024 KiB": promote to the next unit instead.
      if (unitRef === undefined && roundsTo(x, d, 1024) && unit < BYTE_UNITS.length - 1) unit++;
      if (a === 0) return unitRef === undefined ? '0 B' : '0';
      return `${sign}${significant(a / 1024 ** unit, d)} ${BYTE_UNITS[unit]}`;
    }
    case 'si': {
      const ref = unitRef === undefined ? a : Math.abs(unitRef);
      let unit = 0;
      let x = ref;
      while (x >= 1000 && unit < SI_BIG.length - 1) {
        x /= 1000;
        unit++;
      }
      if (unitRef === undefined && x > 0 && roundsTo(x, d, 1000) && unit < SI_BIG.length - 1) unit++;
      if (unit === 0) return sign + plainAbs(a, d);
      if (a === 0) return '0';
      return `${sign}${significant(a / 1000 ** unit, d)} ${SI_BIG[unit]}`;
    }
    case 'sci':
      return sign + sci(a, d);
    case 'percent':
      return `${sign}${plainAbs(a * 100, d)}%`;
    case 'ratio':
      return `${sign}${plainAbs(a, d)}x`;
    case 'plain':
    default:
      return sign + plainAbs(a, d);
  }
}

function plainAbs(a: number, d: number): string {
  if (a === 0) return '0';
  if (a < 1e-4 || a >= 1e21) return sci(a, d);
  return significant(a, d);
}

/**
 * Labels for a set of axis ticks in one format: enough significant digits that neighbouring ticks
 * differ (0.25, 0.5, 0.75 rather than 0.3, 0.5, 0.8), capped at 6. With `shareUnit` (linear axes)
 * bytes and si ticks all use the unit of the largest tick; log axes pass false (1 KiB, 1 MiB, 1 GiB).
 */
export function formatTicks(ticks: readonly number[], format: NumberFormat = 'plain', shareUnit = true): string[] {
  const ref = shareUnit && (format === 'bytes' || format === 'si') ? Math.max(0, ...ticks.map((t) => Math.abs(t))) : undefined;
  for (let digits = 3; digits <= 6; digits++) {
    const labels = ticks.map((t) => formatNumber(t, format, digits, ref));
    if (new Set(labels).size === new Set(ticks).size) return labels;
  }
  return ticks.map((t) => formatNumber(t, format, 6, ref));
}
