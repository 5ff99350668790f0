/**
 * Keycloak ownership: the groups Berth creates carry `waldur_project_uuid` (and `managed_by`);
 * members are changed only in a group whose attribute names the Waldur project. A group of the
 * expected name with no such attribute (the Python agent's, or made by hand) is adopted: the
 * attributes are stamped, audited, then it is managed. One naming another project is a
 * conflict: nothing is changed and nothing is bound to it.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { type GroupsObserved, planGroups } from "../lib/keycloak/group_plan.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

const OTHER_PROJECT = "0badc0de0badc0de0badc0de0badc0d";

function harborWithKeycloak() {
  const kc = new FakeKeycloak({ now: () => new ManualClock().now() });
  kc.addRealm("waldur");
  const site = makeHarborSite(
    `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`,
    { "keycloak.test": kc.app },
  );
  return { site, kc };
}

Deno.test("Harbor: a Keycloak group of the expected name that names another Waldur project is not touched", async () => {
  const { site, kc } = harborWithKeycloak();
  using _ = site;
  const eve = kc.addUser("waldur", "eve");
  kc.addUser("waldur", "ann");
  const id = kc.addGroup("waldur", "waldur-proj", undefined, {
    waldur_project_uuid: [OTHER_PROJECT],
  });
  kc.realm("waldur").groups.get(id)?.members.add(eve);
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  // a Create is refused before its project is bound to the group's name
  const created = order(site, "reg");
  await processOrders(site.offering.context);
  const o = site.waldur.order(created.order);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /belongs to Waldur project 0badc0de/);
  assert.deepEqual(
    site.harbor.project("waldur-reg")?.members.filter((m) => m.entityType === "g"),
    [],
  );
  // and a membership pass over a resource that has its project leaves the group alone
  site.harbor.addProject("waldur-old");
  const resource = site.waldur.addResource(site.offeringUuid, {
    name: "old",
    slug: "old",
    backend_id: "waldur-old",
    project: "proj",
    customer: "acme",
  });
  const before = kc.requests.length;
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error, /belongs to Waldur project 0badc0de.*it is a conflict, not a target/);
  assert.deepEqual(
    kc.group("waldur", "waldur-proj")?.usernames,
    ["eve"],
    "eve stays, ann is not added",
  );
  assert.deepEqual(
    kc.requests.slice(before).filter((r) => r.method !== "GET" && !r.path.includes("/token")),
    [],
  );
  assert.equal(site.waldur.resource(resource).state, "Erred");
});

Deno.test("Harbor: the Python agent's group (no attribute) is adopted, its own attributes kept, then managed", async () => {
  const { site, kc } = harborWithKeycloak();
  using _ = site;
  kc.addUser("waldur", "ann");
  const old = kc.addUser("waldur", "old");
  const id = kc.addGroup("waldur", "waldur-proj", undefined, { note: ["made by hand"] });
  kc.realm("waldur").groups.get(id)?.members.add(old);
  const { resource } = order(site, "reg");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const group = kc.group("waldur", "waldur-proj");
  assert.deepEqual(group?.attributes, {
    note: ["made by hand"],
    managed_by: ["berth"],
    waldur_project_uuid: [site.waldur.resource(resource).project_uuid],
  });
  assert.deepEqual(group?.usernames, ["ann"]);
  assert.ok(site.store.recentAudit(50).some((e) => e.action === "adopt group"));
});

Deno.test("Rancher: a child group naming another Waldur project is never bound to a new project", async () => {
  using site = makeRancherSite({ keycloak: true });
  const parent = site.keycloak.addGroup("waldur", "c_cm7x2k9q", undefined, {
    managed_by: ["berth"],
  });
  site.keycloak.addGroup("waldur", "project_proj_workloads-manage", parent, {
    managed_by: ["berth"],
    waldur_project_uuid: [OTHER_PROJECT],
  });
  const { order: uuid } = orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  const o = site.waldur.order(uuid);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /belongs to Waldur project 0badc0de.*nothing was bound/);
  for (const p of site.rancher.userProjects()) assert.deepEqual(site.rancher.prtbsOf(p.id), []);
});

Deno.test("Rancher: an unmarked child group of the expected name is adopted at Create", async () => {
  using site = makeRancherSite({ keycloak: true });
  const parent = site.keycloak.addGroup("waldur", "c_cm7x2k9q");
  site.keycloak.addGroup("waldur", "project_proj_workloads-manage", parent);
  const { order: uuid, resource } = orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done", site.waldur.order(uuid).error_message);
  const child = [...site.keycloak.realm("waldur").groups.values()].find((g) =>
    g.name === "project_proj_workloads-manage"
  );
  assert.deepEqual(child?.attributes, {
    managed_by: ["berth"],
    waldur_project_uuid: [site.waldur.resource(resource).project_uuid],
  });
});

Deno.test("keycloak plan: a child of another project is a problem with no action; an unmarked one is adopted", () => {
  const observed: GroupsObserved = {
    parent: { id: "parent", managed: true },
    groups: new Map([
      ["g-taken", { id: "1", managed: true, projectUuid: "p7" }],
      ["g-python", { id: "2", managed: false, projectUuid: "", attributes: { x: ["y"] } }],
    ]),
    members: new Map([
      ["g-taken", [{ id: "u-eve", username: "eve" }]],
      ["g-python", [{ id: "u-old", username: "old" }]],
    ]),
    users: new Map([["ann", { id: "u-ann", username: "ann" }]]),
  };
  const want = (group: string) => ({
    group,
    projectUuid: "p1",
    resources: [`r-${group}`],
    usernames: ["ann"],
  });
  const plan = planGroups({ parent: "c_x" }, [want("g-taken"), want("g-python")], observed, {
    byId: false,
    prune: { inUse: new Set(), liveProjects: new Set() },
  });
  assert.deepEqual(plan.actions.map((a) => `${a.kind} ${a.group}`), [
    "adopt-group g-python",
    "add-member g-python",
    "remove-member g-python",
  ]);
  const adopt = plan.actions[0];
  assert.deepEqual(adopt?.kind === "adopt-group" ? adopt.attributes : null, {
    x: ["y"],
    managed_by: ["berth"],
    waldur_project_uuid: ["p1"],
  });
  assert.match(plan.problems.get("g-taken")?.message ?? "", /belongs to Waldur project p7/);
});

Deno.test("the fake Keycloak answers group attributes only in the full representation, as Keycloak does", async () => {
  const kc = new FakeKeycloak();
  kc.addRealm("waldur");
  const parent = kc.addGroup("waldur", "top", undefined, { a: ["1"] });
  kc.addGroup("waldur", "child", parent, { b: ["2"] });
  const token = await kc.app.request("http://k/realms/master/protocol/openid-connect/token", {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "password",
      client_id: "admin-cli",
      username: "admin",
      password: "admin-secret",
    }),
  });
  const { access_token } = await token.json();
  const get = async (path: string) =>
    await (await kc.app.request(`http://k/admin/realms/waldur${path}`, {
      headers: { authorization: `Bearer ${access_token}` },
    })).json();
  assert.equal((await get("/groups?search=top"))[0].attributes, undefined, "brief by default");
  assert.deepEqual((await get("/groups?search=top&briefRepresentation=false"))[0].attributes, {
    a: ["1"],
  });
  assert.deepEqual((await get(`/groups/${parent}/children`))[0].attributes, { b: ["2"] });
  assert.equal(
    (await get(`/groups/${parent}/children?briefRepresentation=true`))[0].attributes,
    undefined,
  );
});
