// The character tokenizer of nanoseek's trained models: token id = ASCII code (0..127). Typographic
// punctuation is written the ASCII way first (curly quotes, dashes, the ellipsis), accents are
// dropped (NFKD), and any other character becomes one placeholder id: ASCII's own SUB (26),
// "substitute character". Saved beside a checkpoint as tokenizer.json and checked against the
// config's vocab_size when read back.
import { EngineInputError } from './errors.js';

/** ASCII SUB: what a character with no ASCII spelling becomes. */
export const PLACEHOLDER_ID = 26;
/** What the placeholder prints as when decoding (U+FFFD, the replacement character). */
export const PLACEHOLDER_TEXT = '\uFFFD';

/** Typographic characters and their ASCII spelling (the same table the corpus is cleaned with). */
export const ASCII_SPELLINGS: Readonly<Record<string, string>> = Object.freeze({
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"', '\u2033': '"', '\u00ab': '"', '\u00bb': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2212': '-',
  '\u2014': '--', '\u2015': '--',
  '\u2026': '...',
  '\u00a0': ' ', '\u2002': ' ', '\u2003': ' ', '\u2009': ' ',
  '\u2022': '*', '\u00b0': ' degrees',
});

/** The saved form (tokenizer.json). */
export interface TokenizerJson {
  type: 'nanoseek-char';
  vocab_size: number;
  placeholder_id: number;
  normalization: Record<string, string>;
  about: string;
}

export class CharTokenizer {
  readonly vocab_size = 128;
  readonly placeholder_id = PLACEHOLDER_ID;

  /** Text to token ids: one id per character after normalization. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const ch of text) {
      const code = ch.codePointAt(0)!;
      if (code < 128) {
        ids.push(code);
        continue;
      }
      const spelled = ASCII_SPELLINGS[ch] ?? stripAccents(ch);
      if (spelled === null) ids.push(PLACEHOLDER_ID);
      else for (let i = 0; i < spelled.length; i++) ids.push(spelled.charCodeAt(i));
    }
    return ids;
  }

  /** Token ids to text (the placeholder prints as U+FFFD). */
  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) s += this.tokenText(id);
    return s;
  }

  /** One token as text. */
  tokenText(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab_size) throw new EngineInputError(`token id ${JSON.stringify(id)} is not in 0..${this.vocab_size - 1}`);
    return id === PLACEHOLDER_ID ? PLACEHOLDER_TEXT : String.fromCharCode(id);
  }

  toJson(): TokenizerJson {
    return {
      type: 'nanoseek-char',
      vocab_size: this.vocab_size,
      placeholder_id: this.placeholder_id,
      normalization: { ...ASCII_SPELLINGS },
      about: 'token id = ASCII code; the characters in normalization are spelled in ASCII first; accents are dropped (NFKD); anything else is placeholder_id',
    };
  }
}

/** An accented Latin letter's base letter when NFKD leaves only ASCII, otherwise null. */
function stripAccents(ch: string): string | null {
  const base = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  for (let i = 0; i < base.length; i++) if (base.charCodeAt(i) >= 128) return null;
  return base.length > 0 ? base : null;
}

export const charTokenizer = new CharTokenizer();

/**
 * Read tokenizer.json and check it against the model's vocabulary. Throws EngineInputError naming
 * the file and the field: a tokenizer that does not fit the model would turn text into wrong ids.
 */
export function parseTokenizerJson(text: string, file: string, vocabSize: number, configFile = 'config.json'): CharTokenizer {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EngineInputError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EngineInputError(`${file}: must be a JSON object`);
  const r = raw as Record<string, unknown>;
  if (r.type !== 'nanoseek-char') throw new EngineInputError(`${file}: "type" must be "nanoseek-char" (got ${JSON.stringify(r.type)})`);
  if (r.vocab_size !== 128) throw new EngineInputError(`${file}: "vocab_size" must be 128, one id per ASCII code (got ${JSON.stringify(r.vocab_size)})`);
  if (r.placeholder_id !== PLACEHOLDER_ID) throw new EngineInputError(`${file}: "placeholder_id" must be ${PLACEHOLDER_ID} (got ${JSON.stringify(r.placeholder_id)})`);
  if (vocabSize !== r.vocab_size) {
    throw new EngineInputError(`${file}: "vocab_size" is ${r.vocab_size} but ${configFile} has vocab_size ${vocabSize}: this tokenizer does not belong to this model`);
  }
  return charTokenizer;
}
