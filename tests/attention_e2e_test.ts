import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { createApp } from "../routes/app.tsx";
import { makeSite, orderCreate } from "./support/site.ts";

Deno.test("an erred Create order and its Erred resource need attention until the order is re-run and done", async () => {
  using site = makeSite();
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  const { order, resource } = orderCreate(site, "zeta");
  site.backend.fail("ensure", "terminal");
  await processOrders(site.offering.context);
  const entries = () => site.status.snapshot().attention;
  const erred = entries().find((e) => e.kind === "order-erred");
  assert.equal(erred?.resource, resource);
  assert.equal(erred?.link, `/resources/${resource}`, "its page: a resource never made has no row");
  assert.match(erred?.what ?? "", /Create order of zeta erred: .*terminal fault injected/);
  assert.match(erred?.action ?? "", new RegExp(`${order}/set_state_executing/`));

  await syncMembership(site.offering.context);
  assert.deepEqual(entries().map((e) => e.kind).sort(), ["order-erred", "resource-erred"]);
  assert.equal(site.status.snapshot().summary.resources.erred, 1);
  // the link leads to the resource's page, which says what needs attention though no row exists
  const page = await (await createApp({ status: site.status }).request(erred?.link ?? "")).text();
  assert.match(page, /<section id="attention">[\s\S]*Create order of zeta erred[\s\S]*<\/section>/);
  assert.match(page, /Waldur resource zeta is Erred/);

  // the provider re-runs it (set_state_executing): the next orders pass does it
  site.waldur.order(order).state = "executing";
  site.clock.advance(site.config.intervals.orders);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "done");
  assert.deepEqual(entries().map((e) => e.kind), ["resource-erred"], "the order is done");
  const synced = site.status.snapshot().lastSync[site.offering.config.name]?.[resource];
  assert.equal(synced, site.clock.now(), "the order synced the resource");

  site.clock.advance(60_000);
  await syncMembership(site.offering.context);
  assert.deepEqual(entries(), [], "the pass listed it OK");
  assert.equal(
    site.status.snapshot().lastSync[site.offering.config.name]?.[resource],
    site.clock.now(),
    "the membership pass synced it",
  );
});

Deno.test("a resource the membership pass cannot sync is marked Erred and needs attention until it syncs", async () => {
  using site = makeSite();
  const { resource } = orderCreate(site, "eta");
  await processOrders(site.offering.context);
  site.backend.fail("reconcile", "terminal");
  await syncMembership(site.offering.context);
  const entry = site.status.snapshot().attention.find((e) => e.kind === "resource-erred");
  assert.equal(entry?.resource, resource);
  assert.match(entry?.what ?? "", /Waldur resource eta is Erred: .*terminal fault injected/);
  const since = entry?.since;
  site.clock.advance(60_000);
  site.backend.fail("reconcile", "terminal");
  await syncMembership(site.offering.context);
  assert.equal(
    site.status.snapshot().attention.find((e) => e.kind === "resource-erred")?.since,
    since,
    "still the first time it was seen",
  );
  await syncMembership(site.offering.context);
  assert.deepEqual(site.status.snapshot().attention, [], "synced and set OK");
});
