/**
 * The status server's trust boundary, as pure code: its address (`host:port`), whether that
 * address reaches beyond this host, the warning when it does with no `status.token`, and the
 * rate-limited log of what the server survived (a failed accept, a failed listen, a handler that
 * threw). `lib/world.ts` runs the server and reports {@link ServeEvent}s; this module decides
 * what is said about them.
 */
import type { Logger } from "./log.ts";

/** Splits `host:port` (or `[v6]:port`); an empty host is `127.0.0.1`. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen address ${listen} is not host:port`);
  return { hostname: m[1] || "127.0.0.1", port: Number(m[2]) };
}

/** True for an address only this host reaches: 127.0.0.0/8, `::1` and `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost") return true;
  // 127.x.x.x, also as an IPv4-mapped IPv6 address
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) return v4[1] === "127" && v4.slice(2).every((o) => Number(o) <= 255);
  const groups = ipv6Groups(host);
  return groups !== undefined && groups.every((g, i) => g === (i === 7 ? 1 : 0));
}

/** The eight groups of an IPv6 address (`::` expanded), or `undefined` when it is not one. */
function ipv6Groups(host: string): number[] | undefined {
  if (!/^[0-9a-f:]+$/.test(host)) return undefined;
  const halves = host.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => g.length === 0 || g.length > 4)) return undefined;
  return groups.map((g) => Number.parseInt(g, 16));
}

/** True when `listen` reaches beyond this host and no token guards it. */
export function openToNetwork(listen: string, hasToken: boolean): boolean {
  if (hasToken) return false;
  try {
    return !isLoopbackHost(parseListen(listen).hostname);
  } catch {
    return false;
  }
}

/**
 * The warning for a status server that reaches beyond this host with no `status.token`, or
 * `undefined` when there is nothing to warn about. `berth run` logs it; `check-config` prints it.
 */
export function openToNetworkWarning(listen: string, hasToken: boolean): string | undefined {
  if (!openToNetwork(listen, hasToken)) return undefined;
  return `status.listen ${listen} is reachable from the network and status.token is not set: ` +
    "anyone who reaches the port reads the status page, /api/status and /metrics (offering " +
    "names, UUIDs, internal URLs, upstream errors); set status.token (16+ characters, e.g. " +
    "${BERTH_STATUS_TOKEN}) or listen on 127.0.0.1";
}

/** What the status server survived; `lib/world.ts` reports each one as it happens. */
export type ServeEvent =
  /** The listener stopped accepting (out of file descriptors, ...): its connections were dropped. */
  | { kind: "accept"; message: string; retryInMs: number }
  /** Listening again failed; it is tried again after `retryInMs`. */
  | { kind: "listen"; message: string; retryInMs: number }
  /** Listening again after an accept or listen failure. */
  | { kind: "listening"; url: string }
  /** A request's handler threw; the client got a 500. */
  | { kind: "handler"; message: string };

/** One line per kind of event per window at most. */
export const SERVER_LOG_WINDOW_MS = 60_000;

/**
 * Logs {@link ServeEvent}s, at most one line per kind per {@link SERVER_LOG_WINDOW_MS}: a flood
 * that makes the listener fail again and again writes a line a minute, each saying how many it
 * stands for. `now` is monotonic milliseconds.
 */
export class ServerEventLog {
  #log: Logger;
  #now: () => number;
  /** Per kind: when its last line was written, and the events since that were not. */
  #kinds = new Map<ServeEvent["kind"], { at: number; suppressed: number }>();

  constructor(log: Logger, now: () => number) {
    this.#log = log;
    this.#now = now;
  }

  /** Logs `event`, or counts it when a line of its kind was written within the window. */
  record(event: ServeEvent): void {
    const now = this.#now();
    const seen = this.#kinds.get(event.kind);
    if (seen && now - seen.at < SERVER_LOG_WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    const more = seen && seen.suppressed > 0
      ? ` (${seen.suppressed} more since the last such line, ${
        Math.round((now - seen.at) / 1000)
      } s ago)`
      : "";
    this.#kinds.set(event.kind, { at: now, suppressed: 0 });
    switch (event.kind) {
      case "accept":
        this.#log.warn(
          `status server: cannot accept connections: ${event.message}; its open connections ` +
            `were closed and it listens again in ${seconds(event.retryInMs)}${more}`,
        );
        return;
      case "listen":
        this.#log.warn(
          `status server: cannot listen again: ${event.message}; next try in ${
            seconds(event.retryInMs)
          }${more}`,
        );
        return;
      case "listening":
        this.#log.info(`status server: listening again on ${event.url}${more}`);
        return;
      case "handler":
        this.#log.error(`status server: a request failed: ${event.message}${more}`);
        return;
    }
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
