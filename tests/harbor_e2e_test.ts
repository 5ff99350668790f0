/**
 * The Harbor offering end to end: the order, membership and usage processors against the fake
 * Waldur and the fake Harbor, wired with no socket.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { harborRequestsSince, makeHarborSite, order } from "./support/harbor.ts";

const GIB = 1024 ** 3;

Deno.test("Create makes the project with its quota, the OIDC group and its membership", async () => {
  using site = makeHarborSite();
  const { order: o, resource } = order(site, "Team Images", { storage: 20 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "done");
  assert.equal(site.waldur.resource(resource).backend_id, "waldur-team-images");
  const p = site.harbor.project("waldur-team-images");
  assert.ok(p);
  assert.equal(p.hard, 20 * GIB);
  const group = site.harbor.groups.find((g) => g.group_name === "waldur-proj");
  assert.ok(group);
  assert.equal(group.group_type, 3);
  const member = p.members.find((m) => m.entityType === "g");
  assert.deepEqual(
    { name: member?.entityName, role: member?.roleId },
    { name: "waldur-proj", role: 2 },
  );
  // Waldur's limit was complete: nothing is pushed back.
  assert.ok(!site.waldur.writes().some((w) => w.path.endsWith("/set_limits/")));
});

Deno.test("a Create order costs at most 4 Harbor requests", async () => {
  using site = makeHarborSite();
  order(site, "first");
  await processOrders(site.offering.context);
  // The first order also created the group; the next one of the same project knows its id.
  const before = site.harbor.requests.length;
  order(site, "second");
  await processOrders(site.offering.context);
  const sent = harborRequestsSince(site, before);
  assert.ok(sent.length <= 4, sent.join("\n"));
  assert.deepEqual(sent.map((s) => s.split("?")[0]), [
    "POST /api/v2.0/projects",
    "POST /api/v2.0/projects/2/members",
  ]);
});

Deno.test("every Harbor request is basic auth with its own X-Request-Id and no cookie", async () => {
  using site = makeHarborSite();
  const seen: Headers[] = [];
  site.intercept = (request, next) => {
    if (new URL(request.url).hostname === "harbor.test") seen.push(request.headers);
    return next(request);
  };
  order(site, "a");
  order(site, "b");
  await processOrders(site.offering.context);
  assert.ok(seen.length >= 6);
  const ids = seen.map((h) => h.get("x-request-id"));
  assert.equal(new Set(ids).size, ids.length);
  for (const h of seen) {
    assert.match(h.get("authorization") ?? "", /^Basic /);
    assert.equal(h.get("cookie"), null);
  }
});

Deno.test("a second pass after Create writes nothing to Waldur or Harbor", async () => {
  using site = makeHarborSite();
  order(site, "alpha");
  order(site, "beta", {});
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  const waldurWrites = site.waldur.writes().length;
  const harborWrites = site.harbor.writes().length;
  await processOrders(site.offering.context);
  const result = await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  assert.equal(result.outcome, "ok");
  assert.deepEqual(site.waldur.writes().slice(waldurWrites), []);
  assert.deepEqual(site.harbor.writes().slice(harborWrites), []);
});

Deno.test("no storage limit: the default fills it and set_limits tells Waldur", async () => {
  using site = makeHarborSite("default_storage_quota_gb: 7");
  const { resource } = order(site, "nolimit", {});
  await processOrders(site.offering.context);
  assert.equal(site.harbor.project("waldur-nolimit")?.hard, 7 * GIB);
  assert.deepEqual(site.waldur.resource(resource).limits, { storage: 7 });
});

Deno.test("a 0 GB limit means no storage: a 1-byte quota, never unlimited or the default", async () => {
  using site = makeHarborSite();
  const { order: o } = order(site, "zero", { storage: 0 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "done");
  assert.equal(site.harbor.project("waldur-zero")?.hard, 1);
});

Deno.test("Update sets the new quota, even below usage, and flags it", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "grow", { storage: 5 });
  await processOrders(site.offering.context);
  site.harbor.push("waldur-grow", "app", 3 * GIB);
  const u = site.waldur.orderUpdate(resource, { storage: 2 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(u).state, "done");
  assert.equal(site.harbor.project("waldur-grow")?.hard, 2 * GIB);
  const row = site.backend.rows().find((r) => r.project === "waldur-grow");
  assert.deepEqual(row?.flags, ["over quota"]);
  assert.ok(site.logs.some((l) => l.includes("below the 3 GiB already used")));
  const snapshot = site.status.snapshot();
  assert.ok(JSON.stringify(snapshot).includes("over quota"));
});

Deno.test("Terminate deletes an empty project and the order is done", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "gone");
  await processOrders(site.offering.context);
  const t = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(t).state, "done");
  assert.equal(site.harbor.project("waldur-gone"), undefined);
});

Deno.test("Terminate refuses a non-empty project: erred with the count and size, nothing deleted", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "full");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-full", "web", 1.5 * GIB);
  site.harbor.push("waldur-full", "db", 0.5 * GIB);
  const t = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  const o = site.waldur.order(t);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /still holds 2 repositories \(2 GiB\)/);
  assert.match(o.error_message, /termination: purge/);
  assert.equal(site.harbor.project("waldur-full")?.repositories.length, 2);
});

Deno.test("Terminate with purge deletes every repository page by page, then the project", async () => {
  using site = makeHarborSite("termination: purge");
  const { resource } = order(site, "purged");
  await processOrders(site.offering.context);
  for (let i = 0; i < 130; i++) site.harbor.push("waldur-purged", `team/app-${i}`, 1024);
  const t = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(t).state, "done");
  assert.equal(site.harbor.project("waldur-purged"), undefined);
  const deletes = site.harbor.requests.filter((r) =>
    r.method === "DELETE" && r.path.includes("/repositories/")
  );
  assert.equal(deletes.length, 130);
  // Slashes in repository names are encoded twice, as Harbor requires.
  assert.ok(deletes.every((d) => d.path.includes("team%252Fapp-")));
});

Deno.test("a delete Harbor refuses (412) is never reported done", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "racy");
  await processOrders(site.offering.context);
  // An image lands between the check and the delete.
  site.intercept = (request, next) => {
    if (request.method === "DELETE" && new URL(request.url).hostname === "harbor.test") {
      site.harbor.push("waldur-racy", "late", 10);
    }
    return next(request);
  };
  const t = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(t).state, "erred");
  assert.match(site.waldur.order(t).error_message, /HTTP 412/);
  assert.ok(site.harbor.project("waldur-racy"));
});

Deno.test("the membership pass repairs a removed group membership and a changed quota", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "drift", { storage: 12 });
  await processOrders(site.offering.context);
  site.harbor.removeGroupMember("waldur-drift", "waldur-proj");
  site.harbor.setHard("waldur-drift", 99 * GIB);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok");
  const p = site.harbor.project("waldur-drift");
  assert.equal(p?.hard, 12 * GIB, "back to Waldur's limit, not the default");
  assert.ok(p?.members.some((m) => m.entityName === "waldur-proj" && m.roleId === 2));
  assert.deepEqual(site.waldur.resource(resource).limits, { storage: 12 });
  assert.ok(!site.waldur.writes().some((w) => w.path.endsWith("/set_limits/")));
});

Deno.test("the membership pass puts a changed group role back", async () => {
  using site = makeHarborSite();
  order(site, "role");
  await processOrders(site.offering.context);
  const m = site.harbor.project("waldur-role")!.members.find((x) => x.entityType === "g")!;
  m.roleId = 1;
  await syncMembership(site.offering.context);
  assert.equal(m.roleId, 2);
});

Deno.test("usage: storage in GB with two decimals, read with list calls, decreases reported", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "used");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-used", "app", 1.5 * GIB);
  await reportUsage(site.offering.context);
  assert.deepEqual(site.waldur.usagesOf(resource).map((u) => u.usage), ["1.50"]);
  site.harbor.setUsed("waldur-used", Math.round(0.25 * GIB));
  const before = site.harbor.requests.length;
  await reportUsage(site.offering.context);
  assert.deepEqual(site.waldur.usagesOf(resource).map((u) => u.usage), ["0.25"]);
  assert.deepEqual(harborRequestsSince(site, before), [
    "GET /api/v2.0/quotas?reference=project&page=1&page_size=100",
  ]);
});

Deno.test("usage: a failed read reports nothing, never 0", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "blind");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-blind", "app", GIB);
  site.intercept = (request, next) =>
    new URL(request.url).hostname === "harbor.test"
      ? Promise.resolve(new Response("bad gateway", { status: 502 }))
      : next(request);
  const result = await reportUsage(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.deepEqual(site.waldur.usagesOf(resource), []);
});

Deno.test("an invalid project name errs the order naming Harbor's rule, and creates nothing", async () => {
  using site = makeHarborSite('allocation_prefix: "Waldur_"');
  const { order: o } = order(site, "caps");
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "erred");
  assert.match(site.waldur.order(o).error_message, /lower-case letters and digits/);
  assert.equal(site.harbor.projects.size, 0);
  assert.equal(site.harbor.writes().length, 0);
});

Deno.test("an existing project of exactly the expected name is adopted, logged and flagged", async () => {
  using site = makeHarborSite();
  site.harbor.addProject("waldur-old", -1);
  site.harbor.addProject("waldur-old-two", 5 * GIB);
  const { order: o, resource } = order(site, "old", { storage: 3 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "done");
  assert.equal(site.waldur.resource(resource).backend_id, "waldur-old");
  assert.equal(site.harbor.project("waldur-old")?.hard, 3 * GIB);
  assert.equal(site.harbor.project("waldur-old-two")?.hard, 5 * GIB, "a similar name is untouched");
  assert.equal(site.harbor.projects.size, 2);
  assert.ok(site.logs.some((l) => l.includes("already exists; adopting it")));
  assert.deepEqual(site.backend.rows().find((r) => r.project === "waldur-old")?.flags, [
    "adopted",
  ]);
});

Deno.test("Harbor unreachable: the order waits and is retried, never erred", async () => {
  using site = makeHarborSite();
  const { order: o } = order(site, "later");
  site.intercept = (request, next) =>
    new URL(request.url).hostname === "harbor.test"
      ? Promise.reject(new TypeError("connection refused"))
      : next(request);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "executing");
  assert.match(site.store.order(o)?.lastError ?? "", /connection refused: http:\/\/harbor\.test/);
  site.intercept = (request, next) => next(request);
  site.clock.advance(10 * 60_000);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "done");
});

Deno.test("a wrong robot password keeps orders waiting with a message that says what to fix", async () => {
  using site = makeHarborSite();
  site.harbor.password = "rotated";
  const { order: o } = order(site, "locked");
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(o).state, "executing");
  const error = site.store.order(o)?.lastError ?? "";
  assert.match(error, /refused the credentials of robot\$berth \(HTTP 401\)/);
  assert.match(error, /robot_password/);
  assert.ok(!site.logs.some((l) => l.includes("robot-secret")));
});

Deno.test("a missing permission names the operation", async () => {
  using site = makeHarborSite();
  site.harbor.revoke("project:create");
  const { order: o } = order(site, "denied");
  await processOrders(site.offering.context);
  assert.match(
    site.store.order(o)?.lastError ?? "",
    /cannot create project waldur-denied: the robot account robot\$berth lacks the permission/,
  );
});

Deno.test("a resource whose Harbor project vanished is flagged and reported, others still sync", async () => {
  using site = makeHarborSite();
  order(site, "kept");
  order(site, "lost");
  await processOrders(site.offering.context);
  site.harbor.projects.delete(site.harbor.project("waldur-lost")!.id);
  site.harbor.setHard("waldur-kept", GIB);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.equal(site.harbor.project("waldur-kept")?.hard, 20 * GIB);
  const rows = site.backend.rows();
  assert.deepEqual(rows.find((r) => r.project === "waldur-lost")?.flags, ["not found"]);
});

Deno.test("the status rows show quota, usage, repositories, group binding and near-quota", async () => {
  using site = makeHarborSite();
  order(site, "almost", { storage: 10 });
  await processOrders(site.offering.context);
  site.harbor.push("waldur-almost", "big", 9.5 * GIB);
  await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  const row = site.backend.rows()[0];
  assert.deepEqual(
    {
      project: row?.project,
      quota: row?.quotaBytes,
      used: row?.usedBytes,
      repositories: row?.repositories,
      group: row?.group,
      bound: row?.groupBound,
      flags: row?.flags,
    },
    {
      project: "waldur-almost",
      quota: 10 * GIB,
      used: 9.5 * GIB,
      repositories: 1,
      group: "waldur-proj",
      bound: true,
      flags: ["near quota"],
    },
  );
  const published = site.status.snapshot().backends;
  assert.ok(JSON.stringify(published).includes("waldur-almost"));
});

Deno.test("harbor: a repository that vanishes during a purge is not taken for the project being gone", async () => {
  using site = makeHarborSite("termination: purge");
  const { resource } = order(site, "busy");
  await processOrders(site.offering.context);
  site.harbor.push("waldur-busy", "waldur-busy/app", GIB);
  site.harbor.push("waldur-busy", "waldur-busy/web", GIB);
  // someone deletes one repository by hand while Berth purges: its DELETE answers 404
  site.intercept = (request, next) =>
    request.method === "DELETE" && /\/repositories\/[^/]*app$/.test(new URL(request.url).pathname)
      ? Promise.resolve(
        new Response(JSON.stringify({ errors: [{ code: "NOT_FOUND" }] }), {
          status: 404,
          headers: { "content-type": "application/json" },
        }),
      )
      : next(request);
  const t = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  const project = site.harbor.project("waldur-busy");
  assert.ok(
    project === undefined || site.waldur.order(t).state !== "done",
    `the Terminate is reported done while ${project?.name} still exists`,
  );
});
