/**
 * The loops agree with each other: access is granted at Create (no waiting for the membership
 * pass), and objects that orders share (groups, tokens) are made once, however many orders of
 * one Waldur project run side by side.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";
import { makeSite, orderCreate } from "./support/site.ts";

const KEYCLOAK =
  `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`;

Deno.test("a Rancher Create order ends with the team in its Keycloak group, without a membership pass", async () => {
  using site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: false" });
  site.keycloak.addUser("waldur", "ann");
  site.keycloak.addUser("waldur", "bob");
  const { order: uuid } = orderProject(site, "Analytics");
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "bob" }, { username: "ghost" }]);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done");
  const child = [...site.keycloak.realm("waldur").groups.values()].find((g) =>
    g.name === "project_proj_workloads-manage"
  );
  const members = [...child?.members ?? []].map((id) =>
    site.keycloak.realm("waldur").users.get(id)?.username
  );
  assert.deepEqual(members.sort(), ["ann", "bob"], "the team is in before the order is done");
  assert.ok(site.logs.some((l) => l.includes("missing in Keycloak: ghost is not in realm waldur")));
});

Deno.test("a Harbor Create order with Keycloak ends with the team in the OIDC group, without a membership pass", async () => {
  const kc = new FakeKeycloak({ now: () => new ManualClock().now() });
  kc.addRealm("waldur");
  kc.addUser("waldur", "ann");
  using site = makeHarborSite(KEYCLOAK, { "keycloak.test": kc.app });
  const { order: uuid } = order(site, "reg");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done");
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
});

Deno.test("ten Harbor Creates of one Waldur project side by side: one group lookup, one create, no 409", async () => {
  using site = makeHarborSite("", {}, { yamlExtra: "concurrency: 4" });
  for (let i = 0; i < 10; i++) order(site, `reg-${i}`);
  await processOrders(site.offering.context);
  const sent = site.harbor.requests.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.status}`);
  assert.equal(
    sent.filter((r) => r.startsWith("POST /api/v2.0/usergroups ")).length,
    1,
    sent.join("\n"),
  );
  assert.equal(sent.filter((r) => r.startsWith("GET /api/v2.0/usergroups/search")).length, 1);
  assert.deepEqual(sent.filter((r) => r.endsWith(" 409")), []);
  assert.equal(
    sent.filter((r) => /^POST \/api\/v2\.0\/projects\/\d+\/members 201$/.test(r)).length,
    10,
  );
});

Deno.test("ten Rancher Creates of one Waldur project side by side: one token, one parent lookup, one of each group, no 409", async () => {
  using site = makeRancherSite({ keycloak: true, yamlExtra: "concurrency: 4" });
  const ann = site.keycloak.addUser("waldur", "ann");
  for (let i = 0; i < 10; i++) orderProject(site, `Project ${i}`);
  site.waldur.setTeam("proj", [{ username: ann }]); // the project exists once ordered
  await processOrders(site.offering.context);
  const sent = site.keycloak.requests.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.status}`);
  const count = (re: RegExp) => sent.filter((r) => re.test(r)).length;
  assert.equal(
    count(/^POST \/realms\/master\/protocol\/openid-connect\/token /),
    1,
    sent.join("\n"),
  );
  assert.equal(count(/^GET \/admin\/realms\/waldur\/groups /), 1, "one parent lookup in the pass");
  assert.equal(count(/^POST \/admin\/realms\/waldur\/groups /), 1, "one parent made");
  assert.equal(
    count(/^POST \/admin\/realms\/waldur\/groups\/[^/]+\/children /),
    1,
    "one child made",
  );
  assert.equal(count(/ 409$/), 0);
  assert.equal(
    count(/^PUT \/admin\/realms\/waldur\/users\/[^/]+\/groups\/[^/]+ 204$/),
    1,
    `ann added once:\n${sent.join("\n")}`,
  );
});

/**
 * Holds the first request `match` picks until `release` is called; `held` resolves when it
 * arrives. With `answered`, the server answers first and the answer is what is held (a list read
 * before an order changed it, delivered after).
 */
