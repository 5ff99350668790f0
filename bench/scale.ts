/**
 * `deno task bench` (scale part): 10,000 resources across 2,000 Waldur projects, half on a Harbor
 * registry and half on a Rancher cluster, both with Keycloak groups, and 5 ms of latency on every
 * answer of every server. The four fakes are real HTTP servers on loopback in this process; the
 * agent is its own process (`deno run main.ts run --once --mode …`), as in production, so its
 * wall time and peak RSS are its own.
 *
 * Passes, each a fresh agent process on the same SQLite file:
 *   1. orders: the 10,000 Create orders;
 *   2. first membership pass: every group and binding created;
 *   3. first usage pass: every resource's usage reported;
 *   4. steady state: orders, membership and usage (`--mode all`) with nothing to change.
 * Then a naive mode, from this process, makes the lookups the Python agent makes per resource
 * per pass, against the same servers, for the ratio side by side.
 *
 *   deno run --allow-all bench/scale.ts        (RESOURCES=2000 for a quicker run)
 *
 * (--allow-all because Deno lets only that read another process's /proc/<pid>/status.)
 *
 * For digging: ROUTES=1 prints each pass's requests by route; AGENT_FLAGS passes flags to the
 * agent's `deno run` (`--v8-flags=--prof`); AGENT_MAIN runs another entry point in its place;
 * AGAIN=1 keeps the servers up after the steady pass and runs one more pass per line read on
 * stdin (`mode [deno run flags]`, `all` when empty), each a fresh agent process of the code as it is
 * now, so a change to the agent is measured without redoing the orders pass; LOG=1 prints each
 * pass's agent log; TIMELINE=1 prints each pass's requests per system in 250 ms steps.
 */
import { startDemoSite } from "../lib/demo/site.ts";
import { print } from "../lib/log.ts";
import { forEachLimit } from "../lib/pool.ts";
import { realWorld } from "../lib/world.ts";
import { agentArgs } from "../tests/support/agent_process.ts";

const TOTAL = Number(Deno.env.get("RESOURCES") ?? 10_000);
const HALF = TOTAL / 2;
const PROJECTS = TOTAL / 5 / 2; // 2,000 Waldur projects in all, 1,000 per offering
const CUSTOMERS = 50;
const LATENCY_MS = 5;
const CONCURRENCY = 16;

type System = "waldur" | "harbor" | "rancher" | "keycloak";
const SYSTEMS: System[] = ["waldur", "harbor", "rancher", "keycloak"];
const requests: Record<System, number> = { waldur: 0, harbor: 0, rancher: 0, keycloak: 0 };
let writes = 0;
/** With ROUTES=1, the requests of each pass by method and route, ids folded (`:id`). */
const routes = Deno.env.get("ROUTES") === "1" ? new Map<string, number>() : undefined;
const route = (system: string, request: Request) => {
  const u = new URL(request.url);
  const path = u.pathname
    .replace(/[0-9a-f]{32}|[0-9a-f-]{36}/g, ":id")
    .replace(/\/(hp|rp)-[^/]*|c-m-[^/]*:p-[^/]*|p-[a-z0-9]{5}|\/\d+(?=\/|$)/g, "/:id");
  return `${system} ${request.method} ${path}${
    u.search ? "?" + [...u.searchParams.keys()].join("&") : ""
  }`;
};

/** With TIMELINE=1, when each request of the pass arrived and at which system. */
const timeline = Deno.env.get("TIMELINE") === "1" ? [] as [number, System][] : undefined;

const world = realWorld();
const site = await startDemoSite(world.serve, {
  now: () => Date.now(),
  seed: false,
  latencyMs: LATENCY_MS,
  onRequest: (system, request) => {
    requests[system]++;
    timeline?.push([performance.now(), system]);
    if (routes) routes.set(route(system, request), (routes.get(route(system, request)) ?? 0) + 1);
    const token = system === "keycloak" && request.url.includes("/protocol/openid-connect/token");
    if (request.method !== "GET" && request.method !== "HEAD" && !token) writes++;
  },
});

const customer = (p: number) => `cust-${p % CUSTOMERS}`;
for (let p = 0; p < PROJECTS; p++) {
  for (const prefix of ["hp", "rp"]) {
    site.keycloak.addUser("waldur", `${prefix}-user-${p}`);
  }
}
for (let i = 0; i < HALF; i++) {
  const p = i % PROJECTS;
  site.waldur.orderCreate(site.harborOffering, {
    name: `reg-${i}`,
    limits: { storage: 20 },
    project: `hp-${p}`,
    customer: customer(p),
  });
  site.waldur.orderCreate(site.rancherOffering, {
    name: `app-${i}`,
    limits: { cpu: 2, memory: 4, storage: 20 },
    project: `rp-${p}`,
    customer: customer(p),
  });
}
for (let p = 0; p < PROJECTS; p++) {
  site.waldur.setTeam(`hp-${p}`, [{ username: `hp-user-${p}`, role: "manager" }]);
  site.waldur.setTeam(`rp-${p}`, [{ username: `rp-user-${p}`, role: "manager" }]);
}

