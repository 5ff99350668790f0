/** The Harbor client against the fake Harbor: paging, exact lookups, Harbor's refusals. */
import assert from "node:assert/strict";
import { ManualClock } from "../../testing/manual_clock.ts";
import { HttpError } from "../errors.ts";
import { createHarborClient, harborApiBase, type HarborClient } from "./client.ts";
import { FakeHarbor } from "./fake.ts";
import { quotaBytes } from "./plan.ts";

const GIB = 1024 ** 3;

/** A client whose answers pass through `edit` first. */
function editedClient(fake: FakeHarbor, edit: (request: Request, response: Response) => Response) {
  const paths: string[] = [];
  const client = createHarborClient({
    url: "http://harbor.test/",
    username: fake.username,
    password: fake.password,
    fetch: async (request) => {
      const u = new URL(request.url);
      paths.push(`${request.method} ${u.pathname}${u.search}`);
      return edit(request, await fake.app.request(request));
    },
    clock: new ManualClock(),
  });
  return { client, paths };
}

function setup(): { fake: FakeHarbor; client: HarborClient; paths: string[] } {
  const fake = new FakeHarbor();
  return { fake, ...editedClient(fake, (_, response) => response) };
}

async function rejects(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    return error;
  }
  throw new Error("expected a rejection");
}

Deno.test("harbor_url forms all reach /api/v2.0", () => {
  for (const url of ["https://h", "https://h/", "https://h/api/v2.0", "https://h/api/v2.0/"]) {
    assert.equal(harborApiBase(url), "https://h/api/v2.0");
  }
});

Deno.test("lists page to the end with page_size=100, past Harbor's default of 10", async () => {
  const { fake, client, paths } = setup();
  for (let i = 0; i < 205; i++) fake.addProject(`p-${i}`);
  const all = await client.listProjects();
  assert.equal(all.length, 205);
  assert.deepEqual(paths, [
    "GET /api/v2.0/projects?page=1&page_size=100",
    "GET /api/v2.0/projects?page=2&page_size=100",
    "GET /api/v2.0/projects?page=3&page_size=100",
  ]);
  assert.equal((await client.listQuotas()).length, 205);
});

Deno.test("paging: a count that is a whole number of pages costs no empty page; without a count, pages are read until one is short", async () => {
  const fake = new FakeHarbor();
  for (let i = 0; i < 200; i++) fake.addProject(`p-${i}`);
  const counted = editedClient(fake, (_, response) => response);
  assert.equal((await counted.client.listProjects()).length, 200);
  assert.equal(counted.paths.length, 2);

  fake.addProject("p-200");
  const uncounted = editedClient(fake, (_, response) => {
    const headers = new Headers(response.headers);
    headers.delete("x-total-count");
    return new Response(response.body, { status: response.status, headers });
  });
  const names = (await uncounted.client.listProjects()).map((p) => p.name);
  assert.equal(new Set(names).size, 201);
  assert.deepEqual(
    uncounted.paths.map((p) => new URL(p.split(" ")[1]!, "http://h").searchParams.get("page")),
    ["1", "2", "3"],
  );
});

Deno.test("paging: a page that fails fails the list (no partial list is taken as the whole)", async () => {
  const fake = new FakeHarbor();
  for (let i = 0; i < 450; i++) fake.addProject(`p-${i}`);
  const { client } = editedClient(
    fake,
    (request, response) =>
      new URL(request.url).searchParams.get("page") === "3"
        ? new Response(JSON.stringify({ errors: [{ code: "FORBIDDEN", message: "no" }] }), {
          status: 403,
        })
        : response,
  );
  const error = await rejects(client.listProjects());
  assert.equal(error.status, 403);
});

Deno.test("project lookup is exact: a name that is a prefix of others finds only itself", async () => {
  const { fake, client, paths } = setup();
  for (let i = 0; i < 30; i++) fake.addProject(`waldur-a${i}`);
  fake.addProject("waldur-a");
  assert.equal((await client.projectByName("waldur-a"))?.name, "waldur-a");
  assert.equal(await client.projectByName("waldur"), null);
  assert.equal(await client.projectByName("123"), null, "a numeric name is not read as an id");
  assert.ok(fake.projects.has(1), "project id 1 exists");
  assert.equal(await client.projectByName("1"), null, "a numeric name is not read as an id");
  assert.ok(paths.every((p) => !p.includes("name=")));
});

