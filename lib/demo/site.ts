/**
 * A whole site on loopback: the fake Waldur, Harbor, Rancher and Keycloak, each a real HTTP
 * server, seeded with two offerings (a Harbor registry and a Rancher cluster with Keycloak
 * groups), teams, users and first orders. `berth demo` runs the agent against it, and the
 * browser test drives the status page of an agent started on it.
 */
import { FakeHarbor } from "../harbor/fake.ts";
import { FakeKeycloak } from "../keycloak/fake.ts";
import { FakeRancher } from "../rancher/fake.ts";
import { FakeWaldur } from "../waldur/fake.ts";

/** Serves `handler` on `listen` until `signal` aborts (the World's `serve`). */
export type Serve = (
  listen: string,
  handler: (request: Request) => Response | Promise<Response>,
  signal: AbortSignal,
) => Promise<{ url: string; finished: Promise<void> }>;

/** The running site. */
export interface DemoSite {
  waldur: FakeWaldur;
  harbor: FakeHarbor;
  rancher: FakeRancher;
  keycloak: FakeKeycloak;
  /** Base URLs of the four servers, ending in `/`. */
  urls: { waldur: string; harbor: string; rancher: string; keycloak: string };
  harborOffering: string;
  rancherOffering: string;
  cluster: string;
  /** The agent's YAML for this site. */
  config(options: DemoConfigOptions): string;
  /** Stops the servers. */
  close(): Promise<void>;
}

/** What the generated config says beyond the site's addresses. */
export interface DemoConfigOptions {
  listen: string;
  stateFile: string;
  /** Loop intervals, as the config writes them (`5s`). */
  intervals?: { orders?: string; membership?: string; usage?: string };
  token?: string;
}

/** The demo's people: Waldur usernames, also Keycloak users. */
export const DEMO_TEAMS: Record<string, string[]> = {
  astro: ["ann", "bob"],
  genomics: ["carol", "dave"],
};

/** Starts the four fakes on loopback ports chosen by the system, and seeds them. */
export async function startDemoSite(
  serve: Serve,
  options: { now: () => number },
): Promise<DemoSite> {
  const stop = new AbortController();
  const waldur = new FakeWaldur({ now: options.now });
  const harbor = new FakeHarbor();
  const rancher = new FakeRancher();
  const keycloak = new FakeKeycloak({ now: options.now });
  const servers = await Promise.all(
    [waldur.app, harbor.app, rancher.app, keycloak.app].map((app) =>
      serve("127.0.0.1:0", (request) => app.fetch(request), stop.signal)
    ),
  );
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
  for (const usernames of Object.values(DEMO_TEAMS)) {
    for (const u of usernames) keycloak.addUser("waldur", u);
  }
  waldur.orderCreate(harborOffering, {
    name: "astro-images",
    limits: { storage: 20 },
    project: "astro",
    customer: "uni",
  });
  waldur.orderCreate(rancherOffering, {
    name: "astro-compute",
    limits: { cpu: 4, memory: 8, storage: 50 },
    project: "astro",
    customer: "uni",
  });
  // the first member of each team is its manager
  for (const [project, usernames] of Object.entries(DEMO_TEAMS)) {
    waldur.setTeam(
      project,
      usernames.map((username, i) => ({
        username,
        role: i === 0 ? "manager" : "member",
      })),
    );
  }

  const cluster = "c-m-7x2k9q4d";
  return {
    waldur,
    harbor,
    rancher,
    keycloak,
    urls: { waldur: w, harbor: h, rancher: r, keycloak: k },
    harborOffering,
    rancherOffering,
    cluster,
    config: (c) =>
      demoConfig({ waldur: w, harbor: h, rancher: r, keycloak: k }, {
        harborOffering,
        rancherOffering,
        cluster,
        waldurToken: waldur.token,
        harbor,
        rancher,
      }, c),
    close: async () => {
      stop.abort();
      await Promise.all(servers.map((s) => s.finished));
    },
  };
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
${keycloak}    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
  - name: kubernetes
${waldur(site.rancherOffering)}
    backend_type: rancher
    backend_settings:
      backend_url: ${urls.rancher.replace(/\/$/, "")}
      username: ${site.rancher.accessKey}
      password: ${site.rancher.secretKey}
      cluster_id: ${site.cluster}
      keycloak_enabled: true
${keycloak}    backend_components:
      cpu: {type: cpu, measured_unit: cores, accounting_type: limit, label: CPU}
      memory: {type: ram, measured_unit: GB, accounting_type: limit, label: Memory}
      storage: {type: storage, measured_unit: GB, accounting_type: limit, label: Storage}
status:
  listen: "${options.listen}"${options.token ? `\n  token: ${options.token}` : ""}
state_file: ${options.stateFile}
intervals: {orders: ${i.orders ?? "10s"}, membership: ${i.membership ?? "15s"}, usage: ${
    i.usage ?? "30s"
  }}
`;
}
