/**
 * Fault injection for the fakes, per route: each fake has `faults`, and a rule says which
 * requests (method, path pattern) get which fault, how many times: a status code (429 with
 * Retry-After, 500, 502, 503…), a dropped connection (the body breaks off), a malformed or a
 * truncated JSON body (the truncated one after the real handler ran, so the change happened and
 * only the answer was lost), a wait the test controls (past the client's timeout), or a hook
 * that changes the fake's data before the request is served (pages that change between calls).
 */
import type { MiddlewareHandler } from "hono";

/** What a matching request gets. */
export type Fault =
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "drop" }
  | { kind: "malformed" }
  | { kind: "truncated" }
  | { kind: "wait"; until: () => Promise<void> }
  | { kind: "before"; run: () => void };

/** One rule: which requests, which fault, how many times (default: every time). */
export type FaultRule = Fault & { method?: string; path?: RegExp; times?: number };

/** The faults of one fake. */
export class Faults {
  #rules: { rule: FaultRule; left: number }[] = [];
  /** Requests that got a fault. */
  hits = 0;

  /** Adds a rule; the first matching rule with tries left wins. */
  add(rule: FaultRule): void {
    this.#rules.push({ rule, left: rule.times ?? Infinity });
  }

  /** Removes every rule (the fault clears). */
  clear(): void {
    this.#rules = [];
  }

  /** The Hono middleware that applies the rules. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const path = new URL(c.req.url).pathname;
      const entry = this.#rules.find(({ rule, left }) =>
        left > 0 && (rule.method === undefined || rule.method === c.req.method) &&
        (rule.path === undefined || rule.path.test(path))
      );
      if (!entry) return await next();
      entry.left--;
      this.hits++;
      const fault = entry.rule;
      switch (fault.kind) {
        case "status":
          return new Response(JSON.stringify({ detail: `injected HTTP ${fault.status}` }), {
            status: fault.status,
            headers: {
              "content-type": "application/json",
              ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}),
            },
          });
        case "drop":
          return new Response(
            new ReadableStream({
              start(controller) {
                controller.enqueue(new TextEncoder().encode('{"partial'));
                controller.error(new TypeError("connection reset by peer"));
              },
            }),
            { status: 200, headers: { "content-type": "application/json" } },
          );
        case "malformed":
          return c.body('{"results": [{"uuid": ', 200, { "content-type": "application/json" });
        case "truncated": {
          await next();
          const text = await c.res.text();
          c.res = new Response(text.slice(0, Math.floor(text.length / 2)), {
            status: c.res.status,
            headers: { "content-type": "application/json" },
          });
          return;
        }
        case "wait":
          await fault.until();
          return await next();
        case "before":
          fault.run();
          return await next();
      }
    };
  }
}
