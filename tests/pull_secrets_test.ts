/**
 * Image pull secrets end to end: a Rancher offering with `image_pull_secret`, a stub Harbor
 * side registered on the site's RegistryAccess, the fake Rancher, the real order and membership
 * processors. Every namespace of a team holds its robot's current credential and the
 * ServiceAccount lists it; new namespaces, rotations, lost copies, a gone robot, busy projects,
 * conflicts and foreign Secrets; and the credential is nowhere but Harbor and the Secrets.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { RegistryAccess, type RobotCredential } from "../lib/registry_access.ts";
import { pullSecretsPresentation } from "../lib/rancher/pull_present.ts";
import { createApp } from "../routes/app.tsx";
import {
  addProjectNamespace,
  makeRancherSite,
  orderProject,
  type RancherSite,
} from "./support/rancher.ts";
import { REGISTRY, StubRobots } from "./support/robots.ts";

const ROBOT = "robot$berth-proj";
const PASSWORD = "s3cret-robot-password-0001";

interface PullSite {
  site: RancherSite;
  robots: StubRobots;
  registry: RegistryAccess;
  projectUuid: string;
  projectId: string;
  [Symbol.dispose](): void;
}

/** A Rancher site consuming the stub's robots, with project Alpha made (namespace waldur-alpha). */
async function pullSite(settings = ""): Promise<PullSite> {
  const registry = new RegistryAccess();
  const robots = new StubRobots();
  registry.provide("harbor", robots);
  const site = makeRancherSite({
    registry,
    settings: `image_pull_secret: {harbor_offering: harbor${settings}}`,
  });
  const { resource } = orderProject(site, "Alpha");
  const done = await processOrders(site.offering.context);
  assert.equal(done.outcome, "ok", done.error);
  // a first pass: it finds which Rancher projects are the team's (a delivery writes only there)
  assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
  const r = site.waldur.resource(resource);
  return {
    site,
    robots,
    registry,
    projectUuid: r.project_uuid,
    projectId: r.backend_id,
    [Symbol.dispose]: () => site.close(),
  };
}

/** Adds a namespace to a Rancher project behind Berth's back. */
function addNamespace(s: PullSite, name: string): void {
  addProjectNamespace(s.site.rancher, s.projectId, name);
}

function secret(s: PullSite, ns: string, name = "harbor-pull") {
  return s.site.rancher.object("secrets", s.site.cluster, ns, name);
}

function auths(s: PullSite, ns: string): Record<string, Record<string, string>> {
  const data = s.site.rancher.secretData(s.site.cluster, ns, "harbor-pull");
  return JSON.parse(data?.[".dockerconfigjson"] ?? "{}").auths;
}

function pullSecretsOf(s: PullSite, ns: string, account = "default"): string[] {
  const sa = s.site.rancher.object("serviceaccounts", s.site.cluster, ns, account);
  return ((sa?.imagePullSecrets ?? []) as { name: string }[]).map((x) => x.name);
}

function row(s: PullSite) {
  return s.site.backend.pullSecretRows().find((r) => r.projectUuid === s.projectUuid);
}

