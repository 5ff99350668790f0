/**
 * What a Harbor project uses, from one list of the quotas: each resource's storage in GiB and
 * its quota, or why it could not be read. Pure: the backend reads the list.
 */
import type { ResourceSpec } from "../backend.ts";
import { terminal } from "../errors.ts";
import { GIB } from "../bytes.ts";
import type { Quota } from "./schemas.ts";

/** One resource's usage: its storage used and its quota in bytes, or why it is unknown. */
export type ProjectUsage =
  | { ok: true; storageGb: number; hardBytes: number; usedBytes: number }
  | { ok: false; error: Error };

/** The usage of each resource (its `backendId` is its project) from the quotas list. */
export function usageOf(
  resources: readonly ResourceSpec[],
  quotas: readonly Quota[],
): Map<string, ProjectUsage> {
  const byName = new Map<string, { hard: number; used: number }>();
  for (const q of quotas) {
    if (q.ref?.name) {
      byName.set(q.ref.name, { hard: q.hard?.storage ?? -1, used: q.used?.storage ?? 0 });
    }
  }
  const out = new Map<string, ProjectUsage>();
  for (const r of resources) {
    const q = byName.get(r.backendId);
    out.set(
      r.uuid,
      q ? { ok: true, storageGb: q.used / GIB, hardBytes: q.hard, usedBytes: q.used } : {
        ok: false,
        error: terminal(
          "harbor",
          `no quota found for Harbor project ${r.backendId}; usage not read`,
        ),
      },
    );
  }
  return out;
}
