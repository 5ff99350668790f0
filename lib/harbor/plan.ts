/**
 * The Harbor plan, pure, for orders and the membership pass alike: from what Waldur wants (one
 * project per resource, its quota from the resource's limit, the Waldur project's OIDC group a
 * member with the configured role; or, for a Terminate, no project) and what Harbor holds (one
 * observation), the actions that close the gap. No clock, no I/O: `berth plan` prints it,
 * `apply.ts` performs it.
 */
import type { Goal, ResourceSpec } from "../backend.ts";
import { formatBytes, GIB } from "../bytes.ts";

/** The naming and defaults a plan needs. */
export interface Naming {
  allocationPrefix: string;
  oidcGroupPrefix: string;
  defaultStorageGb: number;
  roleId: number;
}

/** What Harbor holds, as one pass observed it. */
export interface Observed {
  /** Project name → id and repository count. */
  projects: ReadonlyMap<string, { id: number; repoCount: number }>;
  /** Project id → its quota. */
  quotas: ReadonlyMap<number, { id: number; hard: number; used: number }>;
  /** OIDC group name → id. */
  groups: ReadonlyMap<string, number>;
  /**
   * Project id → its group members, or the error that kept them from being read. An order does
   * not read them: a project without an entry is bound with an add that tolerates "already".
   */
  members: ReadonlyMap<number, readonly GroupMember[] | Error>;
  /** For an order: the other resources of the offering that hold a project name (Waldur, state file). */
  claims?: ReadonlyMap<string, readonly string[]>;
}

/** A resource, what it should come to, and the project name the state file records for it. */
export interface Desired {
  resource: ResourceSpec;
  goal: Goal;
  recorded?: string | undefined;
}

/** A group member of a project. */
export interface GroupMember {
  memberId: number;
  groupId: number;
  groupName: string;
  roleId: number;
}

/** One change the plan makes. Each belongs to the resources it serves. */
export type HarborAction =
  | { kind: "create-project"; resources: string[]; project: string; bytes: number }
  | { kind: "adopt-project"; resources: string[]; project: string; projectId: number }
  | {
    kind: "set-quota";
    resources: string[];
    project: string;
    projectId: number;
    quotaId: number;
    fromBytes: number;
    toBytes: number;
    /** Used storage, when known (a quota below it is warned about). */
    usedBytes: number | null;
    /** True when the membership pass repairs drift; false when an order asks for it. */
    repair: boolean;
  }
  | { kind: "create-group"; resources: string[]; group: string }
  | {
    kind: "add-member";
    resources: string[];
    project: string;
    /** 0 for the project a `create-project` of the same plan makes. */
    projectId: number;
    group: string;
    roleId: number;
    repair: boolean;
  }
  | {
    kind: "set-role";
    resources: string[];
    project: string;
    projectId: number;
    memberId: number;
    group: string;
    fromRole: number;
    toRole: number;
  }
  | { kind: "purge-repositories"; resources: string[]; project: string; repositories: number }
  | {
    kind: "delete-project";
    resources: string[];
    project: string;
    projectId: number;
    repositories: number;
  };

/** The plan: actions, and resources that cannot be brought in line (with why). */
export interface HarborPlan {
  actions: HarborAction[];
  problems: Map<string, string>;
}

/** The Harbor project name of a resource: Waldur's backend_id once set, else prefix + slug. */
export function projectName(resource: ResourceSpec, naming: Naming): string {
  return resource.backendId || `${naming.allocationPrefix}${resource.slug}`;
}

/** The name Berth gives a resource's Harbor project: `allocation_prefix` + slug. */
export function derivedName(resource: ResourceSpec, naming: Naming): string {
  return `${naming.allocationPrefix}${resource.slug}`;
}

/**
 * The Harbor project a resource may act on, or why it may not: its derived name, or the name
 * the state file records Berth creating for it. Any other `backend_id` (set in Waldur by anyone
 * with provider rights) names a project Berth does not own.
 */
export function harborTarget(
  resource: ResourceSpec,
  naming: Naming,
  recorded: string | undefined,
): { name: string } | { refusal: string } {
  const derived = derivedName(resource, naming);
  const id = resource.backendId;
  if (id === "" || id === derived || id === recorded) return { name: id || derived };
  return {
    refusal: `backend_id "${id}" is not a Harbor project this offering manages: Berth acts only ` +
      `on "${derived}" (allocation_prefix + slug) or a project it created for this resource; ` +
      "nothing was changed. If the project is really this resource's, rename it or set " +
      `backend_id to "${derived}"`,
  };
}

