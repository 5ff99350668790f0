/**
 * Registry access end to end (issue 19, item 7): one config with a Harbor offering that keeps
 * team robots and a Rancher offering that writes them as image pull secrets, joined by the real
 * RegistryAccess (`buildOfferings`, no stub), on the fake Waldur, Harbor and Rancher and one
 * manual clock. Waldur projects P and Q each have a Harbor and a Rancher resource. Every
 * namespace of a team holds its robot, which pulls from its own team's Harbor project and not
 * the other's; a namespace made later, a robot deleted by hand, a robot near its expiry, a
 * Harbor resource terminated, a Rancher project terminated; and no robot's password is ever in
 * the log, the audit, the status record, the page or the metrics.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import type { ProcessorContext } from "../lib/processor.ts";
import { MANAGED_BY } from "../lib/rancher/docker_config.ts";
import { createApp } from "../routes/app.tsx";
import { order } from "./support/harbor.ts";
import { type LinkedSite, makeLinkedSite } from "./support/linked.ts";
import { addProjectNamespace } from "./support/rancher.ts";

const DAY = 86_400_000;
const REGISTRY = "harbor.test";
const SECRET = "harbor-pull";

/** A Waldur resource and the backend object it made (its backend_id). */
interface Made {
  resource: string;
  /** The Harbor project name, or the Rancher project id (`cluster:p-…`). */
  project: string;
}

/** One Waldur project and what its two resources made. */
interface Team {
  uuid: string;
  slug: string;
  /** The robot's registry username. */
  robot: string;
  /** Its Harbor resource; the robot pulls from its project. */
  harbor: Made;
  rancher: Made;
}

interface Linked extends LinkedSite {
  p: Team;
  q: Team;
  /** Every robot password the fake Harbor has held, gathered after each pass. */
  passwords: Set<string>;
}

/** The linked site with P's and Q's Create orders done in both offerings; P has a second namespace. */
async function linked(): Promise<Linked> {
  const site = makeLinkedSite({ teamRobots: "duration_days: 90" });
  const ordered = ["proj-p", "proj-q"].map((project) => ({
    harbor: order(site, `${project}-images`, { storage: 1 }, project).resource,
    rancher: site.waldur.orderCreate(site.kubernetes.config.offeringUuid, {
      name: `${project}-apps`,
      limits: { cpu: 4, memory: 8, storage: 100 },
      project,
      customer: "acme",
    }).resource,
  }));
  for (const context of [site.offering.context, site.kubernetes.context]) {
    const done = await processOrders(context);
    assert.equal(done.outcome, "ok", done.error);
  }
  const [p, q] = ordered.map(({ harbor, rancher }): Team => {
    const h = site.waldur.resource(harbor);
    const r = site.waldur.resource(rancher);
    return {
      uuid: h.project_uuid,
      slug: h.project_slug,
      robot: `robot$berth-${h.project_slug}`,
      harbor: { resource: harbor, project: h.backend_id },
      rancher: { resource: rancher, project: r.backend_id },
    };
  });
  assert.ok(p && q && p.uuid !== q.uuid);
  addProjectNamespace(site.rancher, p.rancher.project, "proj-p-web");
  return Object.assign(site, { p, q, passwords: new Set<string>() });
}

/** {@link linked}, then Harbor's first pass: both teams' robots made and in their namespaces. */
async function withRobots(): Promise<Linked & { held: { p: string; q: string } }> {
  const site = await linked();
  await harborPass(site);
  return Object.assign(site, {
    held: { p: assertHeld(site, site.p, site.q), q: assertHeld(site, site.q, site.p) },
  });
}

/** A membership pass of one offering, which must be clean; the passwords gathered after. */
async function pass(site: Linked, context: ProcessorContext): Promise<void> {
  const result = await syncMembership(context);
  assert.equal(result.outcome, "ok", `${context.offering.name}: ${result.error}`);
  for (const r of site.harbor.robots.values()) site.passwords.add(r.secret);
}

const harborPass = (site: Linked) => pass(site, site.offering.context);
const rancherPass = (site: Linked) => pass(site, site.kubernetes.context);

function namespaces(site: Linked, team: Team): string[] {
  return site.rancher.namespacesOf(team.rancher.project);
}

/** The registry credential a namespace's pull secret holds, decoded; undefined without one. */
function copyIn(site: Linked, ns: string) {
  const data = site.rancher.secretData(site.cluster, ns, SECRET)?.[".dockerconfigjson"];
  if (data === undefined) return undefined;
  const auths: Record<string, { username: string; password: string; auth: string }> =
    JSON.parse(data).auths;
  assert.deepEqual(Object.keys(auths), [REGISTRY]);
  return auths[REGISTRY];
}

