/**
 * Issue 19 attack review: registry access (team robots, image pull secrets) and OIDC identity
 * repair, tried as a tenant with rights in Rancher or Harbor, as an operator's mistake, and as a
 * lying server. Tests marked `ignore: true` are real findings that fail today (see the report);
 * the others pin what held.
 */
import assert from "node:assert/strict";
import type { BackendPlugin } from "../lib/backend.ts";
import { FakeHarbor } from "../lib/harbor/fake.ts";
import { harborPlugin } from "../lib/harbor/plugin.ts";
import { robotDescription } from "../lib/harbor/robots.ts";
import { runPass } from "../lib/loop.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { RegistryAccess, type RobotCredential } from "../lib/registry_access.ts";
import { objectMeta } from "../lib/rancher/fake/state.ts";
import { PROJECT_ID_KEY } from "../lib/rancher/schemas.ts";
import { makeRancherSite, orderProject, type RancherSite } from "./support/rancher.ts";
import { REGISTRY, StubRobots } from "./support/robots.ts";
import type { HarborSite } from "./support/harbor.ts";
import { buildSite } from "./support/site.ts";
import { createApp } from "../routes/app.tsx";
import { ManualClock } from "../testing/manual_clock.ts";

const ROBOT_A = "robot$berth-proj";
const ROBOT_B = "robot$berth-other";
const PASSWORD_A = "team-a-secret-0001";

interface TwoTeams {
  site: RancherSite;
  robots: StubRobots;
  registry: RegistryAccess;
  /** Team A: Waldur project "proj", Rancher project of resource Alpha (namespace waldur-alpha). */
  a: { projectUuid: string; projectId: string; resource: string };
  /** Team B: Waldur project "other", Rancher project of resource Beta (namespace waldur-beta). */
  b: { projectUuid: string; projectId: string; resource: string };
  [Symbol.dispose](): void;
}

async function twoTeams(): Promise<TwoTeams> {
  const registry = new RegistryAccess();
  const robots = new StubRobots();
  registry.provide("harbor", robots);
  const site = makeRancherSite({
    registry,
    settings: "image_pull_secret: {harbor_offering: harbor}",
  });
  const alpha = orderProject(site, "Alpha");
  const beta = orderProject(site, "Beta", undefined, "other");
  const done = await processOrders(site.offering.context);
  assert.equal(done.outcome, "ok", done.error);
  const ra = site.waldur.resource(alpha.resource);
  const rb = site.waldur.resource(beta.resource);
  // a first pass: it finds which Rancher projects are each team's (a delivery writes only there)
  assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
  return {
    site,
    robots,
    registry,
    a: { projectUuid: ra.project_uuid, projectId: ra.backend_id, resource: ra.uuid },
    b: { projectUuid: rb.project_uuid, projectId: rb.backend_id, resource: rb.uuid },
    [Symbol.dispose]: () => site.close(),
  };
}

function passwordIn(s: TwoTeams, ns: string): string | undefined {
  const data = s.site.rancher.secretData(s.site.cluster, ns, "harbor-pull");
  const auths = JSON.parse(data?.[".dockerconfigjson"] ?? "{}").auths ?? {};
  return auths[REGISTRY]?.password;
}

async function deliver(s: TwoTeams, projectUuid: string, username: string, password: string) {
  const credential: RobotCredential = s.robots.set(projectUuid, username, password);
  return await s.registry.deliver("harbor", credential);
}

