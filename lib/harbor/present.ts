/**
 * How the Harbor backend presents itself: its status row (the schema the backend's rows are
 * typed by), its table on the status page and its quota series in `/metrics`; and, with
 * Keycloak, its OIDC identity conflicts (a second table).
 */
import { z } from "zod";
import { type Presentation, unlimited } from "../presentation.ts";

/** One Harbor project as the status page shows it (bytes; null when not observed, −1 unlimited). */
export const HarborRow = z.object({
  project: z.string(),
  resource: z.string(),
  resourceName: z.string(),
  quotaBytes: z.number().nullable(),
  usedBytes: z.number().nullable(),
  repositories: z.number().nullable(),
  group: z.string(),
  groupBound: z.boolean().nullable(),
  flags: z.array(z.string()),
});
/** One Harbor project as the status page shows it. */
export type HarborRow = z.infer<typeof HarborRow>;

const QUOTA = "berth_harbor_quota_bytes";

/** The Harbor projects' table and quota metrics. */
export const harborPresentation: Presentation<HarborRow> = {
  schema: HarborRow,
  resourceOf: (r) => r.resource,
  groupOf: (r) => r.group,
  section: {
    title: "Harbor projects",
    noun: "project",
    key: "h",
    columns: [
      { heading: "Project" },
      { heading: "Waldur resource" },
      { heading: "Quota used / hard" },
      { heading: "Repositories", numeric: true },
      { heading: "OIDC group" },
      { heading: "Flags" },
    ],
    cells: (r) => [
      { kind: "text", text: r.project },
      { kind: "noted", text: r.resourceName, note: r.resource },
      { kind: "usage", used: r.usedBytes, hard: r.quotaBytes },
      { kind: "text", text: r.repositories === null ? "–" : String(r.repositories) },
      {
        kind: "mark",
        text: r.group,
        ok: r.groupBound,
        titles: { ok: "bound to the project", bad: "not bound to the project" },
      },
      { kind: "flags", flags: r.flags },
    ],
  },
  metrics: {
    families: [
      { name: QUOTA, type: "gauge", help: "Harbor project storage quota: hard and used." },
    ],
    labels: (r) => ({ project: r.project }),
    series: [
      {
        family: QUOTA,
        labels: { kind: "hard" },
        value: (r) => r.quotaBytes === null ? null : unlimited(r.quotaBytes),
      },
      { family: QUOTA, labels: { kind: "used" }, value: (r) => r.usedBytes },
    ],
  },
};

/** One team robot as the status page shows it: never its secret. */
export const TeamRobotRow = z.object({
  projectUuid: z.string(),
  projectSlug: z.string(),
  /** Its name as Harbor shows it (`robot$berth-<slug>`): the registry username. */
  robot: z.string(),
  /** Unix seconds; −1 never; null not known (it could not be made). */
  expiresAt: z.number().nullable(),
  /** Seconds from when the page was read to its expiry; null never or not known. */
  expiresInSeconds: z.number().nullable(),
  /** The Harbor projects it may pull from. */
  projects: z.array(z.string()),
  /** Why it could not be kept as planned, or "". */
  error: z.string(),
});
/** One team robot as the status page shows it. */
export type TeamRobotRow = z.infer<typeof TeamRobotRow>;

const EXPIRY = "berth_team_robot_expiry_seconds";

/** The team robots' table and expiry metric (the snapshot's `robots` table). */
export const teamRobotsPresentation: Presentation<TeamRobotRow> = {
  schema: TeamRobotRow,
  table: "robots",
  section: {
    title: "Team robots",
    noun: "robot",
    key: "t",
    columns: [
      { heading: "Waldur project" },
      { heading: "Robot" },
      { heading: "Expires" },
      { heading: "Pulls from" },
      { heading: "Problem" },
    ],
    cells: (r) => [
      { kind: "noted", text: r.projectSlug, note: r.projectUuid },
      { kind: "text", text: r.robot },
      {
        kind: "text",
        text: r.expiresAt === null
          ? "–"
          : r.expiresAt < 0
          ? "never"
          : `${new Date(r.expiresAt * 1000).toISOString().slice(0, 10)}${
            r.expiresInSeconds === null ? "" : ` (in ${Math.floor(r.expiresInSeconds / 86_400)} d)`
          }`,
      },
      { kind: "names", names: r.projects },
      { kind: "flags", flags: r.error ? [`error: ${r.error}`] : [] },
    ],
  },
  metrics: {
    families: [{
      name: EXPIRY,
      type: "gauge",
      help: "Seconds until each team robot expires (Berth replaces it rotate_before_days before).",
    }],
    labels: (r) => ({ project: r.projectSlug || r.projectUuid }),
    series: [{ family: EXPIRY, labels: {}, value: (r) => r.expiresInSeconds }],
  },
};

/**
 * One OIDC identity conflict (`identities.ts`): the Harbor user of a team member's username holds
 * an older identity (`subiss`) than Keycloak's, so that member cannot log in until it is removed.
 */
export const IdentityRow = z.object({
  username: z.string(),
  /** The Waldur projects whose team the user is in. */
  projects: z.array(z.string()),
  harborUserId: z.number().int(),
  /** The `subiss` Harbor holds. */
  harbor: z.string(),
  /** Keycloak's identity now: the user's id (`sub`) followed by the issuer. */
  keycloak: z.string(),
});
/** One OIDC identity conflict. */
export type IdentityRow = z.infer<typeof IdentityRow>;

const CONFLICTS = "berth_oidc_identity_conflicts";

/** What to do about a conflict, as the page, the log and `berth diagnose` say it. */
export function conflictSentence(username: string): string {
  return `${username}: Harbor holds an older identity; they cannot log in until it is removed; ` +
    `run \`berth repair-oidc-user ${username}\``;
}

/**
 * The OIDC identity conflicts of a Harbor offering with Keycloak (the snapshot's
 * `tables.identities`): on the page among what needs attention, and one series per conflict.
 */
export const identitiesPresentation: Presentation<IdentityRow> = {
  schema: IdentityRow,
  table: "identities",
  attention: true,
  attend: (r) => ({
    kind: "identity-conflict",
    id: r.username,
    what: `${r.username}: Harbor holds an older OIDC identity than Keycloak's; they cannot log in`,
    action: `Run \`berth repair-oidc-user ${r.username} -c <config>\`, then again with ` +
      "`--yes`: it deletes Harbor's stale user, and their next login onboards them again.",
  }),
  section: {
    title: "OIDC identity conflicts",
    noun: "conflict",
    key: "i",
    columns: [
      { heading: "User" },
      { heading: "Waldur projects" },
      { heading: "Harbor holds" },
      { heading: "Keycloak has" },
      { heading: "What to do" },
    ],
    cells: (r) => [
      { kind: "text", text: r.username },
      { kind: "names", names: r.projects },
      { kind: "noted", text: r.harbor, note: `user ${r.harborUserId}` },
      { kind: "text", text: r.keycloak },
      { kind: "text", text: conflictSentence(r.username) },
    ],
  },
  metrics: {
    families: [{
      name: CONFLICTS,
      type: "gauge",
      help: "Team members whose Harbor user holds an older OIDC identity than Keycloak's " +
        "(1 per user; they cannot log in until it is removed).",
    }],
    labels: (r) => ({ user: r.username }),
    series: [{ family: CONFLICTS, labels: {}, value: () => 1 }],
  },
};
