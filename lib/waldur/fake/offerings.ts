/**
 * The fake Waldur's `/api/marketplace-provider-offerings/` paths: read an offering, create a
 * component (400 on a duplicate type) and update one (by its uuid).
 */
import { Hono } from "hono";
import { z } from "zod";
import { fieldErrors, notFound, readJson } from "./drf.ts";
import { hex, norm, type WaldurState } from "./state.ts";

const Component = z.object({
  billing_type: z.enum(["fixed", "usage", "limit", "one", "few"]),
  type: z.string().regex(/^[a-zA-Z0-9_\-/:]+$/).max(50),
  name: z.string().min(1).max(150),
  measured_unit: z.string().max(30).optional(),
  limit_amount: z.number().int().nullish(),
}).loose();

/** The provider offering paths, to mount at the root. */
export function offeringsApp(state: WaldurState): Hono {
  const app = new Hono();
  app.get("/api/marketplace-provider-offerings/:uuid/", (c) => {
    const o = state.offerings.get(norm(c.req.param("uuid")));
    return o ? c.json({ ...o, state: "Active" }) : notFound(c);
  });
  app.post("/api/marketplace-provider-offerings/:uuid/create_offering_component/", async (c) => {
    const o = state.offerings.get(norm(c.req.param("uuid")));
    if (!o) return notFound(c);
    const parsed = Component.safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    if (o.components.some((k) => k.type === parsed.data.type)) {
      return c.json({ type: ["Component with this type already exists."] }, 400);
    }
    o.components.push({
      ...parsed.data,
      measured_unit: parsed.data.measured_unit ?? "",
      limit_amount: parsed.data.limit_amount ?? null,
      uuid: hex(),
    });
    return c.body(null, 201);
  });
  app.post("/api/marketplace-provider-offerings/:uuid/update_offering_component/", async (c) => {
    const o = state.offerings.get(norm(c.req.param("uuid")));
    if (!o) return notFound(c);
    const parsed = Component.extend({ uuid: z.string() }).safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    const k = o.components.find((x) => norm(x.uuid) === norm(parsed.data.uuid));
    if (!k) return c.json({ uuid: ["Component is not found."] }, 400);
    Object.assign(k, parsed.data, { uuid: k.uuid });
    return c.body(null, 200);
  });
  return app;
}