function gate(match: (request: Request) => boolean, options: { answered?: boolean } = {}) {
  let release = () => {};
  let arrived = () => {};
  const held = new Promise<void>((r) => arrived = r);
  const open = new Promise<void>((r) => release = r);
  let used = false;
  return {
    held,
    release: () => release(),
    wrap: (next: (request: Request) => Promise<Response>) => async (request: Request) => {
      if (used || !match(request)) return await next(request);
      used = true;
      const answer = options.answered ? await next(request) : undefined;
      arrived();
      await open;
      return answer ?? await next(request);
    },
  };
}

Deno.test("a Terminate while a membership pass reads the project: Terminated, never Erred", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "doomed");
  await processOrders(site.offering.context);
  const members = gate((r) => /\/projects\/\d+\/members$/.test(new URL(r.url).pathname));
  site.intercept = (request, next) => members.wrap(next)(request);
  const membership = syncMembership(site.offering.context);
  await members.held; // the pass has listed the resource and is reading its project
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context); // deletes the project under the pass
  assert.equal(site.waldur.order(terminate).state, "done");
  assert.equal(site.harbor.project("waldur-doomed"), undefined);
  members.release();
  const result = await membership;
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.waldur.resource(resource).state, "Terminated");
  assert.ok(
    !site.waldur.writes().some((w) =>
      w.path.includes(resource) && w.path.endsWith("/set_as_erred/")
    ),
    site.waldur.writes().map((w) => w.path).join("\n"),
  );
});

Deno.test("a resource terminated outside this agent while a pass reads it is not marked erred", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "gone");
  await processOrders(site.offering.context);
  const members = gate((r) => /\/projects\/\d+\/members$/.test(new URL(r.url).pathname));
  site.intercept = (request, next) => members.wrap(next)(request);
  const membership = syncMembership(site.offering.context);
  await members.held;
  // another hand: the project goes and Waldur has the resource terminated
  site.harbor.projects.delete(site.harbor.project("waldur-gone")?.id ?? 0);
  site.waldur.resource(resource).state = "Terminated";
  members.release();
  const result = await membership;
  assert.equal(result.outcome, "ok", result.error);
  assert.ok(!site.waldur.writes().some((w) => w.path.endsWith("/set_as_erred/")));
});

Deno.test("the retry layer waits the server's Retry-After, not a longer backoff", async () => {
  const { createHttp } = await import("../lib/http.ts");
  const clock = new ManualClock();
  const answers = [
    () => new Response("busy", { status: 503, headers: { "retry-after": "0" } }),
    () => new Response("busy", { status: 503, headers: { "retry-after": "1" } }),
    () => Response.json({}),
  ];
  const http = createHttp({
    system: "harbor",
    baseUrl: "http://h",
    fetch: () => Promise.resolve((answers.shift() ?? (() => Response.json({})))()),
    clock,
    random: () => 1, // a backoff would be 250 ms, then 500 ms
  });
  await http.request("GET", "/x");
  assert.deepEqual(clock.slept, [1_000], "0 s, then 1 s: what the server asked");
});

Deno.test("a 429 with Retry-After opens the circuit for exactly that long; errors say what happened", async () => {
  const { Breakers } = await import("../lib/breaker.ts");
  const { createHttp } = await import("../lib/http.ts");
  const clock = new ManualClock({ autoAdvance: false });
  let calls = 0;
  const breakers = new Breakers({ clock });
  const fetch = breakers.wrap(() => {
    calls++;
    return Promise.resolve(
      calls === 1
        ? new Response("slow down", { status: 429, headers: { "retry-after": "10" } })
        : Response.json({}),
    );
  });
  const http = createHttp({
    system: "waldur",
    baseUrl: "http://w",
    fetch,
    clock,
    retry: { attempts: 1 },
  });
  await assert.rejects(
    http.request("GET", "/x"),
    /waldur: cannot GET \/x: rate limited by Waldur \(HTTP 429, retry after 10 s\) slow down/,
  );
  clock.advance(9_000);
  await assert.rejects(
    http.request("GET", "/x"),
    /circuit open after 1 failure \(HTTP 429, retry after 10 s\); next probe in 1 s/,
  );
  assert.equal(calls, 1, "the server is not asked before its Retry-After");
  clock.advance(1_000);
  await http.request("GET", "/x");
  assert.equal(calls, 2);
  const status = breakers.all()[0];
  assert.equal(status?.state, "closed");
});

