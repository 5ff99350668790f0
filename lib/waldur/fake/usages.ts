/**
 * The fake Waldur's `/api/marketplace-component-usages/` paths: list (by `resource_uuid` and
 * `billing_period`) and `set_usage` (amounts validated, components of the resource's offering
 * only; a second report of a component in the same month replaces the first).
 */
import { Hono } from "hono";
import { z } from "zod";
import { fieldErrors, paginate, readJson } from "./drf.ts";
import { hex, norm, type WaldurState } from "./state.ts";

const SetUsage = z.object({
  usages: z.array(z.object({
    type: z.string().min(1),
    amount: z.string().regex(/^-?\d{0,18}(?:\.\d{0,2})?$/),
    description: z.string().optional(),
    recurring: z.boolean().optional(),
  })).min(1),
  resource: z.string().optional(),
  plan_period: z.string().optional(),
  date: z.iso.datetime({ offset: true }).optional(),
});

/** The component usage paths, to mount at the root. */
export function usagesApp(state: WaldurState): Hono {
  const app = new Hono();
  app.get("/api/marketplace-component-usages/", (c) => {
    const resource = c.req.query("resource_uuid");
    const period = c.req.query("billing_period");
    return paginate(
      c,
      state.usages.filter((u) =>
        (resource === undefined || u.resource_uuid === norm(resource)) &&
        (period === undefined || u.billing_period === period)
      ),
    );
  });
  app.post("/api/marketplace-component-usages/set_usage/", async (c) => {
    const parsed = SetUsage.safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    const body = parsed.data;
    const r = body.resource ? state.resources.get(norm(body.resource)) : undefined;
    if (!r) return c.json({ resource: ["Object does not exist."] }, 400);
    const offering = state.offerings.get(r.offering_uuid);
    const date = body.date ?? new Date(state.now()).toISOString();
    const period = `${date.slice(0, 7)}-01`;
    for (const u of body.usages) {
      if (!offering?.components.some((k) => k.type === u.type)) {
        return c.json({ usages: [`Component ${u.type} is not found.`] }, 400);
      }
    }
    for (const u of body.usages) {
      const existing = state.usages.find((x) =>
        x.resource_uuid === r.uuid && x.type === u.type && x.billing_period === period
      );
      if (existing) {
        existing.usage = u.amount;
        existing.date = date;
      } else {
        state.usages.push({
          uuid: hex(),
          resource_uuid: r.uuid,
          type: u.type,
          usage: u.amount,
          billing_period: period,
          date,
        });
      }
    }
    return c.body(null, 201);
  });
  return app;
}