Deno.test("create returns the id from Location; a duplicate is 409; a bad name 400", async () => {
  const { client } = setup();
  const id = await client.createProject("team-a", 5 * GIB);
  assert.equal((await client.projectByName("team-a"))?.project_id, id);
  assert.equal((await client.projectQuota(id))?.hard?.storage, 5 * GIB);
  assert.equal((await rejects(client.createProject("team-a", GIB))).status, 409);
  assert.equal((await rejects(client.createProject("Team_A", GIB))).status, 400);
  assert.equal((await rejects(client.createProject("team-b", 0 - 5))).status, 400);
});

Deno.test("Harbor refuses a 0 quota on update; the planner never sends 0 or -1", async () => {
  const { client } = setup();
  const id = await client.createProject("q", GIB);
  const quota = await client.projectQuota(id);
  assert.equal((await rejects(client.updateQuota(quota!.id, 0))).status, 400);
  assert.equal(quotaBytes(0), 1);
  assert.equal(quotaBytes(2.5), 2.5 * GIB);
});

Deno.test("delete answers 412 while repositories remain", async () => {
  const { fake, client } = setup();
  const id = await client.createProject("full", GIB);
  fake.push("full", "app", 10);
  const e = await rejects(client.deleteProject(id));
  assert.equal(e.status, 412);
  assert.equal(e.transient, false);
  await client.deleteRepository("full", "full/app");
  await client.deleteProject(id);
  assert.equal(fake.projects.size, 0);
});

Deno.test("401 and 403 say what to fix and wait for the operator (transient)", async () => {
  const { fake, client } = setup();
  fake.password = "changed";
  const e401 = await rejects(client.listProjects());
  assert.equal(e401.status, 401);
  assert.equal(e401.transient, true);
  assert.match(e401.message, /check robot_username and robot_password/);
  assert.ok(!e401.message.includes("robot-secret"));
  fake.password = "robot-secret";
  fake.revoke("quota:update");
  const id = await client.createProject("x", GIB);
  const e403 = await rejects(client.updateQuota((await client.projectQuota(id))!.id, 2 * GIB));
  assert.equal(e403.status, 403);
  assert.match(e403.message, /cannot update quota \d+: the robot account robot\$berth lacks/);
});

Deno.test("groups: exact search, create with Location, 409 on a duplicate", async () => {
  const { client } = setup();
  const id = await client.createGroup("waldur-proj");
  await client.createGroup("waldur-proj-two");
  assert.equal((await client.findGroup("waldur-proj"))?.id, id);
  assert.equal(await client.findGroup("waldur-pro"), null);
  assert.equal((await rejects(client.createGroup("waldur-proj"))).status, 409);
});

Deno.test("groups: an LDAP or HTTP group of the same name is not the OIDC group", async () => {
  const { fake, client } = setup();
  fake.groups.push(
    { id: 900, group_name: "waldur-team", group_type: 1, ldap_group_dn: "cn=waldur-team" },
    { id: 901, group_name: "waldur-team", group_type: 2, ldap_group_dn: "" },
  );
  assert.equal(await client.findGroup("waldur-team"), null, "no OIDC group of that name yet");
  const id = await client.createGroup("waldur-team");
  assert.equal((await client.findGroup("waldur-team"))?.id, id, "the OIDC one, listed last");
});

const PULL = [{ resource: "repository", action: "pull" }];
const DAY_S = 86_400;

/** A robot of Berth's that may pull from these projects, as the client sends it. */
function teamRobot(name: string, projects: string[], duration = 30) {
  return {
    name,
    description: `pull access of team ${name}`,
    duration,
    permissions: projects.map((namespace) => ({ kind: "project", namespace, access: PULL })),
  };
}

Deno.test("robots: the secret is in the create's answer only; names show Harbor's prefix; a lookup is exact", async () => {
  const { fake, client, paths } = setup();
  fake.addProject("team-a");
  const created = await client.createRobot(teamRobot("berth-a", ["team-a"]));
  assert.equal(created.name, "robot$berth-a");
  assert.ok(created.secret.length >= 8);
  await client.createRobot(teamRobot("berth-ab", ["team-a"]));
  await client.createRobot(teamRobot("x-berth-a", ["team-a"]));
  const found = await client.robots("berth-a");
  assert.deepEqual(found.map((r) => r.name), ["robot$berth-a"]);
  assert.ok(paths.includes("GET /api/v2.0/robots?q=name%3Dberth-a&page=1&page_size=100"));
  assert.deepEqual(found[0]?.permissions, [{ kind: "project", namespace: "team-a", access: PULL }]);
  assert.equal(found[0]?.level, "system");
  assert.deepEqual((await client.robots()).map((r) => r.name).sort(), [
    "robot$berth-a",
    "robot$berth-ab",
  ]);
  assert.equal((await client.robot(created.id))?.name, "robot$berth-a");
  assert.equal(await client.robots("berth-b").then((r) => r.length), 0);
  assert.equal(await client.robot(999), null);
  const everything = JSON.stringify([found, await client.robots(), await client.robot(created.id)]);
  assert.ok(!everything.includes(created.secret), "a read never carries the secret");
  assert.equal((await rejects(client.createRobot(teamRobot("berth-a", ["team-a"])))).status, 409);
});

