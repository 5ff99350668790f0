/**
 * Event mode as it runs: `berth run` as a process on the loopback demo site, its registry
 * offering in event mode on a private RabbitMQ node, intervals of an hour (only events run
 * passes after the first ones). An order event's pass is held inside Harbor's project create
 * (the fake's `wait` fault) while the agent gets SIGTERM; the agent finishes the item in flight
 * and exits; a restart on the same state file must leave the order done exactly once, with one
 * Harbor project, and the queue drained. Every stop closes the connections: the broker lists
 * none of the agent's shortly after it exits.
 */
import assert from "node:assert/strict";
import { startDemoSite } from "../lib/demo/site.ts";
import { urlPath } from "../lib/http.ts";
import { StatusModel } from "../lib/status.ts";
import { realWorld } from "../lib/world.ts";
import { rabbitInstalled, type RabbitNode, startRabbit } from "../testing/rabbitmq.ts";
import {
  type AgentProcess,
  startAgent,
  waitFor,
  writeDemoConfig,
} from "./support/agent_process.ts";

const HOUR = { orders: "1h", membership: "1h", usage: "1h" };

async function management(node: RabbitNode, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${node.managementUrl()}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: node.adminAuth(), "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** The broker's open connections whose user is one of `users`. */
async function connectionsOf(node: RabbitNode, users: ReadonlySet<string>): Promise<number> {
  const list = await management(node, "/api/connections");
  assert.ok(Array.isArray(list));
  return list.filter((c) => users.has(String((c as { user?: unknown }).user))).length;
}

/** The messages in a queue now (read and put back). */
async function peek(node: RabbitNode, vhost: string, queue: string): Promise<string[]> {
  const got = await management(node, urlPath`/api/queues/${vhost}/${queue}/get`, {
    count: 100,
    ackmode: "ack_requeue_true",
    encoding: "auto",
  });
  assert.ok(Array.isArray(got));
  return got.map((m) => String((m as { payload?: unknown }).payload));
}

async function eventRows(agent: AgentProcess) {
  const res = await fetch(`${agent.url}api/status`);
  return StatusModel.parse(await res.json()).eventConnections ?? [];
}

function allConnected(agent: AgentProcess): Promise<true | undefined> {
  return eventRows(agent).then((rows) =>
    rows.length > 0 && rows.every((r) => r.state === "connected") ? true : undefined
  );
}

/** SIGTERM; resolves with the exit code and the wall time of the exit. */
async function sigterm(agent: AgentProcess): Promise<{ code: number; exitedAt: number }> {
  agent.child.kill("SIGTERM");
  const { code } = await agent.child.status;
  const exitedAt = Date.now();
  await agent.drained;
  return { code, exitedAt };
}

Deno.test("event mode process: SIGTERM with an order's pass in flight, then a restart: the order is done exactly once; the connections close", async () => {
  assert.ok(rabbitInstalled(), "rabbitmq-server is not installed (.ci/run installs it)");
  await using node = await startRabbit();
  await using temp = new AsyncDisposableStack();
  const dir = await Deno.makeTempDir({ prefix: "berth-events-" });
  temp.defer(() => Deno.remove(dir, { recursive: true }));
  await using site = await startDemoSite(realWorld().serve, {
    now: () => Date.now(),
    seed: false,
    rabbit: {
      managementUrl: node.managementUrl(),
      adminUser: node.adminUser,
      adminPass: node.adminPass,
      fetch: (input, init) => fetch(input, init),
    },
  });
  const configPath = await writeDemoConfig(site, dir, {
    intervals: HOUR,
    events: node.stompWsUrl(),
  });
  const users = () =>
    new Set([...site.waldur.events.subscriptions.keys()].map((u) => u.replaceAll("-", "")));

  // 1. first run: connected, then an order whose pass is held inside Harbor's project create
  const first = await startAgent(configPath);
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  try {
    await waitFor("the event connections", () => allConnected(first));
    assert.ok(await connectionsOf(node, users()) >= 1, "the broker lists the agent's connections");
    site.harbor.faults.add({
      kind: "wait",
      method: "POST",
      path: /\/projects$/,
      until: () => held,
      times: 1,
    });
    const { order } = site.waldur.orderCreate(site.harborOffering, {
      name: "events-sigterm",
      limits: { storage: 5 },
      project: "astro",
      customer: "uni-tartu",
    });
    await site.waldur.eventsSettled();
    await waitFor(
      "the pass inside Harbor's create",
      () => Promise.resolve(site.harbor.faults.hits >= 1 ? true : undefined),
    );
    // SIGTERM while the pass runs; Harbor answers a moment later
    first.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    release();
    const { code, exitedAt } = await sigterm(first);
    assert.equal(code, 0, first.lines.slice(-20).join("\n"));
    const log = first.lines.join("\n");
    assert.match(log, /stopping: finishing the items in flight/);

    // the broker sees the connections closed shortly after the exit
    await waitFor(
      "the connections closed",
      async () => await connectionsOf(node, users()) === 0 ? true : undefined,
      5_000,
    );
    const closedAfter = Date.now() - exitedAt;
    assert.ok(closedAfter < 5_000, `closed ${closedAfter} ms after the exit`);

    // the message: acknowledged before the exit (its pass finished), or back in its queue
    const queue = [...site.waldur.events.queues.values()].find((q) => q.object_type === "order");
    assert.ok(queue, "the order queue");
    const queued = await peek(node, queue.vhost, queue.queue_name);
    const waiting = queued.filter((m) => m.includes("pending-provider"));
    assert.ok(waiting.length <= 1, `${waiting.length} copies of the message: ${queued.join(" ")}`);
    // the stop cut the pass short: its message was not acknowledged
    assert.equal(waiting.length, 1, "the pending-provider event is back in its queue");

    // 2. a restart on the same state file: the message (if any) is delivered again and acked
    await using second = await startAgent(configPath);
    await waitFor("connected again", () => allConnected(second));
    await waitFor(
      "the order done",
      () => Promise.resolve(site.waldur.order(order).state === "done" ? true : undefined),
    );
    await waitFor(
      "the queue drained",
      async () => (await peek(node, queue.vhost, queue.queue_name)).length === 0 ? true : undefined,
    );
    if (waiting.length === 1) {
      await waitFor("the redelivered message counted", async () => {
        const row = (await eventRows(second)).find((r) => r.type === "order");
        return row && row.messages >= 1 ? true : undefined;
      });
    }
    const posts = (action: string) =>
      site.waldur.requests.filter((r) =>
        r.method === "POST" && r.status === 200 &&
        r.path.includes(`/marketplace-orders/${order}/${action}`)
      ).length;
    assert.equal(posts("approve_by_provider"), 1, "approved once");
    assert.equal(posts("set_state_done"), 1, "done once");
    assert.equal(posts("set_state_erred"), 0);
    const projects = [...site.harbor.projects.values()].filter((p) =>
      p.name.includes("events-sigterm")
    );
    assert.equal(projects.length, 1, "one Harbor project");
    const creates = site.harbor.requests.filter((r) =>
      r.method === "POST" && /\/projects$/.test(r.path) && r.status === 201
    );
    assert.equal(creates.length, 1, "created in Harbor once");

    // 3. a plain SIGTERM closes the connections too
    const stopped = await sigterm(second);
    assert.equal(stopped.code, 0);
    await waitFor(
      "the connections closed",
      async () => await connectionsOf(node, users()) === 0 ? true : undefined,
      5_000,
    );
  } finally {
    release();
    try {
      first.child.kill("SIGKILL");
    } catch {
      // exited
    }
    await first.child.status;
    await first.drained;
  }
});