Deno.test("after an outage the order is done at the first orders pass once the server is back", async () => {
  // orders every 20 s; Harbor answers 503 for two to five minutes
  for (const outage of [130_000, 170_000, 230_000, 290_000]) {
    using site = makeHarborSite("", {}, { yamlExtra: "intervals: {orders: 20s}" });
    const { order: uuid } = order(site, "patient");
    const outageEnds = site.clock.now() + outage;
    site.intercept = (request, next) => {
      if (new URL(request.url).hostname !== "harbor.test") return next(request);
      site.clock.advance(1_500); // a slow answer: a failure lands after its pass began
      return site.clock.now() < outageEnds
        ? Promise.resolve(new Response("down", { status: 503 }))
        : next(request);
    };
    let passAt = site.clock.now();
    while (passAt < outageEnds + 120_000) {
      await processOrders(site.offering.context);
      if (site.waldur.order(uuid).state === "done") break;
      passAt += 20_000;
      const wait = passAt - site.clock.now();
      if (wait > 0) site.clock.advance(wait);
    }
    assert.equal(site.waldur.order(uuid).state, "done");
    const late = site.clock.now() - outageEnds;
    assert.ok(
      late <= 20_000,
      `${outage / 1000} s outage: done ${
        late / 1000
      } s after Harbor came back (one interval is 20 s)`,
    );
    assert.equal(site.waldur.order(uuid).error_message, "", "never erred");
  }
});

Deno.test("a refused Terminate stays visible until what blocked it is gone; no pass sets the resource OK over it", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "keepsake");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-keepsake", "waldur-keepsake/app", 1024 ** 3);
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminate).state, "erred");
  const refusal = () => site.status.snapshot().refusals.find((r) => r.resource === resource);
  assert.match(
    refusal()?.message ?? "",
    /still holds 1 repository .*Delete its images, or set termination: purge/,
  );
  // Waldur puts a resource back to OK when its Terminate errs; some versions leave it Erred:
  // either way, no pass writes over the refusal while the images are there
  site.waldur.resource(resource).state = "Erred";
  const writes = () =>
    site.waldur.writes().filter((w) => w.path.includes(resource)).map((w) =>
      w.path.split("/").at(-2)
    );
  const before = writes().length;
  await syncMembership(site.offering.context);
  await syncMembership(site.offering.context);
  assert.deepEqual(writes().slice(before), [], "neither set_as_ok nor set_as_erred");
  assert.ok(refusal(), "still shown");
  const { createApp } = await import("../routes/app.tsx");
  const page = await (await createApp({ status: site.status }).request("/")).text();
  assert.match(page, /Refused terminations/);
  // the images are deleted: the next pass clears the refusal and the resource's error
  const p = site.harbor.project("waldur-keepsake");
  if (p) p.repositories.length = 0;
  await syncMembership(site.offering.context);
  assert.equal(refusal(), undefined);
  assert.equal(site.waldur.resource(resource).state, "OK");
  assert.deepEqual(writes().slice(before), ["set_as_ok"]);
});

Deno.test("a new order of the resource that goes through clears its refusal", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "second-try");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-second-try", "waldur-second-try/app", 1024 ** 3);
  site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.status.snapshot().refusals.length, 1);
  assert.equal(site.store.refusals().length, 1, "kept in the state file across restarts");
  site.waldur.orderUpdate(resource, { storage: 30 });
  await processOrders(site.offering.context);
  assert.deepEqual(site.status.snapshot().refusals, []);
  assert.deepEqual(site.store.refusals(), []);
});

