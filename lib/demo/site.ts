/**
 * A whole site on loopback: the fake Waldur, Harbor, Rancher and Keycloak, each a real HTTP
 * server, seeded with two offerings (a Harbor registry and a Rancher cluster, both with Keycloak
 * groups, linked by registry access: the registry's team robots are written into every namespace
 * of the cluster as image pull secrets), three customers, six projects with teams (each with
 * Harbor and Rancher resources), a Keycloak realm that lacks one team member, and twenty Create
 * orders. The fakes that keep time (Waldur, Harbor's robot expiry, Keycloak) run on the
 * agent's clock (`now`). `berth demo` runs the agent against it (with `timeline.ts` making
 * activity), and the browser test and the benchmarks start an agent process on it.
 */
import { FakeHarbor } from "../harbor/fake.ts";
import { FakeKeycloak } from "../keycloak/fake.ts";
import { FakeRancher } from "../rancher/fake.ts";
import type { ServeEvent } from "../status_server.ts";
import { type FakeRabbitOptions, FakeWaldur } from "../waldur/fake.ts";

/** Serves `handler` on `listen` until `signal` aborts (the World's `serve`). */
export type Serve = (
  listen: string,
  handler: (request: Request) => Response | Promise<Response>,
  signal: AbortSignal,
  onEvent?: (event: ServeEvent) => void,
) => Promise<{ url: string; finished: Promise<void> }>;

/** The four servers. */
export type DemoSystem = "waldur" | "harbor" | "rancher" | "keycloak";

