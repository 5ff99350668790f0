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
