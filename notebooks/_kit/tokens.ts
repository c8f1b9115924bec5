// Tokens as the reader sees them. The trained model reads one ASCII character per token, so a
// token is shown as its character, with a visible glyph where the character has none: ␣ for a
// space, ↵ for a newline, ⇥ for a tab, the Unicode control pictures (␀..␟, ␡) for other control
// codes, and the tokenizer's placeholder (U+FFFD) for what ASCII cannot spell.
import { charTokenizer } from '$engine/tokenizer';

const SPECIAL: Record<number, string> = { 32: '\u2423', 10: '\u21b5', 9: '\u21e5', 13: '\u240d', 127: '\u2421' };

/** One token id as a visible glyph. */
export function glyph(id: number): string {
  if (id in SPECIAL) return SPECIAL[id]!;
  if (id >= 0 && id < 32 && id !== 26) return String.fromCharCode(0x2400 + id);
  return charTokenizer.tokenText(id);
}

/** Token ids as glyphs, one per token (row/column labels of a figure). */
export function glyphs(ids: readonly number[]): string[] {
  return ids.map(glyph);
}

/** Token ids as one line of visible text ("Once␣upon↵"). */
export function visibleText(ids: readonly number[]): string {
  return ids.map(glyph).join('');
}

/** Token ids as plain text (what the model wrote). */
export function plainText(ids: readonly number[]): string {
  return charTokenizer.decode(ids);
}

/** The default texts lessons offer: prose from the held-out stories, and the corpus's arithmetic. */
export const PROSE = 'So the good Moon made a light and went along with him, and the little trundle-bed boat went sailing down the streets into the main street of the village. They rolled past the town hall and the schoolhouse and the church; but nobody saw little Jack Rollaround, because everybody was in bed, asleep.';
export const ARITHMETIC = '14+94=108\n67+31=98\n75-20=55\n79-21=58\n16 17 18 19 20 21\n86+69=155\n40+31=71\n19+70=89\n73-71=2\n40+29=69\n65+58=123\n57-45=12\n95+85=180\n19-18=1\n93+73=166\n98-56=42\n52+0=52\n96-47=49\n1+52=53\n29-2=27\n6+73=79\n85+51=136';

/** The examples a prompt box offers. */
export const TEXT_EXAMPLES = [
  { label: 'prose', value: PROSE },
  { label: 'arithmetic', value: ARITHMETIC },
];

export interface Prompt {
  /** Token ids fed to the model. */
  ids: number[];
  /** A sentence when the text was cut or padded, else ''. */
  notice: string;
}

/**
 * The reader's text as exactly `n` tokens (a lesson's prompt length): cut when longer (the model
 * reads n), repeated when shorter (so every prompt-length slider position still changes something).
 */
export function promptTokens(text: string, n: number): Prompt {
  let ids = charTokenizer.encode(text);
  if (ids.length === 0) ids = charTokenizer.encode(' ');
  if (ids.length >= n) return { ids: ids.slice(0, n), notice: ids.length > n ? `The text has ${ids.length} characters; the first ${n} are used.` : '' };
  const short = ids.length;
  const out: number[] = [];
  while (out.length < n) out.push(...ids.slice(0, n - out.length));
  return { ids: out, notice: `The text has ${short} characters; it is repeated to fill ${n}.` };
}
