/**
 * A test site whose one config links two offerings: `registry` (Harbor, team robots on) and
 * `kubernetes` (Rancher, `image_pull_secret` naming `registry`), built by `buildOfferings` so
 * the real RegistryAccess joins them; the fake Waldur, Harbor and Rancher and the agent on one
 * manual clock, no socket.
 */
import type { OfferingRuntime } from "../../lib/agent.ts";
import type { BackendPlugin } from "../../lib/backend.ts";
import type { HarborBackend } from "../../lib/harbor/backend.ts";
import { FakeHarbor } from "../../lib/harbor/fake.ts";
import { harborPlugin } from "../../lib/harbor/plugin.ts";
import type { RancherBackend } from "../../lib/rancher/backend.ts";
import { FakeRancher } from "../../lib/rancher/fake.ts";
import { rancherPlugin } from "../../lib/rancher/plugin.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import { harborSettings } from "./harbor.ts";
import { RANCHER_CLUSTER, RANCHER_COMPONENTS, rancherSettings } from "./rancher.ts";
import { buildSite, type Site } from "./site.ts";

/** The linked site: `offering` is the Harbor one, `kubernetes` the Rancher one. */
export interface LinkedSite extends Site<HarborBackend> {
  harbor: FakeHarbor;
  rancher: FakeRancher;
  cluster: string;
  /** The Rancher offering, wired (after a restart, the new one). */
  readonly kubernetes: OfferingRuntime & { backend: RancherBackend };
}

/**
 * A linked site; `teamRobots` and `pullSecret` add flow entries to `team_robots` (enabled) and
 * `image_pull_secret` (its `harbor_offering` is `registry`).
 */
export function makeLinkedSite(
  options: { teamRobots?: string; pullSecret?: string } = {},
): LinkedSite {
  // one clock for the agent and the fakes: robot expiry is the fake Harbor's, passes the agent's
  const clock = new ManualClock();
  const harbor = new FakeHarbor({ now: () => clock.now() });
  const rancher = new FakeRancher();
  const more = (extra: string | undefined) => extra ? `, ${extra}` : "";
  const site = buildSite({
    clock,
    backendType: "harbor",
    settings: harborSettings(
      harbor,
      `team_robots: {enabled: true${more(options.teamRobots)}}`,
    ),
    more: [{
      name: "kubernetes",
      backendType: "rancher",
      settings: rancherSettings(
        rancher,
        `image_pull_secret: {harbor_offering: registry${more(options.pullSecret)}}`,
      ),
      components: RANCHER_COMPONENTS,
    }],
    plugins: [harborPlugin, rancherPlugin] as BackendPlugin<never>[],
    hosts: { "harbor.test": harbor.app, "rancher.test": rancher.app },
  }) as LinkedSite;
  Object.assign(site, { harbor, rancher, cluster: RANCHER_CLUSTER });
  // the Rancher offering as it is now (a restart builds it again)
  Object.defineProperty(site, "kubernetes", {
    get: (): LinkedSite["kubernetes"] => {
      const kubernetes = site.offerings[1];
      if (!kubernetes) throw new Error("no Rancher offering");
      return kubernetes as LinkedSite["kubernetes"];
    },
  });
  return site;
}
