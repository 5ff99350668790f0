/** One limit shared by everything read at once (the bytes of response bodies, the items of lists). */

/**
 * A limit on what is held at once across every client: the bytes of the response bodies being
 * read (several large answers, each under `max_response_mb`, cannot add up past it either), or
 * the items of the lists being read.
 */
export class Budget {
  #used = 0;
  constructor(readonly limit: number) {}

  /** Takes `bytes` if they fit; false (nothing taken) when they would pass the limit. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back `bytes` taken before (never below zero). */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
