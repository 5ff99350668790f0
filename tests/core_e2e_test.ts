import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";
import { makeSite, orderCreate } from "./support/site.ts";

Deno.test("a Create order provisions the resource, sets backend_id and ends done", async () => {
  using site = makeSite();
  const { order, resource } = orderCreate(site, "Team Images", { storage: 20 });
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok");
  assert.equal(site.waldur.order(order).state, "done");
  const r = site.waldur.resource(resource);
  assert.equal(r.backend_id, "waldur-team-images");
  assert.equal(r.state, "OK");
  assert.deepEqual(site.backend.projects.get("waldur-team-images")?.limits, { storage: 20 });
  // Waldur's limits were complete: nothing is pushed back.
  assert.ok(!site.waldur.writes().some((w) => w.path.endsWith("/set_limits/")));
});

Deno.test("a Create order without a storage limit gets the default and set_limits reports it", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "No Limits", {});
  await processOrders(site.offering.context);
  assert.deepEqual(site.waldur.resource(resource).limits, { storage: 10 });
  assert.equal(site.waldur.writes().filter((w) => w.path.endsWith("/set_limits/")).length, 1);
});

Deno.test("a Create order costs at most 5 Waldur requests, and an idle pass only the orders list", async () => {
  using site = makeSite();
  for (let i = 0; i < 30; i++) orderCreate(site, `res-${i}`);
  await processOrders(site.offering.context);
  const perOrder = site.waldur.requests.length / 30;
  assert.ok(perOrder <= 5, `${perOrder} requests per order`);
  const before = site.waldur.requests.length;
  await processOrders(site.offering.context);
  assert.deepEqual(site.waldur.requests.slice(before).map((r) => `${r.method} ${r.path}`), [
    `GET /api/marketplace-orders/?offering_uuid=${site.offeringUuid}` +
    "&state=pending-provider&state=executing&page=1&page_size=300",
  ]);
});

Deno.test("a second pass after Create writes nothing anywhere", async () => {
  using site = makeSite();
  orderCreate(site, "alpha");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  const waldurWrites = site.waldur.writes().length;
  const backendWrites = site.backend.writes.length;
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  assert.equal(site.waldur.writes().length, waldurWrites);
  assert.deepEqual(site.backend.writes.slice(backendWrites), []);
});

Deno.test("an Update order applies the new limits and ends done", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "beta", { storage: 5 });
  await processOrders(site.offering.context);
  const update = site.waldur.orderUpdate(resource, { storage: 50 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(update).state, "done");
  assert.equal(site.backend.projects.get("waldur-beta")?.limits.storage, 50);
  assert.equal(site.waldur.resource(resource).limits.storage, 50);
});

Deno.test("a Terminate order deletes the project and ends done", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "gamma");
  await processOrders(site.offering.context);
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminate).state, "done");
  assert.equal(site.backend.projects.has("waldur-gamma"), false);
  assert.equal(site.waldur.resource(resource).state, "Terminated");
});

Deno.test("a refused delete is never reported as done: the order goes to erred with the reason", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "full");
  await processOrders(site.offering.context);
  const project = site.backend.projects.get("waldur-full");
  assert.ok(project);
  project.items = 3;
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  const o = site.waldur.order(terminate);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /still holds 3 items/);
  assert.ok(site.backend.projects.has("waldur-full"));
});

Deno.test("a transient failure leaves the order executing and the next due pass finishes it", async () => {
  using site = makeSite();
  const { order } = orderCreate(site, "delta");
  site.backend.fail("ensure", "transient");
  const first = await processOrders(site.offering.context);
  assert.equal(first.outcome, "partial");
  assert.equal(site.waldur.order(order).state, "executing");
  assert.equal(site.store.order(order)?.attempts, 1);
  assert.equal(site.status.snapshot().orders.length, 1);
  site.clock.advance(site.config.intervals.orders);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "done");
  assert.equal(site.status.snapshot().orders.length, 0);
});

Deno.test("repeated transient failures: the order is tried once per pass and is done at the first pass after the fault clears", async () => {
  // Backing off a failing server is the circuit breaker's job (tests/faults_test.ts); an order
  // that waited longer than one interval would delay the recovery.
  using site = makeSite();
  const { order } = orderCreate(site, "epsilon");
  site.backend.fail("ensure", "transient", 3);
  for (let attempt = 1; attempt <= 3; attempt++) {
    const calls = site.backend.calls;
    await processOrders(site.offering.context);
    assert.equal(site.backend.calls, calls + 1, `attempt ${attempt}: one call per pass`);
    assert.equal(site.store.order(order)?.attempts, attempt);
    assert.equal(site.waldur.order(order).state, "executing", "never erred by a transient fault");
    site.clock.advance(site.config.intervals.orders);
  }
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "done", "the first pass after the fault clears");
});

