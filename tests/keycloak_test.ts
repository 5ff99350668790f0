/**
 * The Keycloak client and group sync against the fake Keycloak, the Harbor offering keeping its
 * OIDC groups in Keycloak, and the fake and the client against Keycloak's OpenAPI (26.6).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { createKeycloakClient, KeycloakSettings } from "../lib/keycloak/client.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { createKeycloakGroupSync } from "../lib/keycloak/sync.ts";
import { silentLogger } from "../testing/silent_logger.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborSite, order } from "./support/harbor.ts";

const SPEC = new URL("../spec/keycloak-admin-openapi.json", import.meta.url);

/** Stands between the client and the fake: answers itself, or passes the request on (`next`). */
type Intercept = (
  request: Request,
  next: (request: Request) => Promise<Response>,
) => Promise<Response>;

function setup(extra: Record<string, unknown> = {}, intercept?: Intercept) {
  const clock = new ManualClock({ start: Date.parse("2026-11-15T12:00:00Z") });
  const fake = new FakeKeycloak({ now: () => clock.now(), tokenTtl: 60 });
  fake.addRealm("waldur");
  const sent: { method: string; url: URL }[] = [];
  const toFake = async (request: Request) => await fake.app.request(request);
  const settings = KeycloakSettings.parse({
    keycloak_url: "http://keycloak.test/",
    keycloak_username: "admin",
    keycloak_password: "admin-secret",
    ...extra,
  });
  const client = createKeycloakClient({
    settings,
    clock,
    fetch: async (request) => {
      sent.push({ method: request.method, url: new URL(request.url) });
      return intercept ? await intercept(request, toFake) : await toFake(request);
    },
  });
  return { clock, fake, client, sent };
}

Deno.test("keycloak: password grant, refresh before expiry, re-login once on a 401", async () => {
  const { clock, fake, client } = setup();
  assert.equal((await client.realm()).realm, "waldur");
  assert.deepEqual(fake.grants, ["password"]);
  clock.advance(30_000);
  await client.realm();
  assert.deepEqual(fake.grants, ["password"], "a token with half its life left is reused");
  clock.advance(25_000);
  await client.realm();
  assert.deepEqual(fake.grants, ["password", "refresh_token"], "refreshed before it expires");
  fake.expireTokens();
  await client.realm();
  assert.deepEqual(fake.grants, ["password", "refresh_token", "password"]);
});

Deno.test("keycloak: a 401 that a fresh login does not cure fails the call after one re-login", async () => {
  let refused = 0;
  const { fake, client, sent } = setup({}, (request, next) => {
    if (!new URL(request.url).pathname.startsWith("/admin/")) return next(request);
    // every admin call is refused (a guard answers after 10, so a runaway re-login ends)
    if (++refused > 10) return next(request);
    return Promise.resolve(Response.json({ error: "HTTP 401 Unauthorized" }, { status: 401 }));
  });
  await assert.rejects(client.realm(), /401/);
  assert.deepEqual(fake.grants, ["password", "password"], "one login, then one re-login only");
  const admin = sent.filter((s) => s.url.pathname.startsWith("/admin/"));
  assert.equal(admin.length, 2, "the call and its one retry");
});

Deno.test("keycloak: client credentials, and a refused login says what to fix", async () => {
  const { fake, client } = setup({ client_id: "berth", client_secret: "s3cret" });
  fake.realm("master").clients.set("berth", "s3cret");
  await client.realm();
  assert.deepEqual(fake.grants, ["client_credentials"]);
  const bad = setup({ keycloak_password: "wrong" });
  await assert.rejects(bad.client.realm(), /login as admin in realm master was refused/);
});

Deno.test("keycloak: a child is found by one exact search, not by a partial match", async () => {
  // Keycloak's exact search ignores case: a search for TEAM answers with "team"
  const nearMatches: string[] = [];
  const { fake, client, sent } = setup({}, async (request, next) => {
    const url = new URL(request.url);
    if (!url.pathname.endsWith("/children") || url.searchParams.get("search") !== "TEAM") {
      return await next(request);
    }
    url.searchParams.set("search", "team");
    const res = await next(new Request(url, request));
    const body = await res.json() as { name: string }[];
    nearMatches.push(...body.map((g) => g.name));
    return Response.json(body, { status: res.status });
  });
  const parent = await client.createGroup("cluster", {});
  for (let i = 0; i < 150; i++) fake.addGroup("waldur", `team-${i}`, parent);
  const wanted = fake.addGroup("waldur", "team", parent);
  const from = sent.length;
  assert.equal((await client.findChild(parent, "team"))?.id, wanted);
  assert.equal(await client.findChild(parent, "tea"), null);
  const searches = sent.slice(from).filter((s) => s.url.pathname.endsWith("/children"));
  assert.equal(searches.length, 2, "one request per lookup, however many children there are");
  assert.equal(await client.findChild(parent, "TEAM"), null, "a near match is not the child");
  assert.deepEqual(nearMatches, ["team"], "the search did answer with the near match");
  assert.equal(searches[0]?.url.searchParams.get("exact"), "true");
  assert.equal(
    await client.createChild(parent, "team", {}),
    wanted,
    "a 409 on create looks the sibling up",
  );
});

