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
});
/** A group's state after the last sync, for the status page. */
export type GroupRow = z.infer<typeof GroupRow>;

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
