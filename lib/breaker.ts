/**
 * Circuit breakers, one per upstream server (origin). After `threshold` transient failures in a
 * row (no answer, 429, 5xx) the breaker opens: requests fail at once, without reaching the
 * server, until `openMs` has passed; then one probe goes through (half-open). A good answer
 * closes it; a failed probe opens it again for twice as long, up to `maxOpenMs`. So an outage
 * costs a handful of requests instead of a storm of retries, and the agent notices the server's
 * return within one open period. A Retry-After (429, 503) opens it at once for exactly as long
 * as the server asked. `maxOpenMs` is kept under the loops' interval, so the first pass after a
 * server is back does the work. The breakers wrap the `fetch` every client is given, so
 * Waldur, Harbor, Rancher and Keycloak are all covered, and report to the status record.
 */
import { z } from "zod";
import type { Clock } from "./clock.ts";
import { type Fetch, noAnswer, parseRetryAfter } from "./http.ts";

/** A circuit's state: closed (requests go), open (they fail at once), half-open (one probe). */
export const BreakerState = z.enum(["closed", "open", "half-open"]);
/** A circuit's state. */
export type BreakerState = z.infer<typeof BreakerState>;

/** What the status record, the page and `/metrics` show of one breaker. */
export const BreakerStatus = z.object({
  /** `waldur`, `harbor`, `rancher`, `keycloak` (or `upstream` when unknown). */
  system: z.string(),
  /** The server's origin, `https://harbor.example.com`. */
  target: z.string(),
  state: BreakerState,
  /** Transient failures in a row. */
  failures: z.number(),
  /** Times it opened since the start. */
  opens: z.number(),
  since: z.number(),
  /** When the next probe may go (open), or null. */
  retryAt: z.number().nullable(),
  lastError: z.string(),
});
/** What the status page and `/metrics` show of one breaker. */
export type BreakerStatus = z.infer<typeof BreakerStatus>;

/** Options of {@link Breakers}. */
export interface BreakerOptions {
  clock: Clock;
  threshold?: number;
  openMs?: number;
  maxOpenMs?: number;
  /** The longest a Retry-After keeps the circuit open (the shortest loop interval). */
  maxRetryAfterMs?: number;
  /** Called on every change of state. */
  onChange?: (status: BreakerStatus) => void;
}

/** The error a request gets while its server's breaker is open. */
export class CircuitOpenError extends TypeError {
  constructor(readonly status: BreakerStatus, now: number) {
    super(
      `circuit open after ${status.failures} ${
        status.failures === 1 ? "failure" : "failures"
      } (${status.lastError}); next probe in ${
        seconds(Math.max(0, (status.retryAt ?? now) - now))
      }`,
    );
    this.name = "CircuitOpenError";
  }
}

