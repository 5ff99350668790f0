/**
 * Hostile input: names that no backend accepts, limits that make no sense and Waldur payloads
 * that are malformed end in a clear terminal error (or a failed pass), and nothing is created
 * wrongly in Harbor, Rancher or Keycloak.
 */
import assert from "node:assert/strict";
import { errorMessage } from "../lib/errors.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite } from "./support/rancher.ts";

const HOSTILE_SLUGS = [
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "проект-данных",
  "a".repeat(300),
  "UPPER-Case",
  "name with spaces",
  "",
];

Deno.test("hostile resource names: the order errs with a clear message and Harbor gets nothing", async () => {
  for (const slug of HOSTILE_SLUGS) {
    using site = makeHarborSite();
    const { order: uuid } = site.waldur.orderCreate(site.offeringUuid, {
      name: slug || "empty",
      slug,
      limits: { storage: 5 },
      project: "proj",
      customer: "acme",
    });
    await processOrders(site.offering.context);
    const o = site.waldur.order(uuid);
    assert.equal(o.state, "erred", `slug ${JSON.stringify(slug.slice(0, 40))}`);
    assert.match(o.error_message, /Harbor project name|no slug|not valid|invalid/i);
    assert.ok(!o.error_message.includes("    at "), "no stack trace in the message");
    assert.equal(site.harbor.projects.size, 0, "nothing created");
    assert.equal(site.harbor.writes().length, 0, "nothing written to Harbor");
  }
});

Deno.test("hostile resource names: Rancher and Keycloak get nothing either", async () => {
  for (const slug of HOSTILE_SLUGS) {
    using site = makeRancherSite({ keycloak: true });
    const { order: uuid } = site.waldur.orderCreate(site.offeringUuid, {
      name: slug || "empty",
      slug,
      limits: { cpu: 1, memory: 1, storage: 1 },
      project: "proj",
      customer: "acme",
    });
    await processOrders(site.offering.context);
    const o = site.waldur.order(uuid);
    assert.equal(o.state, "erred", `slug ${JSON.stringify(slug.slice(0, 40))}`);
    assert.match(o.error_message, /Kubernetes namespace name|longer than 63|no slug|not valid/i);
    assert.equal(site.rancher.userProjects().length, 0, "no Rancher project");
    assert.equal(site.rancher.writes().length, 0, "nothing written to Rancher");
    const kcWrites = site.keycloak.requests.filter((r) =>
      r.method !== "GET" && !r.path.includes("/token")
    );
    assert.deepEqual(kcWrites, [], "nothing written to Keycloak");
  }
});

Deno.test("a hostile project slug never becomes a Keycloak group path", async () => {
  using site = makeRancherSite({ keycloak: true });
  site.keycloak.addUser("waldur", "ann");
  site.waldur.orderCreate(site.offeringUuid, {
    name: "fine",
    slug: "fine",
    limits: { cpu: 1, memory: 1, storage: 1 },
    project: "../admins/x",
    customer: "acme",
  });
  site.waldur.setTeam("../admins/x", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  for (const g of site.keycloak.realm("waldur").groups.values()) {
    assert.ok(!g.name.includes("/"), `group ${g.name} has a path separator in its name`);
  }
  const o = [...site.waldur.orders.values()][0];
  assert.equal(o?.state, "erred");
  assert.match(o?.error_message ?? "", /the project slug "\.\.\/admins\/x" is not a slug/);
  assert.equal(site.rancher.userProjects().length, 0, "no project whose group would be wrong");
});

Deno.test("hostile limits: negative, huge, non-numeric and non-object limits err the order, nothing is created", async () => {
  const cases: unknown[] = [
    { storage: -5 },
    { storage: 1e15 },
    { storage: "lots" },
    { storage: null },
    { storage: [1] },
    { storage: { gb: 1 } },
    [5],
    "20",
  ];
  for (const limits of cases) {
    using site = makeHarborSite();
    const { order: uuid } = order(site, "reg", {});
    // the fake stores what it is given; the limits go out exactly as a broken Waldur would send them
    site.waldur.order(uuid).limits = limits as Record<string, unknown>;
    await processOrders(site.offering.context);
    const o = site.waldur.order(uuid);
    assert.equal(o.state, "erred", JSON.stringify(limits));
    assert.match(o.error_message, /limits/, JSON.stringify(limits));
    assert.equal(site.harbor.projects.size, 0, JSON.stringify(limits));
  }
});

Deno.test("malformed Waldur pages fail the pass with a clear error and create nothing", async () => {
  const breakages: [string, (body: Record<string, unknown>[]) => unknown][] = [
    ["an order without uuid", (b) => b.map(({ uuid: _, ...rest }) => rest)],
    ["a uuid that is a number", (b) => b.map((o) => ({ ...o, uuid: 42 }))],
    ["an object instead of a list", () => ({ results: [] })],
    ["a list of strings", () => ["a", "b"]],
    ["null", () => null],
  ];
  for (const [what, breakIt] of breakages) {
    using site = makeHarborSite();
    order(site, "reg");
    site.intercept = async (request, next) => {
      const res = await next(request);
      if (!new URL(request.url).pathname.endsWith("/marketplace-orders/")) return res;
      const body = await res.json();
      return new Response(JSON.stringify(breakIt(body)), {
        status: res.status,
        headers: res.headers,
      });
    };
    // a pass that throws is a failed pass (runPass records it so); either way, not ok
    const result = await processOrders(site.offering.context).catch((error) => ({
      outcome: "failed",
      error: errorMessage(error),
    }));
    assert.notEqual(result.outcome, "ok", what);
    assert.match(result.error, /unexpected response|expected/, what);
    assert.ok(!result.error.includes("    at "), "no stack trace");
    assert.equal(site.harbor.projects.size, 0, what);
  }
});

Deno.test("a huge page of orders is processed in full, not truncated", async () => {
  using site = makeHarborSite();
  for (let i = 0; i < 450; i++) order(site, `reg${i}`, { storage: 1 }, `p${i % 30}`);
  await processOrders(site.offering.context);
  const done = [...site.waldur.orders.values()].filter((o) => o.state === "done").length;
  assert.equal(done, 450);
  assert.equal(site.harbor.projects.size, 450);
});