Deno.test("an Update and a Terminate of one resource in one pass run one after the other", async () => {
  using site = makeHarborSite("", {}, { yamlExtra: "concurrency: 4" });
  const { resource } = order(site, "busy");
  await processOrders(site.offering.context);
  const update = site.waldur.orderUpdate(resource, { storage: 30 });
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(update).state, "done", site.waldur.order(update).error_message);
  assert.equal(site.waldur.order(terminate).state, "done");
  assert.equal(site.waldur.resource(resource).state, "Terminated");
});

Deno.test("a Retry-After of years is read as at most one loop interval: the agent comes back", async () => {
  const { parseRetryAfter, MAX_RETRY_AFTER_MS } = await import("../lib/http.ts");
  assert.equal(parseRetryAfter("1000000000", 0), MAX_RETRY_AFTER_MS);
  using site = makeSite({ yamlExtra: "intervals: {orders: 20s}" });
  const { order: uuid } = orderCreate(site, "stubborn");
  let hostile = true;
  site.intercept = (request, next) =>
    hostile && new URL(request.url).pathname.endsWith("/marketplace-orders/")
      ? Promise.resolve(
        new Response("no", { status: 429, headers: { "retry-after": "1000000000" } }),
      )
      : next(request);
  await assert.rejects(processOrders(site.offering.context), /retry after/);
  hostile = false;
  site.clock.advance(20_000); // one orders interval
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done");
  const [breaker] = site.status.snapshot().breakers;
  assert.equal(breaker?.state, "closed");
});

Deno.test("five Harbor Creates of one new Waldur project with Keycloak: its group is made once", async () => {
  const kc = new FakeKeycloak({ now: () => new ManualClock().now() });
  kc.addRealm("waldur");
  kc.addUser("waldur", "ann");
  using site = makeHarborSite(KEYCLOAK, { "keycloak.test": kc.app }, {
    yamlExtra: "concurrency: 4",
  });
  for (let i = 0; i < 5; i++) order(site, `burst-${i}`);
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  const sent = kc.requests.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.status}`);
  assert.equal(sent.filter((r) => r.startsWith("POST /admin/realms/waldur/groups ")).length, 1);
  assert.deepEqual(sent.filter((r) => r.endsWith(" 409")), []);
  assert.equal(sent.filter((r) => r.startsWith("PUT ")).length, 1, "ann added once");
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
});

Deno.test("a connection refused says so and names the server", async () => {
  const { createHttp } = await import("../lib/http.ts");
  const { realWorld } = await import("../lib/world.ts");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now
  const http = createHttp({
    system: "harbor",
    baseUrl: `http://127.0.0.1:${port}`,
    fetch: realWorld().fetch,
    clock: new ManualClock(),
    retry: { attempts: 1 },
  });
  await assert.rejects(
    http.request("GET", "/health"),
    new RegExp(`harbor: cannot GET /health: connection refused: http://127\\.0\\.0\\.1:${port}$`),
  );
});

Deno.test("a project a Terminate deleted while a membership pass read it leaves the page", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "fleeting");
  await processOrders(site.offering.context);
  const members = gate((r) => /\/projects\/\d+\/members$/.test(new URL(r.url).pathname));
  site.intercept = (request, next) => members.wrap(next)(request);
  const membership = syncMembership(site.offering.context);
  await members.held;
  site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  members.release();
  await membership;
  const rows = site.status.snapshot().backends.flatMap((b) => b.rows);
  assert.deepEqual(rows.filter((r) => r.resource === resource), [], "no row for a deleted project");
});

Deno.test("a refusal clears once its images are gone, even while Keycloak is down", async () => {
  const kc = new FakeKeycloak({ now: () => new ManualClock().now() });
  kc.addRealm("waldur");
  using site = makeHarborSite(KEYCLOAK, { "keycloak.test": kc.app });
  const { resource } = order(site, "kept");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-kept", "waldur-kept/app", 1024 ** 3);
  site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.status.snapshot().refusals.length, 1);
  const p = site.harbor.project("waldur-kept");
  if (p) p.repositories.length = 0; // the images are deleted…
  site.intercept = (request, next) =>
    new URL(request.url).hostname === "keycloak.test"
      ? Promise.reject(new TypeError("connection refused")) // …while Keycloak is down
      : next(request);
  await syncMembership(site.offering.context);
  assert.deepEqual(site.status.snapshot().refusals, []);
});

