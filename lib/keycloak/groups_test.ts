/** The Keycloak groups against the fake Keycloak: members added and removed, read errors. */
import assert from "node:assert/strict";
import { keycloakFixture } from "../../testing/keycloak_fixture.ts";
import { silentLogger } from "../../testing/silent_logger.ts";
import type { KeycloakClient } from "./client.ts";
import { KeycloakGroups } from "./groups.ts";
import { passRow } from "./group_io.ts";
import { MEMBER_NAMES } from "./group_row.ts";

/** Top-level groups (Harbor's layout) in realm waldur, audited into `audit`. */
function topLevel(client: KeycloakClient, audit: string[] = []): KeycloakGroups {
  return new KeycloakGroups({
    client,
    layout: { parent: null },
    realm: "waldur",
    byId: false,
    concurrency: 4,
    log: silentLogger(),
    audit: (a, t, d) => audit.push(`${a} ${t} ${d}`),
    onChange: () => {},
    conflictHint: "nothing was changed",
  });
}

Deno.test("keycloak sync: creates the group, adds and removes members, then writes nothing", async () => {
  const { fake, client } = keycloakFixture();
  for (const u of ["ann", "bob", "eve"]) fake.addUser("waldur", u);
  const audit: string[] = [];
  const sync = topLevel(client, audit);
  let out = await sync.sync([{
    group: "g1",
    resource: "r1",
    projectUuid: "p1",
    usernames: ["ann", "eve", "nobody"],
  }]);
  assert.deepEqual(out.get("r1"), { ok: true, changes: 3 });
  assert.deepEqual(fake.group("waldur", "g1")?.usernames, ["ann", "eve"]);
  assert.deepEqual(sync.rows(), [{
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
  assert.deepEqual(sync.rows(), [{
    path: "/g1",
    members: 2,
    added: ["bob"],
    removed: ["eve"],
    missing: [],
    error: "",
    names: ["ann", "bob"], // eve left, bob joined
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
    await sync.planned([{ group: "g1", resource: "r1", projectUuid: "p1", usernames: ["ann"] }]),
    [
      { target: "g1", action: "keycloak remove-member", detail: "bob" },
    ],
  );
});

Deno.test("keycloak sync: members that cannot be read are an error, and nobody is removed", async () => {
  const { fake, client } = keycloakFixture();
  fake.addUser("waldur", "ann");
  const sync = topLevel(client);
  await sync.sync([{ group: "g1", resource: "r1", projectUuid: "p1", usernames: ["ann"] }]);
  const broken = topLevel({ ...client, members: () => Promise.reject(new Error("HTTP 500")) });
  const out = await broken.sync([{
    group: "g1",
    resource: "r1",
    projectUuid: "p1",
    usernames: [],
  }]);
  assert.equal(out.get("r1")?.ok, false);
  assert.deepEqual(fake.group("waldur", "g1")?.usernames, ["ann"]);
  assert.deepEqual(broken.rows(), [{
    path: "/g1",
    members: null,
    added: [],
    removed: [],
    missing: [],
    error: "HTTP 500",
  }], "the status page shows the error, not an empty group");
});

Deno.test("a group's row names at most 50 members, sorted; the count is all of them", () => {
  const many = Array.from(
    { length: 60 },
    (_, i) => ({ username: `u${String(i).padStart(2, "0")}` }),
  );
  const row = passRow("/g", undefined, {
    read: [...many].reverse().map((u, i) => ({ id: String(i), ...u })),
    exists: true,
    missing: [],
    error: "",
  });
  assert.equal(row.members, 60);
  assert.equal(row.names?.length, MEMBER_NAMES);
  assert.deepEqual(row.names?.slice(0, 2), ["u00", "u01"]);
  // members not read this pass: the names the row had stay, as the count does
  const unread = passRow("/g", row, {
    read: new Error("HTTP 503"),
    exists: true,
    missing: [],
    error: "x",
  });
  assert.equal(unread.members, 60);
  assert.deepEqual(unread.names, row.names);
});
