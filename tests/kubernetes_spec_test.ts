/**
 * The fake Rancher's Kubernetes proxy and the Rancher client's Kubernetes calls against the
 * Kubernetes 1.36 swagger: every route the proxy serves is a spec operation; every request the
 * client sends (namespaces, pods, claims, Secrets, ServiceAccounts; alone and in a full Rancher
 * scenario) is one, with known parameters and a body that validates (a Secret as a Secret, the
 * ServiceAccount merge patch as a part of a ServiceAccount, with a media type the operation
 * consumes); and every answer the fake gives them validates against the operation's response.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { RegistryAccess } from "../lib/registry_access.ts";
import { reportUsage } from "../lib/usage.ts";
import { createRancherClient } from "../lib/rancher/client.ts";
import { FakeRancher } from "../lib/rancher/fake.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";
import { StubRobots } from "./support/robots.ts";
import { type Exchange, record, type Swagger, swaggerCheck } from "./support/swagger.ts";

const SPEC = new URL("../spec/kubernetes-release-1.36-swagger.json", import.meta.url);
const spec = JSON.parse(Deno.readTextFileSync(SPEC)) as Swagger;
const PROXY = /^\/k8s\/clusters\/[^/]+(?=\/)/;
const check = swaggerCheck(
  spec,
  "kubernetes",
  (path) => PROXY.test(path) ? path.replace(PROXY, "") : undefined,
);
const CLUSTER = "c-m-7x2k9q4d";
const k8s = (url: URL) => url.pathname.startsWith("/k8s/");

/** Every problem of the exchanges, requests and answers; and the operations they used. */
function problems(sent: Exchange[]): { problems: string[]; operations: Set<string> } {
  const operations = new Set<string>();
  const out: string[] = [];
  for (const s of sent) {
    operations.add(`${s.method} ${check.template(s.method, s.url.pathname)}`);
    out.push(...check.request(s.method, s.url, s.headers, s.body));
    out.push(...check.response(s.method, s.url, s.status, s.answer));
  }
  return { problems: out, operations };
}

Deno.test("every route the fake Rancher's Kubernetes proxy serves is a spec operation", () => {
  const fake = new FakeRancher();
  const routes = fake.app.routes.filter((r) =>
    r.method !== "ALL" && r.path.startsWith("/k8s/clusters/:cluster/")
  );
  assert.ok(routes.length >= 16, routes.map((r) => `${r.method} ${r.path}`).join("\n"));
  for (const r of routes) {
    const template = r.path.replace("/k8s/clusters/:cluster", "").replace(/:(\w+)/g, "{$1}");
    const ops = spec.paths[template];
    assert.ok(ops, `${template} is not in the spec`);
    assert.ok(r.method.toLowerCase() in ops, `${r.method} ${template} is not in the spec`);
  }
});

Deno.test("the Kubernetes check catches a wrong body, an unknown field, parameter or media type", () => {
  const json = new Headers({ "content-type": "application/json" });
  const url = (p: string) => new URL(`http://r/k8s/clusters/${CLUSTER}/api/v1${p}`);
  const secret = { metadata: { name: "s" }, type: "Opaque", data: { k: "dg==" } };
  assert.deepEqual(check.request("POST", url("/namespaces/a/secrets"), json, secret), []);
  assert.equal(
    check.request("POST", url("/namespaces/a/secrets"), json, { ...secret, data: { k: 1 } })
      .length,
    1,
  );
  assert.equal(
    check.request("POST", url("/namespaces/a/secrets"), json, { ...secret, datum: {} }).length,
    1,
  );
  assert.equal(
    check.request("GET", url("/namespaces/a/secrets?labelSeletor=x"), json, undefined)
      .length,
    1,
  );
  assert.equal(
    check.request("GET", url("/namespaces/a/secrets?limit=ten"), json, undefined)
      .length,
    1,
  );
  const patch = { imagePullSecrets: [{ name: "p" }] };
  assert.equal(
    check.request("PATCH", url("/namespaces/a/serviceaccounts/default"), json, patch).length,
    1,
    "a patch says which kind of patch it is",
  );
  const merge = new Headers({ "content-type": "application/merge-patch+json" });
  assert.deepEqual(
    check.request("PATCH", url("/namespaces/a/serviceaccounts/default"), merge, patch),
    [],
  );
  assert.equal(
    check.request("PATCH", url("/namespaces/a/serviceaccounts/default"), merge, {
      imagePullSecrets: ["p"],
    }).length,
    1,
  );
  assert.equal(check.request("GET", url("/namespaces/a/secret"), json, undefined).length, 1);
});

