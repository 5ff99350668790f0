/**
 * What the fake Harbor's robots may pull (`canPull`, the registry's answer): only from the
 * projects their permissions name, only while enabled, unexpired and with their current secret.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../testing/manual_clock.ts";
import { createHarborClient, type HarborClient } from "./client.ts";
import { FakeHarbor } from "./fake.ts";

const PULL = [{ resource: "repository", action: "pull" }];
const DAY_MS = 86_400_000;

/** A fake with teams a and b, its clock, and a client holding `robot update` (an admin's). */
function setup(): { fake: FakeHarbor; client: HarborClient; clock: ManualClock } {
  const clock = new ManualClock();
  const fake = new FakeHarbor({ now: () => clock.now() });
  fake.grant("robot:update");
  fake.addProject("team-a");
  fake.addProject("team-b");
  const client = createHarborClient({
    url: "http://harbor.test",
    username: fake.username,
    password: fake.password,
    fetch: (request) => Promise.resolve(fake.app.request(request)),
    clock,
  });
  return { fake, client, clock };
}

/** Creates `berth-<team>` pulling from `projects`; resolves its id and secret. */
async function teamRobot(client: HarborClient, team: string, projects: string[], duration = 30) {
  return await client.createRobot({
    name: `berth-${team}`,
    description: "",
    duration,
    permissions: projects.map((namespace) => ({ kind: "project", namespace, access: PULL })),
  });
}

Deno.test("a team robot pulls from its own team's project, not from another's", async () => {
  const { fake, client } = setup();
  const { secret } = await teamRobot(client, "a", ["team-a"]);
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), true);
  assert.equal(fake.canPull("robot$berth-a", secret, "team-b"), false);
  assert.equal(fake.canPull("robot$berth-a", "wrong", "team-a"), false);
  assert.equal(fake.canPull("berth-a", secret, "team-a"), false, "without Harbor's prefix");
  assert.equal(fake.canPull("robot$berth-a", secret, "team-z"), false);
  assert.equal(fake.login("robot$berth-a", "wrong"), "secret");
  assert.equal(fake.login("robot$berth-x", secret), "unknown");
});

Deno.test("a disabled robot pulls nothing; enabled again, it pulls", async () => {
  const { fake, client } = setup();
  const { id, secret } = await teamRobot(client, "a", ["team-a"]);
  const robot = (await client.robot(id))!;
  await client.updateRobot(id, { ...robot, disable: true });
  assert.equal(fake.login("robot$berth-a", secret), "disabled");
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), false);
  await client.updateRobot(id, { ...robot, disable: false });
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), true);
});

Deno.test("an expired robot pulls nothing (the fake's clock); a longer duration revives it", async () => {
  const { fake, client, clock } = setup();
  const { id, secret } = await teamRobot(client, "a", ["team-a"], 7);
  const never = await teamRobot(client, "b", ["team-b"], -1);
  clock.stepWall(7 * DAY_MS - 1000);
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), true, "a second before");
  clock.stepWall(1000);
  assert.equal(fake.login("robot$berth-a", secret), "expired");
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), false);
  assert.equal(fake.canPull("robot$berth-b", never.secret, "team-b"), true, "-1 never expires");
  await client.updateRobot(id, { ...(await client.robot(id))!, duration: 30 });
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), true);
});

Deno.test("a PUT that removes a project takes the pull away; a deleted project (or a new one of its name) is not pulled", async () => {
  const { fake, client } = setup();
  const { id, secret } = await teamRobot(client, "a", ["team-a", "team-b"]);
  assert.equal(fake.canPull("robot$berth-a", secret, "team-b"), true);
  const robot = (await client.robot(id))!;
  await client.updateRobot(id, {
    ...robot,
    permissions: robot.permissions.filter((p) => p.namespace !== "team-b"),
  });
  assert.equal(fake.canPull("robot$berth-a", secret, "team-b"), false);
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), true);
  const a = fake.project("team-a")!;
  await client.deleteProject(a.id);
  assert.deepEqual((await client.robot(id))?.permissions, [], "Harbor drops it from the robot");
  fake.addProject("team-a");
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), false);
});

Deno.test("a deleted robot pulls nothing; a robot on every project (*) pulls from each", async () => {
  const { fake, client } = setup();
  const { id, secret } = await teamRobot(client, "a", ["team-a"]);
  await client.deleteRobot(id);
  assert.equal(fake.canPull("robot$berth-a", secret, "team-a"), false);
  const all = await teamRobot(client, "all", ["*"]);
  assert.ok(["team-a", "team-b"].every((p) => fake.canPull("robot$berth-all", all.secret, p)));
});
