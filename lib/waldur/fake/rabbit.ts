/**
 * The RabbitMQ management API calls Waldur makes for event subscriptions (waldur-mastermind
 * `waldur_core/logging/backend.py`, `RabbitMQManagementBackend`), for the fake Waldur: a vhost
 * per Waldur user (its uuid hex), a RabbitMQ user per event subscription (its uuid hex, the
 * user's API token as password, every permission on the vhost), a durable queue per
 * subscription, offering and object type with Waldur's `SUBSCRIPTION_QUEUE_ARGUMENTS`, and the
 * publication of one event into one queue.
 *
 * Waldur publishes over STOMP as its admin user, `SEND` to `/amq/queue/<queue>` in the
 * subscriber's vhost (`publish_stomp_messages`): the default exchange, routing key = queue name,
 * no exchange or binding of its own. The fake publishes the same message through the
 * management API's `amq.default/publish`: persistent, `content-type: application/json`, the
 * `x-message-id` header (sha256 of `vhost:queue:payload`, 32 hex digits).
 */
import { urlPath } from "../../http.ts";

/** Where the fake Waldur finds RabbitMQ's management API, and the fetch it uses. */
export interface FakeRabbitOptions {
  /** `http://127.0.0.1:15672`: the management API's origin. */
  managementUrl: string;
  /** A RabbitMQ administrator (Waldur's `RABBITMQ["USER"]`). */
  adminUser: string;
  /** Its password. */
  adminPass: string;
  /** The fetch to call it with (the tests' own). */
  fetch: typeof fetch;
}

/**
 * The arguments of every subscription queue (Waldur's `SUBSCRIPTION_QUEUE_ARGUMENTS`): a
 * subscriber that declares the queue itself with other arguments gets PRECONDITION_FAILED.
 */
export const SUBSCRIPTION_QUEUE_ARGUMENTS = {
  "x-message-ttl": 60 * 60 * 1000,
  "x-max-length": 10000,
  "x-overflow": "reject-publish-dlx",
  "x-dead-letter-exchange": "",
  "x-dead-letter-routing-key": "waldur.dlq.messages",
} as const;

/** A management API call that failed: what was asked, and RabbitMQ's answer. */
export class RabbitAdminError extends Error {
  /** The HTTP status (0 when RabbitMQ could not be reached). */
  readonly status: number;

  constructor(what: string, status: number, options?: ErrorOptions) {
    super(`RabbitMQ management API: ${what}${status ? `: HTTP ${status}` : ""}`, options);
    this.name = "RabbitAdminError";
    this.status = status;
  }
}

/** The management API calls Waldur makes, against one RabbitMQ. */
export class RabbitAdmin {
  #options: FakeRabbitOptions;

  constructor(options: FakeRabbitOptions) {
    this.#options = options;
  }

  /** `PUT /api/vhosts/{vhost}` (201 made, 204 already there). */
  async putVhost(vhost: string): Promise<void> {
    await this.#call("PUT", urlPath`/api/vhosts/${vhost}`, undefined, `create vhost ${vhost}`);
  }

  /** `PUT /api/users/{name}` with a password and no tags. */
  async putUser(name: string, password: string): Promise<void> {
    await this.#call("PUT", urlPath`/api/users/${name}`, { password, tags: [] }, `create ${name}`);
  }

  /** `DELETE /api/users/{name}` (a missing user is fine). */
  async deleteUser(name: string): Promise<void> {
    await this.#call("DELETE", urlPath`/api/users/${name}`, undefined, `delete ${name}`, [404]);
  }

  /** `PUT /api/permissions/{vhost}/{user}`: configure, write and read everything. */
  async permitAll(vhost: string, user: string): Promise<void> {
    await this.#call(
      "PUT",
      urlPath`/api/permissions/${vhost}/${user}`,
      { configure: ".*", write: ".*", read: ".*" },
      `grant ${user} on ${vhost}`,
    );
  }

  /** `PUT /api/queues/{vhost}/{name}`: durable, not auto-deleted, Waldur's arguments. */
  async putQueue(vhost: string, name: string): Promise<void> {
    await this.#call(
      "PUT",
      urlPath`/api/queues/${vhost}/${name}`,
      { durable: true, auto_delete: false, arguments: SUBSCRIPTION_QUEUE_ARGUMENTS },
      `declare queue ${name}`,
    );
  }

  /** `DELETE /api/queues/{vhost}/{name}` (a missing queue is fine). */
  async deleteQueue(vhost: string, name: string): Promise<void> {
    await this.#call(
      "DELETE",
      urlPath`/api/queues/${vhost}/${name}`,
      undefined,
      `delete queue ${name}`,
      [404],
    );
  }

  /** Publishes one JSON message into a queue as Waldur does; whether RabbitMQ routed it. */
  async publish(vhost: string, queue: string, payload: string): Promise<boolean> {
    const res = await this.#call(
      "POST",
      urlPath`/api/exchanges/${vhost}/amq.default/publish`,
      {
        properties: {
          delivery_mode: 2,
          content_type: "application/json",
          headers: { "x-message-id": await messageId(vhost, queue, payload) },
        },
        routing_key: queue,
        payload,
        payload_encoding: "string",
      },
      `publish to ${queue}`,
    );
    const body: unknown = res === undefined ? undefined : JSON.parse(res);
    return typeof body === "object" && body !== null && "routed" in body && body.routed === true;
  }

  async #call(
    method: string,
    path: string,
    body: unknown,
    what: string,
    fine: number[] = [],
  ): Promise<string | undefined> {
    const o = this.#options;
    let res: Response;
    try {
      res = await o.fetch(new URL(path, o.managementUrl), {
        method,
        headers: {
          authorization: `Basic ${btoa(`${o.adminUser}:${o.adminPass}`)}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new RabbitAdminError(`cannot ${what}`, 0, { cause });
    }
    const text = await res.text();
    if (res.ok) return text;
    if (fine.includes(res.status)) return undefined;
    throw new RabbitAdminError(`cannot ${what}`, res.status, { cause: text.slice(0, 300) });
  }
}

/** Waldur's `create_message_id`: sha256 of `vhost:topic:payload`, its first 32 hex digits. */
async function messageId(vhost: string, queue: string, payload: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${vhost}:${queue}:${payload}`),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
    .slice(0, 32);
}
