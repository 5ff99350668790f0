/** A test site whose offering is Harbor: the fake Waldur and the fake Harbor, no socket. */
import type { BackendPlugin } from "../../lib/backend.ts";
import type { HarborBackend } from "../../lib/harbor/backend.ts";
import { harborPlugin } from "../../lib/harbor/plugin.ts";
import { FakeHarbor } from "../../lib/harbor/fake.ts";
import { FakeKeycloak } from "../../lib/keycloak/fake.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import { buildSite, type Site, type SiteOptions } from "./site.ts";

export interface HarborSite extends Site<HarborBackend> {
  harbor: FakeHarbor;
}

/** A Harbor site; `settings` adds or overrides backend_settings keys (YAML flow entries). */
export function makeHarborSite(
  settings = "",
  extraHosts: SiteOptions["hosts"] = {},
  options: { yamlExtra?: string } = {},
): HarborSite {
  // one clock for the agent and the fake: robot expiry is the fake's, passes the agent's
  const clock = new ManualClock();
  const harbor = new FakeHarbor({ now: () => clock.now() });
  const site = buildSite({
    clock,
    ...(options.yamlExtra ? { yamlExtra: options.yamlExtra } : {}),
    backendType: "harbor",
    settings: harborSettings(harbor, settings),
    plugins: [harborPlugin as BackendPlugin<never>],
    hosts: { "harbor.test": harbor.app, ...extraHosts },
  }) as HarborSite;
  site.harbor = harbor;
  return site;
}

/** The backend_settings of an offering on `harbor` at harbor.test, with `more` flow entries. */
export function harborSettings(harbor: FakeHarbor, more = ""): string {
  return `{harbor_url: "http://harbor.test", robot_username: "${harbor.username}", ` +
    `robot_password: ${harbor.password}${more ? `, ${more}` : ""}}`;
}

/** A Harbor site that keeps its OIDC groups in a fake Keycloak (realm `waldur`, these users). */
export function makeHarborKeycloakSite(
  usernames: readonly string[],
): HarborSite & { kc: FakeKeycloak } {
  const clock = new ManualClock();
  const kc = new FakeKeycloak({ now: () => clock.now() });
  kc.addRealm("waldur");
  for (const u of usernames) kc.addUser("waldur", u);
  const site = makeHarborSite(
    `keycloak: {keycloak_url: "http://keycloak.test", keycloak_username: admin, keycloak_password: admin-secret}`,
    { "keycloak.test": kc.app },
  );
  return Object.assign(site, { kc });
}

/** Orders a resource `name` in Waldur project `proj`. */
export function order(
  site: Site<unknown>,
  name: string,
  limits: Record<string, unknown> = { storage: 20 },
  project = "proj",
): { order: string; resource: string } {
  return site.waldur.orderCreate(site.offeringUuid, { name, limits, project, customer: "acme" });
}

/** Harbor requests counted by the fake since `from`. */
export function harborRequestsSince(site: HarborSite, from: number): string[] {
  return site.harbor.requests.slice(from).map((r) => `${r.method} ${r.path}`);
}
