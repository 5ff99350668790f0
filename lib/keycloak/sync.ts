/**
 * Keeps Keycloak groups in line with Waldur project teams: each wanted group exists and holds
 * exactly the wanted usernames. Backends (Harbor, Rancher) use it to put a Waldur project's
 * team into the OIDC group their access hangs on.
 */
import type { Check, Outcome, PlannedAction } from "../backend.ts";
import { errorMessage, terminal } from "../errors.ts";
import type { Logger } from "../log.ts";
import { forEachLimit } from "../pool.ts";
import type { KeycloakClient, User } from "./client.ts";

/** One group a resource needs, with the usernames it should hold. */
export interface GroupWant {
  group: string;
  /** The Waldur resource uuid the outcome is reported under. */
  resource: string;
  /** The Waldur project whose team the group holds (its `waldur_project_uuid` attribute). */
  projectUuid: string;
  usernames: readonly string[];
}

/** A group's state after the last sync, for the status page. */
export interface GroupState extends Record<string, unknown> {
  /** `/name`: these groups are top-level in the realm. */
  path: string;
  members: number | null;
  added: string[];
  removed: string[];
  /** Wanted usernames that Keycloak does not know (yet). */
  missing: string[];
  error: string;
}

/** The group sync a backend calls during its membership pass. */
export interface KeycloakGroupSync {
  /**
   * Creates missing groups and syncs members; one outcome per resource. `partial` (a Create):
   * the page keeps the other groups' state instead of showing only these.
   */
  sync(
    wants: readonly GroupWant[],
    options?: { partial?: boolean },
  ): Promise<Map<string, Outcome>>;
  /** The groups of the last sync, in path order. */
  groups(): GroupState[];
  /** What `sync` would change, changing nothing. */
  plan(wants: readonly GroupWant[]): Promise<PlannedAction[]>;
  diagnose(): Promise<Check[]>;
}

/** Options of {@link createKeycloakGroupSync}. */
export interface KeycloakGroupSyncOptions {
  client: KeycloakClient;
  realm: string;
  log: Logger;
  audit: (action: string, target: string, detail: string) => void;
  /** Groups synced at a time (each is a handful of requests in sequence); 4 if not given. */
  concurrency?: number;
}

/** The attribute marking a group as Berth's. */
export const MANAGED_BY = { managed_by: ["berth"] };

/** The attribute naming the Waldur project whose team a group holds. */
export const PROJECT_ATTRIBUTE = "waldur_project_uuid";

