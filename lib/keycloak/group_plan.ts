/**
 * The Keycloak group plan, pure: from the groups Waldur project teams want and one observation
 * of the realm, the actions that close the gap. One shape for every backend: groups live either
 * at the top of the realm (Harbor's OIDC groups, `parent: null`) or under one parent group
 * (Rancher's cluster group). No clock, no I/O: `berth plan` prints it, `KeycloakGroups` applies it.
 */

/** The attribute marking a group as Berth's. */
export const MANAGED_BY = { managed_by: ["berth"] };

/** The attribute naming the Waldur project whose team a group holds. */
export const PROJECT_ATTRIBUTE = "waldur_project_uuid";

/**
 * How a group of the expected name stands to a Waldur project, by the project its
 * `waldur_project_uuid` attribute names (`holder`): Berth's to manage (its attribute names the
 * project), to adopt (no such attribute: made by the Python agent or by hand), or another
 * project's (a conflict, never a target).
 */
export function groupOwnership(
  holder: string | undefined,
  projectUuid: string,
): "own" | "adopt" | { conflict: string } {
  if (holder === undefined || holder === "") return "adopt";
  return holder.replace(/-/g, "") === projectUuid.replace(/-/g, "") ? "own" : { conflict: holder };
}

/** A group's attributes once Berth adopts it for a Waldur project: its own ones kept. */
export function adoptedAttributes(
  attributes: Record<string, string[]> | undefined,
  projectUuid: string,
): Record<string, string[]> {
  return { ...attributes, ...MANAGED_BY, [PROJECT_ATTRIBUTE]: [projectUuid] };
}

/** Why a group is a conflict: it names another Waldur project. */
export function conflictMessage(path: string, holder: string, projectUuid: string): string {
  return `Keycloak group ${path} belongs to Waldur project ${holder}, not ${projectUuid}`;
}

/** A Keycloak user as the plan sees it. */
export interface KcUser {
  id: string;
  username: string;
}

/** True when `user` is who `username` names (by id with `keycloak_use_user_id`, else by username). */
export function isUser(user: KcUser, username: string, byId: boolean): boolean {
  return (byId && user.id === username) || user.username.toLowerCase() === username.toLowerCase();
}

/** Where an offering's groups live: at the top of the realm, or under one parent group. */
export interface GroupLayout {
  /** The parent group's name, or null for top-level groups. */
  parent: string | null;
}

/** A group's path in the realm: `/name` or `/parent/name`. */
export function groupPath(layout: GroupLayout, group: string): string {
  return layout.parent === null ? `/${group}` : `/${layout.parent}/${group}`;
}

/** One resource's need: the group its access hangs on, and its Waldur project's team. */
export interface GroupNeed {
  group: string;
  /** The Waldur resource uuid the outcome is reported under. */
  resource: string;
  /** The Waldur project whose team the group holds (its `waldur_project_uuid` attribute). */
  projectUuid: string;
  usernames: readonly string[];
}

/** One group wanted by the resources of one Waldur project, with the union of their teams. */
export interface GroupWant {
  group: string;
  projectUuid: string;
  resources: string[];
  usernames: readonly string[];
}

/**
 * Needs merged per group. A group that resources of two Waldur projects need (the same project
 * slug in the name template) would give each team the other's objects: those resources are
 * `shared`, with why, and left out of `wants`.
 */
export function wantsOf(needs: readonly GroupNeed[]): {
  wants: GroupWant[];
  shared: Map<string, string>;
} {
  const byGroup = Map.groupBy(needs, (n) => n.group);
  const wants: GroupWant[] = [];
  const shared = new Map<string, string>();
  for (const [group, ns] of byGroup) {
    const projects = [...new Set(ns.map((n) => n.projectUuid))];
    if (projects.length > 1) {
      const why = `Keycloak group ${group} would hold the teams of ${projects.length} Waldur ` +
        `projects (${projects.join(", ")}), each getting the others' access; nothing was ` +
        "changed. Give the projects distinct slugs, or change the group name template";
      for (const n of ns) shared.set(n.resource, why);
      continue;
    }
    const names = new Map<string, string>();
    for (const n of ns) for (const u of n.usernames) names.set(u.toLowerCase(), u);
    wants.push({
      group,
      projectUuid: projects[0] ?? "",
      resources: ns.map((n) => n.resource),
      usernames: [...names.values()].sort(),
    });
  }
  return { wants, shared };
}

