/**
 * How a Rancher offering's pull secrets are shown: one row per Waldur project (its team robot,
 * when the robot expires, how many of its namespaces hold a current copy, and what is wrong), a
 * second table of the Rancher snapshot (`tables["pull-secrets"]`), and the namespaces with and
 * without a current copy in `/metrics`. Nothing of a credential is in a row.
 */
import { z } from "zod";
import type { Presentation } from "../presentation.ts";

/** The snapshot table the pull secret rows are published under. */
export const PULL_TABLE = "pull-secrets";

/** One Waldur project's pull secrets as the status page shows them. */
export const PullSecretRow = z.object({
  /** The Waldur project's slug, or its uuid when no resource of this pass named it. */
  project: z.string(),
  projectUuid: z.string(),
  /** The team robot's name, null when the team has none. */
  robot: z.string().nullable(),
  /** When the robot expires: unix seconds, −1 never, null unknown. */
  expiresAt: z.number().nullable(),
  /** Namespaces holding a current copy. */
  current: z.number().int().nonnegative(),
  /** The team's namespaces. */
  namespaces: z.number().int().nonnegative(),
  flags: z.array(z.string()),
});
/** One Waldur project's pull secrets as the status page shows them. */
export type PullSecretRow = z.infer<typeof PullSecretRow>;

const NAMESPACES = "berth_pull_secret_namespaces";

/** The pull secrets' table and metrics. */
export const pullSecretsPresentation: Presentation<PullSecretRow> = {
  schema: PullSecretRow,
  table: PULL_TABLE,
  section: {
    title: "Image pull secrets",
    noun: "Waldur project",
    key: "s",
    columns: [
      { heading: "Waldur project" },
      { heading: "Team robot" },
      { heading: "Expires" },
      { heading: "Namespaces current", numeric: true },
      { heading: "Flags" },
    ],
    cells: (r) => [
      { kind: "noted", text: r.project, note: r.project === r.projectUuid ? null : r.projectUuid },
      { kind: "text", text: r.robot ?? "none" },
      { kind: "text", text: expiry(r.expiresAt) },
      { kind: "text", text: `${r.current} of ${r.namespaces}` },
      { kind: "flags", flags: r.flags },
    ],
  },
  metrics: {
    families: [{
      name: NAMESPACES,
      type: "gauge",
      help: "Namespaces of a Waldur project's Rancher projects with (current) and without " +
        "(missing) a current image pull secret of its team robot.",
    }],
    labels: (r) => ({ project: r.projectUuid }),
    series: [
      { family: NAMESPACES, labels: { state: "current" }, value: (r) => r.current },
      {
        family: NAMESPACES,
        labels: { state: "missing" },
        value: (r) => Math.max(0, r.namespaces - r.current),
      },
    ],
  },
};

/** An expiry as the page shows it: a UTC date and time, `never` or `unknown`. */
export function expiry(expiresAt: number | null): string {
  if (expiresAt === null) return "unknown";
  if (expiresAt < 0) return "never";
  return `${new Date(expiresAt * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