Deno.test("keycloak: exact group lookup, children and members paged past 100", async () => {
  const { fake, client, sent } = setup();
  const id = await client.createGroup("waldur-proj", { managed_by: ["berth"] });
  await client.createGroup("waldur-proj-two", {});
  assert.equal((await client.findGroup("waldur-proj"))?.id, id);
  assert.equal(await client.findGroup("waldur-pro"), null);
  assert.equal(await client.createGroup("waldur-proj", {}), id, "409 looks the group up");
  const realm = fake.realm("waldur");
  for (let i = 0; i < 130; i++) {
    const uid = fake.addUser("waldur", `user-${i}`);
    realm.groups.get(id)!.members.add(uid);
    fake.addGroup("waldur", `c${i}`, id);
  }
  assert.equal((await client.members(id)).length, 130);
  assert.equal((await client.children(id)).length, 130);
  const pages = sent.filter((s) => s.url.pathname.endsWith("/members")).map((s) =>
    s.url.searchParams.get("first")
  );
  assert.deepEqual(pages, ["0", "100"]);
});

Deno.test("keycloak sync: creates the group, adds and removes members, then writes nothing", async () => {
  const { fake, client } = setup();
  for (const u of ["ann", "bob", "eve"]) fake.addUser("waldur", u);
  const audit: string[] = [];
  const sync = createKeycloakGroupSync({
    client,
    realm: "waldur",
    log: silentLogger(),
    audit: (a, t, d) => audit.push(`${a} ${t} ${d}`),
  });
  let out = await sync.sync([{
    group: "g1",
    resource: "r1",
    projectUuid: "p1",
    usernames: ["ann", "eve", "nobody"],
  }]);
  assert.deepEqual(out.get("r1"), { ok: true, changes: 3 });
  assert.deepEqual(fake.group("waldur", "g1")?.usernames, ["ann", "eve"]);
  assert.deepEqual(sync.groups(), [{
    path: "/g1",
    members: 2,
    added: ["ann", "eve"],
    removed: [],
    missing: ["nobody"],
    error: "",
  }]);
  out = await sync.sync([{
    group: "g1",
    resource: "r1",
    projectUuid: "p1",
    usernames: ["ann", "bob"],
  }]);
  assert.deepEqual(out.get("r1"), { ok: true, changes: 2 });
  assert.deepEqual(fake.group("waldur", "g1")?.usernames, ["ann", "bob"]);
  assert.deepEqual(sync.groups(), [{
    path: "/g1",
    members: 2,
    added: ["bob"],
    removed: ["eve"],
    missing: [],
    error: "",
  }]);
  const before = fake.requests.filter((r) => r.method !== "GET").length;
  out = await sync.sync([{
    group: "g1",
    resource: "r1",
    projectUuid: "p1",
    usernames: ["ann", "bob"],
  }]);
  assert.deepEqual(out.get("r1"), { ok: true, changes: 0 });
  assert.equal(fake.requests.filter((r) => r.method !== "GET").length, before + 0);
  assert.deepEqual(
    await sync.plan([{ group: "g1", resource: "r1", projectUuid: "p1", usernames: ["ann"] }]),
    [
      { target: "g1", action: "remove-keycloak-member", detail: "bob" },
    ],
  );
});

Deno.test("keycloak sync: members that cannot be read are an error, and nobody is removed", async () => {
  const { fake, client } = setup();
  fake.addUser("waldur", "ann");
  const sync = createKeycloakGroupSync({
    client,
    realm: "waldur",
    log: silentLogger(),
    audit: () => {},
  });
  await sync.sync([{ group: "g1", resource: "r1", projectUuid: "p1", usernames: ["ann"] }]);
  const broken = createKeycloakGroupSync({
    client: { ...client, members: () => Promise.reject(new Error("HTTP 500")) },
    realm: "waldur",
    log: silentLogger(),
    audit: () => {},
  });
  const out = await broken.sync([{
    group: "g1",
    resource: "r1",
    projectUuid: "p1",
    usernames: [],
  }]);
  assert.equal(out.get("r1")?.ok, false);
  assert.deepEqual(fake.group("waldur", "g1")?.usernames, ["ann"]);
  assert.deepEqual(broken.groups(), [{
    path: "/g1",
    members: null,
    added: [],
    removed: [],
    missing: [],
    error: "HTTP 500",
  }], "the status page shows the error, not an empty group");
});

