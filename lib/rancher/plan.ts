/**
 * The Rancher membership plan, pure. From what Waldur wants (one Rancher project per resource
 * with CPU and memory quotas, a namespace in it, the Waldur project's Keycloak group bound with
 * the configured role) and what one observation of Rancher and Keycloak found, the actions that
 * close the gap. No clock, no I/O: `berth plan` prints it, the backend applies it.
 */
import type { Limits, ResourceSpec } from "../backend.ts";
import { cpuQuantity, memoryQuantity, parseQuantity } from "./quantity.ts";
import { adoptedAttributes, groupOwnership } from "../keycloak/sync.ts";
import type { Namespace, Project, Prtb, QuotaLimit } from "./schemas.ts";

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

/** What Rancher holds, as one pass observed it. */
export interface RancherObserved {
  /** Projects of the cluster by id. */
  projects: ReadonlyMap<string, Project>;
  /** Namespaces by the project name they belong to (`p-xxxxx`). */
  namespaces: ReadonlyMap<string, readonly Namespace[]>;
  /** Bindings by project id. */
  prtbs: ReadonlyMap<string, readonly Prtb[]>;
}

/** One change to Rancher. */
export type RancherAction =
  | {
    kind: "set-quota";
    resources: string[];
    projectId: string;
    project: string;
    quota: QuotaLimit | null;
  }
  | {
    kind: "adopt-project";
    resources: string[];
    projectId: string;
    project: string;
    /** The project's annotations with Berth's added. */
    annotations: Record<string, string>;
  }
  | { kind: "create-namespace"; resources: string[]; projectId: string; namespace: string }
  | {
    kind: "create-binding";
    resources: string[];
    projectId: string;
    project: string;
    principal: string;
    role: string;
  }
  | {
    kind: "delete-binding";
    resources: string[];
    projectId: string;
    project: string;
    prtbId: string;
    principal: string;
    role: string;
  };

/**
 * The Rancher project a resource names: by Waldur's backend_id, else by its display name (the
 * one annotated for it first, then an unannotated one). Whether it may act on it is
 * {@link projectOwnership}'s to say.
 */
export function findProject(
  r: ResourceSpec,
  projects: ReadonlyMap<string, Project>,
  naming: RancherNaming,
): Project | undefined {
  if (r.backendId) return projects.get(r.backendId);
  const name = projectName(r, naming);
  const named = [...projects.values()].filter((p) => p.name === name);
  return named.find((p) => p.annotations?.[ANNOTATIONS.resource] === r.uuid) ??
    named.find((p) => !p.annotations?.[ANNOTATIONS.resource]) ?? named[0];
}

/** Plans the Rancher side of a membership pass. */
export function planRancher(
  desired: readonly ResourceSpec[],
  observed: RancherObserved,
  naming: RancherNaming,
  options: { bindGroups: boolean },
): { actions: RancherAction[]; problems: Map<string, string> } {
  const actions: RancherAction[] = [];
  const problems = new Map<string, string>();
  const found = new Map<string, Project>();
  const holders = new Map<string, string[]>();
  for (const r of desired) {
    const p = findProject(r, observed.projects, naming);
    if (!p) {
      problems.set(
        r.uuid,
        `Rancher project ${
          r.backendId || projectName(r, naming)
        } not found in cluster ${naming.clusterId}`,
      );
      continue;
    }
    found.set(r.uuid, p);
    holders.set(p.id, [...holders.get(p.id) ?? [], r.uuid]);
  }
  for (const r of desired) {
    const p = found.get(r.uuid);
    if (!p) continue;
    const claimants = holders.get(p.id) ?? [];
    const owned = projectOwnership(r, p, naming);
    if (owned.kind === "refused") {
      problems.set(r.uuid, owned.why);
      continue;
    }
    if (claimants.length > 1 && owned.kind === "adopt") {
      problems.set(
        r.uuid,
        `Rancher project ${p.id} (${p.name}) is claimed by ${claimants.length} resources of this ` +
          `offering (${claimants.join(", ")}); it was not adopted and nothing was changed`,
      );
      continue;
    }
    if (owned.kind === "adopt") {
      actions.push({
        kind: "adopt-project",
        resources: [r.uuid],
        projectId: p.id,
        project: p.name,
        annotations: { ...p.annotations, ...berthAnnotations(r) },
      });
    }
    const quota = quotaLimit(r.limits, naming);
    if (!quotaMatches(p, quota)) {
      actions.push({
        kind: "set-quota",
        resources: [r.uuid],
        projectId: p.id,
        project: p.name,
        quota,
      });
    }
    const pName = p.id.split(":")[1] ?? "";
    if ((observed.namespaces.get(pName) ?? []).length === 0) {
      actions.push({
        kind: "create-namespace",
        resources: [r.uuid],
        projectId: p.id,
        namespace: projectName(r, naming),
      });
    }
    if (!options.bindGroups) continue;
    const want = principal(childGroup(r, naming), naming);
    const bindings = (observed.prtbs.get(p.id) ?? []).filter((b) => b.groupPrincipalId === want);
    if (!bindings.some((b) => b.roleTemplateId === naming.role)) {
      actions.push({
        kind: "create-binding",
        resources: [r.uuid],
        projectId: p.id,
        project: p.name,
        principal: want,
        role: naming.role,
      });
    }
    for (const b of bindings.filter((x) => x.roleTemplateId !== naming.role)) {
      actions.push({
        kind: "delete-binding",
        resources: [r.uuid],
        projectId: p.id,
        project: p.name,
        prtbId: b.id,
        principal: want,
        role: b.roleTemplateId,
      });
    }
  }
  return { actions, problems };
}

