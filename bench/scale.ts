/**
 * `deno task bench` (scale part): 10,000 resources across 2,000 Waldur projects, half Harbor and
 * half Rancher with Keycloak groups, with 5 ms of latency on every request to every fake.
 * Measures the first pass (the Create orders, then the first membership pass), a steady-state
 * membership pass with nothing to change and a usage pass: wall time, requests per system,
 * writes, peak RSS. The same run drives a naive mode that looks every resource up one by one, as
 * the Python agent does, for the ratio side by side.
 *
 *   deno run --allow-all bench/scale.ts        (RESOURCES=2000 for a quicker run)
 */
import { print } from "../lib/log.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { forEachLimit } from "../lib/pool.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeHarborSite, order } from "../tests/support/harbor.ts";
import { makeRancherSite, orderProject } from "../tests/support/rancher.ts";

const TOTAL = Number(Deno.env.get("RESOURCES") ?? 10_000);
const HALF = TOTAL / 2;
const PROJECTS = TOTAL / 5 / 2; // 2,000 Waldur projects in all, 1,000 per offering
const LATENCY_MS = 5;
const CONCURRENCY = 16;
const yamlExtra = `concurrency: ${CONCURRENCY}`;

const delay = () => new Promise((r) => setTimeout(r, LATENCY_MS));
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
}, 50);

const harbor = makeHarborSite("", {}, { yamlExtra });
const rancher = makeRancherSite({ keycloak: true, tokenTtl: 3600, yamlExtra });
for (const site of [harbor, rancher]) {
  site.intercept = async (request, next) => {
    await delay();
    return await next(request);
  };
}
for (let p = 0; p < PROJECTS; p++) rancher.keycloak.addUser("waldur", `kc-user-${p}`);
for (let i = 0; i < HALF; i++) {
  order(harbor, `reg-${i}`, { storage: 20 }, `hp-${i % PROJECTS}`);
  orderProject(rancher, `app-${i}`, { cpu: 2, memory: 4, storage: 20 }, `rp-${i % PROJECTS}`);
}
for (let p = 0; p < PROJECTS; p++) {
  harbor.waldur.setTeam(`hp-${p}`, [{ username: `h-user-${p}` }]);
  rancher.waldur.setTeam(`rp-${p}`, [{ username: `kc-user-${p}` }]);
}

interface Counts {
  waldur: number;
  harbor: number;
  rancher: number;
  keycloak: number;
  writes: number;
}

function counts(): Counts {
  const writes = (rs: { method: string }[]) =>
    rs.filter((r) => r.method !== "GET" && r.method !== "HEAD").length;
  const kcWrites =
    rancher.keycloak.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token"))
      .length;
  return {
    waldur: harbor.waldur.requests.length + rancher.waldur.requests.length,
    harbor: harbor.harbor.requests.length,
    rancher: rancher.rancher.requests.length,
    keycloak: rancher.keycloak.requests.length,
    writes: writes(harbor.waldur.requests) + writes(rancher.waldur.requests) +
      writes(harbor.harbor.requests) + writes(rancher.rancher.requests) + kcWrites,
  };
}

function diff(a: Counts, b: Counts): Counts & { total: number } {
  const d = {
    waldur: b.waldur - a.waldur,
    harbor: b.harbor - a.harbor,
    rancher: b.rancher - a.rancher,
    keycloak: b.keycloak - a.keycloak,
    writes: b.writes - a.writes,
  };
  return { ...d, total: d.waldur + d.harbor + d.rancher + d.keycloak };
}

async function measure(step: () => Promise<unknown>) {
  const before = counts();
  const t0 = performance.now();
  await step();
  return { ms: performance.now() - t0, ...diff(before, counts()) };
}

const first = await measure(async () => {
  await Promise.all([
    processOrders(harbor.offering.context),
    processOrders(rancher.offering.context),
  ]);
  await Promise.all([
    syncMembership(harbor.offering.context),
    syncMembership(rancher.offering.context),
  ]);
});
const done = [...harbor.waldur.orders.values(), ...rancher.waldur.orders.values()]
  .filter((o) => o.state === "done").length;
const steady = await measure(() =>
  Promise.all([syncMembership(harbor.offering.context), syncMembership(rancher.offering.context)])
);
const usage = await measure(() =>
  Promise.all([reportUsage(harbor.offering.context), reportUsage(rancher.offering.context)])
);

