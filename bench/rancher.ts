/**
 * `deno task bench` (Rancher part): 1,000 Rancher resources in 300 Waldur projects, with
 * Keycloak groups. Creates them through Create orders, runs one membership pass to fill the
 * groups, then measures a steady-state membership pass with nothing to change and a usage pass.
 * Prints requests per system, writes and wall time.
 */
import { print } from "../lib/log.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeRancherSite, orderProject } from "../tests/support/rancher.ts";

const RESOURCES = 1000;
const PROJECTS = 300;

const site = makeRancherSite({ keycloak: true, tokenTtl: 3600 });
const users: string[] = [];
for (let p = 0; p < PROJECTS; p++) users.push(site.keycloak.addUser("waldur", `user-${p}`));
for (let i = 0; i < RESOURCES; i++) {
  orderProject(site, `app-${i}`, { cpu: 2, memory: 4, storage: 20 }, `proj-${i % PROJECTS}`);
}
for (let p = 0; p < PROJECTS; p++) {
  site.waldur.setTeam(`proj-${p}`, [{ username: users[p]! }, {
    username: users[(p + 1) % PROJECTS]!,
  }]);
}

const count = () => ({
  rancher: site.rancher.requests.length,
  rancherWrites: site.rancher.writes().length,
  keycloak: site.keycloak.requests.length,
  keycloakWrites: site.keycloak.requests.filter((r) => r.method !== "GET").length,
  members: site.keycloak.requests.filter((r) => r.path.includes("/members")).length,
  waldur: site.waldur.requests.length,
  waldurWrites: site.waldur.writes().length,
});
const diff = (a: ReturnType<typeof count>, b: ReturnType<typeof count>) => ({
  rancher: b.rancher - a.rancher,
  rancherWrites: b.rancherWrites - a.rancherWrites,
  keycloak: b.keycloak - a.keycloak,
  keycloakWrites: b.keycloakWrites - a.keycloakWrites,
  members: b.members - a.members,
  waldur: b.waldur - a.waldur,
  waldurWrites: b.waldurWrites - a.waldurWrites,
});

let c0 = count();
let t0 = performance.now();
// Enough passes for 1,000 orders at the default concurrency.
for (let i = 0; i < 3 && site.waldur.writes().length < RESOURCES * 3; i++) {
  await processOrders(site.offering.context);
}
const createMs = performance.now() - t0;
const create = diff(c0, count());
const done = [...site.waldur.orders.values()].filter((o) => o.state === "done").length;

await syncMembership(site.offering.context); // fills the groups
c0 = count();
t0 = performance.now();
const steady = await syncMembership(site.offering.context);
const steadyMs = performance.now() - t0;
const s = diff(c0, count());

c0 = count();
t0 = performance.now();
await reportUsage(site.offering.context);
const usageMs = performance.now() - t0;
const u = diff(c0, count());

print(
  `| Rancher + Keycloak, ${RESOURCES} resources in ${PROJECTS} Waldur projects | value |\n|---|---|`,
);
print(`| Create orders done | ${done} of ${RESOURCES} |`);
print(
  `| Create order: requests per order (Waldur / Rancher+K8s / Keycloak) | ${
    (create.waldur / RESOURCES).toFixed(2)
  } / ${(create.rancher / RESOURCES).toFixed(2)} / ${(create.keycloak / RESOURCES).toFixed(2)} |`,
);
print(`| Create order: wall time per order | ${(createMs / RESOURCES).toFixed(2)} ms |`);
print(`| steady membership pass: outcome | ${steady.outcome} ${steady.error} |`);
print(`| steady pass: Rancher + Kubernetes requests | ${s.rancher} |`);
print(
  `| steady pass: Keycloak requests | ${s.keycloak} (${s.members} members reads, ${
    s.keycloak - s.members
  } other) |`,
);
print(
  `| steady pass: writes (Rancher / Keycloak / Waldur) | ${s.rancherWrites} / ${s.keycloakWrites} / ${s.waldurWrites} |`,
);
print(`| steady pass: Waldur requests per resource | ${(s.waldur / RESOURCES).toFixed(2)} |`);
print(`| steady pass: wall time | ${steadyMs.toFixed(0)} ms |`);
print(`| usage pass: Rancher + Kubernetes requests | ${u.rancher} (${usageMs.toFixed(0)} ms) |`);
print(`| peak RSS | ${(Deno.memoryUsage().rss / 2 ** 20).toFixed(0)} MB |`);
site.close();
