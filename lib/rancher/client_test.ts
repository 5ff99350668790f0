/** The Rancher client against the fake Rancher: paging on both APIs, and its auth. */
import assert from "node:assert/strict";
import { ManualClock } from "../../testing/manual_clock.ts";
import { createRancherClient, isConflict } from "./client.ts";
import { FakeRancher } from "./fake.ts";
import { objectMeta } from "./fake/state.ts";

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

const CLUSTER = "c-m-7x2k9q4d";

/** A client on a fake with namespace `team-a` (and its default ServiceAccount). */
async function withNamespace(pageSize = 2) {
  const fake = new FakeRancher();
  const { c, sent } = client(fake, undefined, pageSize);
  await c.createNamespace(CLUSTER, { name: "team-a", labels: {}, annotations: {} });
  sent.length = 0;
  return { fake, c, sent };
}

function pullSecret(data: string, labels: Record<string, string> = { "berth.io/managed": "true" }) {
  return {
    namespace: "team-a",
    name: "harbor-pull",
    labels,
    annotations: { "berth.io/owner": "waldur-team" },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": btoa(JSON.stringify({ auths: { "h.test": { auth: data } } })) },
  };
}

Deno.test("rancher client: a Secret replaced on a stale resourceVersion is a 409; read again, the replace goes through", async () => {
  const { fake, c } = await withNamespace();
  const made = await c.createSecret(CLUSTER, pullSecret("one"));
  assert.equal(made.metadata.resourceVersion !== undefined, true);
  assert.equal("data" in made, false, "a write's answer keeps no data");
  await assert.rejects(c.createSecret(CLUSTER, pullSecret("again")), isConflict);
  fake.alter("secrets", { cluster: CLUSTER, namespace: "team-a", name: "harbor-pull" });
  const stale = { ...pullSecret("two"), resourceVersion: made.metadata.resourceVersion ?? "" };
  await assert.rejects(c.replaceSecret(CLUSTER, stale), (e) => {
    assert.ok(isConflict(e));
    assert.match(e.message, /replace secret team-a\/harbor-pull: .*409.*has been modified/);
    return true;
  });
  const read = await c.secret(CLUSTER, { namespace: "team-a", name: "harbor-pull" });
  assert.ok(read?.metadata.resourceVersion);
  assert.notEqual(read.metadata.resourceVersion, made.metadata.resourceVersion);
  const replaced = await c.replaceSecret(CLUSTER, {
    ...pullSecret("two"),
    resourceVersion: read.metadata.resourceVersion,
  });
  assert.notEqual(replaced.metadata.resourceVersion, read.metadata.resourceVersion);
  assert.match(
    fake.secretData(CLUSTER, "team-a", "harbor-pull")?.[".dockerconfigjson"] ?? "",
    /two/,
  );
  assert.equal(await c.secret(CLUSTER, { namespace: "team-a", name: "nope" }), null);
});

Deno.test("rancher client: deleting a Secret already gone is fine; on a stale version it is a 409", async () => {
  const { fake, c } = await withNamespace();
  const ref = { namespace: "team-a", name: "harbor-pull" };
  const made = await c.createSecret(CLUSTER, pullSecret("one"));
  fake.alter("secrets", { cluster: CLUSTER, ...ref }, (s) => {
    s.metadata.labels = {};
  });
  await assert.rejects(
    c.deleteSecret(CLUSTER, { ...ref, resourceVersion: made.metadata.resourceVersion ?? "" }),
    isConflict,
  );
  assert.ok(fake.secretData(CLUSTER, "team-a", "harbor-pull"), "another writer's Secret stays");
  await c.deleteSecret(CLUSTER, ref);
  assert.equal(fake.secretData(CLUSTER, "team-a", "harbor-pull"), undefined);
  await c.deleteSecret(CLUSTER, ref);
});

