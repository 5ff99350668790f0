/** The pure plans: Rancher's names, the Rancher plan table and the Keycloak group plan table. */
import assert from "node:assert/strict";
import type { ResourceSpec } from "../backend.ts";
import {
  childGroup,
  clusterHex8,
  type GroupsObserved,
  parentGroup,
  planGroups,
  planRancher,
  type RancherNaming,
} from "./plan.ts";
import type { Project } from "./schemas.ts";

const naming: RancherNaming = {
  clusterId: "c-m-test",
  projectPrefix: "waldur-",
  role: "workloads-manage",
  parentTemplate: "c_{cluster_hex8}",
  childTemplate: "project_{project_slug}_{role}",
  principalPrefix: "keycloakoidc_group://",
  kinds: { cpu: "cpu", memory: "memory", storage: "storage" },
};

function spec(slug: string, extra: Partial<ResourceSpec> = {}): ResourceSpec {
  return {
    uuid: `uuid-${slug}`,
    name: slug,
    slug,
    projectUuid: "0123456789abcdef0123456789abcdef",
    projectSlug: "proj",
    projectName: "Proj",
    customerUuid: "c",
    customerSlug: "acme",
    customerName: "Acme",
    backendId: "",
    limits: { cpu: 2, memory: 4, storage: 50 },
    ...extra,
  };
}

Deno.test("rancher names equal the Python agent's defaults", () => {
  assert.equal(clusterHex8("c-m-test:p-test"), "cmtestpt");
  assert.equal(parentGroup(naming), "c_cmtest");
  assert.equal(childGroup(spec("a"), naming), "project_proj_workloads-manage");
  assert.equal(
    childGroup(spec("a"), { ...naming, childTemplate: "project_{project_uuid_hex}_{role}" }),
    "project_0123456789abcdef0123456789abcdef_workloads-manage",
  );
});

Deno.test("rancher plan table: what each kind of drift plans, and a second look plans nothing", async (t) => {
  const project = (id: string, name: string, quota: Record<string, string> | null): Project => ({
    id,
    name,
    clusterId: "c-m-test",
    resourceQuota: quota ? { limit: quota } : null,
    namespaceDefaultResourceQuota: quota ? { limit: quota } : null,
    // Berth's own: annotated for the resource of its name
    annotations: { "waldur/resource-uuid": `uuid-${name.replace("waldur-", "")}` },
  });
  const good = { limitsCpu: "2", limitsMemory: "4Gi" }; // other spellings of 2000m / 4096Mi
  const observed = {
    projects: new Map([
      ["c-m-test:p-aaaaa", project("c-m-test:p-aaaaa", "waldur-a", good)],
      ["c-m-test:p-bbbbb", project("c-m-test:p-bbbbb", "waldur-b", { limitsCpu: "1" })],
      ["c-m-test:p-ccccc", project("c-m-test:p-ccccc", "waldur-c", good)],
    ]),
    namespaces: new Map([
      ["p-aaaaa", [{ metadata: { name: "waldur-a" } }]],
      ["p-bbbbb", [{ metadata: { name: "waldur-b" } }]],
    ]),
    prtbs: new Map([
      ["c-m-test:p-aaaaa", [{
        id: "p-aaaaa:prtb-1",
        projectId: "c-m-test:p-aaaaa",
        roleTemplateId: "workloads-manage",
        groupPrincipalId: "keycloakoidc_group://project_proj_workloads-manage",
      }]],
      ["c-m-test:p-ccccc", [{
        id: "p-ccccc:prtb-2",
        projectId: "c-m-test:p-ccccc",
        roleTemplateId: "read-only",
        groupPrincipalId: "keycloakoidc_group://project_proj_workloads-manage",
      }]],
    ]),
  };
  const desired = [spec("a"), spec("b"), spec("c"), spec("gone")];
  const plan = planRancher(desired, observed, naming, { bindGroups: true });
  await t.assertSnapshot(plan.actions.map((a) => `${a.kind} ${a.projectId}`));
  assert.deepEqual([...plan.problems.keys()], ["uuid-gone"]);
  assert.deepEqual(
    planRancher([spec("a")], observed, naming, { bindGroups: true }).actions,
    [],
    "a project in line plans nothing, whatever the quantity spelling",
  );
});

Deno.test("keycloak group plan table: create, add, remove, missing, unreadable, orphans", async (t) => {
  const want = (group: string, usernames: string[], projectUuid = "p1") => ({
    group,
    projectUuid,
    resources: [`r-${group}`],
    usernames,
  });
  const observed: GroupsObserved = {
    parent: { id: "parent", managed: true },
    children: new Map([
      ["g-ok", { id: "1", managed: true, projectUuid: "p1" }],
      ["g-broken", { id: "2", managed: true, projectUuid: "p2" }],
      ["g-orphan", { id: "3", managed: true, projectUuid: "p9" }],
      ["g-foreign", { id: "4", managed: false, projectUuid: "" }],
      ["g-bound", { id: "5", managed: true, projectUuid: "p8" }],
    ]),
    members: new Map<string, { id: string; username: string }[] | Error>([
      ["g-ok", [{ id: "u-ann", username: "ann" }, { id: "u-eve", username: "eve" }]],
      ["g-broken", new Error("HTTP 500")],
    ]),
    users: new Map([["u-bob", { id: "u-bob", username: "bob" }], ["ghost", null]]),
  };
  const plan = planGroups(
    "c_x",
    [
      want("g-ok", ["u-ann", "u-bob", "ghost"]),
      want("g-broken", ["u-bob"], "p2"),
      want("g-new", [], "p3"),
    ],
    observed,
    { byId: true, inUse: new Set(["g-bound"]), liveProjects: new Set() },
  );
  await t.assertSnapshot(plan.actions.map((a) => `${a.kind} ${a.group}`));
  assert.deepEqual([...plan.missing], [["g-ok", ["ghost"]]]);
  assert.deepEqual([...plan.problems], [["g-broken", "HTTP 500"]]);
  const steady = planGroups("c_x", [want("g-ok", ["u-ann", "u-eve"])], {
    ...observed,
    children: new Map([["g-ok", { id: "1", managed: true, projectUuid: "p1" }]]),
  }, { byId: true, inUse: new Set(), liveProjects: new Set() });
  assert.deepEqual(steady.actions, [], "a group in line plans nothing");
  // a wanted user whose lookup failed: members that look unwanted may be that user, so stay
  const flaky = planGroups("c_x", [want("g-ok", ["u-ann", "u-flaky", "u-bob"])], {
    ...observed,
    children: new Map([["g-ok", { id: "1", managed: true, projectUuid: "p1" }]]),
    users: new Map<string, { id: string; username: string } | Error>([
      ["u-flaky", new Error("HTTP 503")],
      ["u-bob", { id: "u-bob", username: "bob" }],
    ]),
  }, { byId: true, inUse: new Set(), liveProjects: new Set() });
  assert.deepEqual(
    flaky.actions.map((a) => `${a.kind} ${a.group} ${"user" in a ? a.user.username : ""}`),
    ["add-member g-ok bob"],
    "eve is not removed while a wanted user could not be looked up",
  );
  assert.deepEqual([...flaky.problems], [["g-ok", "HTTP 503"]]);
});
