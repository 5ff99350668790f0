/** A test site whose offering is Rancher (with Keycloak when asked): fakes, no socket. */
import type { BackendPlugin } from "../../lib/backend.ts";
import { FakeKeycloak } from "../../lib/keycloak/fake.ts";
import type { RancherBackend } from "../../lib/rancher/backend.ts";
import { rancherPlugin } from "../../lib/rancher/plugin.ts";
import { FakeRancher } from "../../lib/rancher/fake.ts";
import { objectMeta } from "../../lib/rancher/fake/state.ts";
import { PROJECT_ID_KEY } from "../../lib/rancher/schemas.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import { buildSite, type Site, type SiteOptions } from "./site.ts";

export interface RancherSite extends Site<RancherBackend> {
  rancher: FakeRancher;
  keycloak: FakeKeycloak;
  cluster: string;
}

export const RANCHER_COMPONENTS = {
  waldur: [
    { type: "cpu", name: "CPU", billing_type: "limit" as const, measured_unit: "cores" },
    { type: "memory", name: "Memory", billing_type: "limit" as const, measured_unit: "GB" },
    { type: "storage", name: "Storage", billing_type: "limit" as const, measured_unit: "GB" },
  ],
  yaml: "{cpu: {type: cpu, measured_unit: cores, accounting_type: limit, label: CPU}, " +
    "memory: {type: ram, measured_unit: GB, accounting_type: limit, label: Memory}, " +
    "storage: {type: storage, measured_unit: GB, accounting_type: limit, label: Storage}}",
};

/** The cluster the fake Rancher starts with, which every Rancher site manages. */
export const RANCHER_CLUSTER = "c-m-7x2k9q4d";

/** The backend_settings of an offering on `rancher` at rancher.test, with `more` flow entries. */
export function rancherSettings(rancher: FakeRancher, more = ""): string {
  return `{backend_url: "http://rancher.test", username: ${rancher.accessKey}, ` +
    `password: ${rancher.secretKey}, cluster_id: ${RANCHER_CLUSTER}${more ? `, ${more}` : ""}}`;
}

/** A Rancher site; `keycloak` switches the Keycloak groups on; `settings` adds YAML flow entries. */
export function makeRancherSite(
  options: {
    keycloak?: boolean;
    settings?: string;
    tokenTtl?: number;
    files?: Record<string, string>;
    tlsFetch?: SiteOptions["tlsFetch"];
    yamlExtra?: string;
    registry?: SiteOptions["registry"];
  } = {},
): RancherSite {
  const clock = new ManualClock({ start: Date.parse("2026-11-15T12:00:00Z") });
  const rancher = new FakeRancher();
  const keycloak = new FakeKeycloak({ now: () => clock.now(), tokenTtl: options.tokenTtl ?? 60 });
  keycloak.addRealm("waldur");
  const cluster = RANCHER_CLUSTER;
  const kc = options.keycloak
    ? `keycloak_enabled: true, keycloak: {keycloak_url: "http://keycloak.test", ` +
      `keycloak_username: admin, keycloak_password: admin-secret}`
    : "";
  const site = buildSite({
    backendType: "rancher",
    settings: rancherSettings(rancher, [kc, options.settings ?? ""].filter(Boolean).join(", ")),
    plugins: [rancherPlugin as BackendPlugin<never>],
    hosts: { "rancher.test": rancher.app, "keycloak.test": keycloak.app },
    components: RANCHER_COMPONENTS,
    clock,
    ...(options.yamlExtra ? { yamlExtra: options.yamlExtra } : {}),
    ...(options.files ? { files: options.files } : {}),
    ...(options.tlsFetch ? { tlsFetch: options.tlsFetch } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
  }) as RancherSite;
  site.rancher = rancher;
  site.keycloak = keycloak;
  site.cluster = cluster;
  return site;
}

/** Adds a namespace to Rancher project `projectId` behind Berth's back, as a team would. */
export function addProjectNamespace(rancher: FakeRancher, projectId: string, name: string): void {
  const [cluster = "", part = ""] = projectId.split(":");
  const meta = objectMeta(name);
  meta.annotations[PROJECT_ID_KEY] = projectId;
  meta.labels[PROJECT_ID_KEY] = part;
  rancher.addNamespace(cluster, { metadata: meta, spec: {}, status: {} });
}

/** Orders a Rancher resource `name` in Waldur project `project`. */
export function orderProject(
  site: Site<unknown>,
  name: string,
  limits: Record<string, unknown> = { cpu: 4, memory: 8, storage: 100 },
  project = "proj",
): { order: string; resource: string } {
  return site.waldur.orderCreate(site.offeringUuid, { name, limits, project, customer: "acme" });
}