Deno.test("robots: Harbor's refusals of a create (name, permission, project, the creator's own scope)", async () => {
  const { fake, client } = setup();
  fake.addProject("team-a");
  assert.equal((await rejects(client.createRobot(teamRobot("Berth_A", ["team-a"])))).status, 400);
  assert.equal((await rejects(client.createRobot(teamRobot("berth-a", ["team-z"])))).status, 404);
  assert.equal(
    (await rejects(client.createRobot(teamRobot("berth-a", ["team-a"], 0)))).status,
    400,
  );
  const update = {
    ...teamRobot("berth-a", []),
    permissions: [{
      kind: "system",
      namespace: "/",
      access: [{ resource: "robot", action: "update" }],
    }],
  };
  assert.match((await rejects(client.createRobot(update))).message, /robot:update/);
  fake.revoke("repository:pull");
  const scope = await rejects(client.createRobot(teamRobot("berth-a", ["team-a"])));
  assert.equal(scope.status, 403);
  assert.match(scope.message, /every access it grants \(on all projects: repository pull\)/);
  assert.equal(fake.robots.size, 0);
});

Deno.test("robots: every one of Berth's is listed past a page of 100, and nothing else", async () => {
  const { fake, client, paths } = setup();
  for (let i = 0; i < 205; i++) {
    fake.addRobot({ name: `berth-t${i}`, duration: 30, permissions: [] });
  }
  fake.addRobot({ name: "ci-pusher", duration: -1, permissions: [] });
  assert.equal((await client.robots()).length, 205);
  assert.deepEqual(
    paths.filter((p) => p.startsWith("GET /api/v2.0/robots")),
    [1, 2, 3].map((n) => `GET /api/v2.0/robots?q=name%3D%7Eberth-&page=${n}&page_size=100`),
  );
});

Deno.test("robots: expires_at is the create's time plus the duration in days (-1 never); a new duration counts from creation", async () => {
  let now = Date.UTC(2026, 10, 15, 12);
  const fake = new FakeHarbor({ now: () => now });
  fake.grant("robot:update");
  const { client } = editedClient(fake, (_, response) => response);
  fake.addProject("team-a");
  const created = await client.createRobot(teamRobot("berth-a", ["team-a"], 30));
  assert.equal(created.expires_at, now / 1000 + 30 * DAY_S);
  const never = await client.createRobot(teamRobot("berth-b", ["team-a"], -1));
  assert.equal(never.expires_at, -1);
  now += 20 * DAY_S * 1000;
  const robot = (await client.robot(created.id))!;
  await client.updateRobot(created.id, { ...robot, duration: 60 });
  assert.equal(
    (await client.robot(created.id))?.expires_at,
    Date.UTC(2026, 10, 15, 12) / 1000 + 60 * DAY_S,
  );
});

Deno.test("robots: PUT replaces permissions, description and disable; name and level stay; a robot credential may not (Harbor 2.12+)", async () => {
  const { fake, client } = setup();
  fake.addProject("team-a");
  fake.addProject("team-b");
  const { id } = await client.createRobot(teamRobot("berth-a", ["team-a", "team-b"]));
  const robot = (await client.robot(id))!;
  const refused = await rejects(client.updateRobot(id, robot));
  assert.equal(refused.status, 403);
  assert.match(refused.message, /since Harbor 2\.12 no robot account can hold robot update/);
  fake.grant("robot:update");
  await client.updateRobot(id, {
    ...robot,
    description: "team a only",
    disable: true,
    permissions: [{ kind: "project", namespace: "team-a", access: PULL }],
  });
  const after = (await client.robot(id))!;
  assert.equal(after.description, "team a only");
  assert.equal(after.disable, true);
  assert.deepEqual(after.permissions.map((p) => p.namespace), ["team-a"]);
  assert.equal(
    (await rejects(client.updateRobot(id, { ...after, name: "robot$other" }))).status,
    400,
  );
  assert.equal((await rejects(client.updateRobot(id, { ...after, permissions: [] }))).status, 400);
});

