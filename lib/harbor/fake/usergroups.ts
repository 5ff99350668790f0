/**
 * The fake Harbor's `/usergroups` paths: list (by `group_name`), search (by `groupname`),
 * create (types 1–3, 409 on a duplicate name and type) and read.
 */
import { Hono } from "hono";
import { error, json, need, page } from "./api.ts";
import type { HarborState } from "./state.ts";

/** The user group paths, to mount on the `/api/v2.0` app. */
export function usergroupsApp(state: HarborState): Hono {
  const app = new Hono();
  app.get("/usergroups", need(state, "user-group:list"), (c) => {
    const name = c.req.query("group_name");
    return page(c, state.groups.filter((g) => !name || g.group_name.includes(name)));
  });
  app.get("/usergroups/search", need(state, "user-group:read"), (c) => {
    const name = c.req.query("groupname");
    if (!name) return error(c, 422, "UNPROCESSABLE_ENTITY", "groupname in query is required");
    return page(
      c,
      state.groups.filter((g) => g.group_name.includes(name)).map((g) => ({
        id: g.id,
        group_name: g.group_name,
        group_type: g.group_type,
      })),
    );
  });
  app.post("/usergroups", need(state, "user-group:create"), async (c) => {
    const body = await json(c);
    const name = body?.group_name;
    const type = body?.group_type;
    if (typeof name !== "string" || name === "" || typeof type !== "number") {
      return error(c, 400, "BAD_REQUEST", "group_name and group_type are required");
    }
    if (![1, 2, 3].includes(type)) return error(c, 400, "BAD_REQUEST", "invalid group_type");
    if (state.groups.some((g) => g.group_name === name && g.group_type === type)) {
      return error(c, 409, "CONFLICT", `group ${name} already exists`);
    }
    const g = state.addGroup(
      name,
      type,
      typeof body?.ldap_group_dn === "string" ? body.ldap_group_dn : "",
    );
    c.header("location", `/api/v2.0/usergroups/${g.id}`);
    return c.body(null, 201);
  });
  app.get("/usergroups/:group_id", need(state, "user-group:read"), (c) => {
    const g = state.groups.find((x) => x.id === Number(c.req.param("group_id")));
    return g ? c.json(g) : error(c, 404, "NOT_FOUND", "group not found");
  });
  return app;
}