/**
 * The naive mode: per resource and per step, the lookups the Python agent makes — the resource's
 * team from Waldur; in Harbor the project by name, its quota and its members, and the OIDC group;
 * in Rancher the project by name, its bindings and namespaces, and in Keycloak the group and its
 * members. (The Python agent makes more: 13 Harbor requests per resource, see the reference.)
 */
async function naivePass(): Promise<void> {
  const get = (
    app: { request: (r: Request) => Response | Promise<Response> },
    url: string,
    auth: string,
  ) =>
    (async () => {
      await delay();
      const res = await app.request(new Request(url, { headers: { authorization: auth } }));
      await res.body?.cancel();
    })();
  const hAuth = `Basic ${btoa(`${harbor.harbor.username}:${harbor.harbor.password}`)}`;
  const rAuth = `Basic ${btoa(`${rancher.rancher.accessKey}:${rancher.rancher.secretKey}`)}`;
  const wAuth = `Token ${harbor.waldur.token}`;
  const harborResources = [...harbor.waldur.resources.values()];
  const rancherResources = [...rancher.waldur.resources.values()];
  await forEachLimit(harborResources, CONCURRENCY, async (r) => {
    await get(
      harbor.waldur.app,
      `http://waldur.test/api/marketplace-provider-resources/${r.uuid}/team/`,
      wAuth,
    );
    await get(
      harbor.harbor.app,
      `http://harbor.test/api/v2.0/projects?name=${r.backend_id}`,
      hAuth,
    );
    await get(
      harbor.harbor.app,
      `http://harbor.test/api/v2.0/projects/${r.backend_id}/summary`,
      hAuth,
    );
    await get(
      harbor.harbor.app,
      `http://harbor.test/api/v2.0/projects/${r.backend_id}/members`,
      hAuth,
    );
    await get(
      harbor.harbor.app,
      `http://harbor.test/api/v2.0/usergroups?search=${r.project_slug}`,
      hAuth,
    );
  });
  await forEachLimit(rancherResources, CONCURRENCY, async (r) => {
    const id = encodeURIComponent(r.backend_id);
    await get(
      rancher.waldur.app,
      `http://waldur.test/api/marketplace-provider-resources/${r.uuid}/team/`,
      `Token ${rancher.waldur.token}`,
    );
    await get(rancher.rancher.app, `http://rancher.test/v3/projects?name=waldur-${r.slug}`, rAuth);
    await get(
      rancher.rancher.app,
      `http://rancher.test/v3/projectRoleTemplateBindings?projectId=${id}`,
      rAuth,
    );
    await get(
      rancher.rancher.app,
      `http://rancher.test/k8s/clusters/${rancher.cluster}/api/v1/namespaces?labelSelector=field.cattle.io/projectId`,
      rAuth,
    );
    await get(
      rancher.keycloak.app,
      `http://keycloak.test/admin/realms/waldur/groups?search=${r.project_slug}`,
      "Bearer x",
    );
    await get(
      rancher.keycloak.app,
      `http://keycloak.test/admin/realms/waldur/groups/x/members`,
      "Bearer x",
    );
  });
}
const naive = await measure(naivePass);
clearInterval(sampler);
peakRss = Math.max(peakRss, Deno.memoryUsage().rss);

const perResource = (n: number) => (n / TOTAL).toFixed(2);
const row = (name: string, m: Awaited<ReturnType<typeof measure>>) =>
  `| ${name} | ${(m.ms / 1000).toFixed(1)} s | ${m.total} (${perResource(m.total)}/resource) | ` +
  `${m.waldur} / ${m.harbor} / ${m.rancher} / ${m.keycloak} | ${m.writes} |`;
print(
  `${TOTAL} resources (${HALF} Harbor, ${HALF} Rancher with Keycloak) in ${PROJECTS * 2} Waldur ` +
    `projects, ${LATENCY_MS} ms per request, concurrency ${CONCURRENCY}; ${done} orders done\n`,
);
print("| pass | wall time | requests | Waldur / Harbor / Rancher / Keycloak | writes |");
print("|---|---|---|---|---|");
print(row("first pass (Create orders + first membership pass)", first));
print(row("steady-state membership pass", steady));
print(row("usage pass", usage));
print(row("naive mode: one lookup per resource per step", naive));
print(
  `\nsteady state: ${(naive.total / Math.max(1, steady.total)).toFixed(1)}× fewer requests ` +
    `than the naive mode; peak RSS (agent and fakes in one process) ${
      (peakRss / 2 ** 20).toFixed(0)
    } MB`,
);
harbor.close();
rancher.close();
