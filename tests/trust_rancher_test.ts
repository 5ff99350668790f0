/**
 * Rancher ownership: Berth acts only on projects of the configured cluster that carry its
 * annotation naming the resource. An unannotated project is adopted (annotated, audited) only
 * when it is named exactly `project_prefix` + slug, is not the cluster's System or Default
 * project, and no other resource holds it; anything else is a terminal refusal that changes
 * nothing.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeRancherSite, orderProject, type RancherSite } from "./support/rancher.ts";

/** An OK resource of the offering whose backend_id Waldur says is `backendId`. */
function pointedAt(site: RancherSite, backendId: string, slug = "sneaky"): string {
  return site.waldur.addResource(site.offeringUuid, {
    name: "Sneaky",
    slug,
    limits: { cpu: 1, memory: 1 },
    backend_id: backendId,
    project: "proj",
    customer: "acme",
  });
}

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

/** A project made in Rancher by someone else (not Berth): its id. */
async function madeByHand(
  site: RancherSite,
  body: { name: string; clusterId: string; annotations?: Record<string, string> },
): Promise<{ id: string }> {
  return await rancherByHand(site, "projects", body);
}

function writes(site: RancherSite, from: number): string[] {
  return site.rancher.requests.slice(from).filter((r) => r.method !== "GET")
    .map((r) => `${r.method} ${r.path}`);
}

Deno.test("a Terminate, Update or membership pass aimed at the cluster's System project changes nothing", async () => {
  using site = makeRancherSite({ keycloak: true });
  const system = site.rancher.systemProject(site.cluster);
  const resource = pointedAt(site, system.id);
  const before = site.rancher.requests.length;
  const update = site.waldur.orderUpdate(resource, { cpu: 1, memory: 1 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(update).state, "erred");
  assert.match(site.waldur.order(update).error_message, /one of the cluster's own projects/);
  site.waldur.setTeam("proj", [{ username: "mallory" }]);
  await syncMembership(site.offering.context);
  assert.equal(site.waldur.resource(resource).state, "Erred");
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminate).state, "erred");
  assert.deepEqual(writes(site, before), [], "no quota, no binding, no delete");
  assert.ok(
    site.rancher.projects.has(system.id),
    "the System project (kube-system) is still there",
  );
  assert.deepEqual(site.rancher.prtbsOf(system.id), []);
});

Deno.test("a backend_id in another cluster is refused, whatever its name", async () => {
  using site = makeRancherSite();
  site.rancher.addCluster("local", "local");
  const other = await madeByHand(site, { name: "waldur-sneaky", clusterId: "local" });
  const resource = pointedAt(site, other.id);
  const terminate = site.waldur.orderTerminate(resource);
  const before = site.rancher.requests.length;
  await processOrders(site.offering.context);
  const o = site.waldur.order(terminate);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /is not a project of the configured cluster c-m-7x2k9q4d/);
  assert.deepEqual(writes(site, before), []);
  assert.ok(site.rancher.projects.has(other.id));
});

Deno.test("a backend_id that walks paths (../) reaches no other endpoint", async () => {
  using site = makeRancherSite();
  const resource = pointedAt(site, `${site.cluster}:p-x/../../projectroletemplatebindings`);
  const terminate = site.waldur.orderTerminate(resource);
  const before = site.rancher.requests.length;
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminate).state, "erred");
  assert.deepEqual(writes(site, before), []);
  const paths = site.rancher.requests.slice(before).map((r) =>
    new URL(r.path, "http://r").pathname
  );
  assert.ok(paths.every((p) => !p.includes("projectroletemplatebindings")), paths.join("\n"));
});