/**
 * How a group of the expected name stands to a Waldur project, by the project its
 * `waldur_project_uuid` attribute names (`holder`): Berth's to manage (its attribute names the
 * project), to adopt (no such attribute: made by the Python agent or by
 * hand), or another project's (a conflict, never a target).
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

/** A group sync over one Keycloak realm. */
export function createKeycloakGroupSync(options: KeycloakGroupSyncOptions): KeycloakGroupSync {
  const { client, log } = options;

  /** Wants by group: the union of usernames, and the resources to report under. */
  function byGroup(wants: readonly GroupWant[]) {
    const groups = new Map<
      string,
      { usernames: Set<string>; resources: string[]; projects: Set<string> }
    >();
    for (const w of wants) {
      const g = groups.get(w.group) ??
        { usernames: new Set<string>(), resources: [], projects: new Set<string>() };
      for (const u of w.usernames) g.usernames.add(u.toLowerCase());
      g.resources.push(w.resource);
      g.projects.add(w.projectUuid);
      groups.set(w.group, g);
    }
    return groups;
  }

  /** Resolves usernames to users once per pass; a user Keycloak does not know yet is null. */
  function userCache() {
    const cache = new Map<string, Promise<User | null>>();
    return (username: string) => {
      let p = cache.get(username);
      if (!p) {
        p = client.userByUsername(username);
        cache.set(username, p);
      }
      return p;
    };
  }

  interface GroupDiff {
    group: string;
    groupId: string | null;
    /** The attributes to stamp when the group is adopted (found without Berth's). */
    adopt: Record<string, string[]> | null;
    members: number;
    add: User[];
    remove: User[];
    unknown: string[];
  }

  async function diff(
    group: string,
    want: { usernames: ReadonlySet<string>; projects: ReadonlySet<string> },
    user: (u: string) => Promise<User | null>,
  ): Promise<GroupDiff> {
    const usernames = want.usernames;
    const [projectUuid, ...others] = [...want.projects];
    if (projectUuid === undefined || others.length > 0) {
      throw terminal(
        "keycloak",
        `Keycloak group ${group} would hold the teams of ${want.projects.size} Waldur projects ` +
          `(${[...want.projects].join(", ")}); nothing was changed. Give the projects ` +
          "distinct slugs or change oidc_group_prefix",
      );
    }
    const found = await client.findGroup(group);
    let adopt: Record<string, string[]> | null = null;
    if (found) {
      const owned = groupOwnership(found.attributes?.[PROJECT_ATTRIBUTE]?.[0], projectUuid);
      if (typeof owned === "object") {
        throw terminal(
          "keycloak",
          `Keycloak group ${group} belongs to Waldur project ${owned.conflict}, not ` +
            `${projectUuid}; it is a conflict, not a target: nothing was changed`,
        );
      }
      if (owned === "adopt") adopt = adoptedAttributes(found.attributes, projectUuid);
    }
    const members = found ? await client.members(found.id) : [];
    const have = new Set(members.map((m) => m.username.toLowerCase()));
    const add: User[] = [];
    const unknown: string[] = [];
    for (const u of [...usernames].sort()) {
      if (have.has(u)) continue;
      const resolved = await user(u);
      if (resolved) add.push(resolved);
      else unknown.push(u);
    }
    const remove = members.filter((m) => !usernames.has(m.username.toLowerCase()));
    return {
      group,
      groupId: found?.id ?? null,
      adopt,
      members: members.length,
      add,
      remove,
      unknown,
    };
  }

  let states = new Map<string, GroupState>();

  return {
    groups: () => [...states.values()].sort((a, b) => a.path.localeCompare(b.path)),

    async sync(wants, how = {}) {
      const out = new Map<string, Outcome>();
      const user = userCache();
      // a full pass replaces what the page shows; a partial one (a Create) adds to it
      const previous = states;
      states = how.partial ? new Map(previous) : new Map();
      // Groups are independent: several at a time, as Rancher's are.
      await forEachLimit([...byGroup(wants)], options.concurrency ?? 4, async ([group, want]) => {
        const path = `/${group}`;
        try {
          const d = await diff(group, want, user);
          let changes = 0;
          let groupId = d.groupId;
          if (groupId === null) {
            groupId = await client.createGroup(
              group,
              adoptedAttributes(undefined, [...want.projects][0] ?? ""),
            );
            options.audit("create group", group, `realm ${options.realm}`);
            changes++;
          } else if (d.adopt) {
            await client.setAttributes(groupId, group, d.adopt);
            options.audit("adopt group", group, `for Waldur project ${d.adopt[PROJECT_ATTRIBUTE]}`);
            changes++;
          }
          for (const u of d.add) {
            await client.addToGroup(u.id, groupId);
            options.audit("add group member", group, u.username);
            changes++;
          }
          for (const u of d.remove) {
            await client.removeFromGroup(u.id, groupId);
            options.audit("remove group member", group, u.username);
            changes++;
          }
          if (d.unknown.length) {
            log.info(
              `Keycloak group ${group}: ${
                d.unknown.join(", ")
              } not in realm ${options.realm} yet ` +
                "(added once they have logged in)",
            );
          }
          for (const r of want.resources) out.set(r, { ok: true, changes });
          states.set(path, {
            path,
            members: d.members + d.add.length - d.remove.length,
            added: d.add.map((u) => u.username),
            removed: d.remove.map((u) => u.username),
            missing: d.unknown,
            error: "",
          });
        } catch (error) {
          // Not read is not empty: nothing was removed, and the resources show the error.
          for (const r of want.resources) out.set(r, { ok: false, error });
          const before = previous.get(path);
          states.set(path, {
            path,
            members: before?.members ?? null,
            added: [],
            removed: [],
            missing: before?.missing ?? [],
            error: errorMessage(error),
          });
        }
      });
      return out;
    },

    async plan(wants) {
      const actions: PlannedAction[] = [];
      const user = userCache();
      for (const [group, want] of byGroup(wants)) {
        try {
          const d = await diff(group, want, user);
          if (d.groupId === null) {
            actions.push({
              target: group,
              action: "create-keycloak-group",
              detail: `realm ${options.realm}`,
            });
          } else if (d.adopt) {
            actions.push({
              target: group,
              action: "adopt-keycloak-group",
              detail: `for Waldur project ${d.adopt[PROJECT_ATTRIBUTE]}`,
            });
          }
          for (const u of d.add) {
            actions.push({ target: group, action: "add-keycloak-member", detail: u.username });
          }
          for (const u of d.remove) {
            actions.push({ target: group, action: "remove-keycloak-member", detail: u.username });
          }
        } catch (error) {
          actions.push({ target: group, action: "problem", detail: errorMessage(error) });
        }
      }
      return actions;
    },

    async diagnose() {
      try {
        const realm = await client.realm();
        await client.findGroup("berth-diagnose-probe");
        return [{
          name: "keycloak",
          ok: true,
          detail: `realm ${realm.realm} readable, groups searchable`,
        }];
      } catch (error) {
        return [{ name: "keycloak", ok: false, detail: errorMessage(error) }];
      }
    },
  };
}