async function pass(s: TwoTeams) {
  const result = await syncMembership(s.site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
}

// ---- F1: the delivery path trusts `waldur/project-uuid` alone ------------------------------

Deno.test({
  name:
    "attack19 F1a: a Rancher project annotated with another team's Waldur project does not receive that team's robot",
  ignore: false,
  fn: async () => {
    using s = await twoTeams();
    // team B (a tenant who can edit its Rancher project, or made a project of the prefix)
    // names team A's Waldur project in the annotation; its resource annotation stays its own
    const pb = s.site.rancher.projects.get(s.b.projectId);
    assert.ok(pb);
    pb.annotations["waldur/project-uuid"] = s.a.projectUuid;
    // team A's robot is made, or rotated (every duration_days - rotate_before_days)
    assert.deepEqual(await deliver(s, s.a.projectUuid, ROBOT_A, PASSWORD_A), []);
    assert.equal(passwordIn(s, "waldur-alpha"), PASSWORD_A);
    assert.equal(
      passwordIn(s, "waldur-beta"),
      undefined,
      "team A's robot secret was written into team B's namespace",
    );
  },
});

Deno.test({
  name:
    "attack19 F1b: a resource moved to another Waldur project: the old team's robot is not written into it, and not kept there",
  ignore: false,
  fn: async () => {
    using s = await twoTeams();
    // Waldur staff move resource Beta... here the other way: Alpha2 of team A moves to team B
    const gamma = orderProject(s.site, "Gamma");
    assert.equal((await processOrders(s.site.offering.context)).outcome, "ok");
    const rg = s.site.waldur.resource(gamma.resource);
    rg.project_uuid = s.b.projectUuid;
    rg.project_slug = "other";
    await pass(s);
    // team A's robot is rotated: Gamma's namespace is team B's now
    assert.deepEqual(await deliver(s, s.a.projectUuid, ROBOT_A, PASSWORD_A), []);
    assert.notEqual(passwordIn(s, "waldur-gamma"), PASSWORD_A, "written at delivery");
    await pass(s);
    assert.notEqual(passwordIn(s, "waldur-gamma"), PASSWORD_A, "kept by the pass");
  },
});

// ---- F2: a namespace's project is read from the label before Rancher's annotation ----------

Deno.test({
  name:
    "attack19 F2: a namespace whose label names team A's project but whose annotation (the one Rancher's webhook guards) is team B's gets no copy of A's robot",
  ignore: false,
  fn: async () => {
    using s = await twoTeams();
    assert.deepEqual(await deliver(s, s.a.projectUuid, ROBOT_A, PASSWORD_A), []);
    // team B's namespace: Rancher put it in B's project (annotation); its label is edited
    const meta = objectMeta("beta-evil");
    meta.annotations[PROJECT_ID_KEY] = s.b.projectId;
    meta.labels[PROJECT_ID_KEY] = s.a.projectId.split(":")[1] ?? "";
    s.site.rancher.addNamespace(s.site.cluster, { metadata: meta, spec: {}, status: {} });
    await pass(s);
    assert.equal(
      passwordIn(s, "beta-evil"),
      undefined,
      "team A's robot secret was written into a namespace of team B's project",
    );
  },
});

// ---- F3: a second robot whose description names a team revokes that team's pull secrets -------

/** A Harbor site with team robots, whose registry access has a recording consumer. */
function harborWithConsumer() {
  const registry = new RegistryAccess();
  const told: string[] = [];
  registry.consume("registry", {
    delivered: (c) => {
      told.push(`delivered ${c.projectUuid} ${c.username}`);
      return Promise.resolve();
    },
    revoked: (p) => {
      told.push(`revoked ${p}`);
      return Promise.resolve();
    },
  });
  const clock = new ManualClock();
  const harbor = new FakeHarbor({ now: () => clock.now() });
  const site = buildSite({
    clock,
    backendType: "harbor",
    settings: `{harbor_url: "http://harbor.test", robot_username: "${harbor.username}", ` +
      `robot_password: ${harbor.password}, team_robots: {enabled: true, duration_days: 90}}`,
    plugins: [harborPlugin as BackendPlugin<never>],
    hosts: { "harbor.test": harbor.app },
    registry,
  }) as HarborSite;
  site.harbor = harbor;
  return { site, registry, told };
}

Deno.test({
  name:
    "attack19 F3: a hand-made robot carrying team A's description is removed without revoking A's pull secrets or forgetting A's robot",
  fn: async () => {
    const { site, registry, told } = harborWithConsumer();
    using _ = site;
    const { resource } = site.waldur.orderCreate(site.offeringUuid, {
      name: "a",
      limits: { storage: 1 },
      project: "proj",
      customer: "acme",
    });
    assert.equal((await processOrders(site.offering.context)).outcome, "ok");
    assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
    const projectUuid = site.waldur.resource(resource).project_uuid;
    const real = site.harbor.robotNamed("berth-proj");
    assert.ok(real);
    assert.deepEqual(told, [`delivered ${projectUuid} robot$berth-proj`]);
    // someone with robot rights copies Berth's description onto a robot of another berth- name
    site.harbor.addRobot({
      name: "berth-zz-copy",
      description: robotDescription(site.offeringUuid, projectUuid),
      duration: -1,
      permissions: [],
    });
    await syncMembership(site.offering.context);
    assert.equal(site.harbor.robotNamed("berth-proj")?.id, real.id, "the real robot stays");
    assert.equal(registry.robot("registry", projectUuid)?.username, "robot$berth-proj");
    assert.deepEqual(
      told.slice(1),
      [],
      "team A's pull secrets were revoked although its robot still exists",
    );
  },
});

// ---- F4: a write's error excerpt keeps a cut-off piece of the base64 docker config ---------

/** Every base64 run of a text, decoded as far as it goes (a cut-off run decodes its prefix). */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9+/]{16,}/g)) {
    const run = m[0].slice(0, m[0].length - (m[0].length % 4));
    try {
      out.push(atob(run));
    } catch { /* not base64 */ }
  }
  return out;
}

