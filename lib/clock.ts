/** The time source every loop and processor receives, so tests can drive time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * A clock for tests. With `autoAdvance` (the default) a sleep moves time forward and returns at
 * once (virtual time: retries with backoff cost no real time). Without it, sleeps wait until a
 * test calls `advance`.
 */
export class ManualClock implements Clock {
  #now: number;
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

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    this.slept.push(ms);
    if (this.#auto) {
      this.advance(ms);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const sleeper = { until: this.#now + ms, resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  /** Moves time forward and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
    for (const s of due) s.resolve();
  }
}
