/**
 * What Berth calls things in Rancher and Keycloak, and whose a project is: project and group
 * names from the templates, Berth's annotations, ownership, and quotas from Waldur limits. Pure.
 */
import type { Limits, ResourceSpec } from "../backend.ts";
import { cpuQuantity, memoryQuantity, parseQuantity } from "./quantity.ts";
import type { Project, QuotaLimit } from "./schemas.ts";

/** Names, templates and mappings a plan needs. */
export interface RancherNaming {
  clusterId: string;
  projectPrefix: string;
  role: string;
  parentTemplate: string;
  childTemplate: string;
  principalPrefix: string;
  /** Waldur component type → what it limits. */
  kinds: Readonly<Record<string, "cpu" | "memory" | "storage">>;
}

/** Annotations Berth puts on its projects (the `waldur/` ones are the Python agent's too). */
export const ANNOTATIONS = {
  managed: "waldur/managed",
  managedBy: "waldur/managed-by",
  resource: "waldur/resource-uuid",
  project: "waldur/project-uuid",
  customer: "waldur/customer-uuid",
  organization: "waldur/organization",
  projectSlug: "waldur/project_slug",
} as const;

/** The annotations that make a project a resource's own. */
export function berthAnnotations(r: ResourceSpec): Record<string, string> {
  return {
    [ANNOTATIONS.managed]: "true",
    [ANNOTATIONS.managedBy]: "berth",
    [ANNOTATIONS.resource]: r.uuid,
    [ANNOTATIONS.project]: r.projectUuid,
    [ANNOTATIONS.customer]: r.customerUuid,
    [ANNOTATIONS.organization]: r.customerSlug,
    [ANNOTATIONS.projectSlug]: r.projectSlug || "unknown",
  };
}

/** Labels Rancher puts on the projects it keeps for itself (System: kube-system and friends). */
const RANCHER_OWN_LABELS = [
  "authz.management.cattle.io/system-project",
  "authz.management.cattle.io/default-project",
];

/** True for a cluster's own System or Default project, which Berth never touches. */
export function isSystemProject(p: Project): boolean {
  return RANCHER_OWN_LABELS.some((l) => p.labels?.[l] === "true") || p.name === "System" ||
    p.name === "Default";
}

/**
 * How a resource stands to a Rancher project: its own (Berth's annotation names the resource),
 * adoptable (unannotated, in the configured cluster, not a system project, and named exactly
 * `project_prefix` + slug, as the Python agent and Berth name them), or not its own, with why.
 * Whether another resource claims it is the caller's to check.
 */
export function projectOwnership(
  r: ResourceSpec,
  p: Project,
  naming: RancherNaming,
): { kind: "own" } | { kind: "adopt" } | { kind: "refused"; why: string } {
  const refused = (why: string) => ({
    kind: "refused" as const,
    why: `Rancher project ${p.id} (${p.name}) ${why}; nothing was changed`,
  });
  if (p.clusterId !== naming.clusterId || !p.id.startsWith(`${naming.clusterId}:`)) {
    return refused(`is not in the configured cluster ${naming.clusterId}`);
  }
  const holder = p.annotations?.[ANNOTATIONS.resource];
  if (holder === r.uuid) return { kind: "own" };
  if (holder) return refused(`belongs to Waldur resource ${holder}, not ${r.uuid}`);
  if (isSystemProject(p)) return refused("is one of the cluster's own projects (System, Default)");
  const name = projectName(r, naming);
  if (p.name !== name) {
    return refused(
      `carries no Berth annotation and is not named ${name} (project_prefix + slug), so it is ` +
        "not this offering's to adopt",
    );
  }
  return { kind: "adopt" };
}

/** The Rancher display name of a resource's project (also its default namespace's name). */
export function projectName(r: ResourceSpec, naming: RancherNaming): string {
  return `${naming.projectPrefix}${r.slug}`;
}

/** The cluster id without `-` and `:`, first 8 characters (the Python agent's `c_<hex8>`). */
export function clusterHex8(clusterId: string): string {
  return clusterId.replace(/[-:]/g, "").slice(0, 8);
}

/** Fills a group name template. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** The Keycloak parent group of the cluster. */
export function parentGroup(naming: RancherNaming): string {
  return fill(naming.parentTemplate, {
    cluster_id: naming.clusterId,
    cluster_hex8: clusterHex8(naming.clusterId),
  });
}

/** The Keycloak child group of a resource's Waldur project and the role. */
export function childGroup(r: ResourceSpec, naming: RancherNaming): string {
  return fill(naming.childTemplate, {
    project_slug: r.projectSlug,
    project_uuid_hex: r.projectUuid.replace(/-/g, ""),
    customer_slug: r.customerSlug,
    role: naming.role,
    cluster_id: naming.clusterId,
    cluster_hex8: clusterHex8(naming.clusterId),
  });
}

/** The Rancher principal of a Keycloak group. */
export function principal(group: string, naming: RancherNaming): string {
  return `${naming.principalPrefix}${group}`;
}

/** The quota limit of a resource's limits: CPU and memory only (storage is reported, not enforced). */
export function quotaLimit(limits: Limits, naming: RancherNaming): QuotaLimit | null {
  const out: QuotaLimit = {};
  for (const [component, amount] of Object.entries(limits)) {
    const kind = naming.kinds[component];
    if (kind === "cpu") out.limitsCpu = cpuQuantity(amount);
    if (kind === "memory") out.limitsMemory = memoryQuantity(amount);
  }
  return Object.keys(out).length === 0 ? null : out;
}

/** True when a project's quota (and its namespace default) hold exactly `want`. */
export function quotaMatches(project: Project, want: QuotaLimit | null): boolean {
  const same = (have: QuotaLimit | null | undefined) => {
    if (want === null) return !have || (!have.limitsCpu && !have.limitsMemory);
    if (!have) return false;
    for (const key of ["limitsCpu", "limitsMemory"] as const) {
      const a = want[key];
      const b = have[key];
      if (a === undefined && b === undefined) continue;
      if (a === undefined || b === undefined) return false;
      try {
        if (Math.abs(parseQuantity(a) - parseQuantity(b)) > 1e-9) return false;
      } catch {
        return false;
      }
    }
    return true;
  };
  return same(project.resourceQuota?.limit) && same(project.namespaceDefaultResourceQuota?.limit);
}
