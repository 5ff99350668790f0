/** The checks of `berth diagnose`, collected one probe at a time. */
import type { Check } from "./backend.ts";
import { errorMessage } from "./errors.ts";

/** A list of checks and the probe that adds to it. */
export interface Checks {
  checks: Check[];
  /** Runs `fn`; its result is the check's detail, a throw its failure. Resolves whether it passed. */
  probe(name: string, fn: () => Promise<string>): Promise<boolean>;
}

/** An empty list of checks. */
export function createChecks(): Checks {
  const checks: Check[] = [];
  return {
    checks,
    probe: async (name, fn) => {
      try {
        checks.push({ name, ok: true, detail: await fn() });
        return true;
      } catch (error) {
        checks.push({ name, ok: false, detail: errorMessage(error) });
        return false;
      }
    },
  };
}
