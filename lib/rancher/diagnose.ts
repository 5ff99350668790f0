/**
 * `berth diagnose` for a Rancher offering: the cluster, then every list Berth reads (projects,
 * role bindings, namespaces, pods and claims through the proxy), then Keycloak. A cluster that
 * cannot be reached stops the Rancher probes (a line says which were left out); Keycloak is
 * checked whatever Rancher answered.
 */
import type { Check } from "../backend.ts";
import { createChecks } from "../checks.ts";
import type { KeycloakGroups } from "../keycloak/groups.ts";
import type { RancherClient } from "./client.ts";

/** The checks of one Rancher offering. */
export async function diagnoseRancher(
  client: RancherClient,
  cluster: string,
  bindGroups: boolean,
  groups: KeycloakGroups | undefined,
): Promise<Check[]> {
  const { checks, probe, skip } = createChecks();
  const ok = await probe("rancher cluster", async () => {
    const c = await client.cluster(cluster);
    if (c.state && c.state !== "active") {
      throw new Error(`cluster ${c.id} (${c.name}) is ${c.state}, not active`);
    }
    return `${c.id} (${c.name}) is ${c.state ?? "reachable"}${
      c.version?.gitVersion ? `, Kubernetes ${c.version.gitVersion}` : ""
    }`;
  });
  if (ok) {
    await probe(
      "rancher projects",
      async () => `${(await client.listProjects(cluster)).length} projects in ${cluster}`,
    );
    if (bindGroups) {
      await probe(
        "rancher role bindings",
        async () => `${(await client.listPrtbs()).length} project role bindings readable`,
        ["orders", "membership"],
      );
    }
    await probe(
      "kubernetes namespaces",
      async () => {
        const n = (await client.listNamespaces(cluster)).length;
        return `${n} namespace${n === 1 ? "" : "s"} readable through the Rancher proxy`;
      },
    );
    await probe("kubernetes pods and claims", async () => {
      const [pods, pvcs] = await Promise.all([
        client.listActivePods(cluster),
        client.listPvcs(cluster),
      ]);
      return `${pods.length} active pods, ${pvcs.length} volume claims readable (usage)`;
    }, ["usage"]);
  } else {
    skip(
      "rancher lists",
      `projects, ${
        bindGroups ? "role bindings, " : ""
      }namespaces, pods and claims not checked: the cluster check failed`,
    );
  }
  if (groups) checks.push({ ...await groups.diagnose(), needs: ["orders", "membership"] });
  return checks;
}