Deno.test("Harbor with keycloak: the Waldur project team lands in the OIDC group", async () => {
  const clock = new ManualClock();
  const kc = new FakeKeycloak({ now: () => clock.now() });
  kc.addRealm("waldur");
  for (const u of ["ann", "bob"]) kc.addUser("waldur", u);
  using site = makeHarborSite(
    `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`,
    { "keycloak.test": kc.app },
  );
  const { resource } = order(site, "reg");
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "bob" }]);
  await processOrders(site.offering.context);
  let result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok");
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann", "bob"]);
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.attributes, {
    managed_by: ["berth"],
    waldur_project_uuid: [site.waldur.resource(resource).project_uuid],
  }, "the group names the Waldur project whose team it holds");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  result = await syncMembership(site.offering.context);
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
  const published = site.status.snapshot().backends.find((b) => b.kind === "harbor");
  assert.deepEqual(published?.groups, [{
    path: "/waldur-proj",
    members: 1,
    added: [],
    removed: ["bob"],
    missing: [],
    error: "",
  }], "the status record has the Keycloak group state for the page");
  const writes = kc.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token")).length;
  await syncMembership(site.offering.context);
  assert.equal(
    kc.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token")).length,
    writes,
  );
});

Deno.test("Harbor with keycloak: a Harbor that cannot be read fails the pass, and the groups are still synced", async () => {
  const clock = new ManualClock();
  const kc = new FakeKeycloak({ now: () => clock.now() });
  kc.addRealm("waldur");
  kc.addUser("waldur", "ann");
  using site = makeHarborSite(
    `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`,
    { "keycloak.test": kc.app },
  );
  order(site, "reg");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  // a refusal Harbor means (not a passing fault): the projects list answers 400
  site.harbor.faults.add({ kind: "status", status: 400, method: "GET", path: /\/projects$/ });
  await assert.rejects(syncMembership(site.offering.context), /cannot list projects: HTTP 400/);
  // Keycloak's part had finished when the pass failed: nothing is left running behind it
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
});

type OpenApi = {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
};
const spec = JSON.parse(Deno.readTextFileSync(SPEC)) as OpenApi;

function specOp(method: string, path: string) {
  for (const [template, ops] of Object.entries(spec.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const op = ops[method.toLowerCase()];
    if (re.test(path) && op) return op;
  }
  return undefined;
}

Deno.test("every admin route the fake Keycloak serves is in the OpenAPI spec", () => {
  const fake = new FakeKeycloak();
  const names: Record<string, string> = { id: "group-id", uid: "user-id" };
  const routes = fake.app.routes.filter((r) => r.method !== "ALL" && r.path.startsWith("/admin/"));
  assert.ok(routes.length >= 12);
  for (const r of routes) {
    const template = r.path.replace(/:(\w+)/g, (_, n: string) => `{${names[n] ?? n}}`);
    assert.ok(spec.paths[template], `${template} is not in the spec`);
    assert.ok(r.method.toLowerCase() in spec.paths[template]!, `${r.method} ${template}`);
  }
});

Deno.test("every Keycloak admin request the sync sends is a spec operation with known parameters", async () => {
  const { fake, client, sent } = setup();
  fake.addUser("waldur", "ann");
  const sync = createKeycloakGroupSync({
    client,
    realm: "waldur",
    log: silentLogger(),
    audit: () => {},
  });
  await sync.sync([{ group: "g", resource: "r", projectUuid: "p1", usernames: ["ann"] }]);
  await sync.sync([{ group: "g", resource: "r", projectUuid: "p1", usernames: [] }]);
  await sync.diagnose();
  const id = (await client.findGroup("g"))!.id;
  await client.children(id);
  await client.deleteGroup(id);
  const admin = sent.filter((s) => s.url.pathname.startsWith("/admin/"));
  assert.ok(admin.length >= 8);
  for (const s of admin) {
    const op = specOp(s.method, s.url.pathname);
    assert.ok(op, `${s.method} ${s.url.pathname} is not in the spec`);
    for (const key of s.url.searchParams.keys()) {
      assert.ok(
        op.parameters?.some((p) => p.in === "query" && p.name === key),
        `${s.url.pathname}: ${key}`,
      );
    }
  }
});