/** Milliseconds as whole seconds, `10 s`. */
function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)} s`;
}

class Breaker {
  status: BreakerStatus;
  #openFor: number;
  #probing = false;
  /** When the next probe may go, on monotonic time (`status.retryAt` is its wall-time view). */
  #retryAt: number | null = null;

  constructor(system: string, target: string, readonly options: Required<BreakerOptions>) {
    this.status = {
      system,
      target,
      state: "closed",
      failures: 0,
      opens: 0,
      since: options.clock.now(),
      retryAt: null,
      lastError: "",
    };
    this.#openFor = options.openMs;
  }

  /** Throws when the request may not go (open, or half-open with its probe in flight). */
  admit(): void {
    const s = this.status;
    if (
      s.state === "open" && this.#retryAt !== null &&
      this.options.clock.monotonic() >= this.#retryAt
    ) {
      this.#set("half-open");
      this.#probing = false;
    }
    if (s.state === "open" || (s.state === "half-open" && this.#probing)) {
      throw new CircuitOpenError({ ...s }, this.options.clock.now());
    }
    if (s.state === "half-open") this.#probing = true;
  }

  succeeded(): void {
    const s = this.status;
    s.failures = 0;
    this.#probing = false;
    this.#openFor = this.options.openMs;
    if (s.state !== "closed") {
      s.retryAt = null;
      this.#retryAt = null;
      this.#set("closed");
    }
  }

  /**
   * A transient failure. `retryAfterMs` is the server's own word (Retry-After on a 429 or 503):
   * the circuit opens at once for exactly that long, whatever the count. Otherwise it opens at
   * the threshold, for `openMs` doubling per failed probe up to `maxOpenMs`.
   */
  failed(reason: string, retryAfterMs?: number): void {
    const s = this.status;
    s.failures++;
    s.lastError = reason;
    const probeFailed = s.state === "half-open";
    this.#probing = false;
    if (retryAfterMs === undefined && !probeFailed && s.failures < this.options.threshold) return;
    if (probeFailed && retryAfterMs === undefined) {
      this.#openFor = Math.min(this.options.maxOpenMs, this.#openFor * 2);
    }
    // the server's word, but never longer than a loop interval: a hostile or broken
    // Retry-After cannot stop the agent for good
    const wait = retryAfterMs === undefined
      ? this.#openFor
      : Math.min(retryAfterMs, this.options.maxRetryAfterMs);
    s.retryAt = this.options.clock.now() + wait;
    this.#retryAt = this.options.clock.monotonic() + wait;
    // an outage opens it once: a failed probe (half-open → open) keeps it open, not a new one
    if (s.state === "closed") s.opens++;
    this.#set("open");
  }

  #set(state: BreakerState): void {
    this.status.state = state;
    this.status.since = this.options.clock.now();
    this.options.onChange({ ...this.status });
  }
}

/**
 * The log line of a breaker's change: warn when it opens, info when it half-opens or closes
 * again; none for the report of its first call (closed, never opened: nothing changed).
 */
export function changeLine(
  b: BreakerStatus,
): { level: "warn" | "info"; text: string } | undefined {
  const where = `${b.system} ${b.target}`;
  if (b.state === "open") return { level: "warn", text: `${where}: circuit open (${b.lastError})` };
  if (b.state === "closed" && b.opens === 0) return undefined;
  return { level: "info", text: `${where}: circuit ${b.state}` };
}

/** The breakers of one agent, by origin. */
export class Breakers {
  readonly #options: Required<BreakerOptions>;
  readonly #byOrigin = new Map<string, Breaker>();
  readonly #labels = new Map<string, string>();

  constructor(options: BreakerOptions) {
    this.#options = {
      threshold: 5,
      openMs: 5_000,
      maxOpenMs: 60_000,
      maxRetryAfterMs: 60_000,
      onChange: () => {},
      ...options,
    };
  }

  /** Names the system behind a URL (from the config), for the status page. */
  label(url: string, system: string): void {
    if (URL.canParse(url)) this.#labels.set(new URL(url).origin, system);
  }

  /** Every breaker's state. */
  all(): BreakerStatus[] {
    return [...this.#byOrigin.values()].map((b) => ({ ...b.status }));
  }

  /** `fetch` behind the breakers. */
  wrap(fetch: Fetch): Fetch {
    return async (request) => {
      const breaker = this.#breaker(new URL(request.url).origin);
      breaker.admit();
      let response: Response;
      try {
        response = await fetch(request);
      } catch (error) {
        breaker.failed(noAnswer(error, request.url));
        throw error;
      }
      if (response.status >= 500 || response.status === 429) {
        const after = parseRetryAfter(
          response.headers.get("retry-after"),
          this.#options.clock.now(),
        );
        breaker.failed(
          `HTTP ${response.status}${after === undefined ? "" : `, retry after ${seconds(after)}`}`,
          after,
        );
      } else breaker.succeeded();
      return response;
    };
  }

  #breaker(origin: string): Breaker {
    let b = this.#byOrigin.get(origin);
    if (!b) {
      b = new Breaker(this.#labels.get(origin) ?? "upstream", origin, this.#options);
      this.#byOrigin.set(origin, b);
      // reported from its first call, so the page lists every server called, closed ones too
      this.#options.onChange({ ...b.status });
    }
    return b;
  }
}
