/**
 * Harbor team robots end to end (fake Waldur, fake Harbor): one robot per Waldur project with
 * pull on exactly its Harbor projects, kept in line by the membership pass (disabled or deleted
 * by hand, near its expiry, its projects changed, its team gone), only Berth's touched, and its
 * secret never in the log, the audit or the status record.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { TeamRobotRow } from "../lib/harbor/present.ts";
import { processOrders } from "../lib/orders.ts";
import { type HarborSite, makeHarborSite, order } from "./support/harbor.ts";

const DAY = 86_400_000;

async function teamSite(): Promise<
  HarborSite & { resources: { a: string; b: string; c: string } }
> {
  const site = makeHarborSite("team_robots: {enabled: true, duration_days: 90}");
  const a = order(site, "a", { storage: 1 });
  const b = order(site, "b", { storage: 1 });
  const c = order(site, "c", { storage: 1 }, "proj-two");
  await processOrders(site.offering.context);
  return Object.assign(site, {
    resources: { a: a.resource, b: b.resource, c: c.resource },
  });
}

function secretOf(site: HarborSite, name: string): string {
  const robot = site.harbor.robotNamed(name);
  assert.ok(robot, `robot ${name}`);
  return robot.secret;
}

Deno.test("team robots: one per Waldur project, pulling from exactly its Harbor projects", async () => {
  using site = await teamSite();
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const proj = secretOf(site, "berth-proj");
  const two = secretOf(site, "berth-proj-two");
  assert.ok(site.harbor.canPull("robot$berth-proj", proj, "waldur-a"));
  assert.ok(site.harbor.canPull("robot$berth-proj", proj, "waldur-b"));
  assert.ok(!site.harbor.canPull("robot$berth-proj", proj, "waldur-c"), "not another team's");
  assert.ok(site.harbor.canPull("robot$berth-proj-two", two, "waldur-c"));
  assert.ok(!site.harbor.canPull("robot$berth-proj-two", two, "waldur-a"));
  // a second pass changes nothing
  const before = site.harbor.requests.filter((r) => r.method !== "GET").length;
  await syncMembership(site.offering.context);
  assert.equal(site.harbor.requests.filter((r) => r.method !== "GET").length, before);
  const published = TeamRobotRow.array().parse(
    site.status.snapshot().backends[0]?.tables?.robots,
  );
  assert.deepEqual(published.map((r) => [r.robot, r.projects]), [
    ["robot$berth-proj", ["waldur-a", "waldur-b"]],
    ["robot$berth-proj-two", ["waldur-c"]],
  ]);
});

Deno.test("team robots: disabled or deleted by hand, near its end, or its projects changed: made again", async () => {
  using site = await teamSite();
  await syncMembership(site.offering.context);
  const first = site.harbor.robotNamed("berth-proj")!;
  first.disable = true;
  await syncMembership(site.offering.context);
  const second = site.harbor.robotNamed("berth-proj")!;
  assert.notEqual(second.id, first.id, "a disabled robot is replaced");
  assert.ok(!second.disable);
  site.harbor.robots.delete(second.id);
  await syncMembership(site.offering.context);
  const third = site.harbor.robotNamed("berth-proj")!;
  assert.ok(third, "a robot deleted by hand is made again");
  // 77 days on: 13 days left of 90, within rotate_before_days (14)
  site.clock.stepWall(77 * DAY);
  await syncMembership(site.offering.context);
  const fourth = site.harbor.robotNamed("berth-proj")!;
  assert.notEqual(fourth.id, third.id, "replaced before it expires");
  assert.ok(fourth.expiresAt * 1000 > site.clock.now() + 80 * DAY, "with a new expiry");
  assert.ok(
    site.store.recentAudit(50).some((e) =>
      e.action === "replace robot" && /expires in 13 days/.test(e.detail ?? "")
    ),
  );
  // the team's Harbor project c goes: proj-two's robot goes with it
  site.waldur.orderTerminate(site.resources.c);
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  assert.equal(site.harbor.robotNamed("berth-proj-two"), undefined);
  // a new Harbor project of proj joins its robot
  order(site, "d", { storage: 1 });
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  const fifth = site.harbor.robotNamed("berth-proj")!;
  assert.ok(site.harbor.canPull("robot$berth-proj", fifth.secret, "waldur-d"));
});

Deno.test("team robots: a robot of that name Berth did not make is never touched", async () => {
  using site = makeHarborSite("team_robots: {enabled: true}");
  order(site, "a", { storage: 1 });
  await processOrders(site.offering.context);
  const theirs = site.harbor.addRobot({
    name: "berth-proj",
    description: "the CI's own robot",
    duration: -1,
    permissions: [],
  });
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error ?? "", /exists and is not Berth's/);
  assert.equal(site.harbor.robotNamed("berth-proj")?.id, theirs.id);
  assert.equal(site.harbor.robotNamed("berth-proj")?.description, "the CI's own robot");
});

Deno.test("team robots: the secret is never in the log, the audit or the status record", async () => {
  using site = await teamSite();
  const secrets: string[] = [];
  await syncMembership(site.offering.context);
  secrets.push(secretOf(site, "berth-proj"));
  site.harbor.robotNamed("berth-proj")!.disable = true;
  await syncMembership(site.offering.context);
  secrets.push(secretOf(site, "berth-proj"), secretOf(site, "berth-proj-two"));
  const everything = [
    ...site.logs,
    JSON.stringify(site.store.recentAudit(500)),
    JSON.stringify(site.status.snapshot()),
  ].join("\n");
  for (const s of secrets) assert.ok(!everything.includes(s), "a robot secret leaked");
  assert.ok(everything.includes("robot$berth-proj"), "the robot itself is shown");
});
