/**
 * What the fake Keycloak's admin REST API route modules share: `first`/`max` paging, the realm
 * the path names (404 when there is none), and the group and user representations.
 */
import type { Context } from "hono";
import type { FakeKcGroup, FakeKcUser, KeycloakState, Realm } from "./state.ts";

/** Keycloak's paging: `first` (offset, default 0) and `max` (default 100). */
export function page<T>(c: Context, all: T[]): Response {
  const first = Number(c.req.query("first") ?? "0");
  const max = Number(c.req.query("max") ?? "100");
  if (!Number.isInteger(first) || first < 0 || !Number.isInteger(max) || max < 0) {
    return c.json({ error: "invalid paging" }, 400);
  }
  return c.json(all.slice(first, first + max));
}

/** The realm of the path's `:realm`. */
export function realmOf(state: KeycloakState, c: Context): Realm | undefined {
  return state.realms.get(c.req.param("realm") ?? "");
}

/** Keycloak's 404 for a realm that does not exist. */
export function noRealm(c: Context): Response {
  return c.json({ error: "Realm not found." }, 404);
}

/**
 * A GroupRepresentation. The brief one has no attributes, as Keycloak's (`briefRepresentation`
 * defaults to true on GET /groups and to false on the children endpoint).
 */
export function groupJson(realm: Realm, g: FakeKcGroup, brief = false): Record<string, unknown> {
  return {
    id: g.id,
    name: g.name,
    path: groupPath(realm, g),
    ...(g.parentId ? { parentId: g.parentId } : {}),
    subGroupCount: realm.children.get(g.id)?.size ?? 0,
    subGroups: [],
    ...(brief ? {} : { attributes: g.attributes }),
  };
}

/** A UserRepresentation, as brief as Berth reads it. */
export function userJson(u: FakeKcUser): Record<string, unknown> {
  return { id: u.id, username: u.username, enabled: u.enabled };
}

function groupPath(realm: Realm, g: FakeKcGroup): string {
  const parent = g.parentId ? realm.groups.get(g.parentId) : undefined;
  return `${parent ? groupPath(realm, parent) : ""}/${g.name}`;
}