Deno.test("a Terminate while a membership pass lists resources: the pass leaves that resource alone", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  const { resource } = orderProject(site, "Doomed");
  site.waldur.setTeam("proj", [{ username: ann }]);
  await processOrders(site.offering.context);
  const list = gate(
    (r) =>
      r.method === "GET" && new URL(r.url).pathname.endsWith("/marketplace-provider-resources/"),
    { answered: true },
  );
  site.intercept = (request, next) => list.wrap(next)(request);
  const membership = syncMembership(site.offering.context);
  await list.held; // the list is answered (the resource still OK), and delivered later
  site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context); // deletes the project and its Keycloak group
  const group = () =>
    [...site.keycloak.realm("waldur").groups.values()].find((g) =>
      g.name === "project_proj_workloads-manage"
    );
  assert.equal(group(), undefined, "the Terminate released the group");
  list.release();
  const result = await membership;
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(group(), undefined, "the pass made nothing for a resource terminated under it");
  assert.equal(site.rancher.userProjects().length, 0);
});

Deno.test("two Rancher Creates of one slug side by side make one project, not two", async () => {
  using site = makeRancherSite({ yamlExtra: "concurrency: 4" });
  const a = orderProject(site, "Same", { cpu: 1, memory: 1 }, "alpha");
  const b = orderProject(site, "Same", { cpu: 1, memory: 1 }, "beta");
  await processOrders(site.offering.context);
  assert.equal(site.rancher.projectsNamed("waldur-same").length, 1, "no orphan project");
  const states = [a, b].map((o) => site.waldur.order(o.order).state).sort();
  assert.deepEqual(states, ["done", "erred"]);
});

Deno.test("the response budget gives back what it took, and no more", async () => {
  const { Budget } = await import("../lib/budget.ts");
  const { capResponses } = await import("../lib/http_cap.ts");
  const budget = new Budget(100);
  assert.ok(budget.take(60), "reader A holds 60");
  const fetch = capResponses(
    () => Promise.resolve(new Response(new Uint8Array(30))), // 30 bytes, cap 20: refused
    20,
    budget,
  );
  await assert.rejects((await fetch(new Request("http://x/"))).text());
  assert.equal(budget.take(50), false, "A's 60 are still held: 50 more do not fit");
  assert.ok(budget.take(40));
  const together = capResponses(
    () => Promise.resolve(new Response(new Uint8Array(10))),
    20,
    budget,
  );
  await assert.rejects((await together(new Request("http://x/"))).text(), /read at once/);
  budget.release(100);
  assert.equal(
    await (await together(new Request("http://x/"))).arrayBuffer().then((b) => b.byteLength),
    10,
  );
  assert.ok(budget.take(100), "a body read to the end gives its bytes back");
});

Deno.test("whole Waldur lists read at once share one item budget; past it a list is retried later", async () => {
  const { Budget } = await import("../lib/budget.ts");
  const { readAll } = await import("../lib/waldur/pages.ts");
  const { createHttp } = await import("../lib/http.ts");
  const { z } = await import("zod");
  const page = Array.from({ length: 300 }, (_, i) => ({ uuid: `u${i}` }));
  const http = createHttp({
    system: "waldur",
    baseUrl: "http://w/api",
    fetch: () => Promise.resolve(Response.json(page)), // full pages, no count: reads go on
    clock: new ManualClock(),
  });
  const budget = new Budget(1_000);
  const error = await readAll(http, "/x/", z.object({ uuid: z.string() }), {}, "list x", budget)
    .then(() => null, (e: unknown) => e);
  assert.match(String(error), /the lists being read at once hold more than 1,000 items; retried/);
  assert.ok(budget.take(1_000), "a list that failed gives its items back");
});
