/**
 * `deno task bench` (Harbor part): a steady-state membership pass over 2,000 Harbor resources
 * in 500 Waldur projects with nothing to change, a usage pass over the same, and 100 Create
 * orders. Prints requests per resource, writes and wall time.
 */
import { print } from "../lib/log.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeHarborSite, order } from "../tests/support/harbor.ts";

const RESOURCES = 2000;
const PROJECTS = 500;
const GIB = 1024 ** 3;

const site = makeHarborSite();
for (let i = 0; i < RESOURCES; i++) {
  const project = `proj-${i % PROJECTS}`;
  const name = `reg-${i}`;
  site.harbor.addProject(`waldur-${name}`, 20 * GIB);
  site.harbor.setUsed(`waldur-${name}`, (i % 7) * 1e8);
  site.waldur.addResource(site.offeringUuid, {
    name,
    limits: { storage: 20 },
    backend_id: `waldur-${name}`,
    project,
    customer: "acme",
  });
}
for (let p = 0; p < PROJECTS; p++) site.waldur.setTeam(`proj-${p}`, [{ username: `user-${p}` }]);

// The first pass binds every group; the second is the steady state.
await syncMembership(site.offering.context);
const h0 = site.harbor.requests.length;
const hw0 = site.harbor.writes().length;
const w0 = site.waldur.requests.length;
const ww0 = site.waldur.writes().length;
let t0 = performance.now();
const steady = await syncMembership(site.offering.context);
const steadyMs = performance.now() - t0;
const harborRequests = site.harbor.requests.length - h0;
const harborWrites = site.harbor.writes().length - hw0;
const waldurRequests = site.waldur.requests.length - w0;
const waldurWrites = site.waldur.writes().length - ww0;
const lists = site.harbor.requests.slice(h0).filter((r) => !r.path.includes("/members")).length;

const u0 = site.harbor.requests.length;
t0 = performance.now();
await reportUsage(site.offering.context);
const usageMs = performance.now() - t0;
const usageRequests = site.harbor.requests.length - u0;

const c0 = site.harbor.requests.length;
for (let i = 0; i < 100; i++) order(site, `new-${i}`, { storage: 5 }, `proj-${i}`);
t0 = performance.now();
await processOrders(site.offering.context);
const createMs = performance.now() - t0;
const createRequests = site.harbor.requests.length - c0;

print(`| Harbor, ${RESOURCES} resources in ${PROJECTS} Waldur projects | value |\n|---|---|`);
print(`| steady membership pass: outcome | ${steady.outcome} |`);
print(
  `| steady pass: Harbor requests | ${harborRequests} (${lists} list pages + ${
    harborRequests - lists
  } members reads) |`,
);
print(`| steady pass: Harbor requests per resource | ${(harborRequests / RESOURCES).toFixed(2)} |`);
print(`| steady pass: writes (Harbor / Waldur) | ${harborWrites} / ${waldurWrites} |`);
print(`| steady pass: Waldur requests per resource | ${(waldurRequests / RESOURCES).toFixed(2)} |`);
print(`| steady pass: wall time | ${steadyMs.toFixed(0)} ms |`);
print(`| usage pass: Harbor requests | ${usageRequests} (${usageMs.toFixed(0)} ms) |`);
print(`| Create order: Harbor requests per order | ${(createRequests / 100).toFixed(2)} |`);
print(`| Create order: wall time per order | ${(createMs / 100).toFixed(2)} ms |`);
print(`| peak RSS | ${(Deno.memoryUsage().rss / 2 ** 20).toFixed(0)} MB |`);
site.close();