const dir = await world.makeTempDir("berth-scale-");
const configPath = `${dir}/config.yaml`;
await Deno.writeTextFile(
  configPath,
  site.config({
    listen: "127.0.0.1:0",
    stateFile: `${dir}/state.db`,
    extra: `concurrency: ${CONCURRENCY}\n`,
  }),
);

interface Measured {
  ms: number;
  requests: Record<System, number>;
  total: number;
  writes: number;
  rssMb: number;
  cpuS: number;
}

/** A live process's peak resident set so far (VmHWM, MB) and CPU time (s); zeros once gone. */
async function sample(pid: number): Promise<{ rssMb: number; cpuS: number }> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux)
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      rssMb: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024,
      cpuS: (Number(fields[11]) + Number(fields[12])) / 100,
    };
  } catch {
    return { rssMb: 0, cpuS: 0 };
  }
}

const AGENT_MAIN = Deno.env.get("AGENT_MAIN");

/** One agent process, `run --once --mode <mode>`; what it cost. */
async function agentPass(
  mode: string,
  flags = Deno.env.get("AGENT_FLAGS")?.split(" ").filter(Boolean) ?? [],
): Promise<Measured> {
  const before = { ...requests };
  const writesBefore = writes;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: agentArgs(["run", "-c", configPath, "--once", "--mode", mode], {
      // e.g. AGENT_FLAGS=--v8-flags=--prof to profile the agent
      flags,
      ...(AGENT_MAIN ? { main: AGENT_MAIN } : {}),
    }),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let rss = 0;
  let cpu = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      const now = await sample(child.pid);
      rss = Math.max(rss, now.rssMb);
      cpu = Math.max(cpu, now.cpuS);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  running = false;
  await sampler;
  if (routes) {
    print(`-- ${mode}`);
    for (const [r, n] of [...routes].sort((a, b) => b[1] - a[1])) {
      print(`${String(n).padStart(7)} ${r}`);
    }
    routes.clear();
  }
  const ms = performance.now() - t0;
  if (timeline) {
    print(`-- ${mode}: requests per 250 ms (${SYSTEMS.join(" / ")})`);
    const steps = new Map<number, Record<System, number>>();
    for (const [t, system] of timeline) {
      const step = Math.floor((t - t0) / 250);
      const counts = steps.get(step) ?? { waldur: 0, harbor: 0, rancher: 0, keycloak: 0 };
      counts[system]++;
      steps.set(step, counts);
    }
    for (const [step, counts] of steps) {
      print(`${String(step * 250).padStart(6)} ms ${SYSTEMS.map((s) => counts[s]).join(" / ")}`);
    }
    timeline.length = 0;
  }
  if (Deno.env.get("LOG") === "1") print(stderr);
  if (!status.success) {
    throw new Error(`the ${mode} pass failed (exit ${status.code}):\n${stderr.slice(-3000)}`);
  }
  const delta = Object.fromEntries(SYSTEMS.map((s) => [s, requests[s] - before[s]])) as Record<
    System,
    number
  >;
  return {
    ms,
    requests: delta,
    total: SYSTEMS.reduce((n, s) => n + delta[s], 0),
    writes: writes - writesBefore,
    rssMb: rss,
    cpuS: cpu,
  };
}

const perResource = (n: number) => (n / TOTAL).toFixed(2);
const row = (name: string, m: Measured) =>
  `| ${name} | ${(m.ms / 1000).toFixed(1)} s | ${m.total} (${perResource(m.total)}/resource) | ` +
  `${SYSTEMS.map((s) => m.requests[s]).join(" / ")} | ${m.writes} | ${
    m.rssMb ? `${m.cpuS.toFixed(1)} s | ${m.rssMb.toFixed(0)} MB` : "– | –"
  } |`;
const orders = await agentPass("orders");
const done = [...site.waldur.orders.values()].filter((o) => o.state === "done").length;
if (done !== TOTAL) throw new Error(`${done} of ${TOTAL} orders done after the orders pass`);
const membership = await agentPass("membership");
const usage = await agentPass("usage");
const steady = await agentPass("all");

