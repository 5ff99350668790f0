/** The pure Rancher plan: names, the membership plan table, and what each order goal plans. */
import assert from "node:assert/strict";
import type { ResourceSpec } from "../backend.ts";
import { childGroup, clusterHex8, parentGroup, type RancherNaming } from "./naming.ts";
import { claimsHeld, planRancher } from "./plan.ts";
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

const options = { bindGroups: true, termination: "refuse" as const };

function keep(resource: ResourceSpec) {
  return { resource, goal: "keep" as const };
}

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
  const desired = [spec("a"), spec("b"), spec("c"), spec("gone")].map(keep);
  const plan = planRancher(desired, observed, naming, options);
  await t.assertSnapshot(
    plan.actions.map((a) => `${a.kind} ${"projectId" in a ? a.projectId : ""}`),
  );
  assert.deepEqual([...plan.problems.keys()], ["uuid-gone"]);
  assert.deepEqual(
    planRancher([keep(spec("a"))], observed, naming, options).actions,
    [],
    "a project in line plans nothing, whatever the quantity spelling",
  );
});

Deno.test("rancher order goals: Create makes what is missing, Update only the quota, Terminate deletes or refuses", () => {
  const own = (name: string, id: string): Project => ({
    id,
    name,
    clusterId: "c-m-test",
    resourceQuota: { limit: { limitsCpu: "1" } },
    namespaceDefaultResourceQuota: { limit: { limitsCpu: "1" } },
    annotations: { "waldur/resource-uuid": `uuid-${name.replace("waldur-", "")}` },
  });
  const none = { projects: new Map(), namespaces: new Map(), prtbs: new Map() };
  const kinds = (goal: "create" | "limits" | "delete", r: ResourceSpec, observed = none) => {
    const plan = planRancher([{ resource: r, goal }], observed, naming, options);
    return [...plan.actions.map((a) => a.kind), ...plan.problems.values()];
  };
  assert.deepEqual(kinds("create", spec("a")), [
    "create-project",
    "create-namespace",
    "create-binding",
  ]);
  assert.match(kinds("limits", spec("a")).join(), /the Rancher project does not exist/);
  assert.deepEqual(kinds("delete", spec("a")), [], "nothing to delete is no action");
  const a = own("waldur-a", "c-m-test:p-aaaaa");
  const one = {
    projects: new Map([[a.id, a]]),
    namespaces: new Map([["p-aaaaa", [{ metadata: { name: "waldur-a" } }]]]),
    prtbs: new Map(),
    pvcs: new Map([[a.id, [{
      metadata: { name: "data", namespace: "waldur-a" },
      spec: { resources: { requests: { storage: "2Gi" } } },
    }]]]),
  };
  const withId = spec("a", { backendId: a.id });
  assert.deepEqual(kinds("create", withId, one), ["set-quota", "create-binding"]);
  assert.deepEqual(kinds("limits", withId, one), ["set-quota"]);
  assert.match(kinds("delete", withId, one).join(), /still holds 1 persistent volume claim/);
  assert.deepEqual(
    planRancher([{ resource: withId, goal: "delete" }], one, naming, {
      ...options,
      termination: "purge",
    }).actions.map((x) => x.kind),
    ["delete-project"],
  );
  const held = { ...one, claims: new Map([[a.id, ["uuid-other"]]]) };
  assert.match(kinds("limits", withId, held).join(), /held by another resource.*uuid-other/);
  assert.match(
    kinds("create", spec("a", { backendId: "c-other:p-zzzzz" })).join(),
    /not a project of the configured cluster c-m-test/,
  );
});

Deno.test("a refused Terminate sizes the project's volume claims in GiB", () => {
  const claim = (name: string, storage: string) => ({
    metadata: { name, namespace: "waldur-a" },
    spec: { resources: { requests: { storage } } },
  });
  assert.equal(
    claimsHeld({ id: "c-m-test:p-aaaaa", name: "waldur-a", clusterId: "c-m-test" }, [
      claim("data", "10Gi"),
      claim("x", "512Mi"),
    ]),
    "Rancher project waldur-a still holds 2 persistent volume claims (10.5 GiB) in waldur-a",
  );
});