Deno.test("every Kubernetes request of the Rancher client, and the fake's answer, conforms to the swagger", async () => {
  const fake = new FakeRancher();
  const sent: Exchange[] = [];
  const c = createRancherClient({
    url: "http://rancher.test",
    auth: { accessKey: fake.accessKey, secretKey: fake.secretKey },
    clock: new ManualClock(),
    pageSize: 2,
    fetch: (r) => record(r, async (x) => await fake.app.request(x), { into: sent, when: k8s }),
  });
  const project = await c.createProject({
    name: "team",
    clusterId: CLUSTER,
    description: "",
    annotations: {},
    resourceQuota: null,
    namespaceDefaultResourceQuota: null,
  });
  for (const name of ["team-a", "team-b"]) {
    await c.createNamespace(CLUSTER, {
      name,
      labels: {},
      annotations: { "field.cattle.io/projectId": project.id },
    });
  }
  fake.addPod(CLUSTER, "team-a", "web", { containers: [{ requests: { cpu: "1" } }] });
  fake.addPvc(CLUSTER, "team-a", "data", "1Gi");
  await c.listNamespaces(CLUSTER, project.id.split(":")[1]);
  await c.namespace(CLUSTER, "team-a");
  await c.namespace(CLUSTER, "nope");
  await c.listActivePods(CLUSTER);
  await c.listPvcs(CLUSTER);
  await c.listPvcs(CLUSTER, "team-a");
  const secret = (n: number) => ({
    namespace: "team-a",
    name: `pull-${n}`,
    labels: { "berth.io/managed": "true" },
    annotations: { "berth.io/resource": "r1" },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": btoa(JSON.stringify({ auths: { "h.test": { auth: `${n}` } } })) },
  });
  const made = [];
  for (const n of [1, 2, 3]) made.push(await c.createSecret(CLUSTER, secret(n)));
  await c.createSecret(CLUSTER, secret(1)).catch(() => {});
  await c.listSecrets(CLUSTER, { namespace: "team-a", labelSelector: "berth.io/managed=true" });
  await c.listSecrets(CLUSTER, { labelSelector: "berth.io/managed" });
  const read = await c.secret(CLUSTER, { namespace: "team-a", name: "pull-1" });
  await c.replaceSecret(CLUSTER, { ...secret(1), resourceVersion: "1" }).catch(() => {});
  await c.replaceSecret(CLUSTER, {
    ...secret(1),
    resourceVersion: read?.metadata.resourceVersion ?? "",
  });
  await c.deleteSecret(CLUSTER, {
    namespace: "team-a",
    name: "pull-2",
    resourceVersion: made[1]?.metadata.resourceVersion ?? "",
  });
  await c.deleteSecret(CLUSTER, { namespace: "team-a", name: "pull-3" });
  await c.deleteSecret(CLUSTER, { namespace: "team-a", name: "pull-3" });
  const sa = await c.serviceAccount(CLUSTER, { namespace: "team-a", name: "default" });
  await c.setImagePullSecrets(CLUSTER, {
    namespace: "team-a",
    name: "default",
    resourceVersion: sa?.metadata.resourceVersion ?? "",
    imagePullSecrets: ["pull-1"],
  });
  await c.serviceAccount(CLUSTER, { namespace: "team-a", name: "robot" });
  await c.listServiceAccounts(CLUSTER, "default");
  await c.listServiceAccounts(CLUSTER);
  const { problems: found, operations } = problems(sent);
  assert.deepEqual(found, []);
  assert.ok(operations.size >= 14, [...operations].join("\n"));
  assert.ok(sent.some((s) => s.status === 409) && sent.some((s) => s.status === 404));
});

Deno.test("every Kubernetes request of a Rancher scenario, and the fake's answer, conforms to the swagger", async () => {
  using site = makeRancherSite();
  const sent: Exchange[] = [];
  site.intercept = (request, next) => record(request, next, { into: sent, when: k8s });
  const a = orderProject(site, "Alpha");
  orderProject(site, "Beta");
  await processOrders(site.offering.context);
  site.rancher.addPod(site.cluster, "kube-system", "dns", {
    containers: [{ requests: { cpu: "100m" } }],
  });
  await reportUsage(site.offering.context);
  site.waldur.orderTerminate(a.resource);
  await processOrders(site.offering.context);
  await site.backend.diagnose();
  const { problems: found, operations } = problems(sent);
  assert.deepEqual(found, []);
  assert.ok(operations.size >= 3, [...operations].join("\n"));
});

Deno.test("every Kubernetes request of the image pull secrets, and the fake's answer, conforms to the swagger", async () => {
  const registry = new RegistryAccess();
  const robots = new StubRobots();
  registry.provide("harbor", robots);
  using site = makeRancherSite({
    registry,
    settings: "image_pull_secret: {harbor_offering: harbor}",
  });
  const { resource } = orderProject(site, "Alpha");
  await processOrders(site.offering.context);
  const project = site.waldur.resource(resource).project_uuid;
  const sent: Exchange[] = [];
  site.intercept = (request, next) => record(request, next, { into: sent, when: k8s });
  await registry.deliver("harbor", robots.set(project, "robot$berth-proj", "first-secret"));
  site.rancher.addSecret(site.cluster, "waldur-alpha", "other", { data: { k: "v" } });
  robots.set(project, "robot$berth-proj", "second-secret");
  await syncMembership(site.offering.context);
  await site.backend.plan([]);
  robots.delete(project);
  await registry.revoke("harbor", project);
  const { problems: found, operations } = problems(sent);
  assert.deepEqual(found, []);
  assert.ok(operations.size >= 8, [...operations].join("\n"));
});