/** The running site. */
export interface DemoSite {
  waldur: FakeWaldur;
  harbor: FakeHarbor;
  rancher: FakeRancher;
  keycloak: FakeKeycloak;
  /** Base URLs of the four servers, ending in `/`. */
  urls: Record<DemoSystem, string>;
  harborOffering: string;
  rancherOffering: string;
  cluster: string;
  /** The agent's YAML for this site. */
  config(options: DemoConfigOptions): string;
  /** Makes a server answer 503 to everything (an outage) until `up` is called. */
  down(system: DemoSystem): void;
  up(system: DemoSystem): void;
  /** Stops the servers; stopping again does nothing more. */
  close(): Promise<void>;
  /** {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What the generated config says beyond the site's addresses. */
export interface DemoConfigOptions {
  listen: string;
  /** `state_file`; absent: the config has none (Berth's default applies). */
  stateFile?: string;
  /** Loop intervals, as the config writes them (`5s`). */
  intervals?: { orders?: string; membership?: string; usage?: string };
  token?: string;
  /** YAML appended at the top level (`concurrency: 16`). */
  extra?: string;
  /** Event mode for the registry offering: the web-STOMP URL (`ws://127.0.0.1:15674/ws`). */
  events?: string;
}

/** Customers, their projects and the projects' teams (the first member is the manager). */
export const DEMO_CUSTOMERS: Record<string, Record<string, string[]>> = {
  "uni-tartu": { astro: ["ann", "bob"], genomics: ["carol", "dave"] },
  "acme-research": { "ml-lab": ["erin", "frank"], climate: ["grace", "heidi"] },
  "bio-lab": { proteomics: ["ivan", "judy"], imaging: ["ken", "lena"] },
};

/** The team member Waldur knows and Keycloak does not (the page shows them as missing). */
export const DEMO_MISSING_USER = "frank";

/** Harbor resources: name, project, storage GB. */
export const DEMO_HARBOR: readonly [string, string, number][] = [
  ["astro-images", "astro", 20],
  ["astro-archive", "astro", 40],
  ["genomics-registry", "genomics", 50],
  ["genomics-ci", "genomics", 8],
  ["ml-models", "ml-lab", 100],
  ["ml-experiments", "ml-lab", 5],
  ["climate-data", "climate", 30],
  ["proteomics-images", "proteomics", 10],
  ["imaging-ci", "imaging", 15],
  ["imaging-datasets", "imaging", 25],
];

/** Rancher resources: name, project, cores, memory GB, storage GB. */
export const DEMO_RANCHER: readonly [string, string, number, number, number][] = [
  ["astro-compute", "astro", 4, 8, 50],
  ["astro-web", "astro", 2, 4, 10],
  ["genomics-pipelines", "genomics", 16, 64, 500],
  ["genomics-notebooks", "genomics", 4, 8, 20],
  ["ml-training", "ml-lab", 32, 128, 1000],
  ["ml-serving", "ml-lab", 8, 16, 100],
  ["climate-models", "climate", 12, 48, 200],
  ["climate-dash", "climate", 1, 2, 5],
  ["proteomics-workflows", "proteomics", 6, 24, 100],
  ["imaging-jobs", "imaging", 4, 16, 50],
];

/** The customer a project belongs to. */
export function customerOf(project: string): string {
  for (const [customer, projects] of Object.entries(DEMO_CUSTOMERS)) {
    if (project in projects) return customer;
  }
  return "uni-tartu";
}

/** Starts the four fakes on loopback ports chosen by the system, and seeds them. */
export async function startDemoSite(
  serve: Serve,
  options: {
    /** The agent's wall clock: the fakes' too (robots expire on it). */
    now: () => number;
    /** Called for every request any of the four servers receives (the crash suite counts). */
    onRequest?: (system: DemoSystem, request: Request) => void;
    /** Seeds the demo's customers, teams and orders (default); without, only the offerings. */
    seed?: boolean;
    /** Latency added to every answer, as a network between the agent and the servers would. */
    latencyMs?: number;
    /** A RabbitMQ for Waldur's event subscriptions (event mode; `DemoConfigOptions.events`). */
    rabbit?: FakeRabbitOptions;
  },
): Promise<DemoSite> {
  const stop = new AbortController();
  const waldur = new FakeWaldur({
    now: options.now,
    ...(options.rabbit ? { rabbit: options.rabbit } : {}),
  });
  const harbor = new FakeHarbor({ now: options.now });
  const rancher = new FakeRancher();
  const keycloak = new FakeKeycloak({ now: options.now });
  const outage = new Set<DemoSystem>();
  const apps: [DemoSystem, { fetch: (r: Request) => Response | Promise<Response> }][] = [
    ["waldur", waldur.app],
    ["harbor", harbor.app],
    ["rancher", rancher.app],
    ["keycloak", keycloak.app],
  ];
  const servers = await Promise.all(
    apps.map(([system, app]) =>
      serve(
        "127.0.0.1:0",
        async (request) => {
          options.onRequest?.(system, request);
          if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
          return outage.has(system)
            ? new Response(`${system} is down for maintenance (demo outage)`, {
              status: 503,
              headers: { "content-type": "text/plain" },
            })
            : app.fetch(request);
        },
        stop.signal,
      )
    ),
  );
  const close = async (): Promise<void> => {
    stop.abort();
    await Promise.all(servers.map((s) => s.finished));
  };
  const [w, h, r, k] = servers.map((s) => s.url);
  if (!w || !h || !r || !k) throw new Error("unreachable: four servers started");

  keycloak.addRealm("waldur");
  const harborOffering = waldur.addOffering("Container registry", [
    { type: "storage", name: "Storage", billing_type: "limit", measured_unit: "GB" },
  ]);
  const rancherOffering = waldur.addOffering("Kubernetes projects", [
    { type: "cpu", name: "CPU", billing_type: "limit", measured_unit: "cores" },
    { type: "memory", name: "Memory", billing_type: "limit", measured_unit: "GB" },
    { type: "storage", name: "Storage", billing_type: "limit", measured_unit: "GB" },
  ]);
  if (options.seed !== false) seedDemo(waldur, keycloak, harborOffering, rancherOffering);

  const cluster = "c-m-7x2k9q4d";
  const urls = { waldur: w, harbor: h, rancher: r, keycloak: k };
  return {
    waldur,
    harbor,
    rancher,
    keycloak,
    urls,
    harborOffering,
    rancherOffering,
    cluster,
    config: (c) =>
      demoConfig(urls, {
        harborOffering,
        rancherOffering,
        cluster,
        waldurToken: waldur.token,
        harbor,
        rancher,
      }, c),
    down: (system) => outage.add(system),
    up: (system) => outage.delete(system),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The demo's customers, teams (with one user Keycloak lacks) and twenty Create orders. */
function seedDemo(
  waldur: FakeWaldur,
  keycloak: FakeKeycloak,
  harborOffering: string,
  rancherOffering: string,
): void {
  for (const [name, project, storage] of DEMO_HARBOR) {
    waldur.orderCreate(harborOffering, {
      name,
      limits: { storage },
      project,
      customer: customerOf(project),
    });
  }
  for (const [name, project, cpu, memory, storage] of DEMO_RANCHER) {
    waldur.orderCreate(rancherOffering, {
      name,
      limits: { cpu, memory, storage },
      project,
      customer: customerOf(project),
    });
  }
  for (const projects of Object.values(DEMO_CUSTOMERS)) {
    for (const [project, usernames] of Object.entries(projects)) {
      for (const u of usernames) if (u !== DEMO_MISSING_USER) keycloak.addUser("waldur", u);
      waldur.setTeam(
        project,
        usernames.map((username, i) => ({ username, role: i === 0 ? "manager" : "member" })),
      );
    }
  }
}

function demoConfig(
  urls: DemoSite["urls"],
  site: {
    harborOffering: string;
    rancherOffering: string;
    cluster: string;
    waldurToken: string;
    harbor: FakeHarbor;
    rancher: FakeRancher;
  },
  options: DemoConfigOptions,
): string {
  const i = options.intervals ?? {};
  const waldur = (offering: string) =>
    `    waldur_api_url: ${urls.waldur}api/\n    waldur_api_token: ${site.waldurToken}\n` +
    `    waldur_offering_uuid: ${offering}`;
  const keycloak = `      keycloak:\n        keycloak_url: ${urls.keycloak.replace(/\/$/, "")}\n` +
    "        keycloak_username: admin\n        keycloak_password: admin-secret\n";
  return `# The embedded demo site: every server below is a fake on loopback.
offerings:
  - name: registry
${waldur(site.harborOffering)}
    backend_type: harbor
    backend_settings:
      harbor_url: ${urls.harbor.replace(/\/$/, "")}
      robot_username: "${site.harbor.username}"
      robot_password: ${site.harbor.password}
      team_robots: {enabled: true}
${keycloak}    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
${options.events ? eventKeys(options.events) : ""}  - name: kubernetes
${waldur(site.rancherOffering)}
    backend_type: rancher
    backend_settings:
      backend_url: ${urls.rancher.replace(/\/$/, "")}
      username: ${site.rancher.accessKey}
      password: ${site.rancher.secretKey}
      cluster_id: ${site.cluster}
      keycloak_enabled: true
      image_pull_secret: {harbor_offering: registry}
${keycloak}    backend_components:
      cpu: {type: cpu, measured_unit: cores, accounting_type: limit, label: CPU}
      memory: {type: ram, measured_unit: GB, accounting_type: limit, label: Memory}
      storage: {type: storage, measured_unit: GB, accounting_type: limit, label: Storage}
status:
  listen: "${options.listen}"${options.token ? `\n  token: ${options.token}` : ""}
${options.stateFile === undefined ? "" : `state_file: ${options.stateFile}\n`}intervals: {orders: ${
    i.orders ?? "3s"
  }, membership: ${i.membership ?? "5s"}, usage: ${i.usage ?? "5s"}}
${options.extra ?? ""}`;
}

/** The registry offering's event keys for a web-STOMP URL. */
function eventKeys(url: string): string {
  const u = new URL(url);
  return `    stomp_enabled: true\n    stomp_ws_host: ${u.hostname}\n` +
    `    stomp_ws_port: ${u.port || (u.protocol === "wss:" ? 443 : 80)}\n` +
    `    stomp_ws_path: ${u.pathname}\n    websocket_use_tls: ${u.protocol === "wss:"}\n`;
}
