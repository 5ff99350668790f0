/** The Keycloak client against the fake Keycloak: tokens, exact lookups, paging. */
import assert from "node:assert/strict";
import { keycloakFixture } from "../../testing/keycloak_fixture.ts";

Deno.test("keycloak: password grant, refresh before expiry, re-login once on a 401", async () => {
  const { clock, fake, client } = keycloakFixture();
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
  const { fake, client, sent } = keycloakFixture({}, (request, next) => {
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
  const { fake, client } = keycloakFixture({ client_id: "berth", client_secret: "s3cret" });
  fake.realm("master").clients.set("berth", "s3cret");
  await client.realm();
  assert.deepEqual(fake.grants, ["client_credentials"]);
  const bad = keycloakFixture({ keycloak_password: "wrong" });
  await assert.rejects(bad.client.realm(), /login as admin in realm master was refused/);
});

Deno.test("keycloak: a child is found by one exact search, not by a partial match", async () => {
  // Keycloak's exact search ignores case: a search for TEAM answers with "team"
  const nearMatches: string[] = [];
  const { fake, client, sent } = keycloakFixture({}, async (request, next) => {
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
  const { fake, client, sent } = keycloakFixture();
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