/** A Keycloak user as the plan sees it. */
export interface KcUser {
  id: string;
  username: string;
}

/** What Keycloak holds under the cluster's parent group. */
export interface GroupsObserved {
  parent: { id: string; managed: boolean } | null;
  /** Child groups by name (`attributes` as Keycloak holds them). */
  children: ReadonlyMap<
    string,
    { id: string; managed: boolean; projectUuid: string; attributes?: Record<string, string[]> }
  >;
  /** Members by child group name, or the error that kept them from being read. */
  members: ReadonlyMap<string, readonly KcUser[] | Error>;
  /** Wanted usernames resolved to Keycloak users; null when Keycloak has no such user. */
  users: ReadonlyMap<string, KcUser | null | Error>;
}

/** One child group wanted by resources of one Waldur project. */
export interface ChildWant {
  group: string;
  projectUuid: string;
  resources: string[];
  usernames: readonly string[];
}

/** One change to Keycloak. */
export type GroupAction =
  | { kind: "create-parent"; group: string }
  | { kind: "create-child"; group: string; projectUuid: string; resources: string[] }
  | {
    kind: "adopt-child";
    group: string;
    id: string;
    /** Its attributes with Berth's added. */
    attributes: Record<string, string[]>;
    resources: string[];
  }
  | { kind: "add-member"; group: string; user: KcUser; resources: string[] }
  | { kind: "remove-member"; group: string; user: KcUser; resources: string[] }
  | { kind: "delete-child"; group: string; id: string }
  | { kind: "delete-parent"; group: string; id: string };

/** The Keycloak plan, and what it could not do (missing users, unreadable groups). */
export interface GroupPlan {
  actions: GroupAction[];
  /** Child group → usernames Keycloak does not know. */
  missing: Map<string, string[]>;
  /** Child group → why it could not be planned. */
  problems: Map<string, string>;
}

/** True when `user` is who `username` names (by id with `keycloak_use_user_id`, else by username). */
export function isUser(user: KcUser, username: string, byId: boolean): boolean {
  return (byId && user.id === username) || user.username.toLowerCase() === username.toLowerCase();
}

/**
 * Plans the Keycloak side: the parent, one child per wanted group, members added and removed,
 * and Berth's own child groups that no resource uses any more (`inUse`: groups some Rancher
 * project is still bound to) deleted, then the parent if it is Berth's and left empty.
 */
