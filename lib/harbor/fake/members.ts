/**
 * The fake Harbor's `/projects/{project}/members` paths: list (by `entityname`), add a group
 * (by id, or by name: in OIDC mode Harbor onboards a group it does not know yet; 409 on a
 * duplicate; roles 1–5), read, change the role, remove.
 */
import { type Context, Hono } from "hono";
import { error, findProject, json, need, page, projectNotFound } from "./api.ts";
import type { FakeGroup, FakeMember, FakeProject, HarborState } from "./state.ts";

const ROLES = new Set([1, 2, 3, 4, 5]);
const ROLE_NAMES: Record<number, string> = {
  1: "projectAdmin",
  2: "developer",
  3: "guest",
  4: "maintainer",
  5: "limitedGuest",
};

/** The member paths, to mount on the `/api/v2.0` app. */
export function membersApp(state: HarborState): Hono {
  const app = new Hono();

  app.get("/projects/:project_name_or_id/members", need(state, "member:list"), (c) => {
    const p = findProject(state, c);
    if (!p) return projectNotFound(c);
    const name = c.req.query("entityname");
    const list = p.members.filter((m) => !name || m.entityName.includes(name));
    return page(c, list.map((m) => memberJson(p, m)));
  });

  app.post("/projects/:project_name_or_id/members", need(state, "member:create"), async (c) => {
    const p = findProject(state, c);
    if (!p) return projectNotFound(c);
    const body = await json(c);
    const group = body?.member_group as Record<string, unknown> | undefined;
    const roleId = body?.role_id;
    let g: FakeGroup | undefined;
    if (group && typeof group.id === "number" && group.id > 0) {
      g = state.groups.find((x) => x.id === group.id);
      if (!g) return error(c, 400, "BAD_REQUEST", `Group ${group.id} not found`);
    } else if (group && typeof group.group_name === "string" && group.group_name !== "") {
      g = state.groups.find((x) =>
        x.group_name === group.group_name && x.group_type === (group.group_type ?? 3)
      );
      // In OIDC mode Harbor onboards a group it does not know yet when it is named.
      if (!g) g = state.addGroup(group.group_name);
    } else {
      return error(
        c,
        400,
        "BAD_REQUEST",
        "at least one of member_user or member_group must be provided",
      );
    }
    if (p.members.some((m) => m.entityType === "g" && m.entityId === g.id)) {
      return error(c, 409, "CONFLICT", "The project member specified already exist");
    }
    if (typeof roleId !== "number" || !ROLES.has(roleId)) {
      return error(
        c,
        400,
        "BAD_REQUEST",
        "invalid role: must be a built-in project role (1-5) or an existing custom role",
      );
    }
    const m = state.addGroupMember(p, g, roleId);
    c.header("location", `/api/v2.0/projects/${p.id}/members/${m.id}`);
    return c.body(null, 201);
  });

  const findMember = (c: Context) => {
    const p = findProject(state, c);
    const m = p?.members.find((x) => x.id === Number(c.req.param("mid")));
    return { p, m };
  };
  app.get("/projects/:project_name_or_id/members/:mid", need(state, "member:read"), (c) => {
    const { p, m } = findMember(c);
    return p && m ? c.json(memberJson(p, m)) : error(c, 404, "NOT_FOUND", "member not found");
  });
  app.put("/projects/:project_name_or_id/members/:mid", need(state, "member:update"), async (c) => {
    const { p, m } = findMember(c);
    if (!p || !m) return error(c, 404, "NOT_FOUND", "member not found");
    const roleId = (await json(c))?.role_id;
    if (typeof roleId !== "number" || !ROLES.has(roleId)) {
      return error(c, 400, "BAD_REQUEST", "invalid role");
    }
    m.roleId = roleId;
    return c.body(null, 200);
  });
  app.delete("/projects/:project_name_or_id/members/:mid", need(state, "member:delete"), (c) => {
    const { p, m } = findMember(c);
    if (!p || !m) return error(c, 404, "NOT_FOUND", "member not found");
    p.members = p.members.filter((x) => x !== m);
    return c.body(null, 200);
  });
  return app;
}

function memberJson(p: FakeProject, m: FakeMember) {
  return {
    id: m.id,
    project_id: p.id,
    entity_name: m.entityName,
    role_name: ROLE_NAMES[m.roleId] ?? "custom",
    role_id: m.roleId,
    entity_id: m.entityId,
    entity_type: m.entityType,
  };
}
