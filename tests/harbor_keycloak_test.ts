/**
 * The Harbor offering keeping its OIDC groups in Keycloak: the Waldur project team in the group,
 * and the team members' OIDC identities compared with Harbor's, against the fake Waldur, the
 * fake Harbor and the fake Keycloak.
 */
import assert from "node:assert/strict";
import { memberWork, syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { createApp } from "../routes/app.tsx";
import {
  harborRequestsSince,
  type HarborSite,
  makeHarborKeycloakSite,
  order,
} from "./support/harbor.ts";

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
    names: ["ann"],
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
    names: ["ann"],
  }]);
});

const ISSUER = "http://keycloak.test/realms/waldur";

/**
 * A Harbor site with Keycloak whose Waldur project team is alice (her Keycloak user was made
 * again: Harbor holds her old `sub`), bob (Harbor's identity is his) and carol (never logged in
 * to Harbor). Harbor's users carry CLI secrets.
 */
function identitySite() {
  const site = makeHarborKeycloakSite([]);
  site.kc.addUser("waldur", "alice", { id: "alice-new" });
  site.kc.addUser("waldur", "bob", { id: "bob-id" });
  site.kc.addUser("waldur", "carol", { id: "carol-id" });
  const alice = site.harbor.addUser({
    username: "alice",
    subiss: `alice-old${ISSUER}`,
    cliSecret: "cli-secret-of-alice",
  });
  site.harbor.addUser({
    username: "bob",
    subiss: `bob-id${ISSUER}`,
    cliSecret: "cli-secret-of-bob",
  });
  order(site, "reg");
  site.waldur.setTeam("proj", [{ username: "alice" }, { username: "bob" }, { username: "carol" }]);
  return Object.assign(site, { alice });
}

/** The Harbor `/users` requests since `from`. */
function userReads(site: HarborSite, from: number): string[] {
  return harborRequestsSince(site, from).filter((r) => r.includes("/users"));
}

/** The offering's Waldur teams, as `berth diagnose` reads them. */
async function teams(site: HarborSite) {
  const { waldur, config } = site.offering;
  const resources = await waldur.listResources(config.offeringUuid, ["OK", "Erred"]);
  return (await memberWork(waldur, resources.items, 4)).work;
}

Deno.test("harbor with keycloak: a team member whose Harbor user holds an older OIDC identity is a conflict on the page, in /metrics and in diagnose; a matching or not onboarded one is not", async () => {
  using site = identitySite();
  await processOrders(site.offering.context);
  const pass = await syncMembership(site.offering.context);
  assert.equal(pass.outcome, "ok", pass.error);
  const published = site.status.snapshot().backends.find((b) => b.kind === "harbor");
  assert.deepEqual(published?.tables?.identities, [{
    username: "alice",
    projects: ["proj"],
    harborUserId: site.alice.id,
    harbor: `alice-old${ISSUER}`,
    keycloak: `alice-new${ISSUER}`,
  }], "bob's identity matches and carol is not onboarded: neither is a conflict");
  const app = createApp({ status: site.status });
  const metrics = await (await app.request("/metrics")).text();
  assert.match(metrics, /^berth_oidc_identity_conflicts\{offering="registry",user="alice"\} 1$/m);
  assert.doesNotMatch(metrics, /user="(bob|carol)"/);
  const page = await (await app.request("/")).text();
  const section = page.slice(page.indexOf("OIDC identity conflicts"));
  assert.ok(page.indexOf("OIDC identity conflicts") < page.indexOf("Harbor projects"));
  assert.match(
    section,
    /<tr class="attention" id="a-registry.2f.identity-conflict.2f.alice"><td>alice<\/td>/,
  );
  assert.match(section, /run `berth repair-oidc-user alice`/);
  const checks = (await site.offering.backend.diagnose(await teams(site)))
    .filter((c) => c.name.startsWith("oidc"));
  assert.deepEqual(checks, [{
    name: "oidc identity",
    ok: false,
    detail: "alice: Harbor holds an older identity; they cannot log in until it is removed; " +
      "run `berth repair-oidc-user alice`",
    needs: ["membership"],
  }]);
  assert.equal(site.logs.filter((l) => l.includes("Harbor holds an older identity")).length, 1);
  const everything = site.logs.join("\n") + JSON.stringify(site.status.snapshot()) + page +
    metrics;
  assert.doesNotMatch(everything, /cli-secret-of/, "Harbor's CLI secrets are never kept");
  assert.ok(!site.harbor.writes().some((r) => r.path.includes("/users")), "a pass deletes no user");
});

Deno.test("harbor with keycloak: a Harbor identity is read once, again when the Keycloak id changes or after an hour, and a conflict every pass until repaired", async () => {
  using site = identitySite();
  await processOrders(site.offering.context);
  let from = site.harbor.requests.length;
  await syncMembership(site.offering.context);
  // alice and bob: the lookup and the user; carol: the lookup only
  assert.equal(userReads(site, from).length, 5);
  from = site.harbor.requests.length;
  await syncMembership(site.offering.context);
  assert.deepEqual(
    userReads(site, from).map((r) => r.replace(/\d+$/, "N")),
    ["GET /api/v2.0/users?q=username%3Dalice&page=1&page_size=100", "GET /api/v2.0/users/N"]
      .map((r) => r.replace(/\d+$/, "N")),
    "only the conflict is read again",
  );
  // bob's Keycloak user is made again: a new id, so his Harbor identity is read again
  const realm = site.kc.realm("waldur");
  realm.users.delete("bob-id");
  for (const g of realm.groups.values()) g.members.delete("bob-id");
  site.kc.addUser("waldur", "bob", { id: "bob-new" });
  from = site.harbor.requests.length;
  await syncMembership(site.offering.context);
  assert.equal(userReads(site, from).filter((r) => r.includes("bob")).length, 1);
  assert.deepEqual(
    site.backend.identities?.rows().map((r) => r.username),
    ["alice", "bob"],
  );
  // alice's stale user repaired through the API, and her next login onboards her again
  const identities = site.backend.identities;
  assert.ok(identities);
  const shown = await identities.inspect("alice");
  assert.equal(shown.verdict, "stale");
  assert.equal((await identities.repair(shown)).deleted, true);
  assert.equal(site.harbor.users.get(site.alice.id)?.deleted, true);
  site.harbor.addUser({ username: "alice", subiss: `alice-new${ISSUER}` });
  await syncMembership(site.offering.context);
  assert.deepEqual(identities.rows().map((r) => r.username), ["bob"]);
  // an hour on, carol (not onboarded) is looked up again
  site.clock.advance(60 * 60 * 1000);
  from = site.harbor.requests.length;
  await syncMembership(site.offering.context);
  assert.ok(userReads(site, from).some((r) => r.includes("carol")));
});

Deno.test("harbor with keycloak: a matching identity is never removed, nor a user not onboarded", async () => {
  using site = identitySite();
  const identities = site.backend.identities;
  assert.ok(identities);
  const bob = await identities.inspect("bob");
  assert.equal(bob.verdict, "match");
  assert.equal((await identities.repair(bob)).deleted, false);
  const carol = await identities.inspect("carol");
  assert.equal(carol.verdict, "not onboarded");
  assert.equal((await identities.repair(carol)).deleted, false);
  // alice as shown, but her user changed before the delete: left alone
  const alice = await identities.inspect("alice");
  site.harbor.users.get(site.alice.id)!.subiss = `alice-new${ISSUER}`;
  assert.equal((await identities.repair(alice)).deleted, false);
  assert.ok(!site.harbor.requests.some((r) => r.method === "DELETE"));
});
