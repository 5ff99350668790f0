/**
 * `deno task bench` (Create costs): requests per Create order, by system, with the team put into
 * its group at Create. Each case runs 20 orders: all in one Waldur project, and each in its own
 * (the worst case: nothing is shared). Two team members per Waldur project, in Keycloak.
 * In-process fakes (no latency): the counts are what matters here.
 */
import { ManualClock } from "../testing/manual_clock.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { print } from "../lib/log.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborSite, order } from "../tests/support/harbor.ts";
import { makeRancherSite, orderProject } from "../tests/support/rancher.ts";
import type { Site } from "../tests/support/site.ts";

const ORDERS = 20;
const KEYCLOAK =
  `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`;

interface Counted {
  site: Site<unknown>;
  counts: () => Record<string, number>;
  users: (project: number) => string[];
  order: (i: number, project: string) => void;
}

function harbor(withKeycloak: boolean): Counted {
  const kc = new FakeKeycloak({ now: () => new ManualClock().now(), tokenTtl: 3600 });
  kc.addRealm("waldur");
  const site = makeHarborSite(withKeycloak ? KEYCLOAK : "", { "keycloak.test": kc.app });
  return {
    site,
    counts: () => ({
      waldur: site.waldur.requests.length,
      harbor: site.harbor.requests.length,
      keycloak: kc.requests.length,
    }),
    users: (p) => {
      for (const u of [`a-${p}`, `b-${p}`]) kc.addUser("waldur", u);
      return [`a-${p}`, `b-${p}`]; // Harbor's groups name users by username
    },
    order: (i, project) => void order(site, `reg-${i}`, { storage: 5 }, project),
  };
}

function rancher(): Counted {
  const site = makeRancherSite({ keycloak: true, tokenTtl: 3600 });
  return {
    site,
    counts: () => ({
      waldur: site.waldur.requests.length,
      rancher: site.rancher.requests.length,
      keycloak: site.keycloak.requests.length,
    }),
    users: (
      p,
    ) => [site.keycloak.addUser("waldur", `a-${p}`), site.keycloak.addUser("waldur", `b-${p}`)],
    order: (i, project) => void orderProject(site, `app-${i}`, { cpu: 1, memory: 1 }, project),
  };
}

async function measure(make: () => Counted, projects: number): Promise<string> {
  const c = make();
  const teams: string[][] = [];
  for (let i = 0; i < ORDERS; i++) c.order(i, `proj-${i % projects}`);
  for (let p = 0; p < projects; p++) teams.push(c.users(p));
  for (let p = 0; p < projects; p++) {
    c.site.waldur.setTeam(`proj-${p}`, teams[p]!.map((username) => ({ username })));
  }
  const before = c.counts();
  await processOrders(c.site.offering.context);
  const after = c.counts();
  const done = [...c.site.waldur.orders.values()].filter((o) => o.state === "done").length;
  c.site.close();
  return Object.keys(after).map((k) =>
    `${k} ${((after[k]! - (before[k] ?? 0)) / ORDERS).toFixed(2)}`
  ).join(" / ") + (done === ORDERS ? "" : ` (${done} of ${ORDERS} done)`);
}

print(
  `| Create order, ${ORDERS} orders: requests per order | all in one Waldur project | each in its own |`,
);
print("|---|---|---|");
for (
  const [name, make] of [
    ["Harbor", () => harbor(false)],
    ["Harbor with Keycloak (team added at Create)", () => harbor(true)],
    ["Rancher with Keycloak (team added at Create)", rancher],
  ] as const
) {
  print(`| ${name} | ${await measure(make, 1)} | ${await measure(make, ORDERS)} |`);
}
