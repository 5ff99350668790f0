/** The checks of `berth diagnose`, collected one probe at a time. */
import type { Check } from "./backend.ts";
import type { LoopName } from "./config.ts";
import { errorMessage, HttpError } from "./errors.ts";

/** A list of checks and the probe that adds to it. */
export interface Checks {
  checks: Check[];
  /**
   * Runs `fn`; its result is the check's detail, a throw its failure (with the URL and cause).
   * `needs`: the loops that need it (every loop when absent). Resolves whether it passed.
   */
  probe(name: string, fn: () => Promise<string>, needs?: readonly LoopName[]): Promise<boolean>;
  /** Adds a line for what was not checked, and why. */
  skip(name: string, why: string): void;
  /** Adds a line that is neither a pass nor a failure (how something was checked instead). */
  info(name: string, detail: string): void;
}

/** An empty list of checks. */
export function createChecks(): Checks {
  const checks: Check[] = [];
  return {
    checks,
    probe: async (name, fn, needs) => {
      const need = needs ? { needs } : {};
      try {
        checks.push({ name, ok: true, detail: await fn(), ...need });
        return true;
      } catch (error) {
        checks.push({ name, ok: false, detail: failureDetail(error), ...need });
        return false;
      }
    },
    skip: (name, why) => checks.push({ name, ok: true, detail: why, note: "skip" }),
    info: (name, detail) => checks.push({ name, ok: true, detail, note: "info" }),
  };
}

/**
 * A failure as `berth diagnose` prints it: the error's message (which names the cause: refused,
 * DNS, TLS, timeout, the HTTP status and the server's words), and the request it failed on when
 * the message does not already name the server (`GET https://harbor.example.com/api/v2.0/…`).
 */
export function failureDetail(error: unknown): string {
  const message = errorMessage(error);
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof HttpError && e.url !== undefined) {
      const origin = URL.canParse(e.url) ? new URL(e.url).origin : e.url;
      return message.includes(origin) ? message : `${message} (${e.method} ${e.url})`;
    }
    e = e.cause;
  }
  return message;
}