export function planGroups(
  parent: string,
  wants: readonly ChildWant[],
  observed: GroupsObserved,
  options: { byId: boolean; inUse: ReadonlySet<string>; liveProjects: ReadonlySet<string> },
): GroupPlan {
  const actions: GroupAction[] = [];
  const missing = new Map<string, string[]>();
  const problems = new Map<string, string>();
  if (!observed.parent && wants.length > 0) actions.push({ kind: "create-parent", group: parent });
  const wanted = new Set(wants.map((w) => w.group));
  for (const w of wants) {
    const child = observed.children.get(w.group);
    if (!child) {
      actions.push({
        kind: "create-child",
        group: w.group,
        projectUuid: w.projectUuid,
        resources: w.resources,
      });
    } else {
      // Members change only in a group whose attribute names this Waldur project; one without
      // it (the Python agent's, or made by hand) is adopted first; another project's is a
      // conflict, never a target.
      const owned = groupOwnership(child.projectUuid, w.projectUuid);
      if (typeof owned === "object") {
        problems.set(
          w.group,
          `Keycloak group ${w.group} belongs to Waldur project ${owned.conflict}, not ` +
            `${w.projectUuid}; it is a conflict, not a target: nothing was changed`,
        );
        continue;
      }
      if (owned === "adopt") {
        actions.push({
          kind: "adopt-child",
          group: w.group,
          id: child.id,
          attributes: adoptedAttributes(child.attributes, w.projectUuid),
          resources: w.resources,
        });
      }
    }
    const members = child ? observed.members.get(w.group) : [];
    if (members instanceof Error) {
      problems.set(w.group, members.message);
      continue;
    }
    const have = members ?? [];
    const lost: string[] = [];
    for (const u of w.usernames) {
      if (have.some((m) => isUser(m, u, options.byId))) continue;
      const user = observed.users.get(u);
      if (user instanceof Error) {
        problems.set(w.group, user.message);
        continue;
      }
      if (!user) lost.push(u);
      else actions.push({ kind: "add-member", group: w.group, user, resources: w.resources });
    }
    if (lost.length) missing.set(w.group, lost);
    // Remove only when every wanted user could be told apart: an unresolved lookup keeps members.
    if (problems.has(w.group)) continue;
    for (const m of have) {
      if (!w.usernames.some((u) => isUser(m, u, options.byId))) {
        actions.push({ kind: "remove-member", group: w.group, user: m, resources: w.resources });
      }
    }
  }
  let remaining = observed.children.size;
  for (const [name, child] of observed.children) {
    if (wanted.has(name) || !child.managed || options.inUse.has(name)) continue;
    if (child.projectUuid && options.liveProjects.has(child.projectUuid)) continue;
    actions.push({ kind: "delete-child", group: name, id: child.id });
    remaining--;
  }
  if (observed.parent?.managed && remaining === 0 && wants.length === 0) {
    actions.push({ kind: "delete-parent", group: parent, id: observed.parent.id });
  }
  return { actions, problems, missing };
}

/** An action in words, for `berth plan` and the audit log. */
export function describe(a: RancherAction | GroupAction): { target: string; detail: string } {
  switch (a.kind) {
    case "set-quota":
      return {
        target: a.project,
        detail: a.quota
          ? `quota ${
            [
              a.quota.limitsCpu && `cpu ${a.quota.limitsCpu}`,
              a.quota.limitsMemory && `memory ${a.quota.limitsMemory}`,
            ].filter(Boolean).join(", ")
          }`
          : "no quota",
      };
    case "adopt-project":
      return {
        target: a.project,
        detail: `annotate ${a.projectId} for resource ${a.annotations[ANNOTATIONS.resource]}`,
      };
    case "create-namespace":
      return { target: a.namespace, detail: `in ${a.projectId}` };
    case "create-binding":
      return { target: a.project, detail: `${a.principal} as ${a.role}` };
    case "delete-binding":
      return { target: a.project, detail: `${a.principal} as ${a.role} (role changed)` };
    case "create-parent":
    case "delete-parent":
      return { target: a.group, detail: "cluster group" };
    case "create-child":
      return { target: a.group, detail: "project group" };
    case "adopt-child":
      return { target: a.group, detail: `for Waldur project ${a.attributes.waldur_project_uuid}` };
    case "delete-child":
      return { target: a.group, detail: "no resource uses it" };
    case "add-member":
    case "remove-member":
      return { target: a.group, detail: a.user.username };
  }
}