async function pass(s: PullSite) {
  const result = await syncMembership(s.site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  return result;
}

/** Delivers the team's robot as Harbor does when it makes one. */
async function deliver(s: PullSite, password = PASSWORD): Promise<RobotCredential> {
  const credential = s.robots.set(s.projectUuid, ROBOT, password);
  assert.deepEqual(await s.registry.deliver("harbor", credential), []);
  return credential;
}

Deno.test("pull secrets: a delivered robot is in every namespace, the ServiceAccount lists it; a second pass writes nothing", async () => {
  using s = await pullSite();
  addNamespace(s, "alpha-web");
  await deliver(s);
  for (const ns of ["waldur-alpha", "alpha-web"]) {
    const written = secret(s, ns);
    assert.equal(written?.type, "kubernetes.io/dockerconfigjson");
    assert.equal(written?.metadata.labels["app.kubernetes.io/managed-by"], "berth");
    assert.equal(written?.metadata.annotations["waldur/project-uuid"], s.projectUuid);
    assert.equal(written?.metadata.annotations["berth/robot"], ROBOT);
    assert.equal(written?.metadata.annotations["berth/robot-expires-at"], "1900000000");
    assert.equal(written?.metadata.annotations["berth/secret-digest"]?.length, 32);
    assert.deepEqual(auths(s, ns), {
      [REGISTRY]: { username: ROBOT, password: PASSWORD, auth: btoa(`${ROBOT}:${PASSWORD}`) },
    });
    assert.deepEqual(pullSecretsOf(s, ns), ["harbor-pull"]);
  }
  assert.deepEqual(row(s), {
    project: "proj",
    projectUuid: s.projectUuid,
    robot: ROBOT,
    expiresAt: 1_900_000_000,
    current: 2,
    namespaces: 2,
    flags: [],
  });
  const before = s.site.rancher.writes().length;
  await pass(s);
  await pass(s);
  assert.deepEqual(s.site.rancher.writes().slice(before), []);
  assert.equal(s.robots.refreshes, 0);
  assert.equal(row(s)?.current, 2);
});

Deno.test("pull secrets: a namespace made later gets a copy at the next pass, read from a copy, not refreshed", async () => {
  using s = await pullSite();
  await deliver(s);
  addNamespace(s, "alpha-jobs");
  await pass(s);
  assert.deepEqual(auths(s, "alpha-jobs")[REGISTRY]?.password, PASSWORD);
  assert.deepEqual(pullSecretsOf(s, "alpha-jobs"), ["harbor-pull"]);
  assert.equal(s.robots.refreshes, 0);
  const reads = s.site.rancher.requests.filter((r) =>
    r.method === "GET" && r.path.includes("/secrets/harbor-pull")
  );
  assert.equal(reads.length, 1, "one copy read, with its data");
  assert.equal(row(s)?.current, 2);
});

Deno.test("pull secrets: a rotated robot replaces every copy in place; a robot rotated elsewhere is refreshed once", async () => {
  using s = await pullSite();
  addNamespace(s, "alpha-web");
  await deliver(s);
  const uid = secret(s, "alpha-web")?.metadata.uid;
  await deliver(s, "rotated-password-0002");
  assert.equal(secret(s, "alpha-web")?.metadata.uid, uid, "replaced, not recreated");
  assert.equal(auths(s, "alpha-web")[REGISTRY]?.password, "rotated-password-0002");
  assert.equal(auths(s, "waldur-alpha")[REGISTRY]?.password, "rotated-password-0002");

  // Harbor's secret changed without a delivery: no copy holds it, so the robot is refreshed
  s.robots.set(s.projectUuid, ROBOT, "changed-elsewhere-0003");
  await pass(s);
  assert.equal(s.robots.refreshes, 1);
  const now = s.robots.credential(s.projectUuid).password;
  assert.match(now, /^refreshed-secret-1-/);
  for (const ns of ["waldur-alpha", "alpha-web"]) {
    assert.equal(auths(s, ns)[REGISTRY]?.password, now);
    assert.equal(secret(s, ns)?.metadata.uid === uid, ns === "alpha-web");
  }
  await pass(s);
  assert.equal(s.robots.refreshes, 1, "settled");
});

Deno.test("pull secrets: no readable copy refreshes once; after a restart, copies that agree are current", async () => {
  using s = await pullSite();
  addNamespace(s, "alpha-web");
  await deliver(s);
  // a restart: the Harbor side knows the robot, not its digest; the copies agree
  s.robots.forgetDigests();
  const before = s.site.rancher.writes().length;
  await pass(s);
  assert.deepEqual(s.site.rancher.writes().slice(before), []);
  assert.equal(row(s)?.current, 2);

  // the copies disagree: none can be told current, the robot is refreshed and all rewritten
  s.site.rancher.alter("secrets", {
    cluster: s.site.cluster,
    namespace: "alpha-web",
    name: "harbor-pull",
  }, (x) => {
    x.metadata.annotations["berth/secret-digest"] = "0".repeat(32);
  });
  await pass(s);
  assert.equal(s.robots.refreshes, 1);
  const now = s.robots.credential(s.projectUuid).password;
  assert.equal(auths(s, "alpha-web")[REGISTRY]?.password, now);
  assert.equal(auths(s, "waldur-alpha")[REGISTRY]?.password, now);

  // a copy whose data is not the secret its digest names is not copied: a refresh instead
  addNamespace(s, "alpha-new");
  s.site.rancher.alter("secrets", {
    cluster: s.site.cluster,
    namespace: "alpha-web",
    name: "harbor-pull",
  }, (x) => {
    x.data = {
      ".dockerconfigjson": btoa(
        JSON.stringify({ auths: { [REGISTRY]: { username: ROBOT, password: "forged" } } }),
      ),
    };
  });
  s.site.rancher.alter("secrets", {
    cluster: s.site.cluster,
    namespace: "waldur-alpha",
    name: "harbor-pull",
  }, (x) => {
    x.data = { ".dockerconfigjson": btoa("not json") };
  });
  await pass(s);
  assert.equal(s.robots.refreshes, 2);
  const last = s.robots.credential(s.projectUuid).password;
  for (const ns of ["waldur-alpha", "alpha-web", "alpha-new"]) {
    assert.equal(auths(s, ns)[REGISTRY]?.password, last);
  }
});

Deno.test("pull secrets: a revoked robot's copies and ServiceAccount entries go; what Berth did not write stays", async () => {
  using s = await pullSite();
  addNamespace(s, "alpha-web");
  addNamespace(s, "alpha-ops");
  const cluster = s.site.cluster;
  // someone else's Secret of the same name, and one of another name
  s.site.rancher.addSecret(cluster, "alpha-ops", "harbor-pull", {
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": JSON.stringify({ auths: { "other.test": { auth: "eA==" } } }) },
  });
  s.site.rancher.addSecret(cluster, "alpha-web", "theirs", { data: { k: "v" } });
  s.site.rancher.alter(
    "serviceaccounts",
    { cluster, namespace: "alpha-web", name: "default" },
    (x) => {
      x.imagePullSecrets = [{ name: "theirs" }];
    },
  );
  await deliver(s);
  const foreign = structuredClone(secret(s, "alpha-ops"));
  assert.deepEqual(secret(s, "alpha-ops"), foreign, "not overwritten");
  assert.deepEqual(
    pullSecretsOf(s, "alpha-ops"),
    [],
    "not listed for a Secret Berth did not write",
  );
  assert.deepEqual(pullSecretsOf(s, "alpha-web"), ["theirs", "harbor-pull"]);
  await pass(s);
  assert.deepEqual(row(s)?.flags, ["foreign secret in alpha-ops"]);
  assert.equal(row(s)?.current, 2);
  assert.equal(row(s)?.namespaces, 3);
  assert.deepEqual(secret(s, "alpha-ops"), foreign);

  s.robots.delete(s.projectUuid);
  assert.deepEqual(await s.registry.revoke("harbor", s.projectUuid), []);
  assert.equal(secret(s, "waldur-alpha"), undefined);
  assert.equal(secret(s, "alpha-web"), undefined);
  assert.deepEqual(pullSecretsOf(s, "alpha-web"), ["theirs"]);
  assert.deepEqual(pullSecretsOf(s, "waldur-alpha"), []);
  assert.deepEqual(secret(s, "alpha-ops"), foreign);
  assert.ok(secret(s, "alpha-web", "theirs"));
  const audit = s.site.status.snapshot().events.map((e) => `${e.action} ${e.target}`);
  assert.ok(audit.includes("remove pull secret alpha-web/harbor-pull"), audit.join("\n"));
  await pass(s);
  assert.deepEqual(row(s)?.flags, ["no robot", "foreign secret in alpha-ops"]);
});

Deno.test("pull secrets: a pass removes copies whose team lost its robot, leaves a busy project alone", async () => {
  using s = await pullSite();
  await deliver(s);
  // an order of the same Waldur project in flight: the project is busy
  orderProject(s.site, "Beta");
  s.robots.delete(s.projectUuid);
  await syncMembership(s.site.offering.context);
  assert.ok(secret(s, "waldur-alpha"), "busy: left alone");
  assert.ok(row(s)?.flags.includes("busy"));
  await processOrders(s.site.offering.context);
  await pass(s);
  assert.equal(secret(s, "waldur-alpha"), undefined, "the robot is gone: so is the copy");
  assert.deepEqual(pullSecretsOf(s, "waldur-alpha"), []);
  assert.deepEqual(row(s)?.flags, ["no robot"]);
});

Deno.test("pull secrets: before the Harbor offering has read its robots, a pass changes nothing", async () => {
  using s = await pullSite();
  await deliver(s);
  // a restart: the Harbor side knows no robot until its first pass has read Harbor
  s.robots.delete(s.projectUuid);
  s.robots.observed = false;
  await syncMembership(s.site.offering.context);
  assert.ok(secret(s, "waldur-alpha"), "not taken for a robot that is gone");
  assert.deepEqual(pullSecretsOf(s, "waldur-alpha"), ["harbor-pull"]);
});

Deno.test("pull secrets: a write on a moved-on version reads again once; so does a ServiceAccount patch", async () => {
  using s = await pullSite();
  addNamespace(s, "alpha-web");
  await deliver(s);
  addNamespace(s, "alpha-late");
  s.robots.set(s.projectUuid, ROBOT, "rotated-0004");
  const cluster = s.site.cluster;
  // another writer moves each object on once, just before Berth's first write of it
  const moved = new Set<string>();
  s.site.intercept = async (request, next) => {
    const path = new URL(request.url).pathname;
    const hit = request.method === "PUT" && path.endsWith("/alpha-web/secrets/harbor-pull")
      ? { kind: "secrets" as const, namespace: "alpha-web", name: "harbor-pull" }
      : request.method === "PATCH" && path.endsWith("/alpha-late/serviceaccounts/default")
      ? { kind: "serviceaccounts" as const, namespace: "alpha-late", name: "default" }
      : undefined;
    if (hit && !moved.has(hit.kind)) {
      moved.add(hit.kind);
      s.site.rancher.alter(hit.kind, { cluster, ...hit });
    }
    return await next(request);
  };
  await deliver(s, "rotated-0004");
  assert.equal(auths(s, "alpha-web")[REGISTRY]?.password, "rotated-0004");
  assert.equal(auths(s, "alpha-late")[REGISTRY]?.password, "rotated-0004");
  assert.deepEqual(pullSecretsOf(s, "alpha-late"), ["harbor-pull"]);
  const conflicts = s.site.rancher.requests.filter((r) => r.status === 409);
  assert.equal(conflicts.length, 2);
  assert.equal(row(s)?.current, 3);
});

Deno.test("pull secrets: berth plan lists the writes without reading a Secret's data", async () => {
  using s = await pullSite();
  await deliver(s);
  addNamespace(s, "alpha-web");
  const r = s.site.waldur.resource(s.site.waldur.resources.values().next().value!.uuid);
  const before = s.site.rancher.requests.length;
  const written = s.site.rancher.writes().length;
  const plan = await s.site.backend.plan([{
    resource: {
      uuid: r.uuid,
      name: r.name,
      slug: r.slug,
      projectUuid: r.project_uuid,
      projectSlug: r.project_slug,
      projectName: r.project_name,
      customerUuid: r.customer_uuid,
      customerSlug: r.customer_slug,
      customerName: r.customer_name,
      backendId: r.backend_id,
      limits: { cpu: 4, memory: 8, storage: 100 },
    },
    usernames: [],
  }]);
  assert.deepEqual(plan.filter((p) => p.action !== "set-quota"), [
    {
      action: "write-secret",
      target: "alpha-web/harbor-pull",
      detail: `write pull secret of robot ${ROBOT}`,
    },
    {
      action: "add-pull-secret",
      target: "alpha-web/default",
      detail: "add image pull secret harbor-pull",
    },
  ]);
  const reads = s.site.rancher.requests.slice(before);
  assert.ok(!reads.some((q) => /\/secrets\/[^/?]+/.test(q.path)), "no Secret read one by one");
  assert.equal(s.site.rancher.writes().length, written, "a plan changes nothing");
});

Deno.test("pull secrets: the credential is in no log line, audit event, status, page, metric or Waldur request", async () => {
  using s = await pullSite();
  addNamespace(s, "alpha-web");
  await deliver(s);
  addNamespace(s, "alpha-late");
  await pass(s);
  s.robots.set(s.projectUuid, ROBOT, "changed-elsewhere-0005");
  await pass(s); // refreshed: a password the test did not choose
  const passwords = [
    PASSWORD,
    "changed-elsewhere-0005",
    s.robots.credential(s.projectUuid).password,
  ];
  const app = createApp({ status: s.site.status });
  const surfaces = {
    logs: s.site.logs.join("\n"),
    status: JSON.stringify(s.site.status.snapshot()),
    page: await (await app.request("/?n=500")).text(),
    api: await (await app.request("/api/status")).text(),
    metrics: await (await app.request("/metrics")).text(),
    waldur: JSON.stringify(s.site.waldur.requests),
    store: JSON.stringify(s.site.store.recentAudit(1000)),
  };
  assert.match(surfaces.page, /Image pull secrets/);
  assert.doesNotMatch(surfaces.page, /could not be shown/);
  const published = s.site.status.snapshot().backends[0]?.tables?.["pull-secrets"] ?? [];
  assert.equal(published.length, 1);
  for (const r of published) {
    const cells = pullSecretsPresentation.section.cells(pullSecretsPresentation.schema.parse(r));
    assert.deepEqual(cells[3], { kind: "text", text: "3 of 3" });
  }
  assert.match(
    surfaces.metrics,
    /berth_pull_secret_namespaces\{offering="registry",project="[^"]+",state="current"\} 3/,
  );
  assert.match(surfaces.metrics, /berth_pull_secret_namespaces\{[^}]*state="missing"\} 0/);
  for (const password of passwords) {
    const forms = [password, btoa(`${ROBOT}:${password}`)];
    for (const [where, text] of Object.entries(surfaces)) {
      for (const form of forms) assert.ok(!text.includes(form), `${where} holds the credential`);
    }
  }
  assert.ok(surfaces.logs.length > 0);
});

Deno.test("pull secrets: a Harbor offering that provides no robots is a configuration error", () => {
  assert.throws(
    () => makeRancherSite({ settings: "image_pull_secret: {harbor_offering: harbor}" }),
    /registry access: "harbor" is named as the provider of team robots/,
  );
});
