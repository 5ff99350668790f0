/** The `rancher` backend_type: its settings, its presentation, where its objects live, its factory. */
import type { BackendPlugin } from "../backend.ts";
import { keycloakClientFor } from "../keycloak/client.ts";
import { backendFetch } from "../tls.ts";
import { RancherBackend } from "./backend.ts";
import { rancherPresentation } from "./present.ts";
import { pullSecretsPresentation } from "./pull_present.ts";
import { componentKind, RancherSettings } from "./settings.ts";

/** The `rancher` backend_type. */
export const rancherPlugin: BackendPlugin<RancherSettings> = {
  type: "rancher",
  settings: RancherSettings,
  presentations: [rancherPresentation, pullSecretsPresentation],
  components: {
    maps: (name, c) => componentKind(name, c) !== undefined,
    described: "components of `type` cpu, ram (or memory) and storage",
  },
  scope: (s) => ({
    where: `projects in cluster ${s.cluster_id} of ${
      s.backend_url.replace(/\/+$/, "").toLowerCase()
    }`,
    prefix: s.project_prefix,
  }),
  create: (context) => {
    const s = context.settings;
    const fetch = backendFetch(context, {
      server: "Rancher",
      verifyCert: s.verify_cert,
      caFile: s.ca_file,
    });
    const kc = s.keycloak_enabled ? s.keycloak : undefined;
    if (!kc) return new RancherBackend({ context: { ...context, fetch } });
    const keycloak = keycloakClientFor(context, kc);
    return new RancherBackend({ context: { ...context, fetch }, keycloak });
  },
};
