/**
 * The fake Waldur must not serve what the real one does not: every route it serves exists in
 * the Waldur 8.0.5 OpenAPI spec with that method, and every request the client sends in the
 * end-to-end suite does too.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { FakeWaldur } from "../lib/waldur/fake.ts";
import { processOrders } from "../lib/orders.ts";
import { syncMembership } from "../lib/membership.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeSite, orderCreate } from "./support/site.ts";

const SPEC = new URL("../spec/waldur-openapi-schema-8.0.5.yaml", import.meta.url);

type Spec = { paths: Record<string, Record<string, unknown>> };
let cached: Spec | undefined;
function spec(): Spec {
  cached ??= YAML.parse(Deno.readTextFileSync(SPEC), { maxAliasCount: -1 }) as Spec;
  return cached;
}

/** `/api/marketplace-orders/abc123/approve_by_provider/` → its spec template, if any. */
function specPath(path: string, method: string): string | undefined {
  for (const [template, ops] of Object.entries(spec().paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (re.test(path) && method.toLowerCase() in ops) return template;
  }
  return undefined;
}

Deno.test("every route the fake Waldur serves exists in the spec with that method", () => {
  const fake = new FakeWaldur();
  const routes = fake.app.routes.filter((r) => r.method !== "ALL");
  assert.ok(routes.length > 15);
  for (const r of routes) {
    const template = r.path.replace(/:(\w+)/g, "{$1}");
    const ops = spec().paths[template];
    assert.ok(ops, `${template} is not in the spec`);
    assert.ok(r.method.toLowerCase() in ops, `${r.method} ${template} is not in the spec`);
  }
});

Deno.test("every request the agent sends in a full cycle is a spec operation", async () => {
  using site = makeSite();
  const sent: { method: string; path: string }[] = [];
  site.intercept = (request, next) => {
    sent.push({ method: request.method, path: new URL(request.url).pathname });
    return next(request);
  };
  const { resource } = orderCreate(site, "specced", {});
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  site.waldur.orderUpdate(resource, { storage: 3 });
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  site.backend.projects.get("waldur-specced")!.used.storage = 1;
  await reportUsage(site.offering.context);
  site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  await site.offering.waldur.registerIdentity(
    site.offeringUuid,
    "t",
    ["order_process"],
    "2026-11-15T12:00:00Z",
  );
  await site.offering.waldur.getOffering(site.offeringUuid);
  await site.offering.waldur.me();
  assert.ok(sent.length > 10);
  for (const s of sent) {
    assert.ok(specPath(s.path, s.method), `${s.method} ${s.path} is not in the spec`);
  }
});
