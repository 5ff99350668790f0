/**
 * Regressions found reviewing the observe → plan → apply refactor (issue 18): each test pins the
 * behaviour the code had before it (commit 41b0453).
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { resourceSpec } from "../testing/resource_spec.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborKeycloakSite, makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject, type RancherSite } from "./support/rancher.ts";

const GIB = 1024 ** 3;

Deno.test("harbor: a project the state file records under an earlier name is kept by the membership pass", async () => {
  using site = makeHarborSite();
  // created under an earlier allocation_prefix: Waldur and the state file both name "old-alpha"
  site.harbor.addProject("old-alpha", 20 * GIB);
  const resource = site.waldur.addResource(site.offeringUuid, {
    name: "Alpha",
    slug: "alpha",
    limits: { storage: 20 },
    backend_id: "old-alpha",
    project: "proj",
    customer: "acme",
  });
  site.store.recordOwned("registry", resource, "old-alpha", 0);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.waldur.resource(resource).state, "OK");
  const project = site.harbor.project("old-alpha");
  assert.ok(
    project?.members.some((m) => m.entityName === "waldur-proj"),
    "the OIDC group is bound to the recorded project",
  );
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

/** Deletes a top-level group and its children from the fake Keycloak, as an admin would by hand. */
function deleteByHand(site: RancherSite, name: string): void {
  const realm = site.keycloak.realm("waldur");
  const top = [...realm.groups.values()].find((g) => g.name === name && !g.parentId);
  assert.ok(top, `group ${name} exists`);
  for (const id of realm.children.get(top.id) ?? []) realm.groups.delete(id);
  realm.children.delete(top.id);
  realm.groups.delete(top.id);
  realm.children.get("")?.delete(top.id);
}

Deno.test("rancher: the membership pass makes the cluster's parent group again after it was deleted by hand", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: ann }]);
  let result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  deleteByHand(site, "c_cm7x2k9q");
  await syncMembership(site.offering.context);
  result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const realm = site.keycloak.realm("waldur");
  const parent = [...realm.groups.values()].find((g) => g.name === "c_cm7x2k9q" && !g.parentId);
  assert.ok(parent, "the parent group is back");
  const child = [...realm.groups.values()].find((g) => g.parentId === parent.id);
  assert.equal(child?.name, "project_proj_workloads-manage");
  assert.deepEqual([...child.members], [ann]);
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

/** A request to the fake Rancher's v3 API as an admin by hand. */
async function rancherByHand(
  site: RancherSite,
  path: string,
  body: unknown,
): Promise<{ id: string }> {
  const res = await site.rancher.app.request(`http://r/v3/${path}`, {
    method: "POST",
    headers: {
      authorization: `Basic ${btoa(`${site.rancher.accessKey}:${site.rancher.secretKey}`)}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `${path}: HTTP ${res.status}`);
  return await res.json();
}

Deno.test("rancher: a Terminate without backend_id keeps the group a look-alike project is still bound to", async () => {
  using site = makeRancherSite({ keycloak: true });
  const alpha = orderProject(site, "Alpha");
  await processOrders(site.offering.context);
  // a project of the derived name Berth never made, bound by hand to the Waldur project's group
  const legacy = await rancherByHand(site, "projects", {
    name: "waldur-legacy",
    clusterId: site.cluster,
  });
  await rancherByHand(site, "projectroletemplatebindings", {
    projectId: legacy.id,
    roleTemplateId: "workloads-manage",
    groupPrincipalId: "keycloakoidc_group://project_proj_workloads-manage",
  });
  site.waldur.orderTerminate(alpha.resource);
  await processOrders(site.offering.context);
  const group = () =>
    [...site.keycloak.realm("waldur").groups.values()].find((g) =>
      g.name === "project_proj_workloads-manage"
    );
  assert.ok(group(), "kept after Alpha's Terminate: waldur-legacy is bound to it");
  // a resource Waldur names no project for (its Create never finished), of that slug
  const orphan = site.waldur.addResource(site.offeringUuid, {
    name: "Legacy",
    slug: "legacy",
    limits: { cpu: 1, memory: 1 },
    project: "proj",
    customer: "acme",
  });
  const t = site.waldur.orderTerminate(orphan);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(t).state, "done");
  assert.ok(site.rancher.projects.has(legacy.id), "the look-alike is not deleted");
  assert.ok(group(), "nor is the group it is still bound to");
});

Deno.test("harbor: berth plan shows no delete for a Terminate that would delete nothing (no backend_id, not Berth's)", async () => {
  using site = makeHarborSite("termination: purge");
  site.harbor.addProject("waldur-orphan", 5 * GIB);
  site.harbor.push("waldur-orphan", "waldur-orphan/precious", GIB);
  const spec = { ...resourceSpec("orphan", "proj", {}), backendId: "" };
  const planned = await site.backend.planOrder("Terminate", spec);
  // what the Terminate does: nothing (see trust_harbor_test: "a Terminate of a resource Waldur
  // names no project for deletes nothing, even one of its derived name")
  assert.equal(await site.backend.remove(spec), "absent");
  assert.equal(site.harbor.project("waldur-orphan")?.repositories.length, 1);
  assert.deepEqual(
    planned.filter((a) => a.action === "delete-project" || a.action === "purge-repositories"),
    [],
    "berth plan prints what the order would do",
  );
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
