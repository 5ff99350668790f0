/**
 * The fake Keycloak's admin user paths, `/admin/realms/{realm}/users…`: list (`username`,
 * `exact`), read, a user's groups, and joining or leaving a group (204).
 */
import { type Context, Hono } from "hono";
import { groupJson, noRealm, page, realmOf, userJson } from "./admin.ts";
import type { KeycloakState } from "./state.ts";

/** The user paths, to mount on the admin app (`/admin/realms`). */
export function usersApp(state: KeycloakState): Hono {
  const admin = new Hono();
  admin.get("/:realm/users", (c) => {
    const realm = realmOf(state, c);
    if (!realm) return noRealm(c);
    const username = c.req.query("username");
    const exact = c.req.query("exact") === "true";
    let list = [...realm.users.values()];
    if (username !== undefined) {
      list = list.filter((u) =>
        exact ? u.username === username.toLowerCase() : u.username.includes(username.toLowerCase())
      );
    }
    return page(c, list.map(userJson));
  });
  const userOf = (c: Context) => realmOf(state, c)?.users.get(c.req.param("uid") ?? "");
  admin.get("/:realm/users/:uid", (c) => {
    const u = userOf(c);
    return u ? c.json(userJson(u)) : c.json({ error: "User not found" }, 404);
  });
  admin.get("/:realm/users/:uid/groups", (c) => {
    const realm = realmOf(state, c);
    const u = userOf(c);
    if (!realm || !u) return c.json({ error: "User not found" }, 404);
    return page(
      c,
      [...realm.groups.values()].filter((g) => g.members.has(u.id)).map((g) => groupJson(realm, g)),
    );
  });
  const membership = (c: Context, add: boolean) => {
    const realm = realmOf(state, c);
    const u = userOf(c);
    const g = realm?.groups.get(c.req.param("groupId") ?? "");
    if (!u) return c.json({ error: "User not found" }, 404);
    if (!g) return c.json({ error: "Group not found" }, 404);
    if (add) g.members.add(u.id);
    else g.members.delete(u.id);
    return c.body(null, 204);
  };
  admin.put("/:realm/users/:uid/groups/:groupId", (c) => membership(c, true));
  admin.delete("/:realm/users/:uid/groups/:groupId", (c) => membership(c, false));
  return admin;
}
