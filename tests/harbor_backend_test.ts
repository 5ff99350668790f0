/** The Harbor backend on a site (the fake Waldur and the fake Harbor): diagnose and plan. */
import assert from "node:assert/strict";
import { diagnoseHarbor } from "../lib/harbor/diagnose.ts";
import { HarborSettings } from "../lib/harbor/settings.ts";
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

Deno.test("diagnose checks the team robot accounts' permissions when asked, never robot update", async () => {
  using site = makeHarborSite();
  const settings = HarborSettings.parse({
    harbor_url: "http://harbor.test",
    robot_username: site.harbor.username,
    robot_password: site.harbor.password,
  });
  const perms = async () =>
    (await diagnoseHarbor(site.backend.client, settings, undefined, { robotAccounts: true }))
      .find((c) => c.name === "harbor permissions");
  assert.equal((await perms())?.ok, true, "the fake's default grant has no robot update");
  site.harbor.revoke("robot:create", "user:read");
  assert.match((await perms())?.detail ?? "", /robot create, user read$/);
  const without = await diagnoseHarbor(site.backend.client, settings, undefined);
  assert.equal(without.find((c) => c.name === "harbor permissions")?.ok, true, "not asked");
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
    detail: "storage quota 1 GiB → 3 GiB",
  }]);
  assert.equal(site.harbor.writes().length, writes);
  assert.equal(resource.backend_id, "waldur-planned");
});

Deno.test("harbor: berth plan shows no delete for a Terminate that would delete nothing (no backend_id, not Berth's)", async () => {
  using site = makeHarborSite("termination: purge");
  site.harbor.addProject("waldur-orphan", 5 * GIB);
  site.harbor.push("waldur-orphan", "waldur-orphan/precious", GIB);
  const spec = { ...resourceSpec("orphan", "proj", {}), backendId: "" };
  const planned = await site.backend.planOrder("Terminate", spec);
  // what the Terminate does: nothing (see trust_harbor_test: "a Terminate of a resource Waldur
  // names no project for deletes nothing, even one of its derived name")
  assert.equal(await site.backend.remove(spec), "absent");
  assert.equal(site.harbor.project("waldur-orphan")?.repositories.length, 1);
  assert.deepEqual(
    planned.filter((a) => a.action === "delete-project" || a.action === "purge-repositories"),
    [],
    "berth plan prints what the order would do",
  );
});
