/** The Harbor backend on a site (the fake Waldur and the fake Harbor): diagnose and plan. */
import assert from "node:assert/strict";
import { resourceSpec } from "../testing/resource_spec.ts";
import { makeHarborSite } from "./support/harbor.ts";

const GIB = 1024 ** 3;

Deno.test("diagnose names each missing permission in operator words", async () => {
  using site = makeHarborSite();
  site.harbor.revoke("project:delete", "member:create");
  const checks = await site.backend.diagnose();
  const perms = checks.find((c) => c.name === "harbor permissions");
  assert.equal(perms?.ok, false);
  assert.match(perms?.detail ?? "", /cannot delete projects \(Terminate orders\); add OIDC groups/);
  assert.match(perms?.detail ?? "", /project delete, member create/);
  assert.ok(checks.find((c) => c.name === "harbor reachable")?.ok);
  site.harbor.password = "nope";
  const denied = await site.backend.diagnose();
  assert.equal(denied.find((c) => c.name === "harbor credentials")?.ok, false);
});

Deno.test("plan lists the repairs and changes nothing", async () => {
  using site = makeHarborSite();
  site.waldur.orderCreate(site.offeringUuid, {
    name: "planned",
    limits: { storage: 3 },
    project: "proj",
    customer: "acme",
  });
  const { processOrders } = await import("../lib/orders.ts");
  await processOrders(site.offering.context);
  site.harbor.setHard("waldur-planned", GIB);
  const resource = [...site.waldur.resources.values()][0]!;
  const writes = site.harbor.writes().length;
  const actions = await site.backend.plan([{
    resource: resourceSpec("planned", "proj", { storage: 3 }),
    usernames: [],
  }]);
  assert.deepEqual(actions, [{
    action: "set-quota",
    target: "waldur-planned",
    detail: "storage quota 1 GB → 3 GB",
  }]);
  assert.equal(site.harbor.writes().length, writes);
  assert.equal(resource.backend_id, "waldur-planned");
});
