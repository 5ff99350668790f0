/**
 * Keeps Keycloak groups in line with Waldur project teams: each wanted group exists and holds
 * exactly the wanted usernames. Backends (Harbor, Rancher) use it to put a Waldur project's
 * team into the OIDC group their access hangs on.
 */
import type { Check, Outcome, PlannedAction } from "../backend.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { forEachLimit } from "../pool.ts";
import type { KeycloakClient, User } from "./client.ts";

/** One group a resource needs, with the usernames it should hold. */
export interface GroupWant {
  group: string;
  /** The Waldur resource uuid the outcome is reported under. */
  resource: string;
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
  /** Creates missing groups and syncs members; one outcome per resource. */
  sync(wants: readonly GroupWant[]): Promise<Map<string, Outcome>>;
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

/** A group sync over one Keycloak realm. */
export function createKeycloakGroupSync(options: KeycloakGroupSyncOptions): KeycloakGroupSync {
  const { client, log } = options;

  /** Wants by group: the union of usernames, and the resources to report under. */
  function byGroup(wants: readonly GroupWant[]) {
    const groups = new Map<string, { usernames: Set<string>; resources: string[] }>();
    for (const w of wants) {
      const g = groups.get(w.group) ?? { usernames: new Set<string>(), resources: [] };
      for (const u of w.usernames) g.usernames.add(u.toLowerCase());
      g.resources.push(w.resource);
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
    members: number;
    add: User[];
    remove: User[];
    unknown: string[];
  }

  async function diff(
    group: string,
    usernames: ReadonlySet<string>,
    user: (u: string) => Promise<User | null>,
  ): Promise<GroupDiff> {
    const found = await client.findGroup(group);
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
    return { group, groupId: found?.id ?? null, members: members.length, add, remove, unknown };
  }

  let states = new Map<string, GroupState>();

  return {
    groups: () => [...states.values()].sort((a, b) => a.path.localeCompare(b.path)),

    async sync(wants) {
      const out = new Map<string, Outcome>();
      const user = userCache();
      const previous = states;
      states = new Map();
      // Groups are independent: several at a time, as Rancher's are.
      await forEachLimit([...byGroup(wants)], options.concurrency ?? 4, async ([group, want]) => {
        const path = `/${group}`;
        try {
          const d = await diff(group, want.usernames, user);
          let changes = 0;
          let groupId = d.groupId;
          if (groupId === null) {
            groupId = await client.createGroup(group, MANAGED_BY);
            options.audit("create group", group, `realm ${options.realm}`);
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
          const d = await diff(group, want.usernames, user);
          if (d.groupId === null) {
            actions.push({
              target: group,
              action: "create-keycloak-group",
              detail: `realm ${options.realm}`,
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