/** A group as observed, with the attributes that say whose it is. */
export interface ObservedGroup {
  id: string;
  managed: boolean;
  projectUuid: string;
  attributes?: Record<string, string[]>;
}

/** What the realm holds for the wanted groups, as one pass observed it. */
export interface GroupsObserved {
  /** The parent group (null when absent, or when the layout has none). */
  parent: { id: string; managed: boolean } | null;
  /**
   * Groups by name: under a parent every child; at the top of the realm the wanted ones found.
   * An Error is a lookup that failed.
   */
  groups: ReadonlyMap<string, ObservedGroup | Error>;
  /** Members by group name, or the error that kept them from being read. */
  members: ReadonlyMap<string, readonly KcUser[] | Error>;
  /** Wanted usernames resolved to Keycloak users; null when Keycloak has no such user. */
  users: ReadonlyMap<string, KcUser | null | Error>;
}

/** One change to Keycloak. */
export type GroupAction =
  | { kind: "create-parent"; group: string }
  | { kind: "create-group"; group: string; projectUuid: string; resources: string[] }
  | {
    kind: "adopt-group";
    group: string;
    id: string;
    /** Its attributes with Berth's added. */
    attributes: Record<string, string[]>;
    resources: string[];
  }
  | { kind: "add-member"; group: string; user: KcUser; resources: string[] }
  | { kind: "remove-member"; group: string; user: KcUser; resources: string[] }
  | { kind: "delete-group"; group: string; id: string }
  | { kind: "delete-parent"; group: string; id: string };

/** Why a group could not be planned: a conflict (terminal) or a read that failed (transient). */
export interface GroupProblem {
  message: string;
  terminal: boolean;
}

/** The Keycloak plan, and what it could not do (missing users, conflicts, unreadable groups). */
export interface GroupPlan {
  actions: GroupAction[];
  /** Group → usernames Keycloak does not know. */
  missing: Map<string, string[]>;
  /** Group → why it could not be planned. */
  problems: Map<string, GroupProblem>;
}

/** What the plan needs beyond the observation. */
export interface GroupPlanOptions {
  byId: boolean;
  /**
   * Under a parent: Berth's child groups no wanted resource needs are deleted, unless a live
   * object still uses them (`inUse`: by group name) or they hold a live Waldur project's team
   * (`liveProjects`: by project uuid). Top-level groups are never pruned (the realm has others).
   */
  prune?: { inUse: ReadonlySet<string>; liveProjects: ReadonlySet<string> } | undefined;
}

/**
 * Plans the groups: the parent, each wanted group (created, or adopted when it carries no
 * project attribute; another project's is a conflict), members added and removed (none removed
 * while a wanted user could not be told apart), then pruning under a parent.
 */
