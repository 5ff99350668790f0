/**
 * The fake Waldur's event subscription paths (waldur-mastermind `waldur_core/logging`, the
 * legacy per-queue path the Python agent uses):
 * - `POST /api/marketplace-site-agent-identities/{uuid}/register_event_subscription/`
 *   `{observable_object_type, description?}`: the identity's subscription for that type, 200 when
 *   it exists, 201 when made;
 * - `POST /api/event-subscriptions/` `{description?, observable_objects?}` (201), list, read,
 *   delete;
 * - `POST /api/event-subscriptions/{uuid}/create_queue/` `{offering_uuid, object_type}`: the
 *   queue `subscription_{sub}_offering_{offering}_{type}` in the vhost of the subscription's user,
 *   201 when made, 200 when registered already (declared again: RabbitMQ's PUT is idempotent).
 *
 * A new subscription gets, in RabbitMQ, the vhost of its user (the user's uuid hex), a user named
 * after the subscription's uuid hex with the API token as password, and every permission on that
 * vhost: the agent logs in with login = subscription uuid, passcode = its Waldur token. Without a
 * RabbitMQ (the fake's `rabbit` option) subscriptions are kept in memory only and `create_queue`
 * answers 400, as Waldur does when RabbitMQ fails.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import { fieldErrors, notFound, paginate, readJson } from "./drf.ts";
import {
  type FakeQueue,
  type FakeSubscription,
  OBSERVABLE_OBJECT_TYPES,
  queueName,
} from "./events.ts";
import { AGENT_USER, hex, norm, type WaldurState } from "./state.ts";

const BASE = "https://waldur.test/api";

const ObjectType = z.enum(OBSERVABLE_OBJECT_TYPES);

const Register = z.object({
  observable_object_type: ObjectType,
  description: z.string().min(1).max(500).optional(),
});

const Create = z.object({
  description: z.string().max(4096).optional(),
  observable_objects: z.array(
    z.object({ object_type: ObjectType, object_id: z.number().int().optional() }),
  ).optional(),
});

const CreateQueue = z.object({ offering_uuid: z.string().min(1), object_type: ObjectType });

/** The event subscription paths, to mount at the root. */
export function subscriptionsApp(state: WaldurState): Hono {
  const app = new Hono();
  const events = state.events;
  const subscriptionJson = (s: FakeSubscription) => ({
    uuid: s.uuid,
    url: `${BASE}/event-subscriptions/${s.uuid}/`,
    description: s.description,
    user: `${BASE}/users/${AGENT_USER.uuid}/`,
    user_uuid: AGENT_USER.uuid,
    user_username: AGENT_USER.username,
    user_full_name: "",
    observable_objects: s.observable_objects,
    created: s.created,
    modified: s.created,
    source_ip: null,
  });
  const queueJson = (q: FakeQueue) => ({
    uuid: q.uuid,
    url: `${BASE}/event-subscription-queues/${q.uuid}/`,
    event_subscription: `${BASE}/event-subscriptions/${q.subscription}/`,
    event_subscription_uuid: q.subscription,
    offering_uuid: q.offering_uuid,
    object_type: q.object_type,
    queue_name: q.queue_name,
    vhost: q.vhost,
    created: q.created,
  });

  /** A new subscription, and its vhost, user and permissions in RabbitMQ. */
  const subscribe = async (
    c: Context,
    s: Omit<FakeSubscription, "uuid" | "created">,
  ): Promise<Response> => {
    const sub: FakeSubscription = { ...s, uuid: hex(), created: state.isoNow() };
    const rabbit = events.rabbit;
    if (rabbit) {
      try {
        await rabbit.putVhost(AGENT_USER.uuid);
        await rabbit.putUser(sub.uuid, state.token);
        await rabbit.permitAll(AGENT_USER.uuid, sub.uuid);
      } catch {
        return c.json(["Failed to create RabbitMQ user"], 400);
      }
    }
    events.subscriptions.set(sub.uuid, sub);
    return c.json(subscriptionJson(sub), 201);
  };

  app.post(
    "/api/marketplace-site-agent-identities/:uuid/register_event_subscription/",
    async (c) => {
      const identity = state.identities.get(norm(c.req.param("uuid")));
      if (!identity) return notFound(c);
      const parsed = Register.safeParse(await readJson(c));
      if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
      const type = parsed.data.observable_object_type;
      const existing = [...events.subscriptions.values()].find((s) =>
        s.identity === identity.uuid && s.observable_objects.some((o) => o.object_type === type)
      );
      if (existing) return c.json(subscriptionJson(existing), 200);
      return await subscribe(c, {
        description: parsed.data.description ?? `${identity.name} ${type}`,
        observable_objects: [{ object_type: type }],
        identity: identity.uuid,
      });
    },
  );

  app.get(
    "/api/event-subscriptions/",
    (c) => paginate(c, [...events.subscriptions.values()].map(subscriptionJson)),
  );
  app.post("/api/event-subscriptions/", async (c) => {
    const parsed = Create.safeParse((await readJson(c)) ?? {});
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    return await subscribe(c, {
      description: parsed.data.description ?? "",
      observable_objects: parsed.data.observable_objects ?? [],
      identity: null,
    });
  });
  app.get("/api/event-subscriptions/:uuid/", (c) => {
    const s = events.subscriptions.get(norm(c.req.param("uuid")));
    return s ? c.json(subscriptionJson(s)) : notFound(c);
  });
  app.delete("/api/event-subscriptions/:uuid/", async (c) => {
    const s = events.subscriptions.get(norm(c.req.param("uuid")));
    if (!s) return notFound(c);
    // Waldur deletes the subscription's queues (a pre_delete signal) and its RabbitMQ user,
    // and goes on when RabbitMQ fails
    for (const q of [...events.queues.values()].filter((q) => q.subscription === s.uuid)) {
      events.queues.delete(q.queue_name);
      await events.rabbit?.deleteQueue(q.vhost, q.queue_name).catch(() => {});
    }
    await events.rabbit?.deleteUser(s.uuid).catch(() => {});
    events.subscriptions.delete(s.uuid);
    return c.body(null, 204);
  });

  app.post("/api/event-subscriptions/:uuid/create_queue/", async (c) => {
    const s = events.subscriptions.get(norm(c.req.param("uuid")));
    if (!s) return notFound(c);
    const parsed = CreateQueue.safeParse(await readJson(c));
    if (!parsed.success) return c.json(fieldErrors(parsed.error), 400);
    const offering = norm(parsed.data.offering_uuid);
    if (!state.offerings.has(offering)) {
      return c.json({
        offering_uuid: ["Offering not found or you do not have access to it."],
      }, 400);
    }
    const name = queueName(s.uuid, offering, parsed.data.object_type);
    const rabbit = events.rabbit;
    try {
      if (!rabbit) throw new Error("no RabbitMQ");
      await rabbit.putQueue(AGENT_USER.uuid, name);
    } catch {
      return c.json(["Failed to create queue in RabbitMQ"], 400);
    }
    const existing = events.queues.get(name);
    if (existing) return c.json(queueJson(existing), 200);
    const q: FakeQueue = {
      uuid: hex(),
      subscription: s.uuid,
      offering_uuid: offering,
      object_type: parsed.data.object_type,
      queue_name: name,
      vhost: AGENT_USER.uuid,
      created: state.isoNow(),
    };
    events.queues.set(name, q);
    return c.json(queueJson(q), 201);
  });
  return app;
}
