/**
 * The Keycloak reads and member adds that `KeycloakGroups` is made of, with no state of their
 * own: one observation of the wanted groups (the parent's children in one paged list, or each
 * top-level group by its exact name), the team members' users it found, a Create's adds of who is
 * missing, and the diagnose probe.
 */
import type { Check } from "../backend.ts";
import { failureDetail } from "../checks.ts";
import { HttpError } from "../errors.ts";
import { forEachLimit } from "../pool.ts";
import type { KeycloakClient } from "./client.ts";
import { type GroupRow, memberNames, namesOf } from "./group_row.ts";
import {
  type GroupLayout,
  type GroupsObserved,
  type GroupWant,
  isUser,
  type KcUser,
  type ObservedGroup,
  PROJECT_ATTRIBUTE,
} from "./group_plan.ts";

/** What Keycloak ids look like (a username that does not is never used as one). */
const KEYCLOAK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Reads the groups, the members of each wanted one that exists, and the wanted users who are
 * not members. A failed read of one group, its members or a user is recorded as an Error in its
 * place (the plan leaves that group alone); a failed read of the parent fails the observation.
 */
export async function observeGroups(
  kc: KeycloakClient,
  layout: GroupLayout,
  wants: readonly GroupWant[],
  options: { byId: boolean; concurrency: number },
): Promise<GroupsObserved> {
  const groups = new Map<string, ObservedGroup | Error>();
  let parent: GroupsObserved["parent"] = null;
  if (layout.parent !== null) {
    const p = await kc.findGroup(layout.parent);
    if (p) {
      parent = { id: p.id, managed: p.attributes?.managed_by?.[0] === "berth" };
      for (const g of await kc.children(p.id)) groups.set(g.name, seen(g));
    }
  } else {
    await forEachLimit(wants, options.concurrency, async (w) => {
      try {
        const g = await kc.findGroup(w.group);
        if (g) groups.set(w.group, seen(g));
      } catch (error) {
        groups.set(w.group, asError(error));
      }
    });
  }
  const members = new Map<string, KcUser[] | Error>();
  await forEachLimit(wants, options.concurrency, async (w) => {
    const g = groups.get(w.group);
    if (!g || g instanceof Error) return;
    try {
      members.set(w.group, (await kc.members(g.id)).map(user));
    } catch (error) {
      members.set(w.group, asError(error));
    }
  });
  const unknown = new Set<string>();
  for (const w of wants) {
    const have = members.get(w.group);
    for (const u of w.usernames) {
      if (Array.isArray(have) && have.some((m) => isUser(m, u, options.byId))) continue;
      if (!(groups.get(w.group) instanceof Error)) unknown.add(u);
    }
  }
  const users = new Map<string, KcUser | null | Error>();
  await forEachLimit([...unknown], options.concurrency, async (u) => {
    try {
      const found = (options.byId ? await kc.userById(u) : null) ?? await kc.userByUsername(u);
      users.set(u, found ? user(found) : null);
    } catch (error) {
      users.set(u, asError(error));
    }
  });
  return { parent, groups, members, users };
}

/**
 * The Keycloak user each wanted team member is, from one observation, by lower-cased Waldur
 * username: a member of the group, or the user looked up; null when the realm has none. A member
 * whose read failed is left out.
 */
export function teamUsers(
  wants: readonly GroupWant[],
  observed: GroupsObserved,
  byId: boolean,
): Map<string, KcUser | null> {
  const out = new Map<string, KcUser | null>();
  for (const w of wants) {
    const members = observed.members.get(w.group);
    for (const u of w.usernames) {
      const member = Array.isArray(members) ? members.find((m) => isUser(m, u, byId)) : undefined;
      const looked = observed.users.get(u);
      const found = member ?? (looked instanceof Error ? undefined : looked);
      if (found !== undefined) out.set(u.toLowerCase(), found);
    }
  }
  return out;
}

/** What {@link addMissing} did: who it added, who Keycloak does not know, the members now. */
export interface Filled {
  added: string[];
  unknown: string[];
  /** Null when they were not read. */
  members: number | null;
  /** Their usernames (`memberNames`), when they were read. */
  names?: string[];
}