function uidIn(site: Linked, ns: string): string | undefined {
  return site.rancher.object("secrets", site.cluster, ns, SECRET)?.metadata.uid;
}

/** The names the namespace's default ServiceAccount lists in imagePullSecrets. */
function listedIn(site: Linked, ns: string): string[] {
  const sa = site.rancher.object("serviceaccounts", site.cluster, ns, "default");
  return ((sa?.imagePullSecrets ?? []) as { name: string }[]).map((x) => x.name);
}

/** Berth's Secrets anywhere in the cluster, as `namespace/name`. */
function berthSecrets(site: Linked): string[] {
  return site.rancher.objectsIn("secrets", site.cluster)
    .filter((s) => s.metadata.labels[MANAGED_BY] === "berth")
    .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
}

/**
 * Every namespace of `team` holds its robot's credential, listed by the ServiceAccount; it
 * pulls from the team's Harbor project and not from `other`'s. Returns the password.
 */
function assertHeld(site: Linked, team: Team, other: Team): string {
  const held = namespaces(site, team).map((ns) => {
    const copy = copyIn(site, ns);
    assert.ok(copy, `a pull secret in ${ns}`);
    assert.equal(copy.username, team.robot);
    assert.equal(copy.auth, btoa(`${copy.username}:${copy.password}`));
    assert.deepEqual(listedIn(site, ns), [SECRET], `${ns}: the ServiceAccount lists it`);
    assert.ok(site.harbor.canPull(copy.username, copy.password, team.harbor.project), ns);
    assert.ok(
      !site.harbor.canPull(copy.username, copy.password, other.harbor.project),
      `${ns}: not from another team's project`,
    );
    return copy.password;
  });
  assert.ok(held.length > 0);
  assert.equal(new Set(held).size, 1, "every namespace holds the same credential");
  return held[0] ?? "";
}

/** Requests that change something, per fake. */
function writes(site: Linked): { harbor: number; rancher: number } {
  return { harbor: site.harbor.writes().length, rancher: site.rancher.writes().length };
}

/** No password the fake Harbor ever held is in the log, audit, status, page or metrics. */
async function assertNoLeak(site: Linked): Promise<void> {
  for (const r of site.harbor.robots.values()) site.passwords.add(r.secret);
  const app = createApp({ status: site.status });
  const surfaces = {
    logs: site.logs.join("\n"),
    audit: JSON.stringify(site.store.recentAudit(1000)),
    status: JSON.stringify(site.status.snapshot()),
    page: await (await app.request("/?n=500")).text(),
    metrics: await (await app.request("/metrics")).text(),
    waldur: JSON.stringify(site.waldur.requests),
  };
  assert.ok(site.passwords.size > 0);
  for (const password of site.passwords) {
    for (const [where, text] of Object.entries(surfaces)) {
      assert.ok(!text.includes(password), `${where} holds a robot password`);
      for (const robot of [site.p.robot, site.q.robot]) {
        assert.ok(!text.includes(btoa(`${robot}:${password}`)), `${where} holds a robot's auth`);
      }
    }
  }
  assert.ok(surfaces.logs.includes(site.p.robot), "the robot itself is named");
}

Deno.test("registry access e2e: Create orders make no robot; Harbor's pass makes it and every namespace of the team pulls from its own Harbor project only", async () => {
  using site = await linked();
  const { p, q } = site;
  assert.equal(site.harbor.robots.size, 0, "a Harbor Create order alone makes no team robot");
  assert.deepEqual(berthSecrets(site), []);

  await harborPass(site);
  // the robot was delivered as it was made: the copies are written before any Rancher pass
  const pPassword = assertHeld(site, p, q);
  const qPassword = assertHeld(site, q, p);
  assert.equal(namespaces(site, p).length, 2);
  assert.notEqual(pPassword, qPassword);
  assert.deepEqual(site.passwords, new Set([pPassword, qPassword]));

  const before = writes(site);
  await rancherPass(site);
  await harborPass(site);
  await rancherPass(site);
  assert.deepEqual(writes(site), before, "the second passes write nothing");

  const app = createApp({ status: site.status });
  const page = await (await app.request("/?n=500")).text();
  assert.match(page, /Team robots/);
  assert.match(page, /Image pull secrets/);
  assert.match(page, new RegExp(`${p.robot.replace("$", "\\$")}`));
  assert.match(page, />2 of 2</, "P's two namespaces hold a current copy");
  assert.match(page, />1 of 1</, "Q's one namespace does");
  assert.doesNotMatch(page, /could not be shown/);
  const metrics = await (await app.request("/metrics")).text();
  assert.match(
    metrics,
    new RegExp(`berth_pull_secret_namespaces\\{[^}]*project="${p.uuid}",state="current"\\} 2`),
  );
  assert.match(metrics, /berth_team_robot_expiry_seconds\{[^}]*project="proj-p"\} 7776000/);
  await assertNoLeak(site);
});