Deno.test({
  name:
    "attack19 F4: a Kubernetes 422 that quotes the Secret's data leaves no piece of the password in the log, the status or Waldur",
  fn: async () => {
    using s = await twoTeams();
    // a server that refuses the write and quotes the value it refused (first in its message)
    s.site.intercept = async (request, next) => {
      const path = new URL(request.url).pathname;
      if (request.method === "POST" && path.endsWith("/secrets")) {
        const body = await request.clone().json();
        const value = body.data[".dockerconfigjson"];
        return Response.json({
          kind: "Status",
          status: "Failure",
          reason: "Invalid",
          code: 422,
          message: `"${value}": data[.dockerconfigjson]: Invalid value`,
        }, { status: 422 });
      }
      return await next(request);
    };
    const errors = await deliver(s, s.a.projectUuid, ROBOT_A, PASSWORD_A);
    assert.equal(errors.length, 1);
    // the pass finds no copy, refreshes the robot and writes again: refused the same way
    const result = await runPass({
      offering: "registry",
      loop: "membership",
      intervalMs: 60_000,
      pass: () => syncMembership(s.site.offering.context),
    }, {
      clock: s.site.clock,
      status: s.site.status,
      store: s.site.store,
      log: s.site.offering.context.log,
    }, new AbortController().signal);
    const app = createApp({ status: s.site.status });
    const surfaces = {
      error: errors.map((e) => (e as Error).message).join("\n"),
      pass: result.error ?? "",
      logs: s.site.logs.join("\n"),
      status: JSON.stringify(s.site.status.snapshot()),
      api: await (await app.request("/api/status")).text(),
      page: await (await app.request("/?n=500")).text(),
      waldur: JSON.stringify(s.site.waldur.requests),
      audit: JSON.stringify(s.site.store.recentAudit(1000)),
      stateFile: JSON.stringify(s.site.store.lastRun("registry", "membership")),
    };
    const holding = Object.entries(surfaces).filter(([, text]) =>
      decodedRuns(text).some((d) => /"password":"[^"]{4,}/.test(d))
    ).map(([where]) => where);
    assert.deepEqual(holding, [], "these hold (part of) the robot's password, base64");
  },
});

// ---- F5: a team whose members could not be read loses its robot and every pull secret -------

Deno.test({
  name:
    "attack19 F5: a Waldur team that cannot be read this pass keeps its robot (it is not 'no Harbor project left')",
  fn: async () => {
    const { site, registry, told } = harborWithConsumer();
    using _ = site;
    const { resource } = site.waldur.orderCreate(site.offeringUuid, {
      name: "a",
      limits: { storage: 1 },
      project: "proj",
      customer: "acme",
    });
    assert.equal((await processOrders(site.offering.context)).outcome, "ok");
    assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
    const projectUuid = site.waldur.resource(resource).project_uuid;
    const real = site.harbor.robotNamed("berth-proj");
    assert.ok(real);
    // one 502 on the team's member list (retried a few times by the client: make it stick)
    site.waldur.faults.add({ kind: "status", status: 502, path: /\/team\/?$/ });
    const result = await syncMembership(site.offering.context);
    assert.notEqual(result.outcome, "ok");
    site.waldur.faults.clear();
    assert.equal(site.harbor.robotNamed("berth-proj")?.id, real.id, "the robot was deleted");
    assert.deepEqual(told.slice(1), [], "its pull secrets were revoked");
    assert.equal(registry.robot("registry", projectUuid)?.username, "robot$berth-proj");
  },
});

Deno.test({
  name:
    "attack19 F3b: a Waldur project whose slug changed gets its new robot without the old one's removal revoking it",
  fn: async () => {
    const { site, registry, told } = harborWithConsumer();
    using _ = site;
    const { resource } = site.waldur.orderCreate(site.offeringUuid, {
      name: "a",
      limits: { storage: 1 },
      project: "proj",
      customer: "acme",
    });
    assert.equal((await processOrders(site.offering.context)).outcome, "ok");
    assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
    const r = site.waldur.resource(resource);
    r.project_slug = "proj-renamed";
    assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
    assert.ok(site.harbor.robotNamed("berth-proj-renamed"));
    assert.equal(site.harbor.robotNamed("berth-proj"), undefined);
    assert.deepEqual(told, [
      `delivered ${r.project_uuid} robot$berth-proj`,
      `delivered ${r.project_uuid} robot$berth-proj-renamed`,
    ], "the new robot's copies were revoked right after they were written");
    assert.equal(
      registry.robot("registry", r.project_uuid)?.username,
      "robot$berth-proj-renamed",
      "the new robot is forgotten until the next pass",
    );
  },
});

