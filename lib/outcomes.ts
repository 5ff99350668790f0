/**
 * How a pass's per-resource outcomes add up, for every backend: an applied action counts one
 * change for each resource it serves, a failed one fails them, and a second system's outcomes
 * (Keycloak's) join the first's without hiding its failures.
 */
import type { Outcome } from "./backend.ts";

/** Counts one applied action into its resources' outcomes, or the error that stopped it. */
export function countAction(
  outcomes: Map<string, Outcome>,
  resources: readonly string[],
  error?: unknown,
): void {
  for (const uuid of resources) {
    const o = outcomes.get(uuid);
    if (error !== undefined) outcomes.set(uuid, { ok: false, error });
    else if (o?.ok) outcomes.set(uuid, { ok: true, changes: o.changes + 1 });
  }
}

/**
 * Adds a second system's outcomes: changes add up, its failure replaces a success, and a
 * resource that already failed keeps its first error.
 */
export function joinOutcomes(
  outcomes: Map<string, Outcome>,
  more: ReadonlyMap<string, Outcome> | undefined,
): void {
  for (const [uuid, outcome] of more ?? []) {
    const o = outcomes.get(uuid);
    if (!o?.ok) continue;
    outcomes.set(uuid, outcome.ok ? { ok: true, changes: o.changes + outcome.changes } : outcome);
  }
}
