/**
 * The history end to end on the Harbor offering: an order's latency from Waldur's creation, the
 * usage a pass reports with the resource's limit, the loop passes, and the resource's audit trail
 * (Waldur's and Harbor's changes) on its page.
 */
import assert from "node:assert/strict";
import { runPass } from "../lib/loop.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { createApp } from "../routes/app.tsx";
import { syncMembership } from "../lib/membership.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

const GIB = 1024 ** 3;

Deno.test("an order's latency, a usage pass's amounts and a resource's changes go into the history", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "Team Images", { storage: 20 });
  site.clock.advance(45_000); // the order waits 45 s in Waldur before the pass takes it
  await processOrders(site.offering.context);
  site.harbor.push("waldur-team-images", "app", 1.5 * GIB);
  await runPass(
    {
      offering: site.offering.context.offering.name,
      loop: "usage",
      intervalMs: 1_800_000,
      pass: (signal) => reportUsage(site.offering.context, signal),
    },
    { clock: site.clock, status: site.status, store: site.store, log: site.offering.context.log },
    new AbortController().signal,
  );
  const history = site.store.history;
  const summary = history.summary(site.clock.now());
  assert.deepEqual(summary.orders.map((o) => [o.done, o.erred, o.meanLatencyMs]), [[1, 0, 45_000]]);
  assert.deepEqual(summary.loops.map((l) => [l.loop, l.runs]), [["usage", 1]]);
  assert.deepEqual(history.usageOf([resource], site.clock.now()).get(resource), [
    { component: "storage", points: [{ at: site.clock.now(), amount: 1.5, peak: 1.5, quota: 20 }] },
  ]);
  const actions = history.eventsOf(resource, 20).map((e) => `${e.system}: ${e.action}`);
  for (const a of ["harbor: create project", "waldur: Create order done", "waldur: report usage"]) {
    assert.ok(actions.includes(a), `${a} in ${actions.join(", ")}`);
  }
  const html = await (await createApp({ status: site.status }).request(`/resources/${resource}`))
    .text();
  assert.match(html, /create project <b>waldur-team-images<\/b>/);
  assert.match(html, /storage: 1\.5 of 20 \(limit\)/);
});

Deno.test("an order that waited for its customer's approval is timed from the approval", async () => {
  using site = makeHarborSite();
  const { order: uuid } = order(site, "Team Approved", { storage: 20 });
  site.clock.advance(3_600_000); // an hour waiting for the customer's approval
  const pending = site.waldur.orders.get(uuid);
  assert.ok(pending);
  pending.consumer_reviewed_at = new Date(site.clock.now()).toISOString();
  site.clock.advance(20_000); // then 20 s until the pass takes it
  await processOrders(site.offering.context);
  const orders = site.store.history.summary(site.clock.now()).orders;
  assert.deepEqual(orders.map((o) => [o.done, o.meanLatencyMs]), [[1, 20_000]]);
});

Deno.test("a Rancher project's page names the members of its Waldur project's Keycloak group", async () => {
  using site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: false" });
  site.keycloak.addUser("waldur", "ann");
  site.keycloak.addUser("waldur", "bob");
  const { resource } = orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "bob" }]);
  await syncMembership(site.offering.context);
  const html = await (await createApp({ status: site.status }).request(`/resources/${resource}`))
    .text();
  assert.match(html, /project_proj_workloads-manage<\/span> <span class="members">2 members/);
  assert.match(html, /<span class="names">ann, bob<\/span>/);
});
