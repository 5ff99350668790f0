/**
 * The fake Harbor's `/projects/{project_name}/repositories` paths: list a project's
 * repositories, delete one (its bytes leave the project's usage).
 */
import { Hono } from "hono";
import { error, need, page } from "./api.ts";
import type { HarborState } from "./state.ts";

/** The repository paths, to mount on the `/api/v2.0` app. */
export function repositoriesApp(state: HarborState): Hono {
  const app = new Hono();
  app.get("/projects/:project_name/repositories", need(state, "repository:list"), (c) => {
    const p = state.project(c.req.param("project_name"));
    if (!p) return error(c, 404, "NOT_FOUND", "project not found");
    return page(
      c,
      p.repositories.map((r) => ({
        id: r.id,
        project_id: p.id,
        name: r.name,
        artifact_count: r.artifactCount,
        pull_count: 0,
      })),
    );
  });
  app.delete(
    "/projects/:project_name/repositories/:repository_name",
    need(state, "repository:delete"),
    (c) => {
      const p = state.project(c.req.param("project_name"));
      if (!p) return error(c, 404, "NOT_FOUND", "project not found");
      // Hono decodes the path parameter once; Harbor decodes the double-encoded name again.
      const name = `${p.name}/${decodeURIComponent(c.req.param("repository_name"))}`;
      const repo = p.repositories.find((r) => r.name === name);
      if (!repo) return error(c, 404, "NOT_FOUND", `repository ${name} not found`);
      p.repositories = p.repositories.filter((r) => r !== repo);
      p.used = Math.max(0, p.used - repo.bytes);
      return c.body(null, 200);
    },
  );
  return app;
}
