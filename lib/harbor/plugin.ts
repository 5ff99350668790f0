/** The `harbor` backend_type: its settings, its presentation, where its objects live, its factory. */
import type { BackendPlugin } from "../backend.ts";
import { keycloakClientFor } from "../keycloak/client.ts";
import { backendFetch } from "../tls.ts";
import { HarborBackend } from "./backend.ts";
import { harborPresentation, identitiesPresentation, teamRobotsPresentation } from "./present.ts";
import { HarborSettings } from "./settings.ts";

/** The `harbor` backend_type. */
export const harborPlugin: BackendPlugin<HarborSettings> = {
  type: "harbor",
  settings: HarborSettings,
  presentations: [harborPresentation, teamRobotsPresentation, identitiesPresentation],
  components: { maps: (name) => name === "storage", described: "the component `storage` only" },
  scope: (s) => ({
    where: `projects on ${
      s.harbor_url.replace(/\/+$/, "").replace(/\/api\/v2\.0$/, "").toLowerCase()
    }`,
    prefix: s.allocation_prefix,
  }),
  create: (context) => {
    const fetch = backendFetch(context, {
      server: "Harbor",
      verifyCert: context.settings.verify_cert,
      caFile: context.settings.ca_file,
    });
    const kc = context.settings.keycloak;
    if (!kc) return new HarborBackend({ context: { ...context, fetch } });
    const keycloak = keycloakClientFor(context, kc);
    return new HarborBackend({ context: { ...context, fetch }, keycloak });
  },
};
