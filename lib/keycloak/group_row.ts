/**
 * A Keycloak group as the status record keeps it after a sync: the row the group sync and the
 * Rancher backend write, the status page's group tree reads and `/metrics` counts.
 */
import { z } from "zod";
import type { RowMetrics } from "../presentation.ts";

/** A group's state after the last sync, for the status page. */
export const GroupRow = z.object({
  /** `/name` (top-level groups) or `/parent/name`. */
  path: z.string(),
  /** Null when the members could not be read. */
  members: z.number().nullable(),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  /** Wanted usernames that Keycloak does not know (yet). */
  missing: z.array(z.string()),
  /** Why the last sync of the group failed, or "". */
  error: z.string(),
  /** The members' usernames as last read, sorted, the first {@link MEMBER_NAMES} (the resource page). */
  names: z.array(z.string()).optional(),
});
/** A group's state after the last sync, for the status page. */
export type GroupRow = z.infer<typeof GroupRow>;

/** How many member names a row keeps: enough for a team, bounded for a hostile group. */
export const MEMBER_NAMES = 50;

/** The usernames a row keeps of `members`: sorted, the first {@link MEMBER_NAMES}. */
export function memberNames(members: readonly { username: string }[]): string[] {
  return members.map((m) => m.username).sort().slice(0, MEMBER_NAMES);
}

/** A row's `names` field, when the names are known. */
export function namesOf(list: readonly string[] | undefined): { names?: string[] } {
  return list === undefined ? {} : { names: [...list] };
}

/** `row` after `username` was added to the group: counted, named. */
export function memberJoined(row: GroupRow, username: string): void {
  row.added.push(username);
  row.members = (row.members ?? 0) + 1;
  if (row.names) row.names = [...row.names, username].sort().slice(0, MEMBER_NAMES);
}

/** `row` after `username` was removed from the group. */
export function memberLeft(row: GroupRow, username: string): void {
  row.removed.push(username);
  row.members = Math.max(0, (row.members ?? 1) - 1);
  if (row.names) row.names = row.names.filter((n) => n !== username);
}

/** The group sizes in `/metrics`. */
export const groupMetrics: RowMetrics<GroupRow> = {
  families: [{
    name: "berth_keycloak_group_members",
    type: "gauge",
    help: "Members of each managed Keycloak group.",
  }],
  labels: (g) => ({ group: g.path }),
  series: [{ family: "berth_keycloak_group_members", labels: {}, value: (g) => g.members }],
};