Deno.test("registry access e2e: a Rancher pass before the Harbor offering's first pass changes nothing; after it, every namespace is written", async () => {
  using site = await linked();
  const { p, q } = site;
  const before = writes(site);
  await rancherPass(site);
  assert.deepEqual(writes(site), before, "no robot known yet: nothing written, nothing removed");
  assert.deepEqual(berthSecrets(site), []);
  assert.equal(site.harbor.robots.size, 0, "nor is a robot made or refreshed");
  assert.ok(
    site.logs.some((l) => l.includes("pull secrets wait for the first pass of registry")),
  );

  await harborPass(site);
  assertHeld(site, p, q);
  assertHeld(site, q, p);
  const made = writes(site);
  await rancherPass(site);
  assert.deepEqual(writes(site), made);
  assert.deepEqual(
    site.kubernetes.backend.pullSecretRows().map((r) => [r.project, r.current, r.namespaces]),
    [["proj-p", 2, 2], ["proj-q", 1, 1]],
  );
  await assertNoLeak(site);
});

Deno.test("registry access e2e: a namespace made later, a robot deleted by hand and one near its expiry: every copy kept current in place", async () => {
  using site = await withRobots();
  const { p, q } = site;
  const first = site.held.p;
  const robot = site.harbor.robotNamed(`berth-${p.slug}`);
  assert.ok(robot);

  // a namespace made later gets the copy at the next Rancher pass; the robot stays as it is
  addProjectNamespace(site.rancher, p.rancher.project, "proj-p-jobs");
  const harborWrites = site.harbor.writes().length;
  await rancherPass(site);
  assert.equal(copyIn(site, "proj-p-jobs")?.password, first);
  assert.deepEqual(listedIn(site, "proj-p-jobs"), [SECRET]);
  assert.equal(site.harbor.writes().length, harborWrites, "no robot replaced or refreshed");
  assert.equal(site.harbor.robotNamed(`berth-${p.slug}`)?.id, robot.id);
  assert.equal(namespaces(site, p).length, 3);
  const uids = new Map(namespaces(site, p).map((ns) => [ns, uidIn(site, ns)]));

  // deleted by hand in Harbor: the next Harbor pass makes it again and rewrites the copies
  site.harbor.robots.delete(robot.id);
  await harborPass(site);
  const second = assertHeld(site, p, q);
  assert.notEqual(second, first);
  assert.ok(!site.harbor.canPull(p.robot, first, p.harbor.project), "the old password is dead");
  for (const [ns, uid] of uids) assert.equal(uidIn(site, ns), uid, `${ns}: replaced in place`);

  // 77 days on, 13 of 90 left (rotate_before_days 14): replaced, copies rewritten in place
  const remade = site.harbor.robotNamed(`berth-${p.slug}`);
  assert.ok(remade);
  site.clock.stepWall(77 * DAY);
  await harborPass(site);
  const third = assertHeld(site, p, q);
  const rotated = site.harbor.robotNamed(`berth-${p.slug}`);
  assert.ok(rotated && rotated.id !== remade.id, "replaced before it expires");
  assert.notEqual(third, second);
  assert.ok(!site.harbor.canPull(p.robot, second, p.harbor.project));
  for (const [ns, uid] of uids) {
    assert.equal(uidIn(site, ns), uid, `${ns}: replaced in place`);
    const annotations = site.rancher.object("secrets", site.cluster, ns, SECRET)?.metadata
      .annotations;
    assert.equal(annotations?.["berth/robot-expires-at"], String(rotated.expiresAt));
  }
  assert.ok(
    site.store.recentAudit(200).some((e) =>
      e.action === "replace robot" && e.target === p.robot &&
      /expires in 13 days/.test(e.detail ?? "")
    ),
  );
  // Q's robot was made 77 days ago too: replaced in the same pass, its copy with it
  assertHeld(site, q, p);
  const settled = writes(site);
  await rancherPass(site);
  await harborPass(site);
  assert.deepEqual(writes(site), settled, "settled");
  await assertNoLeak(site);
});

