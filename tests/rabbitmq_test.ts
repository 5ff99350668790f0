/**
 * Event mode's groundwork against a real RabbitMQ (Debian's rabbitmq-server, installed by
 * .ci/run): the private node of testing/rabbitmq.ts starts and stops on free loopback ports,
 * keeps durable queues and persistent messages across a restart; the fake Waldur's event
 * subscription endpoints make the vhost, user, permissions and queue Waldur makes, and a STOMP
 * client over WebSocket (@stomp/stompjs on Deno's WebSocket) receives the order and role events
 * the fake publishes, logged in as the Python agent logs in (login = subscription uuid, passcode
 * = the Waldur API token, host = the vhost), and is refused with another passcode.
 */
import assert from "node:assert/strict";
import { Client, type IFrame, type IMessage } from "@stomp/stompjs";
import { FakeWaldur } from "../lib/waldur/fake.ts";
import { SUBSCRIPTION_QUEUE_ARGUMENTS } from "../lib/waldur/fake/rabbit.ts";
import { AGENT_USER } from "../lib/waldur/fake/state.ts";
import { rabbitInstalled, type RabbitNode, startRabbit } from "../testing/rabbitmq.ts";

const NOT_INSTALLED = "rabbitmq-server is not installed (.ci/run installs it: apt-get install " +
  "rabbitmq-server)";

