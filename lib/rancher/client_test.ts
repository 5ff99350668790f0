/** The Rancher client against the fake Rancher: paging on both APIs, and its auth. */
import assert from "node:assert/strict";
import { ManualClock } from "../../testing/manual_clock.ts";
import { createRancherClient } from "./client.ts";
import { FakeRancher } from "./fake.ts";

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