// ---- F6: a robot replaced out of band under Berth's name is taken for Berth's own -----------

Deno.test({
  name:
    "attack19 F6: a team robot deleted and made again by hand (same name and description, a secret Berth never saw) is replaced, so the copies do not keep a dead secret",
  ignore: false,
  fn: async () => {
    const { site, registry, told } = harborWithConsumer();
    using _ = site;
    const { resource } = site.waldur.orderCreate(site.offeringUuid, {
      name: "a",
      limits: { storage: 1 },
      project: "proj",
      customer: "acme",
    });
    assert.equal((await processOrders(site.offering.context)).outcome, "ok");
    assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
    const projectUuid = site.waldur.resource(resource).project_uuid;
    const berths = site.harbor.robotNamed("berth-proj")!;
    // someone with robot rights deletes it and makes it again, exactly as Berth would
    site.harbor.robots.delete(berths.id);
    const theirs = site.harbor.addRobot({
      name: "berth-proj",
      description: berths.description,
      duration: 90,
      permissions: structuredClone(berths.permissions),
    });
    assert.equal((await syncMembership(site.offering.context)).outcome, "ok");
    // Berth never saw its secret: no copy holds it, so it is made again and delivered
    assert.notEqual(registry.robot("registry", projectUuid)?.digest, undefined);
    assert.notEqual(
      site.harbor.robotNamed("berth-proj")?.id,
      theirs.id,
      "a robot whose secret Berth never saw is kept as the team's robot",
    );
    assert.equal(told.length, 2);
  },
});

// ---- what held -----------------------------------------------------------------------------

Deno.test("attack19 held: the pass writes a team's robot only where a project is annotated with that team's own resource; a forged copy in another team's namespace is never read", async () => {
  using s = await twoTeams();
  assert.deepEqual(await deliver(s, s.a.projectUuid, ROBOT_A, PASSWORD_A), []);
  assert.deepEqual(await deliver(s, s.b.projectUuid, ROBOT_B, "team-b-secret-0002"), []);
  await pass(s);
  assert.equal(passwordIn(s, "waldur-alpha"), PASSWORD_A);
  assert.equal(passwordIn(s, "waldur-beta"), "team-b-secret-0002");
  // team B forges, in its own namespace, a copy of Berth's naming team A, its robot and the
  // digest A's copies carry, with a password of its own
  const real = s.site.rancher.object("secrets", s.site.cluster, "waldur-alpha", "harbor-pull");
  assert.ok(real);
  s.site.rancher.addSecret(s.site.cluster, "waldur-beta", "harbor-pull-a", {
    type: "kubernetes.io/dockerconfigjson",
    labels: { "app.kubernetes.io/managed-by": "berth" },
    data: {
      ".dockerconfigjson": JSON.stringify({
        auths: { [REGISTRY]: { username: ROBOT_A, password: "forged-by-b" } },
      }),
    },
  });
  s.site.rancher.alter("secrets", {
    cluster: s.site.cluster,
    namespace: "waldur-beta",
    name: "harbor-pull-a",
  }, (x) => {
    x.metadata.annotations = { ...real.metadata.annotations };
  });
  // and B annotates its project with A's resource: the pass does not take it for A's
  const pb = s.site.rancher.projects.get(s.b.projectId)!;
  pb.annotations["waldur/resource-uuid"] = s.a.resource;
  // a restart (no digest known) and a new namespace of A: its copy is read from A's own
  s.robots.forgetDigests();
  const meta = objectMeta("alpha-new");
  meta.annotations[PROJECT_ID_KEY] = s.a.projectId;
  meta.labels[PROJECT_ID_KEY] = s.a.projectId.split(":")[1] ?? "";
  s.site.rancher.addNamespace(s.site.cluster, { metadata: meta, spec: {}, status: {} });
  await syncMembership(s.site.offering.context);
  assert.equal(passwordIn(s, "alpha-new"), PASSWORD_A);
  assert.notEqual(passwordIn(s, "waldur-beta"), PASSWORD_A);
  assert.equal(s.robots.refreshes, 0);
});