Deno.test("a transient failure holds the order back by no interval: the next pass retries it, however soon", async () => {
  using site = makeSite();
  const { order } = orderCreate(site, "eta");
  site.backend.fail("ensure", "transient", 2);
  await processOrders(site.offering.context);
  assert.equal(site.store.order(order)?.attempts, 1);
  site.clock.advance(1_000); // far less than the orders interval
  assert.ok(site.config.intervals.orders > 1_000);
  let calls = site.backend.calls;
  await processOrders(site.offering.context);
  assert.equal(site.backend.calls, calls + 1, "retried one second later");
  assert.equal(site.store.order(order)?.attempts, 2);
  calls = site.backend.calls;
  await processOrders(site.offering.context); // no time passed at all
  assert.equal(site.backend.calls, calls + 1, "retried at once");
  assert.equal(site.waldur.order(order).state, "done");
});

Deno.test("a terminal failure sends the order to erred with its message", async () => {
  using site = makeSite();
  const { order, resource } = orderCreate(site, "zeta");
  site.backend.fail("ensure", "terminal");
  await processOrders(site.offering.context);
  const o = site.waldur.order(order);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /ensure failed \(terminal fault injected\)/);
  assert.equal(o.error_traceback, "", "no stack trace unless configured");
  assert.equal(site.waldur.resource(resource).state, "Erred");
});

Deno.test("berth_resources_erred counts the offering's Erred resources after a whole membership pass, not the ones it set back to OK", async () => {
  using site = makeSite();
  const { resource: lost } = orderCreate(site, "lost");
  site.backend.fail("ensure", "terminal");
  await processOrders(site.offering.context);
  const { resource: mended } = orderCreate(site, "mended");
  await processOrders(site.offering.context);
  site.waldur.resource(mended).state = "Erred";
  await syncMembership(site.offering.context);
  // the erred Create has no backend_id: it stays Erred; the other one is reconciled and set OK
  assert.equal(site.waldur.resource(lost).state, "Erred");
  assert.equal(site.waldur.resource(mended).state, "OK");
  assert.deepEqual([...site.status.erred], [[site.offering.config.name, 1]]);
});

Deno.test("hostile limits in an order end in a clear terminal error and nothing is created", async () => {
  using site = makeSite();
  const bad = [
    [{ storage: -5 }, /order limits\.storage: must not be negative/],
    [{ storage: "lots" }, /order limits\.storage: expected a number/],
    [{ storage: 1e12 }, /larger than Waldur allows/],
  ] as const;
  for (const [limits, message] of bad) {
    const { order } = orderCreate(site, `bad-${String(limits.storage).replace(/\W/g, "")}`, {
      ...limits,
    });
    await processOrders(site.offering.context);
    const o = site.waldur.order(order);
    assert.equal(o.state, "erred");
    assert.match(o.error_message, message);
  }
  assert.equal(site.backend.projects.size, 0);
});

Deno.test("a crash between the backend create and set_backend_id is repaired without a duplicate", async () => {
  using site = makeSite();
  const { order, resource } = orderCreate(site, "crashy");
  // The agent dies when set_backend_id is due: the project exists, Waldur does not know it.
  let cut = true;
  site.intercept = (request, next) =>
    cut && new URL(request.url).pathname.endsWith("/set_backend_id/")
      ? Promise.reject(new TypeError("connection reset"))
      : next(request);
  await processOrders(site.offering.context);
  cut = false;
  assert.equal(site.waldur.order(order).state, "executing");
  assert.equal(site.waldur.resource(resource).backend_id, "");
  assert.ok(site.backend.projects.has("waldur-crashy"));
  site.clock.advance(site.config.intervals.orders);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "done");
  assert.equal(site.waldur.resource(resource).backend_id, "waldur-crashy");
  assert.equal(site.backend.writes.filter((w) => w === "create waldur-crashy").length, 1);
});