Deno.test("rancher client: Secrets listed by label selector, paged by continue, without their data", async () => {
  const { fake, c, sent } = await withNamespace();
  await c.createNamespace(CLUSTER, { name: "team-b", labels: {}, annotations: {} });
  for (const i of [1, 2, 3, 4]) {
    await c.createSecret(CLUSTER, { ...pullSecret(`${i}`), name: `pull-${i}` });
  }
  await c.createSecret(CLUSTER, { ...pullSecret("b"), namespace: "team-b" });
  fake.addSecret(CLUSTER, "team-a", "theirs", { data: { token: "x" } });
  fake.addSecret(CLUSTER, "team-a", "look-alike", {
    data: { token: "x" },
    labels: { "berth.io/managed": "false" },
  });
  sent.length = 0;
  const listed = await c.listSecrets(CLUSTER, {
    namespace: "team-a",
    labelSelector: "berth.io/managed=true",
  });
  assert.deepEqual(listed.map((s) => s.metadata.name), ["pull-1", "pull-2", "pull-3", "pull-4"]);
  assert.ok(listed.every((s) => !("data" in s) && s.type === "kubernetes.io/dockerconfigjson"));
  assert.deepEqual(sent.map((u) => u.searchParams.has("continue")), [false, true]);
  assert.ok(sent.every((u) => u.searchParams.get("labelSelector") === "berth.io/managed=true"));
  const everywhere = await c.listSecrets(CLUSTER, { labelSelector: "berth.io/managed" });
  assert.equal(everywhere.length, 6, "the key form matches any value; team-b's too");
  assert.equal(sent.at(-1)?.pathname, `/k8s/clusters/${CLUSTER}/api/v1/secrets`);
});

Deno.test("rancher client: a namespace has its default ServiceAccount; imagePullSecrets set on the version read, 409 on a stale one", async () => {
  const { fake, c } = await withNamespace();
  const ref = { namespace: "team-a", name: "default" };
  const sa = await c.serviceAccount(CLUSTER, ref);
  assert.ok(sa?.metadata.resourceVersion);
  assert.deepEqual(sa.imagePullSecrets ?? [], []);
  fake.alter("serviceaccounts", { cluster: CLUSTER, ...ref }, (x) => {
    x.automountServiceAccountToken = false;
  });
  const change = {
    ...ref,
    resourceVersion: sa.metadata.resourceVersion,
    imagePullSecrets: ["theirs", "harbor-pull"],
  };
  await assert.rejects(c.setImagePullSecrets(CLUSTER, change), isConflict);
  const again = await c.serviceAccount(CLUSTER, ref);
  const set = await c.setImagePullSecrets(CLUSTER, {
    ...change,
    resourceVersion: again?.metadata.resourceVersion ?? "",
  });
  assert.deepEqual(set.imagePullSecrets, [{ name: "theirs" }, { name: "harbor-pull" }]);
  const stored = fake.object("serviceaccounts", CLUSTER, "team-a", "default");
  assert.equal(stored?.automountServiceAccountToken, false, "what Berth does not model stays");
  assert.equal(await c.serviceAccount(CLUSTER, { namespace: "team-a", name: "robot" }), null);
});

Deno.test("rancher client: ServiceAccounts of one name listed cluster-wide in one paged list, pull secrets only", async () => {
  const { fake, c, sent } = await withNamespace(1);
  for (const name of ["team-b", "team-c"]) {
    await c.createNamespace(CLUSTER, { name, labels: {}, annotations: {} });
  }
  fake.store("serviceaccounts", CLUSTER, {
    metadata: { ...objectMeta("builder", "team-b"), namespace: "team-b" },
    secrets: [{ name: "token" }],
  });
  fake.alter("serviceaccounts", { cluster: CLUSTER, namespace: "team-c", name: "default" }, (x) => {
    x.imagePullSecrets = [{ name: "harbor-pull" }];
    x.secrets = [{ name: "token" }];
  });
  sent.length = 0;
  const found = await c.listServiceAccounts(CLUSTER, "default");
  assert.deepEqual(
    found.map((sa) => [sa.metadata.namespace, (sa.imagePullSecrets ?? []).map((x) => x.name)]),
    [["kube-system", []], ["team-a", []], ["team-b", []], ["team-c", ["harbor-pull"]]],
  );
  assert.ok(found.every((sa) => !("secrets" in sa)), "only metadata and imagePullSecrets kept");
  assert.equal(sent.length, 4, "one list, a page per account");
  assert.ok(sent.every((u) => u.searchParams.get("fieldSelector") === "metadata.name=default"));
  assert.equal((await c.listServiceAccounts(CLUSTER)).length, 5);
});

Deno.test("rancher client: a Secret or ServiceAccount name Kubernetes would refuse is never sent", async () => {
  const { c, sent } = await withNamespace();
  for (
    const call of [
      () => c.secret(CLUSTER, { namespace: "team-a", name: "../pods" }),
      () => c.serviceAccount(CLUSTER, { namespace: "Team_A", name: "default" }),
      () => c.createSecret(CLUSTER, { ...pullSecret("x"), name: "Harbor Pull" }),
      () => c.listSecrets(CLUSTER, { namespace: "a/b", labelSelector: "x" }),
    ]
  ) {
    await assert.rejects(call(), /refusing ".*" is not a valid Kubernetes/);
  }
  assert.deepEqual(sent, []);
});
