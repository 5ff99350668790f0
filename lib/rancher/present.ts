/**
 * How the Rancher backend presents itself: its status row (the schema the backend's rows are
 * typed by), its table on the status page and its quota series in `/metrics`.
 */
import { z } from "zod";
import { type Presentation, type Series, unlimited } from "../presentation.ts";

/** A quota amount: null when not observed, −1 for unlimited. */
const Amount = z.number().nullable();

/** One Rancher project as the status page shows it (CPU in cores, the rest in bytes). */
export const RancherRow = z.object({
  project: z.string(),
  /** Null while no Rancher project is known for the resource (a placeholder row). */
  projectId: z.string().nullable(),
  resource: z.string(),
  resourceName: z.string(),
  cluster: z.string(),
  cpuRequested: Amount,
  cpuLimit: Amount,
  memoryRequestedBytes: Amount,
  memoryLimitBytes: Amount,
  storageRequestedBytes: Amount,
  namespaces: z.array(z.string()),
  flags: z.array(z.string()),
  /** The Keycloak group of its Waldur project (its name under the cluster's parent group). */
  group: z.string().optional(),
});
/** One Rancher project as the status page shows it. */
export type RancherRow = z.infer<typeof RancherRow>;

const QUOTA = "berth_rancher_quota";

/** The Rancher projects' table and quota metrics. */
export const rancherPresentation: Presentation<RancherRow> = {
  schema: RancherRow,
  resourceOf: (r) => r.resource,
  groupOf: (r) => r.group ?? "",
  section: {
    title: "Rancher projects",
    noun: "project",
    key: "r",
    columns: [
      { heading: "Project" },
      { heading: "Waldur resource" },
      { heading: "CPU requested / limit", numeric: true },
      { heading: "Memory requested / limit", numeric: true },
      { heading: "Storage requested", numeric: true },
      { heading: "Namespaces" },
      { heading: "Flags" },
    ],
    cells: (r) => [
      { kind: "noted", text: r.project, note: r.projectId },
      { kind: "noted", text: r.resourceName, note: r.resource },
      { kind: "pair", requested: r.cpuRequested, limit: r.cpuLimit, format: "cpu" },
      {
        kind: "pair",
        requested: r.memoryRequestedBytes,
        limit: r.memoryLimitBytes,
        format: "bytes",
      },
      { kind: "bytes", bytes: r.storageRequestedBytes },
      { kind: "names", names: r.namespaces },
      { kind: "flags", flags: r.flags },
    ],
  },
  metrics: {
    families: [{
      name: QUOTA,
      type: "gauge",
      help: "Rancher project CPU (cores), memory and storage (bytes): requested and limit.",
    }],
    labels: (r) => ({ project: r.project }),
    series: [
      series({ resource: "cpu", kind: "requested" }, (r) => r.cpuRequested),
      series({ resource: "cpu", kind: "limit" }, (r) => r.cpuLimit),
      series({ resource: "memory", kind: "requested" }, (r) => r.memoryRequestedBytes),
      series({ resource: "memory", kind: "limit" }, (r) => r.memoryLimitBytes),
      series({ resource: "storage", kind: "requested" }, (r) => r.storageRequestedBytes),
    ],
  },
};

/** A quota series: −1 is unlimited. */
function series(
  labels: { resource: string; kind: string },
  amount: (r: RancherRow) => number | null,
): Series<RancherRow> {
  return {
    family: QUOTA,
    labels,
    value: (r) => {
      const v = amount(r);
      return v === null ? null : unlimited(v);
    },
  };
}
