/**
 * Waldur's event subscription calls, as the Python agent makes them for event mode:
 * `POST /marketplace-site-agent-identities/{identity}/register_event_subscription/`
 * `{observable_object_type, description}` (the identity's subscription for one object type, made
 * or found), then `POST /event-subscriptions/{subscription}/create_queue/`
 * `{offering_uuid, object_type}` (the queue, declared by Waldur in RabbitMQ).
 */
import { z } from "zod";
import { type Http, urlPath } from "../http.ts";

/** The part of an EventSubscription Berth reads. */
export const EventSubscription = z.object({ uuid: z.string(), user_uuid: z.string() });
/** An event subscription: its uuid (the RabbitMQ login) and its user's (the vhost). */
export type EventSubscription = z.infer<typeof EventSubscription>;

/** The part of an EventSubscriptionQueue Berth reads. */
export const SubscriptionQueue = z.object({ queue_name: z.string(), vhost: z.string() });
/** A subscription queue, as Waldur declared it. */
export type SubscriptionQueue = z.infer<typeof SubscriptionQueue>;

/** The identity's subscription for one object type (made, or the one it has). */
export async function registerEventSubscription(
  http: Http,
  identityUuid: string,
  objectType: string,
): Promise<EventSubscription> {
  return (await http.request(
    "POST",
    urlPath`/marketplace-site-agent-identities/${identityUuid}/register_event_subscription/`,
    {
      body: { observable_object_type: objectType, description: `berth ${objectType} events` },
      schema: EventSubscription,
      idempotent: true,
      action: `register the ${objectType} event subscription`,
    },
  )).data;
}

/** The queue of one subscription, offering and object type (declared again when it exists). */
export async function createQueue(
  http: Http,
  subscriptionUuid: string,
  offeringUuid: string,
  objectType: string,
): Promise<SubscriptionQueue> {
  return (await http.request(
    "POST",
    urlPath`/event-subscriptions/${subscriptionUuid}/create_queue/`,
    {
      body: { offering_uuid: offeringUuid, object_type: objectType },
      schema: SubscriptionQueue,
      idempotent: true,
      action: `create the ${objectType} event queue`,
    },
  )).data;
}
