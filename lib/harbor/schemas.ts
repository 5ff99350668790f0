/**
 * The Harbor v2.0 objects Berth reads, as zod schemas: only the fields it uses, with everything
 * else passed through. Field names and types follow `harbor-v2.0-swagger.yaml` (Harbor 2.15).
 */
import { z } from "zod";

/** `ResourceList`: resource name → int64 (the `storage` key is in bytes; −1 is unlimited). */
export const ResourceList = z.record(z.string(), z.number().int());

/** `Project` (the fields Berth reads). */
export const Project = z.object({
  project_id: z.number().int(),
  name: z.string(),
  repo_count: z.number().int().optional(),
  creation_time: z.string().optional(),
});
export type Project = z.infer<typeof Project>;

/** `Quota`; `ref` is the referenced project (`id`, `name`, `owner_name`). */
export const Quota = z.object({
  id: z.number().int(),
  ref: z.object({ id: z.number().int().optional(), name: z.string().optional() })
    .nullish(),
  hard: ResourceList.nullish(),
  used: ResourceList.nullish(),
});
export type Quota = z.infer<typeof Quota>;

/** `UserGroup` / `UserGroupSearchItem`. */
export const UserGroup = z.object({
  id: z.number().int(),
  group_name: z.string(),
  group_type: z.number().int().optional(),
});
export type UserGroup = z.infer<typeof UserGroup>;

/** `ProjectMemberEntity`. */
export const ProjectMemberEntity = z.object({
  id: z.number().int(),
  entity_name: z.string().optional(),
  entity_type: z.string().optional(),
  entity_id: z.number().int().optional(),
  role_id: z.number().int().optional(),
});
export type ProjectMemberEntity = z.infer<typeof ProjectMemberEntity>;

/** `Repository` (the fields Berth reads). */
export const Repository = z.object({
  id: z.number().int().optional(),
  name: z.string(),
  artifact_count: z.number().int().optional(),
});
export type Repository = z.infer<typeof Repository>;

/** `OverallHealthStatus`. */
export const Health = z.object({
  status: z.string(),
  components: z.array(z.object({ name: z.string(), status: z.string() })).optional(),
});

/** `Permission` of `/users/current/permissions`. */
export const Permission = z.object({ resource: z.string(), action: z.string() });
export type Permission = z.infer<typeof Permission>;

/** `GeneralInfo` of `/systeminfo` (the version only). */
export const SystemInfo = z.object({ harbor_version: z.string().optional() });

/** `Access`: one action on one resource (`repository` `pull`); `effect` is `allow` or `deny`. */
export const RobotAccess = z.object({
  resource: z.string(),
  action: z.string(),
  effect: z.string().optional(),
});
export type RobotAccess = z.infer<typeof RobotAccess>;

/** `RobotPermission`: accesses on `project` + a project name or `*`, or on `system` + `/`. */
export const RobotPermission = z.object({
  kind: z.string(),
  namespace: z.string(),
  access: z.array(RobotAccess),
});
export type RobotPermission = z.infer<typeof RobotPermission>;

/**
 * `Robot` as Harbor shows it: `name` carries Harbor's prefix (`robot$berth-team`); `expires_at`
 * is Unix seconds (−1 never); `duration` days (−1 never). Never the secret (not declared, so
 * dropped by the parse); a permission on a deleted project is not listed (Harbor drops it).
 */
export const Robot = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().optional(),
  level: z.string(),
  duration: z.number().int().nullish(),
  disable: z.boolean(),
  editable: z.boolean().optional(),
  expires_at: z.number().int(),
  permissions: z.array(RobotPermission).nullish().transform((p) => p ?? []),
  creation_time: z.string().optional(),
  update_time: z.string().optional(),
});
export type Robot = z.infer<typeof Robot>;

/** `RobotCreated`: the answer of a create, the one place Harbor tells a new robot's secret. */
export const RobotCreated = z.object({
  id: z.number().int(),
  name: z.string(),
  secret: z.string().min(1),
  expires_at: z.number().int(),
  creation_time: z.string().optional(),
});
export type RobotCreated = z.infer<typeof RobotCreated>;

/** `RobotSec`: the answer of a secret refresh; the new secret when Harbor generated it. */
export const RobotSecret = z.object({ secret: z.string().optional() });

/**
 * `UserResp` (the fields Berth reads). `oidc_user_meta` (only in `GET /users/{id}`, never in a
 * list) keeps `subiss` and leaves out `secret`: Harbor sends the user's CLI secret there, and
 * the parse drops it.
 */
export const HarborUser = z.object({
  user_id: z.number().int(),
  username: z.string(),
  email: z.string().optional(),
  oidc_user_meta: z.object({
    id: z.number().int().optional(),
    user_id: z.number().int().optional(),
    subiss: z.string(),
  }).optional(),
});
export type HarborUser = z.infer<typeof HarborUser>;

/** `ConfigurationsResponse` (the robot name prefix only; `GET /configurations` is admin-only). */
export const Configurations = z.object({
  robot_name_prefix: z.object({ value: z.string() }).optional(),
});

/**
 * Harbor's project-name rule (its API answers 400 otherwise): lower-case letters and digits in
 * groups joined by single `.`, `_` or `-`, at most 255 characters.
 */
export const PROJECT_NAME_RULE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** The longest project name Harbor accepts. */
export const PROJECT_NAME_MAX = 255;

/** Why Harbor would refuse `name`, or undefined when it is a valid project name. */
export function projectNameProblem(name: string): string | undefined {
  if (name.length === 0) return "a Harbor project name must not be empty";
  if (name.length > PROJECT_NAME_MAX) {
    return `a Harbor project name has at most ${PROJECT_NAME_MAX} characters (this one has ${name.length})`;
  }
  if (!PROJECT_NAME_RULE.test(name)) {
    return "a Harbor project name is lower-case letters and digits, joined by single '.', '_' or '-', " +
      "and must start and end with a letter or digit";
  }
  return undefined;
}
