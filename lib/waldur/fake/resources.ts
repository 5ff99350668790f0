/**
 * The fake Waldur's `/api/marketplace-provider-resources/` paths: list (by `offering_uuid`,
 * `state`, `backend_id` and `project_uuid`), read, the team of the resource's project, and the provider's
 * actions on a resource: `set_backend_id`, `set_limits`, `set_backend_metadata`,
 * `set_as_erred`, `set_as_ok` (each body validated, 400 with field errors).
 */
import { Hono } from "hono";
import { z } from "zod";
import { fieldErrors, notFound, paginate, readJson } from "./drf.ts";
import { type FakeResource, hex, norm, type WaldurState } from "./state.ts";

/** The provider resource paths, to mount at the root. */
export function resourcesApp(state: WaldurState): Hono {
  const app = new Hono();
  app.get("/api/marketplace-provider-resources/", (c) => {
    const states = c.req.queries("state") ?? [];
    const offerings = (c.req.query("offering_uuid") ?? "").split(",").filter(Boolean).map(norm);
    const backendId = c.req.query("backend_id");
    const project = c.req.query("project_uuid");
    const list = [...state.resources.values()].filter((r) =>
      (offerings.length === 0 || offerings.includes(r.offering_uuid)) &&
      (project === undefined || project === "" || norm(r.project_uuid) === norm(project)) &&
      (states.length === 0 || states.includes(r.state)) &&
      // django-filter drops an empty filter: `backend_id=` lists every resource
      (backendId === undefined || backendId === "" || r.backend_id === backendId)
    );
    return paginate(c, list);
  });
  app.get("/api/marketplace-provider-resources/:uuid/", (c) => {
    const r = state.resources.get(norm(c.req.param("uuid")));
    return r ? c.json(r) : notFound(c);
  });
  app.get("/api/marketplace-provider-resources/:uuid/team/", (c) => {
    const r = state.resources.get(norm(c.req.param("uuid")));
    if (!r) return notFound(c);
    return c.json((state.teams.get(r.project_uuid) ?? []).map((m) => ({
      uuid: hex(),
      url: `https://waldur.test/api/users/${m.username}/`,
      username: m.username,
      full_name: m.full_name ?? m.username,
      email: m.email ?? `${m.username}@example.org`,
      role: m.role ?? "PROJECT.MEMBER",
      expiration_time: null,
      offering_user_username: m.offering_user_username === undefined
        ? m.username
        : m.offering_user_username,
      offering_user_state: m.offering_user_state === undefined ? "OK" : m.offering_user_state,
    })));
  });
  const resourceAction = (
    action: string,
    body: z.ZodType<Record<string, unknown>>,
    apply: (r: FakeResource, b: Record<string, unknown>) => void,
  ) => {
    app.post(`/api/marketplace-provider-resources/:uuid/${action}/`, async (c) => {
      const r = state.resources.get(norm(c.req.param("uuid")));
      if (!r) return notFound(c);
      const parsed = body.safeParse((await readJson(c)) ?? {});
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      apply(r, parsed.data);
      return action === "set_as_erred" || action === "set_as_ok"
        ? c.body(null, 200)
        : c.json({ status: `${action} done` }, 200);
    });
  };
  resourceAction(
    "set_backend_id",
    z.object({ backend_id: z.string().max(255).optional() }),
    (r, b) => {
      r.backend_id = typeof b.backend_id === "string" ? b.backend_id : "";
    },
  );
  resourceAction(
    "set_limits",
    z.object({ limits: z.record(z.string(), z.unknown()) }),
    (r, b) => {
      r.limits = { ...(b.limits as Record<string, unknown>) };
    },
  );
  resourceAction(
    "set_backend_metadata",
    z.object({ backend_metadata: z.record(z.string(), z.unknown()) }),
    (r, b) => {
      r.backend_metadata = { ...(b.backend_metadata as Record<string, unknown>) };
    },
  );
  resourceAction(
    "set_as_erred",
    z.object({ error_message: z.string().optional(), error_traceback: z.string().optional() }),
    (r, b) => {
      r.state = "Erred";
      r.error_message = typeof b.error_message === "string" ? b.error_message : "";
    },
  );
  resourceAction("set_as_ok", z.object({}), (r) => {
    r.state = "OK";
    r.error_message = "";
  });
  return app;
}
