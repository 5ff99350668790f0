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

Deno.test("fake rancher's Secrets and ServiceAccounts refuse what Kubernetes refuses, as Status bodies", async () => {
  const fake = new FakeRancher();
  const cluster = "c-m-7x2k9q4d";
  const base = `http://r/k8s/clusters/${cluster}/api/v1`;
  const send = async (method: string, path: string, body?: unknown, type = "application/json") =>
    await fake.app.request(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${fake.accessKey}:${fake.secretKey}`,
        "content-type": type,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const status = async (res: Response) => {
    const body = await res.json() as { kind: string; reason: string; code: number };
    assert.equal(body.kind, "Status");
    assert.equal(body.code, res.status);
    return `${res.status} ${body.reason}`;
  };
  const secret = (type: string, data: Record<string, string>, rv?: string) => ({
    metadata: { name: "pull", labels: { app: "x" }, ...(rv ? { resourceVersion: rv } : {}) },
    type,
    data,
  });
  const docker = { ".dockerconfigjson": btoa('{"auths":{}}') };
  assert.equal(
    await status(await send("POST", "/namespaces/team/secrets", secret("Opaque", {}))),
    "404 NotFound",
    "no such namespace",
  );
  assert.equal(
    (await send("POST", "/namespaces", { metadata: { name: "team" } })).status,
    201,
  );
  assert.ok(fake.object("serviceaccounts", cluster, "team", "default"), "made with the namespace");
  assert.equal(
    await status(
      await send("POST", "/namespaces/team/secrets", secret("kubernetes.io/dockerconfigjson", {})),
    ),
    "422 Invalid",
    "a docker config Secret without .dockerconfigjson",
  );
  assert.equal(
    await status(await send("POST", "/namespaces/team/secrets", secret("Opaque", { k: "%%" }))),
    "400 BadRequest",
    "not base64",
  );
  let res = await send(
    "POST",
    "/namespaces/team/secrets",
    secret("kubernetes.io/dockerconfigjson", docker),
  );
  assert.equal(res.status, 201);
  const rv = (await res.json() as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  assert.equal(
    await status(
      await send(
        "POST",
        "/namespaces/team/secrets",
        secret("kubernetes.io/dockerconfigjson", docker),
      ),
    ),
    "409 AlreadyExists",
  );
  assert.equal(
    await status(await send("PUT", "/namespaces/team/secrets/pull", secret("Opaque", {}, rv))),
    "422 Invalid",
    "a Secret's type never changes",
  );
  fake.alter("secrets", { cluster, namespace: "team", name: "pull" });
  assert.equal(
    await status(
      await send(
        "PUT",
        "/namespaces/team/secrets/pull",
        secret("kubernetes.io/dockerconfigjson", docker, rv),
      ),
    ),
    "409 Conflict",
  );
  assert.equal(
    await status(await send("GET", "/namespaces/team/secrets/nope")),
    "404 NotFound",
  );
  assert.equal(
    await status(
      await send("PUT", "/namespaces/team/secrets/nope", { metadata: { name: "nope" } }),
    ),
    "404 NotFound",
  );
  assert.equal(
    (await send("GET", "/namespaces/team/secrets?labelSelector=app,!other,app!=y")).status,
    200,
  );
  res = await send("GET", "/secrets?labelSelector=app%3Dz");
  assert.deepEqual((await res.json() as { items: unknown[] }).items, []);
  res = await send("DELETE", "/namespaces/team/secrets/pull");
  assert.equal((await res.json() as { status: string }).status, "Success");
  assert.equal(
    await status(await send("DELETE", "/namespaces/team/secrets/pull")),
    "404 NotFound",
  );
  const patch = { imagePullSecrets: [{ name: "pull" }] };
  assert.equal(
    await status(await send("PATCH", "/namespaces/team/serviceaccounts/default", patch)),
    "415 UnsupportedMediaType",
    "the fake takes merge patches only",
  );
  const merge = "application/merge-patch+json";
  assert.equal(
    await status(
      await send("PATCH", "/namespaces/team/serviceaccounts/default", {
        imagePullSecrets: "pull",
      }, merge),
    ),
    "422 Invalid",
  );
  res = await send("PATCH", "/namespaces/team/serviceaccounts/default", patch, merge);
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json() as typeof patch).imagePullSecrets, [{ name: "pull" }]);
  assert.equal(
    await status(
      await send("GET", "/namespaces/team/serviceaccounts/robot"),
    ),
    "404 NotFound",
  );
  assert.equal((await send("DELETE", "/namespaces/team")).status, 200);
  assert.equal(fake.object("serviceaccounts", cluster, "team", "default"), undefined);
});
