/**
 * Fault injection across Waldur, Harbor, Rancher and Keycloak: transient faults on a route never
 * err an order and never leave a duplicate; a 60-second outage costs a bounded number of
 * requests (the circuit breaker opens, shows in the status record, and closes again), and the
 * work is done within one interval of the fault clearing; pages that change between calls lose
 * and repeat nothing.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import type { Fault, Faults } from "../lib/fault.ts";
import { createHarborClient } from "../lib/harbor/client.ts";
import { FakeHarbor } from "../lib/harbor/fake.ts";
import { print } from "../lib/log.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import type { Site } from "./support/site.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

const INTERVAL = 60_000;

const TRANSIENT: Fault[] = [
  { kind: "status", status: 429, retryAfter: "2" },
  { kind: "status", status: 500 },
  { kind: "status", status: 502 },
  { kind: "status", status: 503 },
  { kind: "drop" },
  { kind: "malformed" },
  { kind: "truncated" },
];

/**
 * Order and membership passes, one interval apart, until no order is pending and a membership
 * pass was ok (or `max` passes); returns the passes it took.
 */
async function drive(site: Site<unknown>, max = 12): Promise<number> {
  for (let pass = 1; pass <= max; pass++) {
    await processOrders(site.offering.context).catch(() => undefined);
    const members = await syncMembership(site.offering.context).catch(() => undefined);
    const pending = [...site.waldur.orders.values()].some((o) =>
      o.state === "pending-provider" || o.state === "executing"
    );
    if (!pending && members?.outcome === "ok") return pass;
    site.clock.advance(INTERVAL);
  }
  return max;
}

function label(fault: Fault): string {
  return fault.kind === "status" ? `HTTP ${fault.status}` : fault.kind;
}

interface Target {
  system: string;
  method: string;
  path: RegExp;
  /** A site with the target's order; `using` closes the site. */
  build(): { site: Site<unknown>; faults: Faults; check(): string[] } & Disposable;
}

const harbor = (
  system: "waldur" | "harbor",
  method: string,
  path: RegExp,
): Target => ({
  system,
  method,
  path,
  build() {
    const site = makeHarborSite();
    order(site, "reg");
    site.waldur.setTeam("proj", [{ username: "ann" }]);
    return {
      site,
      faults: system === "waldur" ? site.waldur.faults : site.harbor.faults,
      check: () => {
        const out: string[] = [];
        if (site.harbor.projects.size !== 1) out.push(`${site.harbor.projects.size} projects`);
        const groups = site.harbor.groups.filter((g) => g.group_name === "waldur-proj").length;
        if (groups !== 1) out.push(`${groups} OIDC groups`);
        return out;
      },
      [Symbol.dispose]: () => site.close(),
    };
  },
});

const rancher = (system: "rancher" | "keycloak", method: string, path: RegExp): Target => ({
  system,
  method,
  path,
  build() {
    const site = makeRancherSite({ keycloak: true });
    site.keycloak.addUser("waldur", "ann");
    orderProject(site, "analytics");
    site.waldur.setTeam("proj", [{ username: "ann" }]);
    return {
      site,
      faults: system === "rancher" ? site.rancher.faults : site.keycloak.faults,
      check: () => {
        const out: string[] = [];
        const projects = site.rancher.userProjects();
        if (projects.length !== 1) out.push(`${projects.length} projects`);
        for (const { id } of projects) {
          if (site.rancher.prtbsOf(id).length !== 1) out.push("bindings");
          if (site.rancher.namespacesOf(id).length !== 1) out.push("namespaces");
        }
        const groups = [...site.keycloak.realm("waldur").groups.values()];
        const names = groups.map((g) => `${g.parentId ?? ""}/${g.name}`);
        if (new Set(names).size !== names.length) out.push(`duplicate groups ${names}`);
        if (groups.length !== 2) out.push(`${groups.length} groups`);
        return out;
      },
      [Symbol.dispose]: () => site.close(),
    };
  },
});

const TARGETS: Target[] = [
  harbor("waldur", "GET", /\/marketplace-orders\/$/),
  harbor("waldur", "POST", /\/set_state_done\/$/),
  harbor("harbor", "POST", /\/projects$/),
  harbor("harbor", "GET", /\/projects$/),
  rancher("rancher", "POST", /\/v3\/projects$/),
  rancher("rancher", "GET", /\/namespaces$/),
  rancher("keycloak", "POST", /\/groups(\/[^/]+\/children)?$/),
  rancher("keycloak", "POST", /\/token$/),
];

