/**
 * The fake Harbor and the Harbor client against Harbor's own swagger (v2.15.2): every route the
 * fake serves is a spec operation, and every request the backend sends in a full scenario is
 * one too, with known query and header parameters, every required one present, and a JSON body
 * that validates against the operation's body schema (unknown fields refused: Harbor would
 * silently drop them).
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { createHarborClient } from "../lib/harbor/client.ts";
import { FakeHarbor } from "../lib/harbor/fake.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { type Exchange, record, type Swagger, swaggerCheck } from "./support/swagger.ts";

const SPEC = new URL("../spec/harbor-v2.0-swagger.yaml", import.meta.url);

const spec = YAML.parse(Deno.readTextFileSync(SPEC)) as Swagger & { basePath: string };
const conformance = swaggerCheck(
  spec,
  "harbor",
  (path) => path.startsWith(spec.basePath) ? path.slice(spec.basePath.length) : undefined,
);
const check = conformance.request;

Deno.test("every route the fake Harbor serves is a spec operation", () => {
  const fake = new FakeHarbor();
  const routes = fake.app.routes.filter((r) => r.method !== "ALL");
  assert.ok(routes.length >= 20);
  for (const r of routes) {
    const template = r.path.slice(spec.basePath.length).replace(/:(\w+)/g, "{$1}");
    const ops = spec.paths[template];
    assert.ok(ops, `${template} is not in the spec`);
    assert.ok(r.method.toLowerCase() in ops, `${r.method} ${template} is not in the spec`);
  }
});

Deno.test("the conformance check catches a wrong body, an unknown field and an unknown path", () => {
  const h = new Headers({ "content-type": "application/json" });
  const url = (p: string) => new URL(`http://h${spec.basePath}${p}`);
  assert.deepEqual(check("PUT", url("/quotas/1"), h, { hard: { storage: 5 } }), []);
  assert.equal(check("PUT", url("/quotas/1"), h, { hard: { storage: "5" } }).length, 1);
  assert.equal(
    check("POST", url("/projects"), h, { project_name: "a", storagelimit: 1 }).length,
    1,
  );
  assert.equal(check("GET", url("/projects/1/quota"), h, undefined).length, 1);
  assert.equal(check("GET", url("/projects?nam=x"), h, undefined).length, 1);
});

Deno.test("every request the Harbor backend sends in a full scenario conforms to the swagger", async () => {
  using site = makeHarborSite("termination: purge");
  const sent: Exchange[] = [];
  site.intercept = (request, next) =>
    record(request, next, { into: sent, when: (url) => url.hostname === "harbor.test" });
  site.harbor.addProject("waldur-adopted");
  const a = order(site, "alpha", { storage: 4 });
  order(site, "adopted", {});
  order(site, "other", { storage: 1 }, "proj-two");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  site.harbor.setHard("waldur-alpha", 1);
  site.harbor.removeGroupMember("waldur-other", "waldur-proj-two");
  site.harbor.project("waldur-adopted")!.members.find((m) => m.entityType === "g")!.roleId = 4;
  await syncMembership(site.offering.context);
  site.harbor.push("waldur-alpha", "team/app", 1024);
  await reportUsage(site.offering.context);
  site.waldur.orderUpdate(a.resource, { storage: 8 });
  await processOrders(site.offering.context);
  site.waldur.orderTerminate(a.resource);
  await processOrders(site.offering.context);
  await site.backend.diagnose();
  await site.backend.plan([]);
  const kinds = new Set(sent.map((s) => `${s.method} ${s.url.pathname.replace(/\d+/g, "N")}`));
  assert.ok(kinds.size >= 14, [...kinds].join("\n"));
  const problems = sent.flatMap((s) => check(s.method, s.url, s.headers, s.body));
  assert.deepEqual(problems, []);
});

Deno.test("every request of the robot account and user calls conforms to the swagger", async () => {
  const fake = new FakeHarbor({ robotPrefix: "bot-" });
  fake.grant("robot:update", "configuration:read");
  fake.addProject("team-a");
  const ann = fake.addUser({ username: "~ann", subiss: "s|i", cliSecret: "CliSecret1" });
  const sent: Exchange[] = [];
  const client = createHarborClient({
    url: "http://harbor.test",
    username: fake.username,
    password: fake.password,
    fetch: (request) =>
      record(request, (r) => Promise.resolve(fake.app.request(r)), {
        into: sent,
        when: () => true,
      }),
    clock: new ManualClock(),
  });
  assert.equal(await client.robotPrefix(), "bot-");
  const created = await client.createRobot({
    name: "berth-a",
    description: "team a",
    duration: 30,
    permissions: [{
      kind: "project",
      namespace: "team-a",
      access: [{ resource: "repository", action: "pull", effect: "allow" }],
    }],
  });
  const robot = (await client.robot(created.id))!;
  await client.updateRobot(created.id, { ...robot, disable: true, duration: null });
  await client.updateRobot(created.id, { ...robot, duration: 60 });
  await client.refreshRobotSecret(created.id);
  await client.robots("berth-a");
  await client.robots();
  await client.deleteRobot(created.id);
  assert.equal((await client.usersNamed("~ann"))[0]?.user_id, ann.id);
  await client.user(ann.id);
  await client.deleteUser(ann.id);
  const kinds = new Set(sent.map((s) => `${s.method} ${s.url.pathname.replace(/\d+/g, "N")}`));
  assert.equal(kinds.size, 10, [...kinds].join("\n"));
  assert.deepEqual(sent.flatMap((s) => check(s.method, s.url, s.headers, s.body)), []);
});
