/**
 * The demo's scripted timeline: it acts on the fakes as customers, admins and workloads would,
 * so the status page shows real activity. Images are pushed and workloads started once the first
 * orders are done; then come a new Create order, a team change, an Update, a Harbor outage of a
 * few seconds, a Terminate and another Create; after that usage keeps growing and a scratch
 * project is created and terminated in turns. The agent sees all of it only through the fakes'
 * HTTP APIs.
 */
import { GIB } from "../bytes.ts";
import type { Clock } from "../clock.ts";
import { customerOf, DEMO_HARBOR, DEMO_RANCHER, type DemoSite } from "./site.ts";

/** Options of {@link runTimeline}. */
export interface TimelineOptions {
  clock: Clock;
  signal: AbortSignal;
  /** Says what just happened (the demo prints it). */
  note: (text: string) => void;
  /** Seconds of the Harbor outage. */
  outageSeconds?: number;
}

/** Runs until `signal` aborts. */
export async function runTimeline(site: DemoSite, options: TimelineOptions): Promise<void> {
  const { clock, signal, note } = options;
  const sleep = (seconds: number) => clock.sleep(seconds * 1000, signal);
  const provisioned = (offering: string) =>
    [...site.waldur.resources.values()].filter((r) =>
      r.offering_uuid === offering && r.state === "OK" && r.backend_id !== ""
    );
  const byName = (name: string) =>
    [...site.waldur.resources.values()].find((r) => r.name === name && r.state !== "Terminated");

  const initial = DEMO_HARBOR.length + DEMO_RANCHER.length;
  while (!signal.aborted) {
    const done = provisioned(site.harborOffering).length + provisioned(site.rancherOffering).length;
    if (done >= initial) break;
    await sleep(0.5);
  }
  if (signal.aborted) return;
  note(`the first ${initial} orders are done; pushing images and starting workloads`);
  startWorkloads(site);

  const script: [number, string, () => void | Promise<void>][] = [
    [8, "customer orders a new registry physics-images (project physics)", () => {
      site.keycloak.addUser("waldur", "mia");
      site.waldur.orderCreate(site.harborOffering, {
        name: "physics-images",
        limits: { storage: 10 },
        project: "physics",
        customer: customerOf("physics"),
      });
      site.waldur.setTeam("physics", [{ username: "mia", role: "manager" }, { username: "ann" }]);
    }],
    [10, "team change in genomics: erin joins, dave leaves", () => {
      site.waldur.setTeam("genomics", [
        { username: "carol", role: "manager" },
        { username: "erin" },
      ]);
    }],
    [10, "customer raises ml-training to 48 cores / 192 GB", () => {
      const r = byName("ml-training");
      if (r) site.waldur.orderUpdate(r.uuid, { cpu: 48, memory: 192, storage: 1000 });
    }],
    [10, `Harbor goes down for ${options.outageSeconds ?? 8} s`, async () => {
      site.down("harbor");
      await sleep(options.outageSeconds ?? 8);
      site.up("harbor");
      note("Harbor is back");
    }],
    [6, "customer terminates climate-dash", () => {
      const r = byName("climate-dash");
      if (r) site.waldur.orderTerminate(r.uuid);
    }],
    [10, "customer orders a Kubernetes project physics-sim", () => {
      site.waldur.orderCreate(site.rancherOffering, {
        name: "physics-sim",
        limits: { cpu: 8, memory: 32, storage: 100 },
        project: "physics",
        customer: customerOf("physics"),
      });
    }],
  ];
  for (const [after, what, act] of script) {
    await sleep(after);
    if (signal.aborted) return;
    note(what);
    await act();
  }

  // from here on: usage grows every few seconds, and a scratch registry comes and goes
  let tick = 0;
  let scratch = 0;
  while (!signal.aborted) {
    await sleep(5);
    if (signal.aborted) return;
    tick++;
    growUsage(site, tick);
    if (tick % 6 === 0) {
      const previous = byName(`scratch-${scratch}`);
      if (previous) {
        note(`customer terminates scratch-${scratch}`);
        site.waldur.orderTerminate(previous.uuid);
      } else {
        scratch++;
        note(`customer orders scratch-${scratch} (project physics)`);
        site.waldur.orderCreate(site.harborOffering, {
          name: `scratch-${scratch}`,
          limits: { storage: 1 },
          project: "physics",
          customer: customerOf("physics"),
        });
      }
    }
  }
}

/** Share of its quota each Harbor project starts with (one near its quota). */
const FILL = [0.3, 0.55, 0.92, 0.2, 0.6, 0.1, 0.7, 0.4, 0.35, 0.5];

/** Images in every Harbor project; pods and claims in every Rancher namespace. */
function startWorkloads(site: DemoSite): void {
  DEMO_HARBOR.forEach(([name, , storage], i) => {
    const project = harborProject(site, name);
    if (!project) return;
    const bytes = Math.round((FILL[i] ?? 0.3) * storage * GIB);
    site.harbor.push(project, "app", Math.round(bytes * 0.7));
    site.harbor.push(project, "base", bytes - Math.round(bytes * 0.7));
  });
  DEMO_RANCHER.forEach(([name, , cpu, memory, storage], i) => {
    const ns = rancherNamespaces(site, name)[0];
    if (!ns) return;
    const share = FILL[i] ?? 0.3;
    site.rancher.addPod(site.cluster, ns, `${name}-web`, {
      containers: [{
        requests: {
          cpu: `${Math.max(1, Math.round(cpu * share * 1000))}m`,
          memory: `${Math.max(64, Math.round(memory * share * 1024))}Mi`,
        },
      }],
    });
    // climate-dash keeps no claim, so its termination goes through
    if (name !== "climate-dash") {
      site.rancher.addPvc(site.cluster, ns, `${name}-data`, `${Math.round(storage * share)}Gi`);
    }
  });
}

/** Pushes a little to one Harbor project in turn, never past 95 % of its quota. */
function growUsage(site: DemoSite, tick: number): void {
  const entry = DEMO_HARBOR[tick % DEMO_HARBOR.length];
  if (!entry) return;
  const [name, , storage] = entry;
  const project = harborProject(site, name);
  const p = project ? site.harbor.project(project) : undefined;
  if (!p || !project) return;
  const step = Math.round(storage * GIB * 0.02);
  if (p.used + step <= 0.95 * storage * GIB) site.harbor.push(project, "app", step);
  if (tick % 4 === 0) {
    const rancher = DEMO_RANCHER[tick % DEMO_RANCHER.length];
    const ns = rancher ? rancherNamespaces(site, rancher[0])[0] : undefined;
    if (ns && rancher) {
      site.rancher.addPod(site.cluster, ns, `${rancher[0]}-job-${tick}`, {
        containers: [{ requests: { cpu: "250m", memory: "512Mi" } }],
      });
    }
  }
}

function harborProject(site: DemoSite, resourceName: string): string | undefined {
  const r = [...site.waldur.resources.values()].find((x) =>
    x.name === resourceName && x.offering_uuid === site.harborOffering && x.backend_id !== ""
  );
  return r && site.harbor.project(r.backend_id) ? r.backend_id : undefined;
}

function rancherNamespaces(site: DemoSite, resourceName: string): string[] {
  const r = [...site.waldur.resources.values()].find((x) =>
    x.name === resourceName && x.offering_uuid === site.rancherOffering && x.backend_id !== ""
  );
  return r ? site.rancher.namespacesOf(r.backend_id) : [];
}