Deno.test("transient faults on every system's routes never err an order or leave a duplicate", async () => {
  const failures: string[] = [];
  for (const target of TARGETS) {
    for (const fault of TRANSIENT) {
      using built = target.build();
      const { site, faults, check } = built;
      faults.add({ ...fault, method: target.method, path: target.path, times: 3 });
      const passes = await drive(site);
      const where = `${target.system} ${target.method} ${target.path.source} ${label(fault)}`;
      if (faults.hits === 0) failures.push(`${where}: the fault never fired`);
      for (const o of site.waldur.orders.values()) {
        if (o.state !== "done") failures.push(`${where}: order ${o.state} ${o.error_message}`);
      }
      for (const p of check()) failures.push(`${where}: ${p}`);
      // three faults, then one interval: the work is done by the fifth pass
      if (passes > 5) failures.push(`${where}: ${passes} passes to recover`);
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("a 60-second outage of each system: bounded requests, an open circuit, recovery within one interval", async () => {
  const lines: string[] = [];
  for (const system of ["waldur", "harbor", "rancher", "keycloak"] as const) {
    using built = system === "waldur" || system === "harbor"
      ? harbor(system, "GET", /./).build()
      : rancher(system, "GET", /./).build();
    const { site, faults, check } = built;
    faults.add({ kind: "status", status: 503 });
    const outageStart = site.clock.now();
    // the loops keep running every 10 s through the outage
    while (site.clock.now() - outageStart < 60_000) {
      await processOrders(site.offering.context).catch(() => undefined);
      await syncMembership(site.offering.context).catch(() => undefined);
      site.clock.advance(10_000);
    }
    const during = faults.hits;
    const breaker = site.status.snapshot().breakers.find((b) => b.system === system);
    assert.ok(breaker && breaker.opens >= 1, `${system}: the circuit opened`);
    for (const o of site.waldur.orders.values()) {
      assert.notEqual(o.state, "erred", `${system}: an outage never errs an order`);
    }
    faults.clear();
    const cleared = site.clock.now();
    site.clock.advance(INTERVAL); // the next pass, one interval later
    await drive(site, 1);
    const pending = [...site.waldur.orders.values()].filter((o) => o.state !== "done");
    assert.deepEqual(pending.map((o) => o.state), [], `${system}: done within one interval`);
    assert.deepEqual(check(), [], system);
    const after = site.status.snapshot().breakers.find((b) => b.system === system);
    assert.equal(after?.state, "closed", `${system}: the circuit closed again`);
    assert.ok(during <= 30, `${system}: ${during} requests during the outage`);
    lines.push(
      `${system}: ${during} requests in 60 s of outage, circuit opened ${breaker.opens}×, ` +
        `done ${Math.round((site.clock.now() - cleared) / 1000)} s after it cleared`,
    );
  }
  print(lines.join("\n"));
});

Deno.test("orders pages that change between calls lose nothing and repeat nothing", async () => {
  using site = makeHarborSite();
  // two pages at Waldur's page size of 300
  for (let i = 0; i < 350; i++) order(site, `reg${i}`, { storage: 1 }, `p${i % 10}`);
  let added = 0;
  // before page 2 is served, a new order arrives and shifts every item by one
  site.waldur.faults.add({
    kind: "before",
    method: "GET",
    path: /\/marketplace-orders\/$/,
    run: () => {
      added++;
      order(site, `late${added}`, { storage: 1 }, "p0");
    },
    times: 2,
  });
  await drive(site);
  const orders = [...site.waldur.orders.values()];
  assert.equal(orders.length, 352);
  assert.deepEqual(orders.filter((o) => o.state !== "done").map((o) => o.resource_name), []);
  for (const o of orders) {
    const finals = site.waldur.requests.filter((r) =>
      r.status === 200 && r.path.includes(`/marketplace-orders/${o.uuid}/set_state_done/`)
    ).length;
    assert.equal(finals, 1, `${o.resource_name} finished ${finals} times`);
  }
  assert.equal(site.harbor.projects.size, 352);
});

Deno.test("a delay past the client's timeout is a transient error, and the retry gets the answer", async () => {
  const fake = new FakeHarbor();
  fake.addProject("slow");
  let release = () => {};
  const released = new Promise<void>((r) => release = r);
  fake.faults.add({ kind: "wait", until: () => released, method: "GET", times: 1 });
  // a fetch that gives up when the request's signal aborts, as the real one does
  const fetch = (request: Request) =>
    new Promise<Response>((resolve, reject) => {
      request.signal.addEventListener("abort", () => reject(request.signal.reason), {
        once: true,
      });
      Promise.resolve(fake.app.request(request)).then(resolve, reject);
    });
  const client = createHarborClient({
    url: "http://harbor.test",
    username: fake.username,
    password: fake.password,
    fetch,
    clock: new ManualClock(),
    timeoutMs: 100,
  });
  const projects = await client.listProjects();
  assert.deepEqual(projects.map((p) => p.name), ["slow"]);
  assert.equal(fake.faults.hits, 1, "the first try hung past the timeout");
  assert.equal(fake.requests.filter((r) => r.method === "GET").length, 1, "the retry answered");
  release();
});