Deno.test("robots: a refresh has Harbor generate a new secret (the old one stops working, the expiry stays); delete", async () => {
  const { fake, client } = setup();
  fake.addProject("team-a");
  const created = await client.createRobot(teamRobot("berth-a", ["team-a"]));
  assert.equal((await rejects(client.refreshRobotSecret(created.id))).status, 403);
  fake.grant("robot:update");
  const secret = await client.refreshRobotSecret(created.id);
  assert.notEqual(secret, created.secret);
  assert.ok(fake.canPull("robot$berth-a", secret, "team-a"));
  assert.ok(!fake.canPull("robot$berth-a", created.secret, "team-a"));
  assert.equal((await client.robot(created.id))?.expires_at, created.expires_at);
  await client.deleteRobot(created.id);
  assert.equal(await client.robot(created.id), null);
  assert.equal((await rejects(client.deleteRobot(created.id))).status, 404);
  await assert.rejects(client.deleteRobot(0), /not a positive integer/);
});

Deno.test("robot prefix: robot$ when Harbor will not say; the configured one to an admin; learned from Harbor's answers", async () => {
  const fake = new FakeHarbor({ robotPrefix: "bot-" });
  fake.addProject("team-a");
  const robot = editedClient(fake, (_, response) => response).client;
  assert.equal(await robot.robotPrefix(), "robot$", "a robot may not read /configurations");
  await robot.createRobot(teamRobot("berth-a", ["team-a"]));
  assert.equal(await robot.robotPrefix(), "bot-", "learned from the create's answer");
  assert.deepEqual((await robot.robots()).map((r) => r.name), ["bot-berth-a"]);
  const lookup = editedClient(fake, (_, response) => response).client;
  assert.equal((await lookup.robots("berth-a"))[0]?.name, "bot-berth-a");
  assert.equal(await lookup.robotPrefix(), "bot-", "learned from an exact lookup");
  fake.grant("configuration:read");
  const admin = editedClient(fake, (_, response) => response);
  assert.equal(await admin.client.robotPrefix(), "bot-");
  assert.equal(await admin.client.robotPrefix(), "bot-");
  assert.deepEqual(admin.paths, ["GET /api/v2.0/configurations"], "read once");
});

Deno.test("users: the lookup is exact (patterns escaped); a read gives the OIDC subiss and never the CLI secret", async () => {
  const { fake, client } = setup();
  const ann = fake.addUser({
    username: "ann",
    subiss: "sub-ann|https://kc/realms/waldur",
    cliSecret: "CliSecret1",
  });
  fake.addUser({ username: "anna", subiss: "sub-anna|https://kc/realms/waldur" });
  const tilde = fake.addUser({ username: "~ann" });
  const plus = fake.addUser({ username: "a+b c%" });
  assert.deepEqual((await client.usersNamed("ann")).map((u) => u.user_id), [ann.id]);
  assert.deepEqual((await client.usersNamed("~ann")).map((u) => u.user_id), [tilde.id]);
  assert.deepEqual((await client.usersNamed("a+b c%")).map((u) => u.user_id), [plus.id]);
  assert.deepEqual(await client.usersNamed("an"), []);
  await assert.rejects(client.usersNamed("a,b"), /exactly/);
  assert.equal((await client.usersNamed("ann"))[0]?.oidc_user_meta, undefined, "a list has none");
  const read = await client.user(ann.id);
  assert.equal(read?.oidc_user_meta?.subiss, "sub-ann|https://kc/realms/waldur");
  assert.ok(!JSON.stringify(read).includes("CliSecret1"));
  assert.ok(!("secret" in (read?.oidc_user_meta ?? {})));
  assert.equal(await client.user(999), null);
});

Deno.test("users: delete marks the user deleted (renamed, out of every project); the admin cannot be deleted", async () => {
  const { fake, client } = setup();
  const ann = fake.addUser({ username: "ann", subiss: "s|i" });
  const p = fake.addProject("team-a");
  p.members.push({ id: 99, entityType: "u", entityId: ann.id, entityName: "ann", roleId: 2 });
  await client.deleteUser(ann.id);
  assert.deepEqual(await client.usersNamed("ann"), []);
  assert.equal(await client.user(ann.id), null);
  assert.equal(fake.users.get(ann.id)?.username, `ann#${ann.id}`);
  assert.ok(!p.members.some((m) => m.entityId === ann.id && m.entityType === "u"));
  assert.equal((await rejects(client.deleteUser(1))).status, 403);
  fake.revoke("user:delete");
  assert.match((await rejects(client.deleteUser(ann.id))).message, /lacks the permission/);
});
