/**
 * Scoped membership passes (issue 20: a role event's pass covers its Waldur project only), on
 * the fake Waldur, Harbor, Rancher and Keycloak, driven through the real membership processor.
 * A scoped pass fixes its project's team and leaves every other project's robot, Keycloak child
 * group, pull secrets and status rows as they are, for the next whole pass.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { MANAGED_BY } from "../lib/rancher/docker_config.ts";
import { order } from "./support/harbor.ts";
import { type LinkedSite, makeLinkedSite } from "./support/linked.ts";
import { makeRancherSite, orderProject, type RancherSite } from "./support/rancher.ts";

const PARENT = "c_cm7x2k9q";

/** The usernames of the child group `name` under Berth's parent group. */
function membersOf(site: RancherSite, name: string): string[] | undefined {
  const realm = site.keycloak.realm("waldur");
  const parent = [...realm.groups.values()].find((g) => g.name === PARENT && !g.parentId);
  const child = [...realm.groups.values()].find((g) =>
    g.name === name && g.parentId === parent?.id
  );
  if (!child) return undefined;
  return [...child.members].map((id) => realm.users.get(id)?.username ?? id).sort();
}

Deno.test("a scoped pass fixes its project's Keycloak group and leaves another project's alone", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  const bob = site.keycloak.addUser("waldur", "bob");
  const a = orderProject(site, "Alpha", undefined, "proj-a").resource;
  const b = orderProject(site, "Beta", undefined, "proj-b").resource;
  assert.equal((await processOrders(site.offering.context)).outcome, "ok");
  site.waldur.setTeam("proj-a", [{ username: ann }]);
  site.waldur.setTeam("proj-b", [{ username: ann }]);
  let result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const groupA = `project_${site.waldur.resource(a).project_slug}_workloads-manage`;
  const groupB = `project_${site.waldur.resource(b).project_slug}_workloads-manage`;
  assert.deepEqual(membersOf(site, groupA), ["ann"]);
  assert.deepEqual(membersOf(site, groupB), ["ann"]);
  const rowsBefore = site.backend.rows();
  const groupRowB = site.backend.groupRows().find((g) => g.path.endsWith(`/${groupB}`));
  assert.ok(groupRowB);

  // bob joins both projects in Waldur; only A's role event arrives
  site.waldur.setTeam("proj-a", [{ username: ann }, { username: bob }]);
  site.waldur.setTeam("proj-b", [{ username: ann }, { username: bob }]);
  const projectA = site.waldur.resource(a).project_uuid;
  const from = site.waldur.requests.length;
  result = await syncMembership(site.offering.context, undefined, new Set([projectA]));
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(result.stats.resources, 1);
  assert.deepEqual(membersOf(site, groupA), ["ann", "bob"], "A's group is fixed");
  assert.deepEqual(membersOf(site, groupB), ["ann"], "B's group waits for the whole pass");
  const reads = site.waldur.requests.slice(from).map((r) => r.path);
  assert.ok(
    reads.some((p) =>
      p.startsWith("/api/marketplace-provider-resources/?") &&
      p.includes(`project_uuid=${projectA}`)
    ),
    reads.join("\n"),
  );
  assert.ok(!reads.some((p) => p.includes(`/${b}/team/`)), "B's team is not read");
  assert.deepEqual(
    site.backend.groupRows().find((g) => g.path.endsWith(`/${groupB}`)),
    groupRowB,
    "B's group row stays as it was",
  );
  assert.deepEqual(
    site.backend.rows().find((r) => r.resource === b),
    rowsBefore.find((r) => r.resource === b),
    "B's status row stays",
  );

  // the polling loop's whole pass brings B in line
  result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.deepEqual(membersOf(site, groupB), ["ann", "bob"]);
});

/** Two Waldur projects P and Q, each with a Harbor and a Rancher resource, robots and pull secrets made. */
async function linked() {
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
    assert.equal((await processOrders(context)).outcome, "ok");
  }
  for (const context of [site.offering.context, site.kubernetes.context]) {
    const result = await syncMembership(context);
    assert.equal(result.outcome, "ok", result.error);
  }
  const [p, q] = ordered.map((o) => ({ ...o, uuid: site.waldur.resource(o.harbor).project_uuid }));
  assert.ok(p && q);
  return { site, p, q };
}

/** Berth's pull secrets in the cluster, as `namespace/name`. */
function berthSecrets(site: LinkedSite): string[] {
  return site.rancher.objectsIn("secrets", site.cluster)
    .filter((s) => s.metadata.labels[MANAGED_BY] === "berth")
    .map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort();
}

function robotNames(site: LinkedSite): string[] {
  return [...site.harbor.robots.values()].map((r) => r.name).sort();
}

Deno.test("a scoped pass leaves another project's robot, pull secrets and rows alone; one for a project whose resources are gone removes nothing else", async () => {
  const { site, p, q } = await linked();
  try {
    const robots = robotNames(site);
    const secrets = berthSecrets(site);
    assert.equal(robots.length, 2, robots.join(", "));
    assert.ok(secrets.length >= 2, secrets.join(", "));
    const harborRows = site.backend.rows();
    const rancherRows = site.kubernetes.backend.rows();
    const pullRows = site.kubernetes.backend.pullSecretRows();

    // Q's resources are gone from Waldur's lists (terminated); P's role event arrives
    site.waldur.resource(q.harbor).state = "Terminated";
    site.waldur.resource(q.rancher).state = "Terminated";
    const onlyP = new Set([p.uuid]);
    for (const context of [site.offering.context, site.kubernetes.context]) {
      const result = await syncMembership(context, undefined, onlyP);
      assert.equal(result.outcome, "ok", result.error);
    }
    assert.deepEqual(robotNames(site), robots, "Q's robot is neither deleted nor replaced");
    assert.deepEqual(berthSecrets(site), secrets, "Q's pull secrets stay");
    assert.deepEqual(site.backend.rows(), harborRows, "the Harbor rows stay");
    assert.deepEqual(site.kubernetes.backend.rows(), rancherRows, "the Rancher rows stay");
    assert.deepEqual(site.kubernetes.backend.pullSecretRows(), pullRows, "the pull rows stay");

    // Q's own scoped pass: Q's robot goes (its team has no Harbor project left), P's stays
    const harborWrites = site.harbor.writes().length;
    const result = await syncMembership(site.offering.context, undefined, new Set([q.uuid]));
    assert.equal(result.outcome, "ok", result.error);
    const left = robotNames(site);
    assert.equal(left.length, 1, left.join(", "));
    assert.ok(robots.includes(left[0] ?? ""), "P's robot is the one left");
    assert.ok(
      site.harbor.writes().slice(harborWrites).every((w) => w.method === "DELETE"),
      "nothing but Q's robot was changed",
    );
    assert.ok(site.backend.rows().some((r) => r.resource === p.harbor), "P's row stays");
    const rancherWrites = site.rancher.writes().length;
    const scopedQ = await syncMembership(site.kubernetes.context, undefined, new Set([q.uuid]));
    assert.equal(scopedQ.outcome, "ok", scopedQ.error);
    const pSecrets = secrets.filter((s) => !berthSecrets(site).includes(s));
    assert.ok(
      berthSecrets(site).length > 0 && pSecrets.every((s) => !s.includes("proj-p")),
      `P's pull secrets stay: ${berthSecrets(site).join(", ")}`,
    );
    assert.ok(
      site.rancher.writes().slice(rancherWrites).every((w) => !w.path.includes("proj-p")),
      "nothing of P's namespaces is written",
    );
  } finally {
    site.close();
  }
});
