/**
 * The loops agree with each other: access is granted at Create (no waiting for the membership
 * pass), and objects that orders share (groups, tokens) are made once, however many orders of
 * one Waldur project run side by side.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

const KEYCLOAK =
  `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`;

Deno.test("a Rancher Create order ends with the team in its Keycloak group, without a membership pass", async () => {
  using site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: false" });
  site.keycloak.addUser("waldur", "ann");
  site.keycloak.addUser("waldur", "bob");
  const { order: uuid } = orderProject(site, "Analytics");
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "bob" }, { username: "ghost" }]);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done");
  const child = [...site.keycloak.realm("waldur").groups.values()].find((g) =>
    g.name === "project_proj_workloads-manage"
  );
  const members = [...child?.members ?? []].map((id) =>
    site.keycloak.realm("waldur").users.get(id)?.username
  );
  assert.deepEqual(members.sort(), ["ann", "bob"], "the team is in before the order is done");
  assert.ok(site.logs.some((l) => l.includes("ghost not in realm waldur yet")));
});

Deno.test("a Harbor Create order with Keycloak ends with the team in the OIDC group, without a membership pass", async () => {
  const kc = new FakeKeycloak({ now: () => new ManualClock().now() });
  kc.addRealm("waldur");
  kc.addUser("waldur", "ann");
  using site = makeHarborSite(KEYCLOAK, { "keycloak.test": kc.app });
  const { order: uuid } = order(site, "reg");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done");
  assert.deepEqual(kc.group("waldur", "waldur-proj")?.usernames, ["ann"]);
});

Deno.test("ten Harbor Creates of one Waldur project side by side: one group lookup, one create, no 409", async () => {
  using site = makeHarborSite("", {}, { yamlExtra: "concurrency: 4" });
  for (let i = 0; i < 10; i++) order(site, `reg-${i}`);
  await processOrders(site.offering.context);
  const sent = site.harbor.requests.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.status}`);
  assert.equal(
    sent.filter((r) => r.startsWith("POST /api/v2.0/usergroups ")).length,
    1,
    sent.join("\n"),
  );
  assert.equal(sent.filter((r) => r.startsWith("GET /api/v2.0/usergroups/search")).length, 1);
  assert.deepEqual(sent.filter((r) => r.endsWith(" 409")), []);
  assert.equal(
    sent.filter((r) => /^POST \/api\/v2\.0\/projects\/\d+\/members 201$/.test(r)).length,
    10,
  );
});

Deno.test("ten Rancher Creates of one Waldur project side by side: one token, one parent lookup, one of each group, no 409", async () => {
  using site = makeRancherSite({ keycloak: true, yamlExtra: "concurrency: 4" });
  const ann = site.keycloak.addUser("waldur", "ann");
  for (let i = 0; i < 10; i++) orderProject(site, `Project ${i}`);
  site.waldur.setTeam("proj", [{ username: ann }]); // the project exists once ordered
  await processOrders(site.offering.context);
  const sent = site.keycloak.requests.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.status}`);
  const count = (re: RegExp) => sent.filter((r) => re.test(r)).length;
  assert.equal(
    count(/^POST \/realms\/master\/protocol\/openid-connect\/token /),
    1,
    sent.join("\n"),
  );
  assert.equal(count(/^GET \/admin\/realms\/waldur\/groups /), 1, "one parent lookup in the pass");
  assert.equal(count(/^POST \/admin\/realms\/waldur\/groups /), 1, "one parent made");
  assert.equal(
    count(/^POST \/admin\/realms\/waldur\/groups\/[^/]+\/children /),
    1,
    "one child made",
  );
  assert.equal(count(/ 409$/), 0);
  assert.equal(
    count(/^PUT \/admin\/realms\/waldur\/users\/[^/]+\/groups\/[^/]+ 204$/),
    1,
    `ann added once:\n${sent.join("\n")}`,
  );
});

/** Holds the first request `match` picks until `release` is called; `held` resolves when it arrives. */
function gate(match: (request: Request) => boolean) {
  let release = () => {};
  let arrived = () => {};
  const held = new Promise<void>((r) => arrived = r);
  const open = new Promise<void>((r) => release = r);
  let used = false;
  return {
    held,
    release: () => release(),
    wrap: (next: (request: Request) => Promise<Response>) => async (request: Request) => {
      if (!used && match(request)) {
        used = true;
        arrived();
        await open;
      }
      return await next(request);
    },
  };
}

Deno.test("a Terminate while a membership pass reads the project: Terminated, never Erred", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "doomed");
  await processOrders(site.offering.context);
  const members = gate((r) => /\/projects\/\d+\/members$/.test(new URL(r.url).pathname));
  site.intercept = (request, next) => members.wrap(next)(request);
  const membership = syncMembership(site.offering.context);
  await members.held; // the pass has listed the resource and is reading its project
  const terminate = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context); // deletes the project under the pass
  assert.equal(site.waldur.order(terminate).state, "done");
  assert.equal(site.harbor.project("waldur-doomed"), undefined);
  members.release();
  const result = await membership;
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.waldur.resource(resource).state, "Terminated");
  assert.ok(
    !site.waldur.writes().some((w) =>
      w.path.includes(resource) && w.path.endsWith("/set_as_erred/")
    ),
    site.waldur.writes().map((w) => w.path).join("\n"),
  );
});

Deno.test("a resource terminated outside this agent while a pass reads it is not marked erred", async () => {
  using site = makeHarborSite();
  const { resource } = order(site, "gone");
  await processOrders(site.offering.context);
  const members = gate((r) => /\/projects\/\d+\/members$/.test(new URL(r.url).pathname));
  site.intercept = (request, next) => members.wrap(next)(request);
  const membership = syncMembership(site.offering.context);
  await members.held;
  // another hand: the project goes and Waldur has the resource terminated
  site.harbor.projects.delete(site.harbor.project("waldur-gone")?.id ?? 0);
  site.waldur.resource(resource).state = "Terminated";
  members.release();
  const result = await membership;
  assert.equal(result.outcome, "ok", result.error);
  assert.ok(!site.waldur.writes().some((w) => w.path.endsWith("/set_as_erred/")));
});
