// Work a reader's next step will need, done while the page is idle. A slider whose move costs
// engine work on the main thread (a traced forward, attention at a new length) makes the picture
// wait for it; computing the neighbouring settings ahead, into the lesson's memo, lets a
// step-at-a-time drag find its numbers ready, so the picture waits only for drawing. The values
// are the ones the cells would compute (the same calls, the same memo), only earlier.
//
// One job per idle period, each a few milliseconds, so a key press waits behind at most one; a new
// setting replaces what was still queued. Where there is no requestIdleCallback (Node: the tests,
// prerendering) nothing runs ahead and every value is computed when a cell needs it.
/** One bounded piece of work; what it returns is dropped (it is kept by the lesson's memo). */
export type Job = () => unknown;

export class IdleJobs {
  #jobs: Job[] = [];
  #asked = false;

  /** Drop what is queued and queue `jobs`, run in order when the page is idle. */
  replace(jobs: readonly Job[]): void {
    this.#jobs = [...jobs];
    this.#ask();
  }

  /** Jobs not yet run. */
  get queued(): number {
    return this.#jobs.length;
  }

  #ask(): void {
    if (this.#asked || this.#jobs.length === 0 || typeof requestIdleCallback !== 'function') return;
    this.#asked = true;
    requestIdleCallback(() => {
      this.#asked = false;
      const job = this.#jobs.shift();
      try {
        job?.();
      } catch {
        // Work done ahead is only a head start: the cell that needs the value computes it again and reports the error.
      }
      this.#ask();
    });
  }
}