/**
 * True when a Terminate must touch nothing: Waldur names no project for the resource and Berth
 * made none for it, so a project of its derived name is someone else's (one whose adoption was
 * refused, or made by hand).
 */
export function nothingToDelete(
  resource: ResourceSpec,
  name: string,
  recorded: string | undefined,
): boolean {
  return resource.backendId === "" && recorded !== name;
}

/** The OIDC group of a resource's Waldur project. */
export function groupName(resource: ResourceSpec, naming: Naming): string {
  return `${naming.oidcGroupPrefix}${resource.projectSlug}`;
}

/** The storage limit in GB Waldur asks for, the default filling only a missing limit. */
export function storageGb(resource: ResourceSpec, naming: Naming): number {
  return resource.limits.storage ?? naming.defaultStorageGb;
}

/**
 * GB → Harbor's hard limit in bytes. Harbor reads 0 as "use the system default" on create and
 * refuses it on update, and −1 is unlimited; a 0 GB limit means no storage, so it becomes
 * 1 byte: nothing can be pushed.
 */
export function quotaBytes(gb: number): number {
  return gb <= 0 ? 1 : Math.round(gb * GIB);
}

/**
 * Splits a pass's resources into those that may act on their project (with `backendId` set to
 * it) and those that may not, with why: a foreign backend_id ({@link harborTarget}), or a
 * project two resources of the pass claim.
 */
export function partition(
  resources: readonly ResourceSpec[],
  naming: Naming,
  recorded: (uuid: string) => string | undefined,
): { allowed: ResourceSpec[]; refused: Map<string, string> } {
  const refused = new Map<string, string>();
  const byName = new Map<string, ResourceSpec[]>();
  for (const r of resources) {
    const target = harborTarget(r, naming, recorded(r.uuid));
    if ("refusal" in target) refused.set(r.uuid, target.refusal);
    else {byName.set(target.name, [...byName.get(target.name) ?? [], {
        ...r,
        backendId: target.name,
      }]);}
  }
  const allowed: ResourceSpec[] = [];
  for (const [name, holders] of byName) {
    if (holders.length === 1) allowed.push(...holders);
    else {
      for (const r of holders) {
        refused.set(
          r.uuid,
          `Harbor project ${name} is claimed by ${holders.length} resources of this offering (${
            holders.map((h) => h.uuid).join(", ")
          }); nothing was changed for any of them`,
        );
      }
    }
  }
  return { allowed, refused };
}

/** One action per key, serving every resource that needs it. */
function collector() {
  const into = new Map<string, HarborAction>();
  return {
    add(key: string, uuid: string, make: () => HarborAction) {
      const existing = into.get(key);
      if (existing) existing.resources.push(uuid);
      else into.set(key, make());
    },
    actions: () => [...into.values()],
  };
}

