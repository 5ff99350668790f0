/**
 * The fake Keycloak and the Keycloak client against Keycloak's OpenAPI (26.6): every admin route
 * the fake serves is a spec operation, and so is every Keycloak request the group sync and a full
 * Rancher scenario send, with known query parameters.
 */
import assert from "node:assert/strict";
import { keycloakFixture } from "../testing/keycloak_fixture.ts";
import { silentLogger } from "../testing/silent_logger.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { KeycloakGroups } from "../lib/keycloak/groups.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

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
  const groups = (parent: string | null) =>
    new KeycloakGroups({
      client,
      layout: { parent },
      realm: "waldur",
      byId: true,
      concurrency: 4,
      log: silentLogger(),
      audit: () => {},
      onChange: () => {},
      conflictHint: "nothing was changed",
    });
  const sync = groups(null);
  await sync.sync([{ group: "g", resource: "r", projectUuid: "p1", usernames: ["ann"] }]);
  await sync.sync([{ group: "g", resource: "r", projectUuid: "p1", usernames: [] }]);
  await sync.diagnose();
  const tree = groups("c_x");
  await tree.ensure({ group: "child", projectUuid: "p2", usernames: ["ann"] });
  await tree.sync([{ group: "child", resource: "r2", projectUuid: "p2", usernames: [] }]);
  await tree.diagnose();
  await tree.release("child");
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

Deno.test("every Keycloak request of a Rancher scenario is a spec operation with known parameters", async () => {
  using site = makeRancherSite({ keycloak: true });
  const sent: { method: string; url: URL }[] = [];
  site.intercept = (request, next) => {
    const url = new URL(request.url);
    if (url.hostname === "keycloak.test") sent.push({ method: request.method, url });
    return next(request);
  };
  const ann = site.keycloak.addUser("waldur", "ann");
  const a = orderProject(site, "Alpha");
  orderProject(site, "Beta");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: ann }, { username: "ghost" }]);
  await syncMembership(site.offering.context);
  site.waldur.setTeam("proj", []);
  await syncMembership(site.offering.context);
  site.waldur.orderTerminate(a.resource);
  await processOrders(site.offering.context);
  await site.backend.diagnose();
  const admin = sent.filter((s) => s.url.pathname.startsWith("/admin/"));
  const operations = new Set<string>();
  for (const s of admin) {
    const match = Object.entries(spec.paths).find(([template, ops]) =>
      new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(s.url.pathname) &&
      ops[s.method.toLowerCase()]
    );
    assert.ok(match, `${s.method} ${s.url.pathname} is not in the spec`);
    const op = match[1][s.method.toLowerCase()]!;
    operations.add(`${s.method} ${match[0]}`);
    for (const key of s.url.searchParams.keys()) {
      assert.ok(
        op.parameters?.some((p) => p.in === "query" && p.name === key),
        `${s.url.pathname}: ${key}`,
      );
    }
  }
  assert.ok(operations.size >= 9, [...operations].join("\n"));
});