Deno.test("a secret in a backend error never reaches Waldur, exposed details or not", async () => {
  for (const expose of [false, true]) {
    using site = makeSite({ yamlExtra: `expose_backend_error_details: ${expose}` });
    const { order } = orderCreate(site, "leaky");
    site.backend.ensure = () =>
      Promise.reject(new Error(`login with ${site.waldur.token} refused`));
    await processOrders(site.offering.context);
    const o = site.waldur.order(order);
    assert.equal(o.state, "erred");
    assert.ok(!o.error_message.includes(site.waldur.token), o.error_message);
    assert.ok(!o.error_traceback.includes(site.waldur.token), o.error_traceback);
    if (expose) assert.match(o.error_message, /login with \[redacted\] refused/);
    else {
      assert.equal(
        o.error_message,
        "internal error in the site agent; the service provider has the details in its log",
        "an error that is not Berth's own is only named to customers",
      );
    }
    assert.ok(!site.logs.join("\n").includes(site.waldur.token));
    assert.match(site.logs.join("\n"), /login with \[redacted\] refused/);
  }
});

Deno.test("membership adds and removes team members and repairs limit drift from Waldur", async () => {
  using site = makeSite();
  orderCreate(site, "omega", { storage: 30 });
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "bob" }, {
    username: "cy",
    offering_user_username: null,
  }]);
  await syncMembership(site.offering.context);
  const p = site.backend.projects.get("waldur-omega");
  assert.deepEqual([...p?.members ?? []].sort(), ["ann", "bob"]);
  site.waldur.setTeam("proj", [{ username: "bob" }]);
  if (p) p.limits.storage = 10; // someone changed the quota by hand
  await syncMembership(site.offering.context);
  assert.deepEqual([...p?.members ?? []], ["bob"]);
  assert.equal(p?.limits.storage, 30, "drift repaired to Waldur's limit, not to a default");
});

Deno.test("a team that cannot be read is not taken as empty: nobody is removed", async () => {
  using site = makeSite();
  orderCreate(site, "kappa");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await syncMembership(site.offering.context);
  site.intercept = (request, next) =>
    new URL(request.url).pathname.endsWith("/team/")
      ? Promise.resolve(new Response("gateway down", { status: 502 }))
      : next(request);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error, /team of project proj not read/);
  assert.deepEqual([...site.backend.projects.get("waldur-kappa")?.members ?? []], ["ann"]);
});

Deno.test("usage is reported with two decimals, skipped when unchanged, and decreases are reported", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "usage");
  await processOrders(site.offering.context);
  const p = site.backend.projects.get("waldur-usage");
  assert.ok(p);
  p.used.storage = 3.14159;
  await reportUsage(site.offering.context);
  assert.deepEqual(site.waldur.usagesOf(resource).map((u) => [u.type, u.usage, u.billing_period]), [
    ["storage", "3.14", "2026-11-01"],
  ]);
  const writes = site.waldur.writes().length;
  await reportUsage(site.offering.context);
  assert.equal(site.waldur.writes().length, writes, "unchanged usage is not sent again");
  p.used.storage = 1.5; // garbage collection shrank the registry
  await reportUsage(site.offering.context);
  assert.equal(site.waldur.usagesOf(resource)[0]?.usage, "1.50");
});

Deno.test("usage of several components is sent again when only one of them changed", async () => {
  using site = makeRancherSite();
  const { resource } = orderProject(site, "Multi");
  await processOrders(site.offering.context);
  site.rancher.addPod(site.cluster, "waldur-multi", "web", {
    containers: [{ requests: { cpu: "1", memory: "1Gi" } }],
  });
  site.rancher.addPvc(site.cluster, "waldur-multi", "data", "2Gi");
  const usage = () =>
    Object.fromEntries(site.waldur.usagesOf(resource).map((u) => [u.type, u.usage]));
  let result = await reportUsage(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.deepEqual(usage(), { cpu: "1.00", memory: "1.00", storage: "2.00" });
  const writes = site.waldur.writes().length;
  // one more core; memory and storage stay as they were
  site.rancher.addPod(site.cluster, "waldur-multi", "worker", {
    containers: [{ requests: { cpu: "500m" } }],
  });
  result = await reportUsage(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.waldur.writes().length, writes + 1, "the changed report is sent");
  assert.deepEqual(usage(), { cpu: "1.50", memory: "1.00", storage: "2.00" });
});

Deno.test("a failed usage read is skipped and shown, never reported as 0", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "broken");
  await processOrders(site.offering.context);
  site.backend.fail("usage", "transient");
  const result = await reportUsage(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error, /usage of broken not read/);
  assert.deepEqual(site.waldur.usagesOf(resource), []);
});
