/**
 * A fake Waldur: a Hono app serving the marketplace paths the agent uses, with the real status
 * codes, `x-result-count` and `Link` paging (default page size 10, max 300), Token auth, and
 * the order state machine (approve: pending-provider → executing; done/erred only from
 * executing; anything else 400). Its methods are the control API tests and the demo use.
 *
 * This module assembles the server: the request log, the faults and Token auth in front of
 * every path, `/api/users/me/`, then one sub-app per API group (`fake/orders.ts`,
 * `resources.ts`, `usages.ts`, `offerings.ts`, `identities.ts`, `subscriptions.ts`, sharing
 * `fake/drf.ts`) over the state in `fake/state.ts`. With a RabbitMQ (the `rabbit` option) event
 * subscriptions are real vhosts, users and queues there, and the fake publishes order and role
 * events into them (`fake/events.ts`, `fake/rabbit.ts`).
 */
import type { Hono, MiddlewareHandler } from "hono";
import { fakeApp } from "../fake_app.ts";
import { identitiesApp } from "./fake/identities.ts";
import { offeringsApp } from "./fake/offerings.ts";
import { ordersApp } from "./fake/orders.ts";
import { resourcesApp } from "./fake/resources.ts";
import { AGENT_USER, WaldurState } from "./fake/state.ts";
import { subscriptionsApp } from "./fake/subscriptions.ts";
import { usagesApp } from "./fake/usages.ts";

/** The fake Waldur server. `app` is a Hono app: serve it, or call `app.request` directly. */
export class FakeWaldur extends WaldurState {
  /** The server: every path under `/api/`. */
  readonly app: Hono = waldurApp(this);
}

function waldurApp(state: WaldurState): Hono {
  // Strict routing (Hono's default): `/api/users/me` is not `/api/users/me/`.
  const app = fakeApp(state);
  app.use("/api/*", tokenAuth(state.token));
  app.get(
    "/api/users/me/",
    (c) => c.json({ uuid: AGENT_USER.uuid, username: AGENT_USER.username }),
  );
  app.route("/", ordersApp(state));
  app.route("/", resourcesApp(state));
  app.route("/", usagesApp(state));
  app.route("/", offeringsApp(state));
  app.route("/", identitiesApp(state));
  app.route("/", subscriptionsApp(state));

  app.notFound((c) => c.json({ detail: "Not found." }, 404));
  return app;
}

/** Token auth, as DRF answers it: 401 without the header or with another token. */
function tokenAuth(token: string): MiddlewareHandler {
  return async (c, next) => {
    const auth = c.req.header("authorization") ?? "";
    if (auth !== `Token ${token}`) {
      return c.json({
        detail: auth ? "Invalid token." : "Authentication credentials were not provided.",
      }, 401);
    }
    await next();
  };
}

// The types of the fake's state and options (`fake/state.ts`), for tests and the demo.
export type {
  FakeComponent,
  FakeOrder,
  FakeResource,
  FakeTeamMember,
  FakeUsage,
  FakeWaldurOptions,
  Owner,
} from "./fake/state.ts";
export type { FakeQueue, FakeSubscription, OrderEvent, RoleEvent } from "./fake/events.ts";
export type { FakeRabbitOptions } from "./fake/rabbit.ts";
