/**
 * The fake Harbor's `/quotas` paths: list (by `reference` and `reference_id`), read, and update
 * the hard storage limit (bytes, −1 unlimited; 0, other negatives and other resources refused).
 */
import { Hono } from "hono";
import { error, json, need, page } from "./api.ts";
import type { FakeProject, HarborState } from "./state.ts";

/** The quota paths, to mount on the `/api/v2.0` app. */
export function quotasApp(state: HarborState): Hono {
  const app = new Hono();
  const byId = (id: string) => [...state.projects.values()].find((x) => x.quotaId === Number(id));
  app.get("/quotas", need(state, "quota:list"), (c) => {
    const reference = c.req.query("reference");
    const refId = c.req.query("reference_id");
    let list = [...state.projects.values()];
    if (reference && reference !== "project") list = [];
    if (refId !== undefined) list = list.filter((p) => String(p.id) === refId);
    return page(c, list.map(quotaJson));
  });
  app.get("/quotas/:id", need(state, "quota:read"), (c) => {
    const p = byId(c.req.param("id"));
    return p ? c.json(quotaJson(p)) : error(c, 404, "NOT_FOUND", "quota not found");
  });
  app.put("/quotas/:id", need(state, "quota:update"), async (c) => {
    const p = byId(c.req.param("id"));
    if (!p) return error(c, 404, "NOT_FOUND", "quota not found");
    const hard = (await json(c))?.hard as Record<string, unknown> | undefined;
    if (!hard || typeof hard !== "object") {
      return error(c, 422, "UNPROCESSABLE_ENTITY", "hard in body is required");
    }
    for (const key of Object.keys(hard)) {
      if (key !== "storage") return error(c, 400, "BAD_REQUEST", `resource ${key} not support`);
    }
    const storage = hard.storage;
    if (typeof storage !== "number" || !Number.isInteger(storage)) {
      return error(c, 400, "BAD_REQUEST", "resource storage not found");
    }
    if (storage <= 0 && storage !== -1) {
      return error(c, 400, "BAD_REQUEST", "invalid value for resource storage");
    }
    // Harbor accepts a hard limit below what is used; pushes then fail until it is raised.
    p.hard = storage;
    return c.body(null, 200);
  });
  return app;
}

function quotaJson(p: FakeProject) {
  return {
    id: p.quotaId,
    ref: { id: p.id, name: p.name, owner_name: "admin" },
    hard: { storage: p.hard },
    used: { storage: p.used },
    creation_time: p.created,
    update_time: p.created,
  };
}
