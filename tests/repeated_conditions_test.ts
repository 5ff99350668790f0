/**
 * Conditions passes see again and again are logged once at warn when a pass first finds them,
 * once at info when they clear, and never by the passes between: a team member missing in
 * Keycloak (the same words for every backend), an order Waldur lists malformed.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborKeycloakSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";
import { makeSite, orderCreate, type Site } from "./support/site.ts";

/** The log lines (level, message) whose message has every one of `words`. */
function linesWith(site: Site<unknown>, ...words: string[]): string[] {
  return site.logs.flatMap((line) => {
    const { level, msg } = JSON.parse(line);
    return typeof msg === "string" && words.every((w) => msg.includes(w))
      ? [`${level} ${msg}`]
      : [];
  });
}

/** The log lines that speak of `user` being missing in Keycloak. */
function missingLines(site: Site<unknown>, user: string): string[] {
  return linesWith(site, "missing in Keycloak", user);
}

/** Three membership passes, the user made in Keycloak, two more passes. */
async function passes(
  site: Site<unknown>,
  addUser: () => void,
): Promise<{ missing: string[]; all: string[] }> {
  for (let i = 0; i < 3; i++) {
    const result = await syncMembership(site.offering.context);
    assert.equal(result.outcome, "ok", result.error);
  }
  const missing = missingLines(site, "ghost");
  addUser();
  for (let i = 0; i < 2; i++) await syncMembership(site.offering.context);
  return { missing, all: missingLines(site, "ghost") };
}

Deno.test("rancher: a user missing in Keycloak is logged once when found and once when they exist", async () => {
  using site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: false" });
  site.keycloak.addUser("waldur", "ann");
  orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "ghost" }]);
  const { missing, all } = await passes(site, () => site.keycloak.addUser("waldur", "ghost"));
  assert.deepEqual(missing, [
    "warn missing in Keycloak: ghost is not in realm waldur; group " +
    "/c_cm7x2k9q/project_proj_workloads-manage gets them at the first membership pass after " +
    "they exist",
  ]);
  assert.deepEqual(all, [
    ...missing,
    "info no longer missing in Keycloak: ghost (group /c_cm7x2k9q/project_proj_workloads-manage)",
  ]);
});

Deno.test("harbor: a user missing in Keycloak is logged once when found and once when they exist, in Rancher's words", async () => {
  using site = makeHarborKeycloakSite(["ann"]);
  order(site, "reg");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "ghost" }]);
  const { missing, all } = await passes(site, () => site.kc.addUser("waldur", "ghost"));
  assert.deepEqual(missing, [
    "warn missing in Keycloak: ghost is not in realm waldur; group /waldur-proj gets them at " +
    "the first membership pass after they exist",
  ]);
  assert.deepEqual(all, [
    ...missing,
    "info no longer missing in Keycloak: ghost (group /waldur-proj)",
  ]);
});

Deno.test("an order Waldur lists malformed is logged once, and once more when it is no longer listed so", async () => {
  using site = makeSite();
  const bad = orderCreate(site, "bad");
  const order = site.waldur.order(bad.order) as unknown as Record<string, unknown>;
  order.type = "Explode";
  for (let i = 0; i < 3; i++) {
    const result = await processOrders(site.offering.context);
    assert.equal(result.outcome, "partial");
    site.clock.advance(60_000);
  }
  assert.deepEqual(linesWith(site, `order ${bad.order} is`).map((l) => l.slice(0, 60)), [
    `warn order ${bad.order} is malformed: type: Invalid`.slice(0, 60),
  ]);
  order.type = "Create";
  await processOrders(site.offering.context);
  await processOrders(site.offering.context);
  assert.deepEqual(linesWith(site, `order ${bad.order} is`).slice(1), [
    `info order ${bad.order} is no longer listed malformed`,
  ]);
});
