/**
 * The fake Keycloak's admin group paths, `/admin/realms/{realm}/groups…`: list top-level groups
 * (`search`, `exact`: the top-level groups whose subtree holds a match), create (409 on a
 * sibling's name, 201 with `Location`), read, update (a name renames, attributes replace),
 * delete with the subtree, children (listed with `search`/`exact`, created) and members.
 */
import { type Context, Hono } from "hono";
import { groupJson, noRealm, page, realmOf, userJson } from "./admin.ts";
import { childGroups, type FakeKcGroup, type KeycloakState } from "./state.ts";

/** The group paths, to mount on the admin app (`/admin/realms`). */
export function groupsApp(state: KeycloakState): Hono {
  const admin = new Hono();

  admin.get("/:realm/groups", (c) => {
    const realm = realmOf(state, c);
    if (!realm) return noRealm(c);
    const named = nameSearch(c);
    let list = childGroups(realm);
    if (named) {
      // Keycloak returns the top-level groups whose subtree holds a match.
      const matches = (g: FakeKcGroup): boolean =>
        named(g.name) || childGroups(realm, g.id).some(matches);
      list = list.filter(matches);
    }
    const brief = c.req.query("briefRepresentation") !== "false";
    return page(c, list.map((g) => groupJson(realm, g, brief)));
  });

  const createGroup = async (c: Context, parentId?: string) => {
    const realm = realmOf(state, c);
    if (!realm) return noRealm(c);
    const body = await c.req.json().catch(() => undefined) as Record<string, unknown> | undefined;
    const name = body?.name;
    if (typeof name !== "string" || name.trim() === "") {
      return c.json({ errorMessage: "Group name is missing" }, 400);
    }
    const sibling = childGroups(realm, parentId).find((g) => g.name === name);
    if (sibling) {
      return c.json({
        errorMessage: parentId
          ? `Sibling group named '${name}' already exists.`
          : `Top level group named '${name}' already exists.`,
      }, 409);
    }
    const id = state.addGroup(
      c.req.param("realm") ?? "",
      name,
      parentId,
      (body?.attributes as Record<string, string[]>) ?? {},
    );
    c.header(
      "location",
      `${new URL(c.req.url).origin}/admin/realms/${c.req.param("realm")}/groups/${id}`,
    );
    return c.body(null, 201);
  };
  admin.post("/:realm/groups", (c) => createGroup(c));

  const groupOf = (c: Context) => realmOf(state, c)?.groups.get(c.req.param("id") ?? "");
  const noGroup = (c: Context) => c.json({ error: "Could not find group by id" }, 404);

  admin.get("/:realm/groups/:id", (c) => {
    const realm = realmOf(state, c);
    const g = groupOf(c);
    return realm && g ? c.json(groupJson(realm, g)) : noGroup(c);
  });
  // GroupRepresentation: a name renames (409 on a sibling's name), attributes replace them.
  admin.put("/:realm/groups/:id", async (c) => {
    const realm = realmOf(state, c);
    const g = groupOf(c);
    if (!realm || !g) return noGroup(c);
    const body = await c.req.json().catch(() => undefined) as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object") return c.json({ error: "invalid body" }, 400);
    // Keycloak refuses an update without a name, as it refuses a create without one
    if (typeof body.name !== "string" || body.name.trim() === "") {
      return c.json({ errorMessage: "Group name is missing" }, 400);
    }
    if (body.name !== g.name) {
      if (childGroups(realm, g.parentId).some((x) => x.name === body.name)) {
        return c.json(
          { errorMessage: `Sibling group named '${body.name}' already exists.` },
          409,
        );
      }
      g.name = body.name;
    }
    const attributes = body.attributes;
    if (attributes !== undefined && attributes !== null) {
      if (
        typeof attributes !== "object" ||
        Object.values(attributes).some((v) => !Array.isArray(v))
      ) return c.json({ error: "attributes must map names to lists of strings" }, 400);
      g.attributes = attributes as Record<string, string[]>;
    }
    return c.body(null, 204);
  });
  admin.delete("/:realm/groups/:id", (c) => {
    const realm = realmOf(state, c);
    const g = groupOf(c);
    if (!realm || !g) return noGroup(c);
    const drop = (id: string) => {
      for (const child of childGroups(realm, id)) drop(child.id);
      realm.children.delete(id);
      realm.groups.delete(id);
    };
    drop(g.id);
    realm.children.get(g.parentId ?? "")?.delete(g.id);
    return c.body(null, 204);
  });
  admin.get("/:realm/groups/:id/children", (c) => {
    const realm = realmOf(state, c);
    const g = groupOf(c);
    if (!realm || !g) return noGroup(c);
    // `search` (with `exact`) matches the children's names, as Keycloak ≥ 23 does.
    const named = nameSearch(c);
    const list = childGroups(realm, g.id).filter((x) => !named || named(x.name));
    const brief = c.req.query("briefRepresentation") === "true";
    return page(c, list.map((x) => groupJson(realm, x, brief)));
  });
  admin.post("/:realm/groups/:id/children", (c) => {
    const g = groupOf(c);
    return g ? createGroup(c, g.id) : noGroup(c);
  });
  admin.get("/:realm/groups/:id/members", (c) => {
    const realm = realmOf(state, c);
    const g = groupOf(c);
    if (!realm || !g) return noGroup(c);
    const users = [...g.members].map((id) => realm.users.get(id)).filter((u) => u !== undefined);
    return page(c, users.map(userJson));
  });
  return admin;
}

/** The request's `search` (with `exact`) as a test of a group's name; undefined without one. */
function nameSearch(c: Context): ((name: string) => boolean) | undefined {
  const search = c.req.query("search");
  if (search === undefined) return undefined;
  const exact = c.req.query("exact") === "true";
  return (name) => exact ? name === search : name.toLowerCase().includes(search.toLowerCase());
}