/** Rejects when `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function canConnect(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** A management API GET as the node's administrator: status and JSON body. */
async function mgmt(node: RabbitNode, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${node.managementUrl()}${path}`, {
    headers: { authorization: node.adminAuth() },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Takes (and acknowledges) up to 10 messages of a queue through the management API. */
async function takeMessages(node: RabbitNode, vhost: string, queue: string): Promise<string[]> {
  const res = await fetch(
    `${node.managementUrl()}/api/queues/${encodeURIComponent(vhost)}/${queue}/get`,
    {
      method: "POST",
      headers: { authorization: node.adminAuth(), "content-type": "application/json" },
      body: JSON.stringify({ count: 10, ackmode: "ack_requeue_false", encoding: "auto" }),
    },
  );
  assert.equal(res.status, 200);
  const body: unknown = await res.json();
  assert.ok(Array.isArray(body));
  return body.map((m: { payload: string }) => m.payload);
}

/** A request to the fake Waldur with its token. */
async function call(
  fake: FakeWaldur,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fake.app.request(path, {
    method,
    headers: { authorization: `Token ${fake.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

/** A STOMP 1.2 client over WebSocket logged in as the Python agent logs in. */
function stompClient(node: RabbitNode, login: string, passcode: string, vhost: string): Client {
  return new Client({
    brokerURL: node.stompWsUrl(),
    connectHeaders: { login, passcode, host: vhost },
    heartbeatIncoming: 10_000,
    heartbeatOutgoing: 10_000,
    reconnectDelay: 0,
  });
}

/** Connects, subscribes to a pre-declared queue (`/amq/queue/…`, auto ack); messages as they come. */
async function subscribe(
  client: Client,
  queue: string,
): Promise<{ next: () => Promise<IMessage> }> {
  const inbox: IMessage[] = [];
  const waiting: ((m: IMessage) => void)[] = [];
  const connected = new Promise<void>((resolve, reject) => {
    client.onConnect = () => resolve();
    client.onStompError = (frame: IFrame) =>
      reject(new Error(`${frame.headers.message}: ${frame.body.trim()}`));
    client.onWebSocketClose = () => reject(new Error("the WebSocket closed before CONNECTED"));
  });
  client.activate();
  await within(connected, 10_000, "STOMP CONNECTED");
  client.subscribe(`/amq/queue/${queue}`, (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  }, { id: queue, ack: "auto" });
  return {
    next: () => {
      const m = inbox.shift();
      return m ? Promise.resolve(m) : new Promise<IMessage>((resolve) => waiting.push(resolve));
    },
  };
}

Deno.test("a private RabbitMQ node starts and stops on free loopback ports, twice in a row", async () => {
  assert.ok(rabbitInstalled(), NOT_INSTALLED);
  const seen = new Set<string>();
  for (let round = 0; round < 2; round++) {
    const node = await startRabbit();
    let dir: string;
    try {
      dir = node.dir;
      assert.match(node.nodeName, /^berth-[0-9a-f]{12}@localhost$/);
      assert.ok(!seen.has(node.nodeName), "a new node name each time");
      seen.add(node.nodeName);
      const ports = [node.amqpPort, node.stompWsPort, node.managementPort, node.epmdPort];
      assert.equal(new Set(ports).size, ports.length);
      assert.ok(!ports.includes(4369), "never the system epmd's port");
      for (const port of ports) assert.ok(await canConnect(port), `port ${port} answers`);
      const overview = await mgmt(node, "/api/overview");
      assert.equal(overview.status, 200);
      assert.equal((overview.body as { node: string }).node, node.nodeName);
      assert.equal((await mgmt(node, "/api/whoami")).status, 200);
      assert.ok(node.startMs > 0 && node.startMs < 60_000);
      await node.stop();
      for (const port of ports) assert.ok(!await canConnect(port), `port ${port} closed`);
      assert.ok(node.stopMs > 0);
    } finally {
      await node[Symbol.asyncDispose]();
    }
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound, "its folder is removed");
  }
});

Deno.test("the fake Waldur's event subscriptions on a real RabbitMQ", async (t) => {
  assert.ok(rabbitInstalled(), NOT_INSTALLED);
  await using node = await startRabbit();
  const fake = new FakeWaldur({
    rabbit: {
      managementUrl: node.managementUrl(),
      adminUser: node.adminUser,
      adminPass: node.adminPass,
      fetch: (input, init) => fetch(input, init),
    },
  });
  const offering = fake.addOffering("Containers", []);
  const identity = await call(fake, "POST", "/api/marketplace-site-agent-identities/", {
    offering,
    name: `agent-${offering}`,
  });
  const vhost = AGENT_USER.uuid;
  /** register_event_subscription + create_queue, as the Python agent calls them. */
  const register = async (type: string) => {
    const sub = await call(
      fake,
      "POST",
      `/api/marketplace-site-agent-identities/${identity.json.uuid}/register_event_subscription/`,
      { observable_object_type: type, description: `berth ${type}` },
    );
    assert.equal(sub.status, 201);
    const queue = await call(
      fake,
      "POST",
      `/api/event-subscriptions/${sub.json.uuid}/create_queue/`,
      { offering_uuid: offering, object_type: type },
    );
    assert.equal(queue.status, 201);
    return { sub: String(sub.json.uuid), queue: String(queue.json.queue_name) };
  };

  const order = await register("order");

  await t.step(
    "register and create_queue make the vhost, user, permissions and queue",
    async () => {
      assert.equal(order.queue, `subscription_${order.sub}_offering_${offering}_order`);
      assert.equal((await mgmt(node, `/api/vhosts/${vhost}`)).status, 200);
      const user = await mgmt(node, `/api/users/${order.sub}`);
      assert.equal(user.status, 200);
      const perms = await mgmt(node, `/api/permissions/${vhost}/${order.sub}`);
      assert.deepEqual(
        perms.body,
        { user: order.sub, vhost, configure: ".*", write: ".*", read: ".*" },
      );
      const q = await mgmt(node, `/api/queues/${vhost}/${order.queue}`);
      assert.equal(q.status, 200);
      const queue = q.body as { durable: boolean; auto_delete: boolean; arguments: unknown };
      assert.equal(queue.durable, true);
      assert.equal(queue.auto_delete, false);
      assert.deepEqual(queue.arguments, SUBSCRIPTION_QUEUE_ARGUMENTS);
      // again: the same subscription (200), the same queue (200)
      const again = await call(
        fake,
        "POST",
        `/api/marketplace-site-agent-identities/${identity.json.uuid}/register_event_subscription/`,
        { observable_object_type: "order" },
      );
      assert.equal(again.status, 200);
      assert.equal(again.json.uuid, order.sub);
      const queueAgain = await call(
        fake,
        "POST",
        `/api/event-subscriptions/${order.sub}/create_queue/`,
        { offering_uuid: offering, object_type: "order" },
      );
      assert.equal(queueAgain.status, 200);
      assert.equal(queueAgain.json.queue_name, order.queue);
    },
  );

  await t.step("a STOMP client over WebSocket receives the order events", async () => {
    const client = stompClient(node, order.sub, fake.token, vhost);
    try {
      const inbox = await subscribe(client, order.queue);
      const { order: made } = fake.orderCreate(offering, {
        name: "alpha",
        project: "physics",
        customer: "uni",
      });
      await fake.eventsSettled();
      const m = await within(inbox.next(), 10_000, "the order event");
      assert.deepEqual(JSON.parse(m.body), { order_uuid: made, order_state: "pending-provider" });
      assert.equal(m.headers["content-type"], "application/json");
      assert.equal(m.headers.persistent, "true");
      assert.match(m.headers["x-message-id"] ?? "", /^[0-9a-f]{32}$/);
      const routed = await fake.publishOrderEvent(offering, { uuid: made, state: "done" });
      assert.equal(routed, 1);
      const done = await within(inbox.next(), 10_000, "the done event");
      assert.deepEqual(JSON.parse(done.body), { order_uuid: made, order_state: "done" });
    } finally {
      await client.deactivate();
    }
  });

  await t.step("a team change publishes user_role events", async () => {
    const roles = await register("user_role");
    fake.addResource(offering, { name: "beta", project: "chem", customer: "uni" });
    const client = stompClient(node, roles.sub, fake.token, vhost);
    try {
      const inbox = await subscribe(client, roles.queue);
      fake.setTeam("chem", [{ username: "ann", role: "PROJECT.ADMIN" }]);
      fake.setTeam("chem", []);
      await fake.eventsSettled();
      const granted = JSON.parse((await within(inbox.next(), 10_000, "granted")).body);
      const revoked = JSON.parse((await within(inbox.next(), 10_000, "revoked")).body);
      const project = fake.resource([...fake.resources.keys()].at(-1)!).project_uuid;
      const expected = {
        user_uuid: fake.userUuid("ann"),
        user_username: "ann",
        project_uuid: project,
        project_name: "chem",
        role_name: "PROJECT.ADMIN",
      };
      assert.deepEqual(granted, { ...expected, granted: true });
      assert.deepEqual(revoked, { ...expected, granted: false });
    } finally {
      await client.deactivate();
    }
  });

  await t.step("a wrong passcode is refused", async () => {
    const client = stompClient(node, order.sub, "not-the-token", vhost);
    try {
      await assert.rejects(subscribe(client, order.queue), /^Error: Bad CONNECT: Access refused/);
    } finally {
      await client.deactivate();
    }
  });

  await t.step("a restart keeps the durable queue and the messages in it", async () => {
    const { order: queued } = fake.orderCreate(offering, {
      name: "gamma",
      project: "physics",
      customer: "uni",
    });
    await fake.eventsSettled();
    const ports = [node.stompWsPort, node.managementPort, node.epmdPort];
    await node.restart();
    assert.deepEqual([node.stompWsPort, node.managementPort, node.epmdPort], ports);
    const q = await mgmt(node, `/api/queues/${vhost}/${order.queue}`);
    assert.deepEqual((q.body as { arguments: unknown }).arguments, SUBSCRIPTION_QUEUE_ARGUMENTS);
    const kept = await takeMessages(node, vhost, order.queue);
    assert.deepEqual(kept.map((p) => JSON.parse(p)), [
      { order_uuid: queued, order_state: "pending-provider" },
    ]);
  });

  await t.step("deleting the subscription deletes its queues and its RabbitMQ user", async () => {
    assert.equal(
      (await call(fake, "DELETE", `/api/event-subscriptions/${order.sub}/`)).status,
      204,
    );
    assert.equal((await mgmt(node, `/api/queues/${vhost}/${order.queue}`)).status, 404);
    assert.equal((await mgmt(node, `/api/users/${order.sub}`)).status, 404);
    assert.equal(await fake.publishOrderEvent(offering, { uuid: "x", state: "done" }), 0);
  });
});

Deno.test("without RabbitMQ the fake keeps subscriptions in memory and create_queue fails", async () => {
  const fake = new FakeWaldur();
  const offering = fake.addOffering("Containers", []);
  const sub = await call(fake, "POST", "/api/event-subscriptions/", {
    observable_objects: [{ object_type: "order" }],
  });
  assert.equal(sub.status, 201);
  assert.equal(sub.json.user_uuid, AGENT_USER.uuid);
  const queue = await call(
    fake,
    "POST",
    `/api/event-subscriptions/${sub.json.uuid}/create_queue/`,
    {
      offering_uuid: offering,
      object_type: "order",
    },
  );
  assert.equal(queue.status, 400);
  assert.deepEqual(queue.json, ["Failed to create queue in RabbitMQ"]);
  const bad = await call(fake, "POST", `/api/event-subscriptions/${sub.json.uuid}/create_queue/`, {
    offering_uuid: offering,
    object_type: "invoice",
  });
  assert.equal(bad.status, 400);
  assert.ok("object_type" in bad.json);
  fake.orderCreate(offering, { name: "a", project: "p", customer: "c" });
  await fake.eventsSettled();
  assert.equal(fake.events.published.length, 0);
});
