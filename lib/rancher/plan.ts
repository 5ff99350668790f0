/**
 * The Rancher plan, pure, for orders and the membership pass alike. From what Waldur wants (one
 * Rancher project per resource with CPU and memory quotas, a namespace in it, the Waldur
 * project's Keycloak group bound with the configured role; or, for a Terminate, no project) and
 * what one observation of Rancher found, the actions that close the gap. No clock, no I/O:
 * `berth plan` prints it, `apply.ts` performs it.
 */
import type { Goal, ResourceSpec } from "../backend.ts";
import {
  ANNOTATIONS,
  berthAnnotations,
  childGroup,
  principal,
  projectName,
  projectOwnership,
  quotaLimit,
  quotaMatches,
  type RancherNaming,
} from "./naming.ts";
import { formatBytes } from "../bytes.ts";
import { parseQuantity } from "./quantity.ts";
import type { Namespace, Project, Prtb, Pvc, QuotaLimit } from "./schemas.ts";

/** What Rancher holds, as one observation found it (the cluster, or one resource's project). */
export interface RancherObserved {
  /** Projects by id: the cluster's, or an order's candidates (by backend_id and by name). */
  projects: ReadonlyMap<string, Project>;
  /** Namespaces by the project name they belong to (`p-xxxxx`). */
  namespaces: ReadonlyMap<string, readonly Namespace[]>;
  /** Bindings by project id. */
  prtbs: ReadonlyMap<string, readonly Prtb[]>;
  /** For an order: the other resources of the offering whose Waldur backend_id is the project. */
  claims?: ReadonlyMap<string, readonly string[]>;
  /** For a Terminate: the volume claims in each project's namespaces, by project id. */
  pvcs?: ReadonlyMap<string, readonly Pvc[]>;
}

/** A resource and what it should come to. */
export interface Desired {
  resource: ResourceSpec;
  goal: Goal;
}

/**
 * One change to Rancher. `projectId` is "" for the project a `create-project` of the same plan
 * makes (the apply fills it in).
 */
export type RancherAction =
  | {
    kind: "create-project";
    resources: string[];
    project: string;
    description: string;
    annotations: Record<string, string>;
    quota: QuotaLimit | null;
  }
  | {
    kind: "set-quota";
    resources: string[];
    projectId: string;
    project: string;
    quota: QuotaLimit | null;
    /** True when the membership pass repairs drift; false when an order asks for it. */
    repair: boolean;
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
  }
  | { kind: "delete-project"; resources: string[]; projectId: string; project: string };

/** The plan: actions, and resources that cannot be brought in line (with why). */
export interface RancherPlan {
  actions: RancherAction[];
  problems: Map<string, string>;
}

/**
 * The Rancher project a resource names: by Waldur's backend_id, else by its display name (the
 * one annotated for it first, then an unannotated one). For an order (`strict`), a backend_id
 * whose project is gone falls back only to one annotated for the resource: a look-alike made
 * since is not what Waldur's resource had. Whether it may act on it is
 * {@link projectOwnership}'s to say.
 */
export function findProject(
  r: ResourceSpec,
  projects: ReadonlyMap<string, Project>,
  naming: RancherNaming,
  strict = false,
): Project | undefined {
  if (r.backendId) {
    const byId = projects.get(r.backendId);
    if (byId || !strict) return byId;
  }
  const name = projectName(r, naming);
  const named = [...projects.values()].filter((p) => p.name === name);
  const own = named.find((p) => p.annotations?.[ANNOTATIONS.resource] === r.uuid);
  if (own || (strict && r.backendId)) return own;
  return named.find((p) => !p.annotations?.[ANNOTATIONS.resource]) ?? named[0];
}

/** The persistent volume claims a project holds, in words, or null when it holds none. */
export function claimsHeld(project: Project, claims: readonly Pvc[]): string | null {
  if (claims.length === 0) return null;
  let bytes = 0;
  for (const c of claims) {
    try {
      bytes += parseQuantity(c.spec.resources?.requests?.storage ?? "0");
    } catch { /* counted, not sized */ }
  }
  return `Rancher project ${project.name} still holds ${claims.length} persistent volume ${
    claims.length === 1 ? "claim" : "claims"
  } (${formatBytes(bytes)}) in ${[...new Set(claims.map((c) => c.metadata.namespace))].join(", ")}`;
}

/** What the plan needs beyond the observation. */
export interface RancherPlanOptions {
  /** Bind the Waldur project's Keycloak group to each project (`keycloak_enabled`). */
  bindGroups: boolean;
  /** What a Terminate does with a project whose namespaces hold volume claims. */
  termination: "refuse" | "purge";
}

