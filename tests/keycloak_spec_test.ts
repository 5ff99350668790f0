/**
 * The fake Keycloak and the Keycloak client against Keycloak's OpenAPI (26.6): every admin route
 * the fake serves is a spec operation, and so is every Keycloak request the group sync sends,
 * with known query parameters.
 */
import assert from "node:assert/strict";
import { keycloakFixture } from "../testing/keycloak_fixture.ts";
import { silentLogger } from "../testing/silent_logger.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { createKeycloakGroupSync } from "../lib/keycloak/sync.ts";

const SPEC = new URL("../spec/keycloak-admin-openapi.json", import.meta.url);

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
  const { fake, client, sent } = keycloakFixture();
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