/**
 * The naive mode: per resource and per pass, the lookups the Python agent makes — the
 * resource's team from Waldur; in Harbor the project by name, its quota, its members and the OIDC
 * group; in Rancher the project by name, its bindings and namespaces, and in Keycloak the group
 * and its members. (The Python agent makes more: 13 Harbor requests per resource, see the
 * reference.)
 */
async function naivePass(): Promise<Measured> {
  const before = { ...requests };
  const t0 = performance.now();
  const auth = {
    waldur: `Token ${site.waldur.token}`,
    harbor: `Basic ${btoa(`${site.harbor.username}:${site.harbor.password}`)}`,
    rancher: `Basic ${btoa(`${site.rancher.accessKey}:${site.rancher.secretKey}`)}`,
    keycloak: `Bearer ${await keycloakToken()}`,
  };
  const get = async (system: System, path: string) => {
    const res = await fetch(new URL(path, site.urls[system]), {
      headers: { authorization: auth[system] },
    });
    await res.body?.cancel();
  };
  const resources = [...site.waldur.resources.values()];
  await forEachLimit(resources, CONCURRENCY, async (r) => {
    await get("waldur", `api/marketplace-provider-resources/${r.uuid}/team/`);
    if (r.offering_uuid === site.harborOffering) {
      await get("harbor", `api/v2.0/projects?name=${r.backend_id}`);
      await get("harbor", `api/v2.0/projects/${r.backend_id}/summary`);
      await get("harbor", `api/v2.0/projects/${r.backend_id}/members`);
      await get("harbor", `api/v2.0/usergroups?search=${r.project_slug}`);
    } else {
      const id = encodeURIComponent(r.backend_id);
      await get("rancher", `v3/projects?name=waldur-${r.slug}`);
      await get("rancher", `v3/projectroletemplatebindings?projectId=${id}`);
      await get(
        "rancher",
        `k8s/clusters/${site.cluster}/api/v1/namespaces?labelSelector=field.cattle.io/projectId`,
      );
      await get("keycloak", `admin/realms/waldur/groups?search=${r.project_slug}`);
      await get("keycloak", `admin/realms/waldur/groups?search=${r.slug}&briefRepresentation=true`);
    }
  });
  const delta = Object.fromEntries(SYSTEMS.map((s) => [s, requests[s] - before[s]])) as Record<
    System,
    number
  >;
  return {
    ms: performance.now() - t0,
    requests: delta,
    total: SYSTEMS.reduce((n, s) => n + delta[s], 0),
    writes: 0,
    rssMb: 0,
    cpuS: 0,
  };
}

async function keycloakToken(): Promise<string> {
  const res = await fetch(
    new URL("realms/master/protocol/openid-connect/token", site.urls.keycloak),
    {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: "admin-cli",
        username: "admin",
        password: "admin-secret",
      }),
    },
  );
  const body = await res.json() as { access_token?: string };
  if (!body.access_token) throw new Error(`no Keycloak token: ${JSON.stringify(body)}`);
  return body.access_token;
}

if (Deno.env.get("AGAIN") === "1") {
  for (
    const [name, m] of [["orders", orders], ["membership", membership], ["usage", usage]] as const
  ) {
    print(row(name, m));
  }
  print(row("steady state", steady));
  for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    for (const command of line.split("\n").slice(0, -1)) {
      const [mode = "all", ...flags] = command.trim().split(/\s+/).filter(Boolean);
      print(row(`again: ${command.trim() || "all"}`, await agentPass(mode, flags)));
    }
  }
}
const naive = await naivePass();
await site.close();
await world.removeDir(dir);

print(
  `${TOTAL} resources (${HALF} Harbor, ${HALF} Rancher, Keycloak groups for both) in ` +
    `${PROJECTS * 2} Waldur projects, ${LATENCY_MS} ms per answer, concurrency ${CONCURRENCY}; ` +
    `${done} orders done\n`,
);
print(
  "| pass (one agent process each) | wall time | requests | " +
    "Waldur / Harbor / Rancher / Keycloak | writes | agent CPU | agent peak RSS |",
);
print("|---|---|---|---|---|---|---|");
print(row("orders: 10,000 Create orders".replace("10,000", TOTAL.toLocaleString("en")), orders));
print(row("first membership pass", membership));
print(row("first usage pass", usage));
print(row("steady state: orders + membership + usage, no changes", steady));
print(row("naive mode: one lookup per resource per step", naive));
print(
  `\nsteady state: ${(naive.total / Math.max(1, steady.total)).toFixed(1)}× fewer requests ` +
    `than the naive mode; wall times include the agent process's start`,
);
