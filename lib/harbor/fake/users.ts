/**
 * The fake Harbor's `/users` paths: list (`q=username=` or `email=`, exact or `~` fuzzy; deleted
 * users left out; no `oidc_user_meta`, as Harbor's list never loads it), read (with
 * `oidc_user_meta`: `subiss` and the CLI secret, as Harbor answers in OIDC mode) and delete
 * (Harbor marks the user deleted, renames it `name#id`, drops its OIDC record and memberships;
 * user 1, the admin, cannot be deleted).
 */
import { type Context, Hono } from "hono";
import { error, harborQuery, matches, need, page } from "./api.ts";
import type { FakeUser, HarborState } from "./state.ts";

/** The user paths, to mount on the `/api/v2.0` app. */
export function usersApp(state: HarborState): Hono {
  const app = new Hono();
  const find = (c: Context) => {
    const u = state.users.get(Number(c.req.param("user_id")));
    return u && !u.deleted ? u : undefined;
  };
  const notFound = (c: Context) =>
    error(c, 404, "NOT_FOUND", `user ${c.req.param("user_id")} not found`);

  app.get("/users", need(state, "user:list"), (c) => {
    const clauses = harborQuery(c, ["username", "email"]);
    if (typeof clauses === "string") return error(c, 400, "BAD_REQUEST", clauses);
    let list = [...state.users.values()].filter((u) => !u.deleted);
    for (const clause of clauses) {
      list = list.filter((u) => matches(clause, clause.key === "email" ? u.email : u.username));
    }
    return page(c, list.map(userJson));
  });

  app.get("/users/:user_id", need(state, "user:read"), (c) => {
    const u = find(c);
    if (!u) return notFound(c);
    if (u.subiss === undefined || u.id === 1) return c.json(userJson(u));
    return c.json({
      ...userJson(u),
      oidc_user_meta: {
        id: u.id + 1000,
        user_id: u.id,
        subiss: u.subiss,
        secret: u.cliSecret ?? "",
        creation_time: u.created,
        update_time: u.created,
      },
    });
  });

  app.delete("/users/:user_id", need(state, "user:delete"), (c) => {
    if (c.req.param("user_id") === "1") {
      return error(c, 403, "FORBIDDEN", "User with ID 1 cannot be deleted");
    }
    const u = find(c);
    if (!u) return notFound(c);
    u.deleted = true;
    u.username = `${u.username}#${u.id}`;
    u.email = `${u.email}#${u.id}`;
    delete u.subiss;
    delete u.cliSecret;
    for (const p of state.projects.values()) {
      p.members = p.members.filter((m) => !(m.entityType === "u" && m.entityId === u.id));
    }
    return c.body(null, 200);
  });
  return app;
}

/** A user as Harbor's `UserResp` shows it, without its OIDC record. */
function userJson(u: FakeUser) {
  return {
    user_id: u.id,
    username: u.username,
    email: u.email,
    realname: "",
    comment: "",
    sysadmin_flag: u.id === 1,
    admin_role_in_auth: false,
    creation_time: u.created,
    update_time: u.created,
  };
}