/** Plans every desired resource against one observation. */
export function planHarbor(
  desired: readonly Desired[],
  observed: Observed,
  naming: Naming,
  options: { termination: "refuse" | "purge" } = { termination: "refuse" },
): HarborPlan {
  const first: HarborAction[] = [];
  const problems = new Map<string, string>();
  const groupsToCreate = new Map<string, string[]>();
  const quotas = collector();
  const members = collector();

  for (const { resource: r, goal, recorded } of desired) {
    const target = harborTarget(r, naming, recorded);
    if ("refusal" in target) {
      problems.set(r.uuid, target.refusal);
      continue;
    }
    const name = target.name;
    if (goal === "delete" && nothingToDelete(r, name, recorded)) continue;
    const project = observed.projects.get(name);
    const others = (observed.claims?.get(name) ?? []).filter((u) => u !== r.uuid);
    const group = groupName(r, naming);
    const want = quotaBytes(storageGb(r, naming));
    if (!project) {
      if (goal === "create") {
        first.push({ kind: "create-project", resources: [r.uuid], project: name, bytes: want });
        members.add(`${name}\u0000${group}`, r.uuid, () => ({
          kind: "add-member",
          resources: [r.uuid],
          project: name,
          projectId: 0,
          group,
          roleId: naming.roleId,
          repair: false,
        }));
      } else if (goal === "limits") {
        problems.set(
          r.uuid,
          `cannot change the quota of ${name}: the Harbor project does not exist`,
        );
      } else if (goal === "keep") {
        problems.set(r.uuid, `Harbor project ${name} not found`);
      }
      continue;
    }
    if (goal === "create" && others.length > 0) {
      problems.set(
        r.uuid,
        `Harbor project ${name} already exists and belongs to resource ${
          others.join(", ")
        } of this offering; it was not adopted and nothing was changed`,
      );
      continue;
    }
    if (goal !== "create" && goal !== "keep" && others.length > 0) {
      problems.set(
        r.uuid,
        `Harbor project ${name} is held by another resource of this offering (${
          others.join(", ")
        }); nothing was changed`,
      );
      continue;
    }
    if (goal === "delete") {
      if (project.repoCount > 0 && options.termination === "refuse") {
        const used = observed.quotas.get(project.id)?.used;
        problems.set(
          r.uuid,
          `Harbor project ${name} still holds ${project.repoCount} ${
            project.repoCount === 1 ? "repository" : "repositories"
          }${
            used === undefined ? "" : ` (${formatBytes(used)})`
          }; it was not deleted (termination: refuse). Delete its images, or set termination: purge`,
        );
        continue;
      }
      if (project.repoCount > 0) {
        first.push({
          kind: "purge-repositories",
          resources: [r.uuid],
          project: name,
          repositories: project.repoCount,
        });
      }
      first.push({
        kind: "delete-project",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
        repositories: project.repoCount,
      });
      continue;
    }
    if (goal === "create") {
      // The exact name exists. It is this resource's if Berth recorded creating it (a crash
      // before set_backend_id); otherwise only an unclaimed, empty project is adopted: one that
      // holds images would hand a tenant someone else's data.
      if (recorded !== name && project.repoCount > 0) {
        problems.set(
          r.uuid,
          `Harbor project ${name} already exists, holds ${project.repoCount} ${
            project.repoCount === 1 ? "repository" : "repositories"
          } and was not created by Berth for this resource; it was not adopted and nothing ` +
            "was changed. If it is left over from an earlier resource, delete or rename it in " +
            "Harbor, then retry the order",
        );
        continue;
      }
      first.push({
        kind: "adopt-project",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
      });
    }
    const quota = observed.quotas.get(project.id);
    if (!quota) {
      problems.set(
        r.uuid,
        goal === "keep"
          ? `Harbor project ${name} has no quota (is per-project quota enabled?)`
          : `Harbor project ${name} has no quota; enable per-project quotas in Harbor's system settings`,
      );
      continue;
    } else if (quota.hard !== want) {
      quotas.add(name, r.uuid, () => ({
        kind: "set-quota",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
        quotaId: quota.id,
        fromBytes: quota.hard,
        toBytes: want,
        usedBytes: goal === "keep" ? null : quota.used,
        repair: goal === "keep",
      }));
    }
    if (goal === "limits") continue;

    const seen = observed.members.get(project.id);
    if (seen instanceof Error) {
      problems.set(r.uuid, `members of ${name} not read: ${seen.message}`);
      continue;
    }
    const key = `${name}\u0000${group}`;
    const bound = (seen ?? []).find((m) => m.groupName === group);
    if (goal === "keep" && !observed.groups.has(group)) {
      groupsToCreate.set(group, [...groupsToCreate.get(group) ?? [], r.uuid]);
    }
    if (!bound) {
      members.add(key, r.uuid, () => ({
        kind: "add-member",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
        group,
        roleId: naming.roleId,
        repair: goal === "keep",
      }));
    } else if (bound.roleId !== naming.roleId) {
      members.add(key, r.uuid, () => ({
        kind: "set-role",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
        memberId: bound.memberId,
        group,
        fromRole: bound.roleId,
        toRole: naming.roleId,
      }));
    }
  }
  const actions: HarborAction[] = [...first];
  for (const [group, resources] of groupsToCreate) {
    actions.push({ kind: "create-group", resources, group });
  }
  actions.push(...quotas.actions(), ...members.actions());
  return { actions, problems };
}

/** An action in words, for `berth plan` and the audit log. */
export function describeAction(action: HarborAction): { target: string; detail: string } {
  switch (action.kind) {
    case "create-project":
      return { target: action.project, detail: `storage quota ${formatBytes(action.bytes)}` };
    case "adopt-project":
      return { target: action.project, detail: `existing project ${action.projectId}` };
    case "set-quota":
      return {
        target: action.project,
        detail: `storage quota ${formatBytes(action.fromBytes)} → ${formatBytes(action.toBytes)}`,
      };
    case "create-group":
      return { target: action.group, detail: "create OIDC group" };
    case "add-member":
      return {
        target: action.project,
        detail: `add group ${action.group} with role ${action.roleId}`,
      };
    case "set-role":
      return {
        target: action.project,
        detail: `group ${action.group}: role ${action.fromRole} → ${action.toRole}`,
      };
    case "purge-repositories":
      return {
        target: action.project,
        detail: `delete ${action.repositories} repositories (termination: purge)`,
      };
    case "delete-project":
      return {
        target: action.project,
        detail: action.repositories > 0 ? `after purging ${action.repositories} repositories` : "",
      };
  }
}