Deno.test("registry access e2e: P's Harbor resource terminated: its robot, copies and ServiceAccount entries go; Q keeps its own", async () => {
  using site = await withRobots();
  const { p, q } = site;

  site.waldur.orderTerminate(p.harbor.resource);
  const done = await processOrders(site.offering.context);
  assert.equal(done.outcome, "ok", done.error);
  assert.ok(
    site.harbor.robotNamed(`berth-${p.slug}`),
    "the Terminate order leaves the robot to the membership pass",
  );
  await harborPass(site);
  assert.equal(site.harbor.robotNamed(`berth-${p.slug}`), undefined, "the robot is deleted");
  for (const ns of namespaces(site, p)) {
    assert.equal(copyIn(site, ns), undefined, `${ns}: the copy is removed`);
    assert.deepEqual(listedIn(site, ns), [], `${ns}: the ServiceAccount lets go of it`);
  }
  assert.equal(assertHeld(site, q, p), site.held.q, "Q's robot and copies are untouched");

  const before = writes(site);
  await rancherPass(site);
  assert.deepEqual(writes(site), before);
  const row = site.kubernetes.backend.pullSecretRows().find((r) => r.projectUuid === p.uuid);
  assert.deepEqual(row && [row.robot, row.current, row.namespaces, row.flags], [
    null,
    0,
    2,
    ["no robot"],
  ]);
  await assertNoLeak(site);
});

Deno.test("registry access e2e: P's Rancher project terminated: nothing is left behind, nothing fails", async () => {
  using site = await withRobots();
  const { p, q } = site;
  const pNamespaces = namespaces(site, p);

  site.waldur.orderTerminate(p.rancher.resource);
  const done = await processOrders(site.kubernetes.context);
  assert.equal(done.outcome, "ok", done.error);
  await rancherPass(site);
  await harborPass(site);
  await rancherPass(site);
  assert.deepEqual(berthSecrets(site), namespaces(site, q).map((ns) => `${ns}/${SECRET}`));
  for (const ns of pNamespaces) {
    assert.equal(site.rancher.object("serviceaccounts", site.cluster, ns, "default"), undefined);
  }
  assert.deepEqual(
    site.kubernetes.backend.pullSecretRows().map((r) => r.project),
    ["proj-q"],
    "P has no row left",
  );
  assertHeld(site, q, p);
  // P's robot stays while P has a Harbor project; once that goes, so does the robot, cleanly
  assert.ok(site.harbor.robotNamed(`berth-${p.slug}`));
  site.waldur.orderTerminate(p.harbor.resource);
  assert.equal((await processOrders(site.offering.context)).outcome, "ok");
  await harborPass(site);
  await rancherPass(site);
  assert.equal(site.harbor.robotNamed(`berth-${p.slug}`), undefined);
  const failures = site.logs.filter((l) => /"level":"(warn|error)"/.test(l));
  assert.deepEqual(failures, []);
  await assertNoLeak(site);
});

Deno.test("registry access e2e: a robot replaced while Rancher was down, then a restart: the copies of its old secret are not taken for current", async () => {
  using site = await withRobots();
  const { p, q } = site;
  const old = site.held.p;
  // Rancher refuses every write while the Harbor pass replaces the robots (near their expiry)
  site.intercept = async (request, next) =>
    new URL(request.url).hostname === "rancher.test" && request.method !== "GET"
      ? new Response("down", { status: 503 })
      : await next(request);
  site.clock.stepWall(77 * DAY);
  await harborPass(site);
  assert.ok(!site.harbor.canPull(p.robot, old, p.harbor.project), "the old secret is dead");
  assert.equal(copyIn(site, namespaces(site, p)[0] ?? "")?.password, old, "not rewritten yet");
  assert.ok(site.logs.some((l) => l.includes("a pull secret was not written yet")));

  // a new process: the robots are read again, their secrets' digests are not known
  site.restart();
  site.intercept = (request, next) => next(request);
  await harborPass(site);
  await rancherPass(site);
  // no copy holds the robot's secret now: the Rancher side has it made again, and writes it
  assertHeld(site, p, q);
  assertHeld(site, q, p);
  const refreshed = site.store.recentAudit(200).filter((e) => e.action === "refresh robot secret");
  assert.deepEqual(refreshed.map((e) => e.target).sort(), [p.robot, q.robot]);
  const settled = writes(site);
  await harborPass(site);
  await rancherPass(site);
  assert.deepEqual(writes(site), settled, "settled");
  await assertNoLeak(site);
});
