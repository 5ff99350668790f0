/**
 * Crash safety: the agent runs as a real process against the four fakes on loopback and is
 * killed with SIGKILL after N upstream requests of a batch of Create / Update / Terminate orders
 * and a team change; a fresh process on the same state file then finishes the work. For every N,
 * every order ends done or erred exactly once, and Harbor, Rancher and Keycloak hold exactly what
 * Waldur says: no duplicate, no orphan, the ordered quotas, the team in the groups.
 */
import assert from "node:assert/strict";
import { type DemoSite, startDemoSite } from "../lib/demo/site.ts";
import { print } from "../lib/log.ts";
import { realWorld } from "../lib/world.ts";
import { agentArgs } from "./support/agent_process.ts";

const GIB = 1024 ** 3;

async function runOnce(configPath: string): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: agentArgs(["run", "--once", "-c", configPath]),
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Sends a signal unless the process has ended already. */
function kill(child: Deno.ChildProcess | undefined, signal: Deno.Signal): void {
  try {
    child?.kill(signal);
  } catch {
    // it has exited
  }
}

function pendingOrders(site: DemoSite): number {
  return [...site.waldur.orders.values()].filter((o) =>
    o.state !== "done" && o.state !== "erred" && o.state !== "rejected"
  ).length;
}

/** Queues the batch: Creates, Updates and Terminates on both offerings, and a team change. */
function queueBatch(site: DemoSite): void {
  const byName = (name: string) => {
    const r = [...site.waldur.resources.values()].find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}`);
    return r.uuid;
  };
  site.waldur.orderUpdate(byName("astro-images"), { storage: 30 });
  site.waldur.orderUpdate(byName("ml-models"), { storage: 150 });
  site.waldur.orderUpdate(byName("climate-data"), { storage: 35 });
  site.waldur.orderTerminate(byName("genomics-ci"));
  site.waldur.orderTerminate(byName("ml-experiments"));
  site.waldur.orderTerminate(byName("imaging-ci"));
  site.waldur.orderUpdate(byName("ml-training"), { cpu: 48, memory: 192, storage: 1000 });
  site.waldur.orderUpdate(byName("astro-compute"), { cpu: 6, memory: 12, storage: 60 });
  site.waldur.orderUpdate(byName("imaging-jobs"), { cpu: 2, memory: 8, storage: 40 });
  site.waldur.orderTerminate(byName("climate-dash"));
  site.waldur.orderTerminate(byName("astro-web"));
  for (const [name, project] of [["physics-images", "physics"], ["chem-images", "chem"]]) {
    site.waldur.orderCreate(site.harborOffering, {
      name: name ?? "",
      limits: { storage: 12 },
      project: project ?? "",
      customer: "uni-tartu",
    });
  }
  for (const [name, project] of [["physics-sim", "physics"], ["chem-md", "chem"]]) {
    site.waldur.orderCreate(site.rancherOffering, {
      name: name ?? "",
      limits: { cpu: 8, memory: 32, storage: 100 },
      project: project ?? "",
      customer: "uni-tartu",
    });
  }
  site.keycloak.addUser("waldur", "mia");
  site.waldur.setTeam("physics", [{ username: "mia", role: "manager" }, { username: "ann" }]);
  site.waldur.setTeam("chem", [{ username: "bob", role: "manager" }]);
  site.waldur.setTeam("genomics", [{ username: "carol", role: "manager" }, { username: "erin" }]);
}

/** What must hold once the work is finished; [] when it all does. */
function problems(site: DemoSite): string[] {
  const out: string[] = [];
  for (const o of site.waldur.orders.values()) {
    if (o.state !== "done" && o.state !== "erred") out.push(`order ${o.resource_name} ${o.state}`);
    const finals = site.waldur.requests.filter((r) =>
      r.status === 200 && r.path.includes(`/marketplace-orders/${o.uuid}/set_state_`)
    ).length;
    if (finals !== 1) {
      out.push(`order ${o.resource_name} finished ${finals} times`);
    }
  }
  const resources = [...site.waldur.resources.values()];
  const live = (offering: string) =>
    resources.filter((r) => r.offering_uuid === offering && r.state === "OK");
  // Harbor: one project per live resource with the ordered quota, nothing else
  const harborNames = [...site.harbor.projects.values()].map((p) => p.name).sort();
  const wantHarbor = live(site.harborOffering).map((r) => r.backend_id).sort();
  if (JSON.stringify(harborNames) !== JSON.stringify(wantHarbor)) {
    out.push(`harbor projects ${harborNames.join(",")} != ${wantHarbor.join(",")}`);
  }
  for (const r of live(site.harborOffering)) {
    const p = site.harbor.project(r.backend_id);
    if (p && p.hard !== Number(r.limits.storage) * GIB) {
      out.push(`harbor ${r.name} quota ${p.hard} != ${r.limits.storage} GB`);
    }
  }
  // Rancher: one project per live resource, none left of terminated ones
  const rancherIds = site.rancher.userProjects().map((p) => p.id).sort();
  const wantRancher = live(site.rancherOffering).map((r) => r.backend_id).sort();
  if (JSON.stringify(rancherIds) !== JSON.stringify(wantRancher)) {
    out.push(`rancher projects ${rancherIds.join(",")} != ${wantRancher.join(",")}`);
  }
  const names = site.rancher.userProjects().map((p) => p.name);
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length) out.push(`rancher duplicate projects ${dupes.join(",")}`);
  for (const id of wantRancher) {
    if (site.rancher.namespacesOf(id).length !== 1) out.push(`rancher ${id} namespaces`);
    if (site.rancher.prtbsOf(id).length !== 1) out.push(`rancher ${id} bindings`);
  }
  // Keycloak: every group name once, and the physics team in its groups
  const groups = [...site.keycloak.realm("waldur").groups.values()];
  const groupNames = groups.map((g) => `${g.parentId ?? ""}/${g.name}`);
  const groupDupes = groupNames.filter((n, i) => groupNames.indexOf(n) !== i);
  if (groupDupes.length) out.push(`keycloak duplicate ${groupDupes.join(",")}`);
  const physics = site.keycloak.group("waldur", "waldur-physics");
  if (physics?.usernames.sort().join(",") !== "ann,mia") {
    out.push(`keycloak waldur-physics members ${physics?.usernames.join(",")}`);
  }
  return out;
}

/** One scenario; `killAt` null runs the batch to the end and counts its requests. */
async function scenario(
  killAt: number | null,
): Promise<{ requests: number; problems: string[]; pendingAtKill: number }> {
  await using temp = new AsyncDisposableStack(); // removes the directory, last
  const dir = await Deno.makeTempDir({ prefix: "berth-crash-" });
  temp.defer(() => Deno.remove(dir, { recursive: true }));
  let phase: "setup" | "batch" = "setup";
  let count = 0;
  let child: Deno.ChildProcess | undefined;
  let pendingAtKill = 0;
  await using site: DemoSite = await startDemoSite(realWorld().serve, {
    now: () => Date.now(),
    onRequest: () => {
      if (phase !== "batch") return;
      count++;
      if (count === killAt) {
        kill(child, "SIGKILL");
        pendingAtKill = pendingOrders(site);
      }
    },
  });
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    configPath,
    site.config({
      listen: "127.0.0.1:0",
      stateFile: `${dir}/berth.db`,
      intervals: { orders: "1s", membership: "1s", usage: "1h" },
    }),
  );
  try {
    const setup = await runOnce(configPath);
    assert.equal(pendingOrders(site), 0, `setup left orders: ${setup.stderr.slice(-2000)}`);
    queueBatch(site);
    phase = "batch";
    child = new Deno.Command(Deno.execPath(), {
      args: agentArgs(["run", "-c", configPath]),
      stdout: "null",
      stderr: "null",
    }).spawn();
    // the batch is done when no order is pending and a membership pass has run since
    const until = Date.now() + 30_000;
    let settledAt = 0;
    const exited = child.status.then(() => true);
    for (;;) {
      const done = await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
      if (done === true) break;
      if (pendingOrders(site) === 0 && settledAt === 0) settledAt = Date.now();
      if (settledAt && Date.now() - settledAt > 2500) break;
      if (Date.now() > until) throw new Error("the batch did not finish in 30 s");
    }
    if (killAt === null) {
      kill(child, "SIGTERM");
      assert.equal((await child.status).code, 0);
    } else {
      kill(child, "SIGKILL");
      await child.status;
    }
    const requests = count;
    phase = "setup";
    // a fresh process on the same state file finishes what the killed one left
    for (let i = 0; i < 3; i++) {
      const again = await runOnce(configPath);
      if (again.code === 0 && pendingOrders(site) === 0) break;
      if (i === 2) throw new Error(`the restart did not finish: ${again.stderr.slice(-2000)}`);
    }
    return { requests, problems: problems(site), pendingAtKill };
  } finally {
    kill(child, "SIGKILL");
    await child?.status.catch(() => undefined);
  }
}

Deno.test("crash safety: SIGKILL after N upstream requests, for 24 values of N, loses and duplicates nothing", async () => {
  const full = await scenario(null);
  assert.deepEqual(full.problems, [], "the batch without a kill");
  assert.ok(full.requests > 60, `the batch makes ${full.requests} requests`);
  // N spread over the batch, and the first few requests one by one
  const ns = new Set([1, 2, 3, 5, 8]);
  for (let k = 1; ns.size < 24; k++) ns.add(Math.max(1, Math.round((full.requests * k) / 20)));
  const failures: string[] = [];
  let midway = 0;
  for (const n of [...ns].sort((a, b) => a - b)) {
    const r = await scenario(n);
    if (r.problems.length) failures.push(`N=${n}: ${r.problems.join("; ")}`);
    if (r.pendingAtKill > 0) midway++;
  }
  assert.deepEqual(failures, [], `of ${ns.size} kills (batch of ${full.requests} requests)`);
  assert.ok(midway >= 12, `only ${midway} kills came while orders were still in flight`);
  print(`crash suite: a batch of ${full.requests} requests; ${ns.size} kills, ${midway} mid-batch`);
});
