/** A clock for tests: virtual time that only a test (or an auto-advancing sleep) moves. */
import type { Clock } from "../lib/clock.ts";

/**
 * A clock for tests. With `autoAdvance` (the default) a sleep moves time forward and returns at
 * once (virtual time: retries with backoff cost no real time). Without it, sleeps wait until a
 * test calls `advance`. `stepWall` moves the wall clock alone, as an NTP correction does.
 */
export class ManualClock implements Clock {
  #now: number;
  #monotonic = 0;
  #auto: boolean;
  #sleepers: { until: number; resolve: () => void }[] = [];
  /** Every sleep requested, in ms. */
  readonly slept: number[] = [];

  constructor(options: { start?: number; autoAdvance?: boolean } = {}) {
    this.#now = options.start ?? Date.UTC(2026, 10, 15, 12, 0, 0);
    this.#auto = options.autoAdvance ?? true;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#monotonic;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    this.slept.push(ms);
    if (this.#auto) {
      this.advance(ms);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const sleeper = { until: this.#monotonic + ms, resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener("abort", () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        resolve();
      }, { once: true });
    });
  }

  /** Sleepers waiting for {@link advance}. */
  get sleeping(): number {
    return this.#sleepers.length;
  }

  /** Moves time forward (wall and monotonic) and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this.#now += ms;
    this.#monotonic += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#monotonic);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#monotonic);
    for (const s of due) s.resolve();
  }

  /** Steps the wall clock alone (an NTP correction, a resumed VM); sleepers are not woken. */
  stepWall(ms: number): void {
    this.#now += ms;
  }
}
