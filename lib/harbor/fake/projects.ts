/**
 * The fake Harbor's `/projects` paths: list (fuzzy `name`, `q=name=` exact or `~` fuzzy), the
 * existence check, create (Harbor's name rule, `metadata.public`, a storage limit or the system
 * default, 409 on a duplicate), read, delete (412 while repositories remain) and the summary.
 */
import { Hono } from "hono";
import {
  error,
  findProject,
  harborQuery,
  json,
  matches,
  need,
  page,
  projectNotFound,
} from "./api.ts";
import type { FakeProject, HarborState } from "./state.ts";

const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** The project paths, to mount on the `/api/v2.0` app. */
export function projectsApp(state: HarborState): Hono {
  const app = new Hono();

  app.get("/projects", need(state, "project:list"), (c) => {
    let list = [...state.projects.values()];
    const fuzzy = c.req.query("name");
    if (fuzzy) list = list.filter((p) => p.name.includes(fuzzy));
    const clauses = harborQuery(c, ["name"]);
    if (typeof clauses === "string") return error(c, 400, "BAD_REQUEST", clauses);
    for (const clause of clauses) list = list.filter((p) => matches(clause, p.name));
    return page(c, list.map(projectJson));
  });

  app.on("HEAD", "/projects", (c) => {
    const name = c.req.query("project_name");
    if (!name) return error(c, 422, "UNPROCESSABLE_ENTITY", "project_name in query is required");
    return state.project(name) ? c.body(null, 200) : c.body(null, 404);
  });

  app.post("/projects", need(state, "project:create"), async (c) => {
    const body = await json(c);
    if (!body || typeof body.project_name !== "string") {
      return error(c, 422, "UNPROCESSABLE_ENTITY", "project_name in body is required");
    }
    const name = body.project_name;
    if (name.length > 255 || !PROJECT_NAME.test(name)) {
      return error(
        c,
        400,
        "BAD_REQUEST",
        "project name is not in lower case or contains illegal characters",
      );
    }
    const meta = body.metadata as Record<string, unknown> | undefined;
    if (meta?.public !== undefined && meta.public !== "true" && meta.public !== "false") {
      return error(
        c,
        400,
        "BAD_REQUEST",
        `metadata.public should only be 'true' or 'false', but got: '${String(meta.public)}'`,
      );
    }
    let limit = body.storage_limit;
    if (limit !== undefined && limit !== null && !Number.isInteger(limit)) {
      return error(c, 422, "UNPROCESSABLE_ENTITY", "storage_limit in body must be of type int64");
    }
    if (limit === undefined || limit === null || limit === 0) limit = state.defaultStorage;
    if ((limit as number) <= 0 && limit !== -1) {
      return error(c, 400, "BAD_REQUEST", "invalid value for resource storage");
    }
    if (state.project(name)) {
      return error(c, 409, "CONFLICT", `The project named ${name} already exists`);
    }
    const p = state.addProject(name, limit as number);
    c.header("location", `/api/v2.0/projects/${p.id}`);
    return c.body(null, 201);
  });

  app.get("/projects/:project_name_or_id", need(state, "project:read"), (c) => {
    const p = findProject(state, c);
    return p ? c.json(projectJson(p)) : projectNotFound(c);
  });

  app.delete("/projects/:project_name_or_id", need(state, "project:delete"), (c) => {
    const p = findProject(state, c);
    if (!p) return projectNotFound(c);
    if (p.repositories.length > 0) {
      return error(
        c,
        412,
        "PRECONDITION",
        "the project contains repositories, can not be deleted",
      );
    }
    state.projects.delete(p.id);
    return c.body(null, 200);
  });

  app.get("/projects/:project_name_or_id/summary", need(state, "project:read"), (c) => {
    const p = findProject(state, c);
    if (!p) return projectNotFound(c);
    const count = (role: number) => p.members.filter((m) => m.roleId === role).length;
    return c.json({
      repo_count: p.repositories.length,
      project_admin_count: count(1),
      developer_count: count(2),
      guest_count: count(3),
      maintainer_count: count(4),
      limited_guest_count: count(5),
      quota: { hard: { storage: p.hard }, used: { storage: p.used } },
    });
  });
  return app;
}

function projectJson(p: FakeProject) {
  return {
    project_id: p.id,
    owner_id: 1,
    owner_name: "admin",
    name: p.name,
    creation_time: p.created,
    update_time: p.created,
    deleted: false,
    repo_count: p.repositories.length,
    metadata: { public: "false" },
  };
}
