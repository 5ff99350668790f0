/** A test site whose offering is Rancher (with Keycloak when asked): fakes, no socket. */
import type { BackendPlugin } from "../../lib/backend.ts";
import { FakeKeycloak } from "../../lib/keycloak/fake.ts";
import type { RancherBackend } from "../../lib/rancher/backend.ts";
import { rancherPlugin } from "../../lib/rancher/plugin.ts";
import { FakeRancher } from "../../lib/rancher/fake.ts";
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
  const cluster = "c-m-7x2k9q4d";
  const kc = options.keycloak
    ? `, keycloak_enabled: true, keycloak: {keycloak_url: "http://keycloak.test", ` +
      `keycloak_username: admin, keycloak_password: admin-secret}`
    : "";
  const site = buildSite({
    backendType: "rancher",
    settings: `{backend_url: "http://rancher.test", username: ${rancher.accessKey}, ` +
      `password: ${rancher.secretKey}, cluster_id: ${cluster}` +
      `${kc}${options.settings ? `, ${options.settings}` : ""}}`,
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

/** Orders a Rancher resource `name` in Waldur project `project`. */
export function orderProject(
  site: Site<unknown>,
  name: string,
  limits: Record<string, unknown> = { cpu: 4, memory: 8, storage: 100 },
  project = "proj",
): { order: string; resource: string } {
  return site.waldur.orderCreate(site.offeringUuid, { name, limits, project, customer: "acme" });
}