/** Plans every desired resource against one observation. */
export function planRancher(
  desired: readonly Desired[],
  observed: RancherObserved,
  naming: RancherNaming,
  options: RancherPlanOptions,
): RancherPlan {
  const actions: RancherAction[] = [];
  const problems = new Map<string, string>();
  const found = new Map<string, Project>();
  const holders = new Map<string, string[]>();
  for (const { resource: r, goal } of desired) {
    const p = findProject(r, observed.projects, naming, goal !== "keep");
    if (p) {
      found.set(r.uuid, p);
      holders.set(p.id, [...holders.get(p.id) ?? [], r.uuid]);
    }
  }
  for (const { resource: r, goal } of desired) {
    if (r.backendId && !r.backendId.startsWith(`${naming.clusterId}:`)) {
      problems.set(
        r.uuid,
        `backend_id ${JSON.stringify(r.backendId.slice(0, 80))} is not a project of the ` +
          `configured cluster ${naming.clusterId}; nothing was changed`,
      );
      continue;
    }
    const p = found.get(r.uuid);
    if (!p) {
      if (goal === "create") actions.push(...planNew(r, naming, options));
      else if (goal === "limits") {
        problems.set(
          r.uuid,
          `cannot change the quota of ${
            projectName(r, naming)
          }: the Rancher project does not exist`,
        );
      } else if (goal === "keep") {
        problems.set(
          r.uuid,
          `Rancher project ${
            r.backendId || projectName(r, naming)
          } not found in cluster ${naming.clusterId}`,
        );
      }
      continue;
    }
    const owned = projectOwnership(r, p, naming);
    // Without a backend_id, Waldur names no project for a Terminate: only one annotated for the
    // resource (made by Berth, then a crash) is its own; a look-alike is never adopted to be
    // deleted.
    if (goal === "delete" && !r.backendId && owned.kind !== "own") continue;
    if (owned.kind === "refused") {
      problems.set(r.uuid, owned.why);
      continue;
    }
    const claimants = holders.get(p.id) ?? [];
    const others = (observed.claims?.get(p.id) ?? []).filter((u) => u !== r.uuid);
    if (others.length > 0) {
      problems.set(
        r.uuid,
        `Rancher project ${p.id} (${p.name}) is held by another resource of this offering ` +
          `(${others.join(", ")}); nothing was changed`,
      );
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
    if (goal === "delete") {
      const held = options.termination === "refuse"
        ? claimsHeld(p, observed.pvcs?.get(p.id) ?? [])
        : null;
      if (held) {
        problems.set(
          r.uuid,
          `${held}; it was not deleted (termination: refuse). Delete the claims, or set ` +
            "termination: purge",
        );
      } else {
        actions.push({
          kind: "delete-project",
          resources: [r.uuid],
          projectId: p.id,
          project: p.name,
        });
      }
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
        repair: goal === "keep",
      });
    }
    if (goal === "limits") continue;
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

/** A Create's actions when the project does not exist: the project, its namespace, its binding. */
function planNew(r: ResourceSpec, naming: RancherNaming, options: RancherPlanOptions) {
  const name = projectName(r, naming);
  const actions: RancherAction[] = [{
    kind: "create-project",
    resources: [r.uuid],
    project: name,
    description: `${r.name} (Customer: ${r.customerName || r.customerSlug}, Project: ${
      r.projectName || r.projectSlug
    })`,
    annotations: berthAnnotations(r),
    quota: quotaLimit(r.limits, naming),
  }, { kind: "create-namespace", resources: [r.uuid], projectId: "", namespace: name }];
  if (options.bindGroups) {
    actions.push({
      kind: "create-binding",
      resources: [r.uuid],
      projectId: "",
      project: name,
      principal: principal(childGroup(r, naming), naming),
      role: naming.role,
    });
  }
  return actions;
}

/**
 * True when another live project still uses the resource's Keycloak group once `goneProjectId`
 * is deleted: bound to it, or of the same Waldur project.
 */
export function groupStillUsed(
  r: ResourceSpec,
  goneProjectId: string,
  projects: readonly Project[],
  bindings: readonly Prtb[],
  naming: RancherNaming,
): boolean {
  const want = principal(childGroup(r, naming), naming);
  const live = new Set(projects.map((p) => p.id));
  live.delete(goneProjectId);
  return bindings.some((b) => b.groupPrincipalId === want && live.has(b.projectId)) ||
    projects.some((p) =>
      p.id !== goneProjectId && p.annotations?.[ANNOTATIONS.project] === r.projectUuid
    );
}

/**
 * What keeps a membership pass from deleting Berth's child groups: the groups some project of
 * the cluster is bound to (`inUse`) and the Waldur projects a live project belongs to.
 */
export function groupsInUse(
  observed: RancherObserved & { all: readonly Prtb[] },
  naming: RancherNaming,
): { inUse: Set<string>; liveProjects: Set<string> } {
  const inUse = new Set<string>();
  for (const b of observed.all) {
    if (
      b.groupPrincipalId?.startsWith(naming.principalPrefix) && observed.projects.has(b.projectId)
    ) {
      inUse.add(b.groupPrincipalId.slice(naming.principalPrefix.length));
    }
  }
  const liveProjects = new Set<string>();
  for (const p of observed.projects.values()) {
    const uuid = p.annotations?.[ANNOTATIONS.project];
    if (uuid) liveProjects.add(uuid);
  }
  return { inUse, liveProjects };
}

/** A quota in words: `cpu 2000m, memory 4096Mi`, or `no quota`. */
export function describeQuota(q: QuotaLimit | null): string {
  if (!q) return "no quota";
  return [q.limitsCpu && `cpu ${q.limitsCpu}`, q.limitsMemory && `memory ${q.limitsMemory}`]
    .filter(Boolean).join(", ");
}

/** An action in words, for `berth plan` and the audit log. */
export function describe(a: RancherAction): { target: string; detail: string } {
  switch (a.kind) {
    case "create-project":
      return { target: a.project, detail: `in the cluster, ${describeQuota(a.quota)}` };
    case "set-quota":
      return {
        target: a.project,
        detail: a.quota ? `quota ${describeQuota(a.quota)}` : "no quota",
      };
    case "adopt-project":
      return {
        target: a.project,
        detail: `annotate ${a.projectId} for resource ${a.annotations[ANNOTATIONS.resource]}`,
      };
    case "create-namespace":
      return { target: a.namespace, detail: `in ${a.projectId || "the new project"}` };
    case "create-binding":
      return { target: a.project, detail: `${a.principal} as ${a.role}` };
    case "delete-binding":
      return { target: a.project, detail: `${a.principal} as ${a.role} (role changed)` };
    case "delete-project":
      return { target: a.project, detail: a.projectId };
  }
}
