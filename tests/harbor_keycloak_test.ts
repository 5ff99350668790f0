/**
 * The Harbor offering keeping its OIDC groups in Keycloak: the Waldur project team in the group,
 * against the fake Waldur, the fake Harbor and the fake Keycloak.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborKeycloakSite, order } from "./support/harbor.ts";

const GIB = 1024 ** 3;

Deno.test("Harbor with keycloak: the Waldur project team lands in the OIDC group", async () => {
  using site = makeHarborKeycloakSite(["ann", "bob"]);
  const kc = site.kc;
  const { resource } = order(site, "reg");
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "bob" }]);
  await processOrders(site.offering.context);
  let result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok");
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann", "bob"]);
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.attributes, {
    managed_by: ["berth"],
    waldur_project_uuid: [site.waldur.resource(resource).project_uuid],
  }, "the group names the Waldur project whose team it holds");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  result = await syncMembership(site.offering.context);
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
  const published = site.status.snapshot().backends.find((b) => b.kind === "harbor");
  assert.deepEqual(published?.groups, [{
    path: "/waldur-proj",
    members: 1,
    added: [],
    removed: ["bob"],
    missing: [],
    error: "",
  }], "the status record has the Keycloak group state for the page");
  const writes = kc.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token")).length;
  await syncMembership(site.offering.context);
  assert.equal(
    kc.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token")).length,
    writes,
  );
});

Deno.test("Harbor with keycloak: a Harbor that cannot be read fails the pass, and the groups are still synced", async () => {
  using site = makeHarborKeycloakSite(["ann"]);
  const kc = site.kc;
  order(site, "reg");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  // a refusal Harbor means (not a passing fault): the projects list answers 400
  site.harbor.faults.add({ kind: "status", status: 400, method: "GET", path: /\/projects$/ });
  await assert.rejects(syncMembership(site.offering.context), /cannot list projects: HTTP 400/);
  // Keycloak's part had finished when the pass failed: nothing is left running behind it
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
});

Deno.test("harbor with keycloak: a Create after the group was deleted by hand makes it again", async () => {
  using site = makeHarborKeycloakSite(["ann"]);
  order(site, "first");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  assert.deepEqual(site.kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
  // an admin deletes the group in Keycloak
  const realm = site.kc.realm("waldur");
  const g = [...realm.groups.values()].find((x) => x.name === "waldur-proj" && !x.parentId);
  assert.ok(g);
  realm.groups.delete(g.id);
  realm.children.get("")?.delete(g.id);
  const second = order(site, "second");
  await processOrders(site.offering.context);
  const o = site.waldur.order(second.order);
  assert.equal(o.state, "done", o.error_message);
  assert.deepEqual(site.kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
});

Deno.test("harbor with keycloak: a Create does not add again who the membership pass put in the group", async () => {
  using site = makeHarborKeycloakSite(["ann"]);
  site.harbor.addProject("waldur-first", 20 * GIB);
  site.waldur.addResource(site.offeringUuid, {
    name: "First",
    slug: "first",
    limits: { storage: 20 },
    backend_id: "waldur-first",
    project: "proj",
    customer: "acme",
  });
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  const pass = await syncMembership(site.offering.context); // makes the group, adds ann
  assert.equal(pass.outcome, "ok", pass.error);
  assert.deepEqual(site.kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
  const adds = () =>
    site.kc.requests.filter((r) => r.method === "PUT" && /\/users\/[^/]+\/groups\//.test(r.path))
      .length;
  const before = adds();
  const second = order(site, "second");
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(second.order).state, "done");
  assert.equal(adds(), before, "ann is in the group already: nothing to add");
});

Deno.test("harbor with keycloak: the status record shows the group a Create filled", async () => {
  using site = makeHarborKeycloakSite(["ann"]);
  order(site, "first");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  const published = site.status.snapshot().backends.find((b) => b.kind === "harbor");
  assert.deepEqual(published?.groups, [{
    path: "/waldur-proj",
    members: 1,
    added: ["ann"],
    removed: [],
    missing: [],
    error: "",
  }]);
});
