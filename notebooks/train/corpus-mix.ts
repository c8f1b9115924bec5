// The lesson's two corpora from the one shipped training file (static/data/stories/train.txt holds the
// stories with arithmetic lines mixed in, src/engine/train/corpus.ts mixArithmetic): "stories + arithmetic"
// is the file as it is; "stories only" drops the arithmetic lines, which gives back the story text.

/** A mixed-in arithmetic line: a+b=c, a-b=c, or six integers separated by spaces. */
export const ARITHMETIC_LINE = /^(\d+[+-]\d+=\d+|\d+( \d+){5})$/;

/** The training text without its arithmetic lines. */
export function storiesOnly(mixed: string): string {
  return mixed.split('\n').filter((l) => !ARITHMETIC_LINE.test(l)).join('\n');
}