export function planGroups(
  layout: GroupLayout,
  wants: readonly GroupWant[],
  observed: GroupsObserved,
  options: GroupPlanOptions,
): GroupPlan {
  const actions: GroupAction[] = [];
  const missing = new Map<string, string[]>();
  const problems = new Map<string, GroupProblem>();
  if (layout.parent !== null && !observed.parent && wants.length > 0) {
    actions.push({ kind: "create-parent", group: layout.parent });
  }
  for (const w of wants) {
    const group = observed.groups.get(w.group);
    if (group instanceof Error) {
      problems.set(w.group, { message: group.message, terminal: false });
      continue;
    }
    if (!group) {
      actions.push({
        kind: "create-group",
        group: w.group,
        projectUuid: w.projectUuid,
        resources: w.resources,
      });
    } else {
      const owned = groupOwnership(group.projectUuid, w.projectUuid);
      if (typeof owned === "object") {
        problems.set(w.group, {
          message: `${
            conflictMessage(groupPath(layout, w.group), owned.conflict, w.projectUuid)
          }; it is a conflict, not a target: nothing was changed`,
          terminal: true,
        });
        continue;
      }
      if (owned === "adopt") {
        actions.push({
          kind: "adopt-group",
          group: w.group,
          id: group.id,
          attributes: adoptedAttributes(group.attributes, w.projectUuid),
          resources: w.resources,
        });
      }
    }
    const members = group ? observed.members.get(w.group) : [];
    if (members instanceof Error) {
      problems.set(w.group, { message: members.message, terminal: false });
      continue;
    }
    const have = members ?? [];
    const lost: string[] = [];
    for (const u of w.usernames) {
      if (have.some((m) => isUser(m, u, options.byId))) continue;
      const user = observed.users.get(u);
      if (user instanceof Error) {
        problems.set(w.group, { message: user.message, terminal: false });
        continue;
      }
      if (!user) lost.push(u);
      else actions.push({ kind: "add-member", group: w.group, user, resources: w.resources });
    }
    if (lost.length) missing.set(w.group, lost);
    if (problems.has(w.group)) continue;
    for (const m of have) {
      if (!w.usernames.some((u) => isUser(m, u, options.byId))) {
        actions.push({ kind: "remove-member", group: w.group, user: m, resources: w.resources });
      }
    }
  }
  if (options.prune && layout.parent !== null) {
    const wanted = new Set(wants.map((w) => w.group));
    let remaining = observed.groups.size;
    for (const [name, group] of observed.groups) {
      if (group instanceof Error) continue;
      if (wanted.has(name) || !group.managed || options.prune.inUse.has(name)) continue;
      if (group.projectUuid && options.prune.liveProjects.has(group.projectUuid)) continue;
      actions.push({ kind: "delete-group", group: name, id: group.id });
      remaining--;
    }
    if (observed.parent?.managed && remaining === 0 && wants.length === 0) {
      actions.push({ kind: "delete-parent", group: layout.parent, id: observed.parent.id });
    }
  }
  return { actions, problems, missing };
}

/** A group action in words, for `berth plan` and the audit log. */
export function describeGroupAction(a: GroupAction): { target: string; detail: string } {
  switch (a.kind) {
    case "create-parent":
    case "delete-parent":
      return { target: a.group, detail: "parent group" };
    case "create-group":
      return { target: a.group, detail: "project group" };
    case "adopt-group":
      return { target: a.group, detail: `for Waldur project ${a.attributes[PROJECT_ATTRIBUTE]}` };
    case "delete-group":
      return { target: a.group, detail: "no resource uses it" };
    case "add-member":
    case "remove-member":
      return { target: a.group, detail: a.user.username };
  }
}

/**
 * A plan in `berth plan`'s words: the groups two Waldur projects would share, the actions, the
 * users Keycloak does not know and the groups that could not be planned.
 */
export function planWords(
  needs: readonly GroupNeed[],
  shared: ReadonlyMap<string, string>,
  plan: GroupPlan | undefined,
  realm: string,
): { target: string; action: string; detail: string }[] {
  const out = [];
  const sharedGroups = new Map(needs.flatMap((n) => {
    const why = shared.get(n.resource);
    return why ? [[n.group, why] as const] : [];
  }));
  for (const [group, why] of sharedGroups) {
    out.push({ target: group, action: "problem", detail: why });
  }
  for (const a of plan?.actions ?? []) {
    out.push({ action: `keycloak ${a.kind}`, ...describeGroupAction(a) });
  }
  for (const [group, users] of plan?.missing ?? []) {
    out.push({
      target: group,
      action: "missing-users",
      detail: `${users.join(", ")} not in realm ${realm}`,
    });
  }
  for (const [group, problem] of plan?.problems ?? []) {
    out.push({ target: group, action: "problem", detail: problem.message });
  }
  return out;
}
