/**
 * The Harbor membership plan, pure: from what Waldur wants (one project per resource, its
 * quota from the resource's limit, the Waldur project's OIDC group a member with the configured
 * role) and what Harbor holds (one observation made of list calls), the actions that close the
 * gap. No clock, no I/O: `berth plan` prints it, `apply` in backend.ts performs it.
 */
import type { ResourceSpec } from "../backend.ts";
import { GIB } from "./schemas.ts";

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
  /** Project id → its group members, or the error that kept them from being read. */
  members: ReadonlyMap<number, readonly GroupMember[] | Error>;
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
  | {
    kind: "set-quota";
    resources: string[];
    project: string;
    projectId: number;
    quotaId: number;
    fromBytes: number;
    toBytes: number;
  }
  | { kind: "create-group"; resources: string[]; group: string }
  | {
    kind: "add-member";
    resources: string[];
    project: string;
    projectId: number;
    group: string;
    roleId: number;
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

/** Plans the membership pass for `desired` against `observed`. */
export function planHarbor(
  desired: readonly ResourceSpec[],
  observed: Observed,
  naming: Naming,
): HarborPlan {
  const actions: HarborAction[] = [];
  const problems = new Map<string, string>();
  const groupsToCreate = new Map<string, string[]>();
  const quotaActions = new Map<string, HarborAction>();
  const memberActions = new Map<string, HarborAction>();
  /** One action per key, serving every resource that needs it. */
  const collect = (
    into: Map<string, HarborAction>,
    key: string,
    uuid: string,
    make: () => HarborAction,
  ) => {
    const existing = into.get(key);
    if (existing) existing.resources.push(uuid);
    else into.set(key, make());
  };

  for (const r of desired) {
    const name = projectName(r, naming);
    const project = observed.projects.get(name);
    if (!project) {
      problems.set(r.uuid, `Harbor project ${name} not found`);
      continue;
    }
    const quota = observed.quotas.get(project.id);
    const want = quotaBytes(storageGb(r, naming));
    if (!quota) {
      problems.set(r.uuid, `Harbor project ${name} has no quota (is per-project quota enabled?)`);
    } else if (quota.hard !== want) {
      collect(quotaActions, name, r.uuid, () => ({
        kind: "set-quota",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
        quotaId: quota.id,
        fromBytes: quota.hard,
        toBytes: want,
      }));
    }

    const group = groupName(r, naming);
    const members = observed.members.get(project.id);
    if (members instanceof Error) {
      problems.set(r.uuid, `members of ${name} not read: ${members.message}`);
      continue;
    }
    const key = `${name}\u0000${group}`;
    const bound = (members ?? []).find((m) => m.groupName === group);
    if (!observed.groups.has(group)) {
      groupsToCreate.set(group, [...groupsToCreate.get(group) ?? [], r.uuid]);
    }
    if (!bound) {
      collect(memberActions, key, r.uuid, () => ({
        kind: "add-member",
        resources: [r.uuid],
        project: name,
        projectId: project.id,
        group,
        roleId: naming.roleId,
      }));
    } else if (bound.roleId !== naming.roleId) {
      collect(memberActions, key, r.uuid, () => ({
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
  for (const [group, resources] of groupsToCreate) {
    actions.push({ kind: "create-group", resources, group });
  }
  actions.push(...quotaActions.values(), ...memberActions.values());
  return { actions, problems };
}

/** An action in words, for `berth plan` and the audit log. */
export function describeAction(action: HarborAction): { target: string; detail: string } {
  switch (action.kind) {
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
  }
}

/** Bytes for people: `-1` is unlimited, else GiB with up to two decimals. */
export function formatBytes(bytes: number): string {
  if (bytes < 0) return "unlimited";
  if (bytes > 0 && bytes < 1024) return `${bytes} B`;
  return `${Math.round((bytes / GIB) * 100) / 100} GB`;
}
