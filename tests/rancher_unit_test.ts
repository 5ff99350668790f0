/**
 * Rancher pieces on their own: the quantity grammar, the pure plans, the client's paging and
 * auth against the fake, the fake's refusals (as Rancher refuses), and every Keycloak request of
 * a full Rancher scenario against Keycloak's OpenAPI.
 */
import assert from "node:assert/strict";
import type { ResourceSpec } from "../lib/backend.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { createRancherClient } from "../lib/rancher/client.ts";
import { FakeRancher } from "../lib/rancher/fake.ts";
import {
  childGroup,
  clusterHex8,
  type GroupsObserved,
  parentGroup,
  planGroups,
  planRancher,
  type RancherNaming,
} from "../lib/rancher/plan.ts";
import { cpuQuantity, memoryQuantity, parseQuantity } from "../lib/rancher/quantity.ts";
import type { Project } from "../lib/rancher/schemas.ts";
import { podRequest, requestsByNamespace } from "../lib/rancher/usage.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

Deno.test("kubernetes quantities: the whole grammar", () => {
  const table: [string, number][] = [
    ["0", 0],
    ["2", 2],
    ["250m", 0.25],
    ["1500m", 1.5],
    ["1.5", 1.5],
    [".5", 0.5],
    ["5.", 5],
    ["+3", 3],
    ["-1", -1],
    ["1k", 1e3],
    ["1M", 1e6],
    ["1G", 1e9],
    ["2T", 2e12],
    ["1P", 1e15],
    ["1E", 1e18],
    ["1Ki", 1024],
    ["1536Mi", 1536 * 1024 ** 2],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["1Ti", 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1Ei", 1024 ** 6],
    ["1e3", 1000],
    ["1E3", 1000],
    ["12e-3", 0.012],
    ["1.5e+2", 150],
    ["65442364Ki", 65442364 * 1024],
    ["1073741824", 1073741824],
  ];
  for (const [text, value] of table) {
    assert.ok(Math.abs(parseQuantity(text) - value) <= Math.abs(value) * 1e-12, `${text}`);
  }
  for (const bad of ["", "lots", "1.2.3", "1 Gi", "1gi", "1Gib", "Gi", "1e", "1e3m", "--1", " 1"]) {
    assert.throws(() => parseQuantity(bad), /not a Kubernetes quantity/, JSON.stringify(bad));
  }
  assert.equal(cpuQuantity(4), "4000m");
  assert.equal(cpuQuantity(0.5), "500m");
  assert.equal(memoryQuantity(8), "8192Mi");
  assert.equal(memoryQuantity(0.5), "512Mi");
});

Deno.test("a pod's effective request: init containers, sidecars, overhead, pod-level resources", () => {
  const pod = (spec: Record<string, unknown>) => ({
    metadata: { name: "p", namespace: "n" },
    spec: { containers: [], ...spec },
  });
  const r = (cpu: string) => ({ name: "c", resources: { requests: { cpu } } });
  assert.equal(podRequest(pod({ containers: [r("1"), r("500m")] }), "cpu"), 1.5);
  assert.equal(podRequest(pod({ containers: [r("1")], initContainers: [r("3")] }), "cpu"), 3);
  assert.equal(
    podRequest(
      pod({ containers: [r("1")], initContainers: [{ ...r("1"), restartPolicy: "Always" }] }),
      "cpu",
    ),
    2,
    "a sidecar adds to the regular containers",
  );
  assert.equal(podRequest(pod({ containers: [r("1")], overhead: { cpu: "250m" } }), "cpu"), 1.25);
  assert.equal(
    podRequest(pod({ containers: [r("8")], resources: { requests: { cpu: "2" } } }), "cpu"),
    2,
  );
  assert.equal(
    podRequest(pod({ containers: [{ name: "c", resources: { limits: { cpu: "2" } } }] }), "cpu"),
    2,
    "requests default to limits",
  );
});

Deno.test("usage counts the pods that hold quota: Failed and Succeeded pods are not counted", () => {
  const pod = (name: string, cpu: string, phase?: string) => ({
    metadata: { name, namespace: "n" },
    spec: { containers: [{ name: "c", resources: { requests: { cpu, memory: "1Gi" } } }] },
    ...(phase ? { status: { phase } } : {}),
  });
  const used = requestsByNamespace([
    pod("running", "1", "Running"),
    pod("pending", "250m", "Pending"),
    pod("unknown", "500m"),
    pod("failed", "16", "Failed"),
    pod("done", "32", "Succeeded"),
  ], []);
  assert.deepEqual(used.get("n"), { cpuCores: 1.75, memoryBytes: 3 * 1024 ** 3, storageBytes: 0 });
});

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

function client(fake: FakeRancher, auth?: { token: string }, pageSize = 2) {
  const sent: URL[] = [];
  const c = createRancherClient({
    url: "http://rancher.test/v3/",
    auth: auth ?? { accessKey: fake.accessKey, secretKey: fake.secretKey },
    clock: new ManualClock(),
    pageSize,
    fetch: async (r) => {
      sent.push(new URL(r.url));
      return await fake.app.request(r);
    },
  });
  return { c, sent };
}

Deno.test("rancher client: Norman pages by pagination.next, Kubernetes by continue, bearer or basic", async () => {
  const fake = new FakeRancher();
  const cluster = "c-m-7x2k9q4d";
  const { c, sent } = client(fake, { token: `${fake.accessKey}:${fake.secretKey}` });
  for (let i = 0; i < 5; i++) {
    const p = await c.createProject({
      name: `p${i}`,
      clusterId: cluster,
      description: "",
      annotations: {},
      resourceQuota: null,
      namespaceDefaultResourceQuota: null,
    });
    await c.createNamespace(cluster, {
      name: `ns${i}`,
      labels: {},
      annotations: { "field.cattle.io/projectId": p.id },
    });
  }
  sent.length = 0;
  // five made here, and the cluster's own Default and System projects (kube-system in System)
  assert.equal((await c.listProjects(cluster)).length, 7);
  assert.deepEqual(
    sent.map((u) => u.searchParams.get("marker") !== null),
    [false, true, true, true],
  );
  sent.length = 0;
  assert.equal((await c.listNamespaces(cluster)).length, 6);
  assert.deepEqual(sent.map((u) => u.searchParams.has("continue")), [false, true, true]);
  const first = (await c.listProjects(cluster, "p3"))[0];
  assert.ok(first);
  assert.deepEqual(
    (await c.listNamespaces(cluster, first.id.split(":")[1])).map((n) => n.metadata.name),
    ["ns3"],
  );
  const { c: bad } = client(fake, { token: `${fake.accessKey}:wrong` });
  await assert.rejects(bad.cluster(cluster), (e: Error & { transient?: boolean }) => {
    assert.match(e.message, /Rancher refused the API key token-berth1 \(HTTP 401\)/);
    assert.equal(e.transient, true, "the operator's to fix: orders wait");
    return true;
  });
});

Deno.test("fake rancher refuses what Rancher refuses", async () => {
  const fake = new FakeRancher();
  const auth = { authorization: `Bearer ${fake.accessKey}:${fake.secretKey}` };
  const post = async (path: string, body: unknown) =>
    await fake.app.request(`http://r${path}`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify(body),
    });
  const cluster = "c-m-7x2k9q4d";
  const limit = { limitsCpu: "2000m" };
  let res = await post("/v3/projects", { name: "a", clusterId: cluster, resourceQuota: { limit } });
  assert.equal(res.status, 422);
  assert.match(await res.text(), /namespaceDefaultResourceQuota is required/);
  res = await post("/v3/projects", {
    name: "a",
    clusterId: cluster,
    resourceQuota: { limit },
    namespaceDefaultResourceQuota: { limit: { limitsCpu: "3" } },
  });
  assert.equal(res.status, 422, "a namespace default above the project limit");
  res = await post("/v3/projects", {
    name: "a",
    clusterId: cluster,
    resourceQuota: { limit: { limitsCpu: "two" } },
    namespaceDefaultResourceQuota: { limit: { limitsCpu: "two" } },
  });
  assert.equal(res.status, 422, "not a quantity");
  assert.equal((await post("/v3/projects", { name: "a", clusterId: "c-nope" })).status, 422);
  res = await post("/v3/projects", { name: "a", clusterId: cluster });
  assert.equal(res.status, 201);
  const { id } = await res.json() as { id: string };
  res = await post("/v3/projectroletemplatebindings", {
    projectId: id,
    roleTemplateId: "project-member",
    groupPrincipalId: "keycloakoidc_group://g",
    userId: "u-1",
  });
  assert.equal(res.status, 422, "exactly one subject");
  res = await post("/v3/projectroletemplatebindings", {
    projectId: id,
    roleTemplateId: "project-member",
    groupPrincipalId: "keycloakoidc_group://g",
  });
  assert.equal(res.status, 201);
  const prtb = await res.json() as { id: string };
  res = await fake.app.request(`http://r/v3/projectroletemplatebindings/${prtb.id}`, {
    method: "PUT",
    headers: auth,
    body: JSON.stringify({ roleTemplateId: "read-only" }),
  });
  assert.equal(res.status, 422, "bindings are immutable");
  res = await post(`/k8s/clusters/${cluster}/api/v1/namespaces`, {
    metadata: { name: "Bad_Name" },
  });
  assert.equal(res.status, 422);
  assert.equal((await fake.app.request("http://r/v3/projects")).status, 401);
});

