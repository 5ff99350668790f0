/** A Rancher offering's `backend_settings` and the naming a plan derives from them. */
import { z } from "zod";
import type { ComponentConfig } from "../config.ts";
import { KeycloakSettings } from "../keycloak/client.ts";
import type { RancherNaming } from "./naming.ts";

/** `backend_settings` of a Rancher offering (the Python plugin's keys, plus Berth's own). */
export const RancherSettings = z.object({
  backend_url: z.string().url(),
  /** Access key (the Python plugin calls it username). */
  username: z.string().min(1).optional(),
  /** Secret key. */
  password: z.string().min(1).optional(),
  /** Or a bearer token `token-xxxxx:secret`. */
  token: z.string().min(1).optional(),
  cluster_id: z.string().regex(
    /^(local|c-[a-z0-9-]+)$/,
    "a cluster id such as c-m-1234abcd or c-j8276 (not a project id c-…:p-…)",
  ),
  verify_cert: z.boolean().default(true),
  /** PEM file of the CA that signed Rancher's certificate. */
  ca_file: z.string().min(1).optional(),
  project_prefix: z.string().default("waldur-"),
  default_role: z.string().min(1).default("workloads-manage"),
  keycloak_enabled: z.boolean().default(false),
  keycloak_use_user_id: z.boolean().default(true),
  keycloak: KeycloakSettings.optional(),
  /** Name of the cluster's parent group: `{cluster_id}`, `{cluster_hex8}`. */
  keycloak_parent_group: z.string().min(1).default("c_{cluster_hex8}"),
  /** Name of a project's child group: `{project_slug}`, `{project_uuid_hex}`, `{role}`, ... */
  keycloak_child_group: z.string().min(1).default("project_{project_slug}_{role}"),
  /** How Rancher names a Keycloak group principal (`keycloakoidc` provider). */
  group_principal_prefix: z.string().min(1).default("keycloakoidc_group://"),
  namespace_labels: z.record(z.string(), z.string()).default({}),
  /** What Terminate does with a project whose namespaces still hold volume claims. */
  termination: z.enum(["refuse", "purge"]).default("refuse"),
  /** The team's Harbor robot as a pull secret in every namespace of its Rancher projects. */
  image_pull_secret: z.object({
    /** The name of a Harbor offering of this config with `team_robots.enabled: true`. */
    harbor_offering: z.string().min(1),
    secret_name: z.string().regex(
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
      "a Kubernetes object name (lower case letters, digits, '-' and '.')",
    ).max(253).default("harbor-pull"),
    /** The ServiceAccount that lists the secret in imagePullSecrets; "" leaves them alone. */
    service_account: z.string().max(253).default("default"),
  }).strict().optional(),
}).strict()
  .refine((s) => s.token !== undefined || (s.username !== undefined && s.password !== undefined), {
    message: "give username and password (the API key's access and secret key), or token",
  })
  .refine((s) => !s.keycloak_enabled || s.keycloak !== undefined, {
    message: "keycloak_enabled: true needs the keycloak: settings",
    path: ["keycloak"],
  });
export type RancherSettings = z.infer<typeof RancherSettings>;

/** The names, templates and component mapping a Rancher plan needs, from the settings. */
export function rancherNaming(
  s: RancherSettings,
  components: Record<string, ComponentConfig>,
): RancherNaming {
  const kinds: Record<string, "cpu" | "memory" | "storage"> = {};
  for (const [key, c] of Object.entries(components)) {
    const kind = componentKind(key, c);
    if (kind) kinds[key] = kind;
  }
  return {
    clusterId: s.cluster_id,
    projectPrefix: s.project_prefix,
    role: s.default_role,
    parentTemplate: s.keycloak_parent_group,
    childTemplate: s.keycloak_child_group,
    principalPrefix: s.group_principal_prefix,
    kinds,
  };
}

/** What a component limits and reports: its `type` (default: its name) cpu, ram or memory, storage. */
export function componentKind(
  name: string,
  c: ComponentConfig,
): "cpu" | "memory" | "storage" | undefined {
  const type = typeof c.type === "string" ? c.type : name;
  if (type === "cpu") return "cpu";
  if (type === "ram" || type === "memory") return "memory";
  if (type === "storage") return "storage";
  return undefined;
}
