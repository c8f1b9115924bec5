// Work a reader's next step will need, done while the page is idle. A slider whose move costs
// engine work on the main thread (a traced forward, attention at a new length) makes the picture
// wait for it; computing the neighbouring settings ahead, into the lesson's memo, lets a
// step-at-a-time drag find its numbers ready, so the picture waits only for drawing. The values
// are the ones the cells would compute (the same calls, the same memo), only earlier.
//
// One job per idle period, each a few milliseconds, so a key press waits behind at most one; a new
// setting replaces what was still queued. Jobs for a lesson's worker return their promise and run
// one at a time, held back (holdOff) while the worker has the reader's own requests to answer. Where there is no requestIdleCallback (Node: the tests,
// prerendering) nothing runs ahead and every value is computed when a cell needs it.
/**
 * One bounded piece of work; what it returns is dropped (it is kept by the lesson's memo). A job
 * that returns a promise (work sent to a worker) holds the next one until it settles.
 */
export type Job = () => unknown;

export interface IdleJobsOptions {
  /**
   * Asked before each job: milliseconds to wait before running it (0 or less: now), or null to hold
   * it until `poke()` (e.g. while the worker it feeds has a reader's request in flight).
   */
  holdOff?: () => number | null;
}

export class IdleJobs {
  #jobs: Job[] = [];
  #asked = false;
  #running = false;
  readonly #holdOff: (() => number | null) | undefined;

  constructor(options: IdleJobsOptions = {}) {
    this.#holdOff = options.holdOff;
  }

  /** Drop what is queued and queue `jobs`, run in order when the page is idle. */
  replace(jobs: readonly Job[]): void {
    this.#jobs = [...jobs];
    this.poke();
  }

  /** Jobs not yet run. */
  get queued(): number {
    return this.#jobs.length;
  }

  /** Look again for the next job (after what `holdOff` waited for has happened). */
  poke(): void {
    if (this.#asked || this.#running || this.#jobs.length === 0 || typeof requestIdleCallback !== 'function') return;
    this.#asked = true;
    requestIdleCallback(() => {
      this.#asked = false;
      if (this.#running) return;
      const hold = this.#holdOff ? this.#holdOff() : 0;
      if (hold === null) return;
      if (hold > 0) {
        this.#asked = true;
        setTimeout(() => { this.#asked = false; this.poke(); }, hold);
        return;
      }
      const job = this.#jobs.shift();
      let out: unknown;
      try {
        out = job?.();
      } catch {
        // Work done ahead is only a head start: the cell that needs the value computes it again and reports the error.
      }
      if (out instanceof Promise) {
        this.#running = true;
        out.catch(() => {}).finally(() => { this.#running = false; this.poke(); });
        return;
      }
      this.poke();
    });
  }
}