Deno.test("another resource's project is not a target: its annotation decides", async () => {
  using site = makeRancherSite();
  const a = orderProject(site, "Alpha");
  await processOrders(site.offering.context);
  const alphaId = site.waldur.resource(a.resource).backend_id;
  const quota = structuredClone(site.rancher.projects.get(alphaId)?.resourceQuota);
  const b = pointedAt(site, alphaId, "beta");
  const update = site.waldur.orderUpdate(b, { cpu: 64, memory: 256 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(update).state, "erred");
  assert.match(site.waldur.order(update).error_message, /belongs to Waldur resource/);
  assert.deepEqual(site.rancher.projects.get(alphaId)?.resourceQuota, quota);
});

Deno.test("a Python agent's project (no Berth annotation, the derived name) is adopted: annotated and audited", async () => {
  using site = makeRancherSite();
  // what the Python agent left: its own annotations, no resource uuid; Waldur holds its id
  const made = await madeByHand(site, {
    name: "waldur-legacy",
    clusterId: site.cluster,
    annotations: { "waldur/managed": "true", "waldur/organization": "acme" },
  });
  const resource = pointedAt(site, made.id, "legacy");
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const p = site.rancher.projects.get(made.id);
  assert.equal(p?.annotations["waldur/resource-uuid"], resource);
  assert.equal(p?.annotations["waldur/organization"], "acme", "its own annotations are kept");
  assert.ok(
    site.store.recentAudit(50).some((e) =>
      e.action === "adopt project" && e.target === "waldur-legacy"
    ),
  );
  // and adopted once: the next pass finds it Berth's own
  const before = site.rancher.requests.length;
  await syncMembership(site.offering.context);
  assert.deepEqual(writes(site, before), []);
});

Deno.test("an unannotated project with another name, or one another resource holds, is not adopted", async () => {
  using site = makeRancherSite();
  const post = async (name: string) => await madeByHand(site, { name, clusterId: site.cluster });
  const handmade = await post("team-x-prod");
  const misnamed = pointedAt(site, handmade.id, "sneaky");
  const shared = await post("waldur-twin");
  const one = pointedAt(site, shared.id, "twin");
  const two = pointedAt(site, shared.id, "twin");
  const before = site.rancher.requests.length;
  await syncMembership(site.offering.context);
  assert.deepEqual(writes(site, before), []);
  for (const r of [misnamed, one, two]) assert.equal(site.waldur.resource(r).state, "Erred");
  const t = site.waldur.orderTerminate(one);
  await processOrders(site.offering.context);
  assert.match(site.waldur.order(t).error_message, /held by another resource/);
  assert.ok(site.rancher.projects.has(shared.id));
});

Deno.test("a Terminate of a resource without backend_id adopts no look-alike to delete it", async () => {
  using site = makeRancherSite();
  const made = await madeByHand(site, { name: "waldur-lookalike", clusterId: site.cluster });
  const resource = pointedAt(site, "", "lookalike");
  const terminate = site.waldur.orderTerminate(resource);
  const before = site.rancher.requests.length;
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminate).state, "done", "nothing of its to delete");
  assert.deepEqual(writes(site, before), []);
  assert.ok(site.rancher.projects.has(made.id));
});

Deno.test("two Waldur projects with one slug never share a Keycloak group, even a remembered one", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  const mallory = site.keycloak.addUser("waldur", "mallory");
  const a = orderProject(site, "Alpha", { cpu: 1, memory: 1 }, "proj");
  site.waldur.setTeam("proj", [{ username: ann }]);
  await processOrders(site.offering.context); // the agent now remembers project_proj_…'s id
  assert.equal(site.waldur.order(a.order).state, "done");
  // tenant B: another Waldur project whose slug is also "proj"
  const b = orderProject(site, "Beta", { cpu: 1, memory: 1 }, "proj-b");
  site.waldur.resource(b.resource).project_slug = "proj";
  site.waldur.setTeam("proj-b", [{ username: mallory }]);
  await processOrders(site.offering.context);
  const o = site.waldur.order(b.order);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /belongs to Waldur project .*nothing was bound/);
  const group = [...site.keycloak.realm("waldur").groups.values()].find((g) =>
    g.name === "project_proj_workloads-manage"
  );
  assert.ok(!group?.members.has(mallory), "mallory is not in A's group");
  // and a membership pass over both flags them instead of merging the teams
  site.waldur.resource(b.resource).state = "OK";
  site.waldur.resource(b.resource).backend_id = site.rancher.projectsNamed("waldur-beta")[0]?.id ??
    "";
  const result = await syncMembership(site.offering.context);
  assert.match(result.error, /would hold the teams of 2 Waldur projects/);
  assert.ok(!group?.members.has(mallory));
});

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
