// Errors a formula reports, already in the reader's words.

/** An error whose message is already written for the reader. */
export class FormulaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormulaError';
  }
}
