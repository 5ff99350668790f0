/**
 * The fake Waldur's `/api/marketplace-site-agent-identities/` paths: list (by `name`), create,
 * update, and register a service (201 the first time, 200 after).
 */
import { Hono } from "hono";
import { z } from "zod";
import { fieldErrors, notFound, paginate, readJson } from "./drf.ts";
import { type FakeIdentity, hex, norm, type WaldurState } from "./state.ts";

const Identity = z.object({ offering: z.string(), name: z.string().min(1).max(150) }).loose();

/** The site agent identity paths, to mount at the root. */
export function identitiesApp(state: WaldurState): Hono {
  const app = new Hono();
  const identityJson = (i: FakeIdentity) => ({
    uuid: i.uuid,
    url: `https://waldur.test/api/marketplace-site-agent-identities/${i.uuid}/`,
    name: i.name,
    offering: i.offering,
    created: new Date(state.now()).toISOString(),
    modified: new Date(state.now()).toISOString(),
    services: i.services.map((name) => ({ name })),
  });
  app.get("/api/marketplace-site-agent-identities/", (c) => {
    const name = c.req.query("name");
    return paginate(
      c,
      [...state.identities.values()].filter((i) => name === undefined || i.name === name).map(
        identityJson,
      ),
    );
  });
  app.post("/api/marketplace-site-agent-identities/", async (c) => {
    const parsed = Identity.safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    const i = {
      uuid: hex(),
      name: parsed.data.name,
      offering: parsed.data.offering,
      services: [],
    };
    state.identities.set(i.uuid, i);
    return c.json(identityJson(i), 201);
  });
  app.put("/api/marketplace-site-agent-identities/:uuid/", async (c) => {
    const i = state.identities.get(norm(c.req.param("uuid")));
    if (!i) return notFound(c);
    const parsed = Identity.safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    return c.json(identityJson(i), 200);
  });
  app.post("/api/marketplace-site-agent-identities/:uuid/register_service/", async (c) => {
    const i = state.identities.get(norm(c.req.param("uuid")));
    if (!i) return notFound(c);
    const parsed = z.object({ name: z.string().min(1).max(150), mode: z.string().nullish() })
      .safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    const fresh = !i.services.includes(parsed.data.name);
    if (fresh) i.services.push(parsed.data.name);
    return c.json({ uuid: hex(), name: parsed.data.name, identity: i.uuid }, fresh ? 201 : 200);
  });
  return app;
}