/**
 * Adds who of `team` is missing from group `id` (its members read, unless `known` says who is
 * in it: a group made a moment ago has none).
 */
export async function addMissing(
  kc: KeycloakClient,
  id: string,
  team: readonly string[],
  options: { known: KcUser[] | undefined; byId: boolean; added: (username: string) => void },
): Promise<Filled> {
  const members = options.known ?? (await kc.members(id)).map(user);
  const unknown: string[] = [];
  const added: string[] = [];
  for (const u of team) {
    if (members.some((m) => isUser(m, u, options.byId))) continue;
    // With keycloak_use_user_id the username is the user's id: added directly, no lookup
    // (a 404 is a user Keycloak does not know by that id; then it is looked up by username).
    if (options.byId && KEYCLOAK_ID.test(u)) {
      try {
        await kc.addToGroup(u, id);
        members.push({ id: u, username: u });
        added.push(u);
        options.added(u);
        continue;
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 404)) throw error;
      }
    }
    const found = await kc.userByUsername(u);
    if (!found) {
      unknown.push(u);
      continue;
    }
    await kc.addToGroup(found.id, id);
    members.push(user(found));
    added.push(found.username);
    options.added(found.username);
  }
  return { added, unknown, members: members.length, names: memberNames(members) };
}

/** `berth diagnose`'s Keycloak check: the realm readable, the groups searchable. */
export async function diagnoseGroups(kc: KeycloakClient, layout: GroupLayout): Promise<Check> {
  try {
    const realm = await kc.realm();
    if (layout.parent === null) {
      await kc.findGroup("berth-diagnose-probe");
      return {
        name: "keycloak",
        ok: true,
        detail: `realm ${realm.realm} readable, groups searchable`,
      };
    }
    const found = await kc.findGroup(layout.parent);
    return {
      name: "keycloak",
      ok: true,
      detail: `realm ${realm.realm} readable; parent group ${layout.parent} ${
        found ? "exists" : "will be created"
      }`,
    };
  } catch (error) {
    return { name: "keycloak", ok: false, detail: failureDetail(error) };
  }
}

/** A group as the plan sees it: whose it is, by its attributes. */
function seen(g: { id: string; attributes?: Record<string, string[]> | undefined }): ObservedGroup {
  return {
    id: g.id,
    managed: g.attributes?.managed_by?.[0] === "berth",
    projectUuid: g.attributes?.[PROJECT_ATTRIBUTE]?.[0] ?? "",
    ...(g.attributes ? { attributes: g.attributes } : {}),
  };
}

function user(u: { id: string; username: string }): KcUser {
  return { id: u.id, username: u.username };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A group's row after a membership pass: its members as `read` (none for a group not made yet;
 * what the row knew when they could not be read), who is missing, the problem.
 */
export function passRow(
  path: string,
  previous: GroupRow | undefined,
  pass: {
    read: readonly KcUser[] | Error | undefined;
    exists: boolean;
    missing: string[];
    error: string;
  },
): GroupRow {
  const read = Array.isArray(pass.read) ? pass.read : undefined;
  return {
    path,
    members: read ? read.length : !pass.exists ? 0 : previous?.members ?? null,
    added: [],
    removed: [],
    missing: pass.missing,
    error: pass.error,
    ...namesOf(read ? memberNames(read) : previous?.names),
  };
}

/** A group's row after a failure: what the row knew before, and the error. */
export function failedRow(path: string, previous: GroupRow | undefined, error: string): GroupRow {
  return {
    path,
    members: previous?.members ?? null,
    added: previous?.added ?? [],
    removed: previous?.removed ?? [],
    missing: previous?.missing ?? [],
    error,
    ...namesOf(previous?.names),
  };
}

/** The realm's user of exactly this username, or null. */
export async function userNamed(kc: KeycloakClient, username: string): Promise<KcUser | null> {
  const u = await kc.userByUsername(username);
  return u && user(u);
}
