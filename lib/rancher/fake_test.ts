import assert from "node:assert/strict";
import { FakeRancher } from "./fake.ts";

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
