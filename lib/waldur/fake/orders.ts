/**
 * The fake Waldur's `/api/marketplace-orders/` paths and the order state machine: list (by
 * `state` and `offering_uuid`), read, approve or reject (from pending-provider), done or erred
 * (from executing; any other state 400); finishing an order changes its resource as Waldur does.
 */
import { Hono } from "hono";
import type { OrderState } from "../schemas.ts";
import { notFound, paginate, readJson } from "./drf.ts";
import { type FakeOrder, type FakeResource, norm, type WaldurState } from "./state.ts";

/** The order paths, to mount at the root. */
export function ordersApp(state: WaldurState): Hono {
  const app = new Hono();
  app.get("/api/marketplace-orders/", (c) => {
    const states = c.req.queries("state") ?? [];
    const offering = c.req.query("offering_uuid");
    const list = [...state.orders.values()].filter((o) =>
      (offering === undefined || o.offering_uuid === norm(offering)) &&
      (states.length === 0 || states.includes(o.state))
    );
    return paginate(c, list);
  });
  app.get("/api/marketplace-orders/:uuid/", (c) => {
    const o = state.orders.get(norm(c.req.param("uuid")));
    return o ? c.json(o) : notFound(c);
  });
  const transition = (
    action: string,
    from: OrderState,
    to: OrderState,
    apply?: (o: FakeOrder, body: Record<string, unknown>) => void,
  ) => {
    app.post(`/api/marketplace-orders/:uuid/${action}/`, async (c) => {
      const o = state.orders.get(norm(c.req.param("uuid")));
      if (!o) return notFound(c);
      const body = await readJson(c);
      if (body === undefined) return c.json({ detail: "JSON parse error." }, 400);
      if (o.state !== from) {
        return c.json({ detail: `Order state must be ${from}, it is ${o.state}.` }, 400);
      }
      o.state = to;
      apply?.(o, body ?? {});
      // Waldur publishes an order event when an order is done (and when it turns pending)
      if (to === "done") {
        state.events.publishLater(o.offering_uuid, "order", {
          order_uuid: o.uuid,
          order_state: o.state,
        });
      }
      if (to === "done" || to === "erred" || to === "rejected") {
        finish(state.resources.get(o.marketplace_resource_uuid), o);
      }
      return action === "approve_by_provider"
        ? c.json({ detail: "Order has been approved." }, 200)
        : c.body(null, 200);
    });
  };
  transition("approve_by_provider", "pending-provider", "executing");
  transition("reject_by_provider", "pending-provider", "rejected", (o, b) => {
    o.provider_rejection_comment = typeof b.provider_rejection_comment === "string"
      ? b.provider_rejection_comment
      : "";
  });
  transition("set_state_done", "executing", "done");
  transition("set_state_erred", "executing", "erred", (o, b) => {
    o.error_message = typeof b.error_message === "string" ? b.error_message : "";
    o.error_traceback = typeof b.error_traceback === "string" ? b.error_traceback : "";
  });
  return app;
}

/** What finishing an order (now done, erred or rejected) does to its resource, as Waldur does it. */
function finish(r: FakeResource | undefined, o: FakeOrder): void {
  if (!r) return;
  if (o.state === "done") {
    if (o.type === "Create" || o.type === "Restore") r.state = "OK";
    if (o.type === "Update") {
      r.state = "OK";
      r.limits = { ...r.limits, ...o.limits };
    }
    if (o.type === "Terminate") r.state = "Terminated";
  } else if (o.state === "erred") {
    r.state = o.type === "Create" ? "Erred" : "OK";
    r.error_message = o.error_message;
  } else {
    r.state = o.type === "Create" ? "Terminated" : "OK";
  }
}
