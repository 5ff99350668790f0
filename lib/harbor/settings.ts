/** A Harbor offering's `backend_settings` and the naming a plan derives from them. */
import { z } from "zod";
import { KeycloakSettings } from "../keycloak/client.ts";
import type { Naming } from "./plan.ts";

/** `backend_settings` of a Harbor offering (the Python plugin's keys, plus Berth's own). */
export const HarborSettings = z.object({
  harbor_url: z.string().url(),
  robot_username: z.string().min(1),
  robot_password: z.string().min(1),
  default_storage_quota_gb: z.number().min(0).default(10),
  oidc_group_prefix: z.string().default("waldur-"),
  allocation_prefix: z.string().default("waldur-"),
  project_role_id: z.number().int().min(1).default(2),
  /** What Terminate does with a project that still holds repositories. */
  termination: z.enum(["refuse", "purge"]).default("refuse"),
  verify_cert: z.boolean().default(true),
  /** PEM file of the CA that signed Harbor's certificate (self-signed registries). */
  ca_file: z.string().min(1).optional(),
  /** Keep each OIDC group in Keycloak too, with the Waldur project team as members. */
  keycloak: KeycloakSettings.optional(),
  /**
   * The issuer (`iss`) of the tokens users log in to Harbor with, when Berth reaches Keycloak
   * through another URL than they do; default `<keycloak_url>/realms/<keycloak_realm>`.
   */
  oidc_issuer: z.string().url().optional(),
  /** A robot account per Waldur project that may pull from its Harbor projects (pull secrets). */
  team_robots: z.object({
    enabled: z.boolean().default(false),
    /** Lifetime of a robot; it is replaced `rotate_before_days` before it ends. */
    duration_days: z.number().int().min(1).max(3650).default(90),
    rotate_before_days: z.number().int().min(0).default(14),
  }).strict().refine((t) => t.rotate_before_days < t.duration_days, {
    message: "rotate_before_days must be less than duration_days",
    path: ["rotate_before_days"],
  }).optional(),
}).strict();
/** A Harbor offering's settings, defaults filled in. */
export type HarborSettings = z.infer<typeof HarborSettings>;

/** The names and defaults a Harbor plan needs, from the settings. */
export function harborNaming(s: HarborSettings): Naming {
  return {
    allocationPrefix: s.allocation_prefix,
    oidcGroupPrefix: s.oidc_group_prefix,
    defaultStorageGb: s.default_storage_quota_gb,
    roleId: s.project_role_id,
  };
}
