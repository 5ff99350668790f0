/**
 * The fake Waldur's event subscriptions and their RabbitMQ side (event_process mode): the
 * subscriptions and queues it registered, and the events it publishes as Waldur does
 * (waldur-mastermind `marketplace_site_agent/handlers.py`, `marketplace/utils.py`
 * `prepare_messages`: one message into every queue registered for the offering and the object
 * type, none when no queue is).
 *
 * Message bodies, as Waldur sends them:
 * - `order`: `{"order_uuid": <hex>, "order_state": <state>}`, when an order turns
 *   pending-provider or pending-consumer, and when it is done;
 * - `user_role`: `{"user_uuid", "user_username", "project_uuid", "project_name", "role_name",
 *   "granted"}`, when a role in a project is granted or revoked, once per offering with a
 *   resource in state OK in that project.
 *
 * Publishing is asynchronous and runs in order, one message after the other; `settled()` waits
 * for every publication started so far and throws the first that failed.
 */
import { type FakeRabbitOptions, RabbitAdmin } from "./rabbit.ts";

/** The object types an event subscription may observe (Waldur 8.0.5's ObservableObjectTypeEnum). */
export const OBSERVABLE_OBJECT_TYPES = [
  "order",
  "user_role",
  "resource",
  "offering_user",
  "importable_resources",
  "service_account",
  "course_account",
  "resource_periodic_limits",
] as const;

/** One object type an event subscription may observe. */
export type ObservableObjectType = typeof OBSERVABLE_OBJECT_TYPES[number];

/** An event subscription as the fake stores it. */
export interface FakeSubscription {
  uuid: string;
  description: string;
  observable_objects: { object_type: string; object_id?: number | undefined }[];
  /** The identity it was registered for (register_event_subscription), if any. */
  identity: string | null;
  created: string;
}

/** A subscription queue as the fake stores it. */
export interface FakeQueue {
  uuid: string;
  subscription: string;
  offering_uuid: string;
  object_type: ObservableObjectType;
  queue_name: string;
  vhost: string;
  created: string;
}

/** The body of an `order` event. */
export interface OrderEvent {
  order_uuid: string;
  order_state: string;
}

/** The body of a `user_role` event. */
export interface RoleEvent {
  user_uuid: string;
  user_username: string;
  project_uuid: string;
  project_name: string;
  role_name: string;
  granted: boolean;
}

/** One message published: into which queue of which vhost, and its body. */
export interface PublishedEvent {
  vhost: string;
  queue: string;
  body: OrderEvent | RoleEvent;
  routed: boolean;
}

/** `subscription_{sub}_offering_{offering}_{type}`, both uuids as hex without dashes. */
export function queueName(subscription: string, offering: string, type: string): string {
  return `subscription_${subscription}_offering_${offering}_${type}`;
}

/** The fake Waldur's subscriptions, queues and publications; RabbitMQ only when configured. */
export class FakeEvents {
  /** Event subscriptions by uuid. */
  readonly subscriptions = new Map<string, FakeSubscription>();
  /** Queues by name. */
  readonly queues = new Map<string, FakeQueue>();
  /** Every message published, in order. */
  readonly published: PublishedEvent[] = [];
  /** The RabbitMQ management API, when the fake has one. */
  readonly rabbit: RabbitAdmin | undefined;
  #chain: Promise<void> = Promise.resolve();
  #failures: unknown[] = [];

  constructor(rabbit: FakeRabbitOptions | undefined) {
    this.rabbit = rabbit ? new RabbitAdmin(rabbit) : undefined;
  }

  /** The queues registered for an offering and an object type. */
  queuesFor(offering: string, type: ObservableObjectType): FakeQueue[] {
    return [...this.queues.values()].filter((q) =>
      q.offering_uuid === offering && q.object_type === type
    );
  }

  /** Publishes an event into every queue registered for it; resolves to how many were routed. */
  publish(
    offering: string,
    type: ObservableObjectType,
    body: OrderEvent | RoleEvent,
  ): Promise<number> {
    const rabbit = this.rabbit;
    if (!rabbit) return Promise.resolve(0);
    const queues = this.queuesFor(offering, type);
    const run = this.#chain.then(async () => {
      let routed = 0;
      for (const q of queues) {
        const ok = await rabbit.publish(q.vhost, q.queue_name, JSON.stringify(body));
        this.published.push({ vhost: q.vhost, queue: q.queue_name, body, routed: ok });
        if (ok) routed++;
      }
      return routed;
    });
    this.#chain = run.then(() => {}, (e) => {
      this.#failures.push(e);
    });
    return run;
  }

  /** Publishes in the background (a hook of the control API): failures wait for `settled()`. */
  publishLater(offering: string, type: ObservableObjectType, body: OrderEvent | RoleEvent): void {
    this.publish(offering, type, body).catch(() => {
      // kept by the chain: settled() throws it
    });
  }

  /** Waits for every publication started so far; throws the first failure since the last call. */
  async settled(): Promise<void> {
    await this.#chain;
    const failure = this.#failures[0];
    this.#failures = [];
    if (failure !== undefined) throw failure;
  }
}
