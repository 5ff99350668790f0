/**
 * How the Harbor backend presents itself: its status row (the schema the backend's rows are
 * typed by), its table on the status page and its quota series in `/metrics`.
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