type OpenApi = {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
};

Deno.test("every Keycloak request of a Rancher scenario is a spec operation with known parameters", async () => {
  const spec = JSON.parse(
    Deno.readTextFileSync(
      new URL("../spec/keycloak-admin-openapi.json", import.meta.url),
    ),
  ) as OpenApi;
  using site = makeRancherSite({ keycloak: true });
  const sent: { method: string; url: URL }[] = [];
  site.intercept = (request, next) => {
    const url = new URL(request.url);
    if (url.hostname === "keycloak.test") sent.push({ method: request.method, url });
    return next(request);
  };
  const ann = site.keycloak.addUser("waldur", "ann");
  const a = orderProject(site, "Alpha");
  orderProject(site, "Beta");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: ann }, { username: "ghost" }]);
  await syncMembership(site.offering.context);
  site.waldur.setTeam("proj", []);
  await syncMembership(site.offering.context);
  site.waldur.orderTerminate(a.resource);
  await processOrders(site.offering.context);
  await site.backend.diagnose();
  const admin = sent.filter((s) => s.url.pathname.startsWith("/admin/"));
  const operations = new Set<string>();
  for (const s of admin) {
    const match = Object.entries(spec.paths).find(([template, ops]) =>
      new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(s.url.pathname) &&
      ops[s.method.toLowerCase()]
    );
    assert.ok(match, `${s.method} ${s.url.pathname} is not in the spec`);
    const op = match[1][s.method.toLowerCase()]!;
    operations.add(`${s.method} ${match[0]}`);
    for (const key of s.url.searchParams.keys()) {
      assert.ok(
        op.parameters?.some((p) => p.in === "query" && p.name === key),
        `${s.url.pathname}: ${key}`,
      );
    }
  }
  assert.ok(operations.size >= 9, [...operations].join("\n"));
});

Deno.test("rancher ca_file: every Rancher request goes through the fetch that trusts that CA", async () => {
  const seen: string[] = [];
  const pems: string[] = [];
  using site = makeRancherSite({
    settings: "ca_file: /etc/berth/rancher-ca.pem, verify_cert: false",
    files: { "/etc/berth/rancher-ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n" },
    tlsFetch: (pem, next) => {
      pems.push(pem);
      return (r) => {
        seen.push(new URL(r.url).hostname);
        return next(r);
      };
    },
  });
  orderProject(site, "Analytics");
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.deepEqual(pems, ["-----BEGIN CERTIFICATE-----\nMIIB\n"]);
  assert.ok(seen.length >= 4 && seen.every((h) => h === "rancher.test"));
  assert.ok(site.logs.some((l) => l.includes("give Rancher's CA certificate with ca_file")));
  assert.throws(
    () => makeRancherSite({ settings: "ca_file: /nope.pem" }),
    /rancher: cannot read ca_file \/nope.pem/,
  );
});
